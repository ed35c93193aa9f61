import { asc, eq, sql } from 'drizzle-orm';
import { findNutAccountClash, type NutAccountShape } from '../../core/nut-accounts.js';
import type { Db } from '../client.js';
import { nutCredentials } from '../schema.js';

export type NutCredentialRow = typeof nutCredentials.$inferSelect;

/** The USERNAME a client of this account sends. */
export const loginNameOf = (row: NutCredentialRow): string => row.loginName ?? row.name;

const shapeOf = (row: NutCredentialRow): NutAccountShape => ({
  name: row.name,
  username: loginNameOf(row),
  from: row.sourceAddresses,
});

/**
 * Creates the account, or replaces it (the old password stops working). Refused with a
 * `NutAccountClashError` when its login name is another account's and their addresses do not keep
 * them apart; the check and the write hold a lock that makes concurrent puts take turns.
 */
export async function putNutCredential(
  db: Db,
  row: {
    name: string;
    /** Its USERNAME when not `name`. */
    loginName: string | null;
    sourceAddresses: readonly string[] | null;
    host: string | null;
    passwordHash: string;
    at: Date;
  },
): Promise<void> {
  const values = {
    loginName: row.loginName === row.name ? null : row.loginName,
    sourceAddresses: row.sourceAddresses === null ? null : [...row.sourceAddresses],
    host: row.host,
    passwordHash: row.passwordHash,
    createdAt: row.at,
  };
  await db.transaction(async (tx) => {
    // Writers exclude each other (readers do not wait), so two puts cannot both pass the check.
    await tx.execute(sql`lock table ${nutCredentials} in share row exclusive mode`);
    const others = await tx.select().from(nutCredentials);
    const clash = findNutAccountClash(
      { name: row.name, username: row.loginName ?? row.name, from: row.sourceAddresses },
      others.map(shapeOf),
    );
    if (clash !== undefined) throw clash;
    await tx
      .insert(nutCredentials)
      .values({ name: row.name, ...values })
      .onConflictDoUpdate({ target: nutCredentials.name, set: values });
  });
}

export function listNutCredentials(db: Db): Promise<NutCredentialRow[]> {
  return db.select().from(nutCredentials).orderBy(asc(nutCredentials.name));
}

/** Whether an account was there to remove. */
export async function deleteNutCredential(db: Db, name: string): Promise<boolean> {
  const removed = await db
    .delete(nutCredentials)
    .where(eq(nutCredentials.name, name))
    .returning({ name: nutCredentials.name });
  return removed.length > 0;
}

import { asc, eq } from 'drizzle-orm';
import type { Db } from '../client.js';
import { nutCredentials } from '../schema.js';

export type NutCredentialRow = typeof nutCredentials.$inferSelect;

/** Creates the account, or replaces its password (the old one stops working). */
export async function putNutCredential(
  db: Db,
  row: { username: string; host: string | null; passwordHash: string; at: Date },
): Promise<void> {
  const values = { host: row.host, passwordHash: row.passwordHash, createdAt: row.at };
  await db
    .insert(nutCredentials)
    .values({ username: row.username, ...values })
    .onConflictDoUpdate({ target: nutCredentials.username, set: values });
}

export function listNutCredentials(db: Db): Promise<NutCredentialRow[]> {
  return db.select().from(nutCredentials).orderBy(asc(nutCredentials.username));
}

/** Whether an account was there to remove. */
export async function deleteNutCredential(db: Db, username: string): Promise<boolean> {
  const removed = await db
    .delete(nutCredentials)
    .where(eq(nutCredentials.username, username))
    .returning({ username: nutCredentials.username });
  return removed.length > 0;
}

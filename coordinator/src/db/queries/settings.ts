import { eq, sql } from 'drizzle-orm';
import type { Db } from '../client.js';
import { settings } from '../schema.js';

export async function getSetting(db: Db, key: string): Promise<unknown> {
  const [row] = await db.select({ value: settings.value }).from(settings).where(eq(settings.key, key));
  return row?.value;
}

/** Stores `value` unless the key exists; returns what is stored either way (first writer wins). */
export async function getOrInitSetting(db: Db, key: string, value: unknown): Promise<unknown> {
  await db.insert(settings).values({ key, value }).onConflictDoNothing();
  return getSetting(db, key);
}

/**
 * A numeric setting that only ever grows: stores `atLeast` unless a larger number is already
 * stored, in one statement (safe against concurrent writers). Returns the stored number.
 */
export async function raiseCounterSetting(db: Db, key: string, atLeast: number): Promise<number> {
  const [row] = await db
    .insert(settings)
    .values({ key, value: atLeast })
    .onConflictDoUpdate({
      target: settings.key,
      set: {
        value: sql`to_jsonb(greatest((${settings.value} #>> '{}')::bigint, ${atLeast}::bigint))`,
        updatedAt: sql`now()`,
      },
    })
    .returning({ value: settings.value });
  const stored = row?.value;
  if (typeof stored !== 'number') throw new Error(`setting ${key} does not hold a number`);
  return stored;
}

/** Stores `value` under `key`, replacing what was there. */
export async function putSetting(db: Db, key: string, value: unknown): Promise<void> {
  await db
    .insert(settings)
    .values({ key, value })
    .onConflictDoUpdate({ target: settings.key, set: { value, updatedAt: sql`now()` } });
}

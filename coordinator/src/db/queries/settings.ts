import { eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '../client.js';
import { parseStored, type StoredSchema } from '../errors.js';
import { settings } from '../schema.js';
import type { SettingValue } from '../stored-values.js';

/** The setting's value read with its schema; undefined when unset; StoredDataError when unreadable. */
export async function getSetting<T>(db: Db, key: string, schema: StoredSchema<T>): Promise<T | undefined> {
  const [row] = await db.select({ value: settings.value }).from(settings).where(eq(settings.key, key));
  return row === undefined ? undefined : parseStored(schema, row.value, `The setting ${key}`);
}

/** Stores `value` unless the key exists; returns what is stored either way (first writer wins). */
export async function getOrInitSetting<T extends SettingValue>(
  db: Db,
  key: string,
  value: T,
  schema: StoredSchema<T>,
): Promise<T> {
  await db.insert(settings).values({ key, value }).onConflictDoNothing();
  return (await getSetting(db, key, schema)) ?? value;
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
  return parseStored(z.number(), row?.value, `The setting ${key}`);
}

/** Stores `value` under `key`, replacing what was there. */
export async function putSetting(db: Db, key: string, value: SettingValue): Promise<void> {
  await db
    .insert(settings)
    .values({ key, value })
    .onConflictDoUpdate({ target: settings.key, set: { value, updatedAt: sql`now()` } });
}

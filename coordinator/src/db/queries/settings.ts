import { eq } from 'drizzle-orm';
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

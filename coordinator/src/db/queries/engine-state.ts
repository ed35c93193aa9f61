import { eq } from 'drizzle-orm';
import type { Db } from '../client.js';
import { engineState } from '../schema.js';

const ROW = 1;

export async function loadEngineState(db: Db): Promise<unknown> {
  const [row] = await db
    .select({ state: engineState.state })
    .from(engineState)
    .where(eq(engineState.id, ROW));
  return row?.state;
}

export async function saveEngineState(db: Db, state: unknown, at: Date): Promise<void> {
  await db
    .insert(engineState)
    .values({ id: ROW, state, updatedAt: at })
    .onConflictDoUpdate({ target: engineState.id, set: { state, updatedAt: at } });
}

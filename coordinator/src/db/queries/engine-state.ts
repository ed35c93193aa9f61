import { eq } from 'drizzle-orm';
import type { EngineState } from '../../core/engine-state.js';
import { EngineStateSchema } from '../../core/engine-state-schema.js';
import type { Db } from '../client.js';
import { parseStored } from '../errors.js';
import { engineState } from '../schema.js';

const ROW = 1;

/** The stored engine state, parsed; throws StoredDataError when this version cannot read it. */
export async function loadEngineState(db: Db): Promise<EngineState | undefined> {
  const [row] = await db
    .select({ state: engineState.state })
    .from(engineState)
    .where(eq(engineState.id, ROW));
  if (row === undefined) return undefined;
  return parseStored<EngineState>(EngineStateSchema, row.state, 'The stored engine state');
}

export async function saveEngineState(db: Db, state: EngineState, at: Date): Promise<void> {
  await db
    .insert(engineState)
    .values({ id: ROW, state, updatedAt: at })
    .onConflictDoUpdate({ target: engineState.id, set: { state, updatedAt: at } });
}

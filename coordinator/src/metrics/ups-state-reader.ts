/** `readUpsStates` for createMetrics, over the stored UPS states (`ups_states`, one row per UPS). */
import type { Db } from '../db/client.js';
import { listUpsStates } from '../db/queries/ups-events.js';
import type { UpsStateReading } from './ups-series.js';

export function createUpsStateReader(db: Db): () => Promise<UpsStateReading[]> {
  return async () =>
    (await listUpsStates(db)).map((row) => ({
      ups: row.ups,
      power: row.power,
      status: row.status,
      vars: row.vars,
      observedAt: row.observedAt,
      dead: row.dead,
    }));
}

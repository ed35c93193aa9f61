/** `readUpsStates` for createMetrics, over the stored UPS states (`ups_states`, one row per UPS). */
import type { Db } from '../db/client.js';
import { listUpsStates } from '../db/queries/ups-events.js';
import type { UpsStateReading } from './ups-series.js';

/** `vars` is jsonb: only string values are kept, as the watcher sends them. */
function stringRecord(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return {};
  return Object.fromEntries(
    Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
  );
}

export function createUpsStateReader(db: Db): () => Promise<UpsStateReading[]> {
  return async () =>
    (await listUpsStates(db)).map((row) => ({
      ups: row.ups,
      power: row.power,
      status: row.status,
      vars: stringRecord(row.vars),
      observedAt: row.observedAt,
      dead: row.dead,
    }));
}

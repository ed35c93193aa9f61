import { z } from 'zod';
import type { Clock } from '../../shared/src/clock.js';
import { readFileIfExists, writeFileAtomic } from './atomic-file.js';
import { parseJsonFile } from './state-dir.js';

/**
 * The order ids this host has acted on, persisted so that a replayed order is refused even after a
 * restart. An id is recorded (and fsynced) before the shutdown runs; entries are kept until long
 * after their order expired, then pruned, so the file stays bounded.
 *
 * Outcomes: `accepted` (recorded; before hooks may be running), `started` (the shutdown command is
 * about to run, or running), then a final one. An order left `accepted` or `started` was
 * interrupted: the agent process died before it finished (left `started`, the shutdown had begun).
 */
export const ExecutedOutcomeSchema = z.enum(['accepted', 'started', 'drill', 'succeeded', 'failed']);
export type ExecutedOutcome = z.infer<typeof ExecutedOutcomeSchema>;

/** Whether an order with this outcome ran to its end (a drill is recorded as done from the start). */
export function isFinished(outcome: ExecutedOutcome): boolean {
  return outcome !== 'accepted' && outcome !== 'started';
}

const EntrySchema = z.object({
  /** When the order was accepted (ms since the epoch). */
  at: z.number(),
  /** When the order itself expires (ms). */
  expiresAt: z.number(),
  outcome: ExecutedOutcomeSchema,
  /** When the outcome was last updated (ms). */
  updatedAt: z.number(),
});
export type ExecutedOrder = z.infer<typeof EntrySchema>;

const FileSchema = z.object({
  version: z.literal(1),
  orders: z.record(z.string(), EntrySchema),
});

export const DEFAULT_RETENTION_MS = 30 * 86_400_000;

export interface ExecutedOrderStore {
  has(orderId: string): boolean;
  get(orderId: string): ExecutedOrder | undefined;
  /** Records the id durably (written and fsynced when the promise resolves). */
  record(orderId: string, entry: { at: number; expiresAt: number; outcome?: ExecutedOutcome }): Promise<void>;
  /** Updates the outcome of a recorded order. */
  complete(orderId: string, outcome: ExecutedOutcome): Promise<void>;
  /** Resolves when every pending write has finished. */
  flush(): Promise<void>;
  readonly size: number;
}

export async function openExecutedOrders(
  path: string,
  options: { clock: Clock; retentionMs?: number },
): Promise<ExecutedOrderStore> {
  const retentionMs = options.retentionMs ?? DEFAULT_RETENTION_MS;
  const text = await readFileIfExists(path);
  const orders = new Map<string, ExecutedOrder>(
    text === undefined ? [] : Object.entries(parseJsonFile(FileSchema, text, path).orders),
  );
  let writes: Promise<void> = Promise.resolve();

  const prune = (): void => {
    const now = options.clock.now();
    for (const [id, entry] of orders) if (entry.expiresAt + retentionMs < now) orders.delete(id);
  };

  /** Writes the whole map after earlier writes; one failure does not poison later ones. */
  const persist = (): Promise<void> => {
    prune();
    const data = `${JSON.stringify({ version: 1, orders: Object.fromEntries(orders) }, null, 2)}\n`;
    const write = writes.then(() => writeFileAtomic(path, data, 0o600));
    writes = write.catch(() => undefined);
    return write;
  };

  return {
    has: (orderId) => orders.has(orderId),
    get: (orderId) => orders.get(orderId),
    record: (orderId, entry) => {
      const now = options.clock.now();
      orders.set(orderId, {
        at: entry.at,
        expiresAt: entry.expiresAt,
        outcome: entry.outcome ?? 'accepted',
        updatedAt: now,
      });
      return persist();
    },
    complete: (orderId, outcome) => {
      const entry = orders.get(orderId);
      if (entry === undefined) return Promise.reject(new Error(`order ${orderId} was never recorded`));
      orders.set(orderId, { ...entry, outcome, updatedAt: options.clock.now() });
      return persist();
    },
    flush: () => writes,
    get size() {
      return orders.size;
    },
  };
}

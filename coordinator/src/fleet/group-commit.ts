/**
 * Group commit: the fleet's serial queue, in batches. The inputs waiting when a batch starts are
 * handled one after another (each sees the state the previous one left) inside ONE transaction,
 * which also stores the engine state once; only after it commits are the orders sent, the timer
 * re-armed, the hosts briefed, and the callers answered. Nothing is sent before its decision is
 * durable. An input refused before it is decided (a bad sequence number, an unknown order) is
 * answered with its error, the others go on; a decision that fails (the database) or a commit that
 * fails answers every input of the batch with that error and leaves the engine as it was before it.
 * The engine state is copied once per batch, not once per input; the watchers' UPS events and the
 * hosts' acks and results of a batch are stored together, in multi-row statements, just before the
 * engine state.
 */
import { errorMessage } from '../../../shared/src/errors.js';
import { saveEngineState } from '../db/queries/engine-state.js';
import { recordReports } from '../db/queries/orders.js';
import { queuedUpsEvents, storeQueuedUpsEvents } from '../db/queries/ups-event-batch.js';
import type { Batch, FleetContext } from './context.js';
import { deliverOrders } from './effects.js';

/** At most this many inputs in one transaction. */
export const MAX_BATCH = 1_000;

interface Item {
  readonly task: () => Promise<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

export function createGroupCommit(fleet: FleetContext, options: { maxBatch?: number } = {}) {
  const { deps } = fleet;
  const maxBatch = options.maxBatch ?? MAX_BATCH;
  const waiting: Item[] = [];
  let running: Promise<void> | undefined;

  async function handle(item: Item, batch: Batch): Promise<Outcome> {
    const mark = {
      state: fleet.state,
      policy: fleet.policy,
      outgoing: batch.outgoing.length,
      lines: batch.lines.length,
      afterCommit: batch.afterCommit.length,
      reports: batch.reports.length,
      upsEvents: batch.upsEvents.events.length,
      wake: batch.wake,
      decided: batch.decided,
    };
    try {
      return { ok: true, value: await item.task() };
    } catch (error) {
      // A decision that failed part-way changed the batch's copy of the state: give up the batch.
      if (batch.broken) throw error;
      fleet.state = mark.state;
      fleet.policy = mark.policy;
      batch.outgoing.length = mark.outgoing;
      batch.lines.length = mark.lines;
      batch.afterCommit.length = mark.afterCommit;
      batch.reports.length = mark.reports;
      batch.upsEvents.events.length = mark.upsEvents;
      batch.wake = mark.wake;
      batch.decided = mark.decided;
      // A run its rolled-back savepoint created may be cached: look runs up afresh.
      batch.runIds.clear();
      return { ok: false, error };
    }
  }

  async function afterCommit(batch: Batch, upsBefore: FleetContext['state']['ups']): Promise<void> {
    const { logger } = deps;
    const now = deps.clock.now();
    if (batch.notified) deps.notifier?.kick();
    for (const order of batch.outgoing) deps.metrics?.orderIssued(order.kind);
    for (const line of batch.lines) logger.warn(line);
    const sent = new Set(await deliverOrders(deps, batch.outgoing, now));
    for (const order of batch.outgoing) {
      if (!sent.has(order))
        logger.warn('agent not connected: the order waits for it', {
          host: order.host,
          order: order.orderId,
        });
    }
    if (batch.decided) fleet.timer.schedule(batch.wake);
    await fleet.briefings.powerChanged(fleet.policy, upsBefore, fleet.state.ups);
    for (const work of batch.afterCommit) await work();
    // After the orders: a bridge learns a host's FSD from its order first, then from its state.
    await fleet.bridges.refresh(fleet.policy, fleet.state);
  }

  async function commit(items: readonly Item[]): Promise<void> {
    const before = { state: fleet.state, policy: fleet.policy };
    const batch: Batch = {
      outgoing: [],
      lines: [],
      afterCommit: [],
      wake: undefined,
      decided: false,
      notified: false,
      runIds: new Map(),
      reports: [],
      orders: new Map(),
      upsEvents: queuedUpsEvents(),
      draft: undefined,
      broken: false,
    };
    const outcomes: Outcome[] = [];
    try {
      await deps.db.transaction(async (tx) => {
        fleet.db = tx;
        fleet.batch = batch;
        try {
          for (const item of items) outcomes.push(await handle(item, batch));
          await storeQueuedUpsEvents(tx, batch.upsEvents, {
            unreadable: (ups, error) =>
              deps.logger.error(`UPS ${ups}: its stored variables replaced by its event's`, {
                error: error.message,
              }),
          });
          await recordReports(tx, batch.reports);
          if (batch.decided) await saveEngineState(tx, fleet.state, new Date(deps.clock.now()));
        } finally {
          fleet.db = deps.db;
          fleet.batch = undefined;
        }
      });
    } catch (error) {
      fleet.state = before.state;
      fleet.policy = before.policy;
      deps.logger.error('a batch of inputs could not be committed: none of them took effect', {
        inputs: items.length,
        error: errorMessage(error),
      });
      for (const item of items) item.reject(error);
      return;
    }
    try {
      await afterCommit(batch, before.state.ups);
    } catch (error) {
      // Committed: the callers' inputs took effect. Orders not sent now go on the next hello.
      deps.logger.error('after a commit: sending failed', { error: errorMessage(error) });
    }
    items.forEach((item, index) => {
      const outcome = outcomes[index];
      if (outcome?.ok === true) item.resolve(outcome.value);
      else item.reject(outcome?.error);
    });
  }

  function pump(): void {
    if (running !== undefined) return;
    running = (async () => {
      while (waiting.length > 0) await commit(waiting.splice(0, maxBatch));
    })().finally(() => {
      running = undefined;
      if (waiting.length > 0) pump();
    });
  }

  return {
    /** Queues a task; it runs in the next batch and settles once that batch has committed. */
    run<T>(task: () => Promise<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        waiting.push({ task, resolve: resolve as (value: unknown) => void, reject });
        pump();
      });
    },
    /** Resolves once everything queued so far has been committed. */
    async idle(): Promise<void> {
      while (running !== undefined) await running;
    },
  };
}

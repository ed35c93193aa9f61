/**
 * The host's configured shutdown, run on its own decision (its offline rule or its fallback): the
 * same plan a shutdown order runs (orders/shutdown-plan.ts), recorded in the executed-order store as
 * `offline:<when it lost the lease>` before it starts, so that a restart never runs it again for
 * that episode. Each step goes to the log and to the episode's report.
 */
import type { Clock } from '../../../shared/src/clock.js';
import { errorMessage } from '../../../shared/src/errors.js';
import type { Logger } from '../../../shared/src/logger.js';
import type { ExecutedOrderStore } from '../executed-orders.js';
import type { FinalResult, OrderReport } from '../orders/order-plan.js';
import { planShutdown, type ShutdownAbility } from '../orders/shutdown-plan.js';
import type { OfflineStep } from './offline-file.js';

/** How long an `offline:` record is kept: far longer than any outage. */
const RECORD_MS = 7 * 24 * 3_600_000;

export interface OwnShutdownOptions {
  /** Without a latch: the host's own shutdown is never refused by the order path's latch. */
  readonly ability: Omit<ShutdownAbility, 'latch'>;
  readonly executed: ExecutedOrderStore;
  readonly clock: Clock;
  readonly logger: Logger;
}

export interface OwnShutdownRun {
  /** `offline:<lostAt>` */
  readonly id: string;
  /** For the log: which rule, and what it saw. */
  readonly why: string;
  /** Each step, for the episode's report. */
  readonly step: (what: OfflineStep['what'], detail: string) => void;
  /** Called once the shutdown command is about to run. */
  readonly started: () => void;
}

export function offlineId(lostAt: number): string {
  return `offline:${Math.round(lostAt)}`;
}

/** Runs the hooks and shutdown at most once per id. Never rejects; the outcome is logged and reported. */
export function createOwnShutdown(
  options: OwnShutdownOptions,
): (run: OwnShutdownRun) => Promise<FinalResult['outcome'] | 'skipped'> {
  const { executed, logger } = options;
  return async ({ id, why, step, started }) => {
    if (executed.has(id)) {
      logger.warn(`the shutdown on this host's own decision (${id}) already ran: not repeating it`);
      return 'skipped';
    }
    const now = options.clock.now();
    try {
      await executed.record(id, { at: now, expiresAt: now + RECORD_MS });
    } catch (error) {
      // As for a shutdown order: losing power uncleanly is worse than a possible repeat.
      logger.error(`could not record the shutdown durably, running it anyway: ${errorMessage(error)}`);
    }
    logger.warn(`on its own: running the shutdown now — ${why}`, { orderId: id });
    const decision = planShutdown(
      { orderId: id, claims: { kind: 'shutdown', runId: 'offline', stage: 'offline', drill: false } },
      options.ability,
    );
    // Nobody to report to now: the steps go to the log and into the report sent when the link returns.
    const report: OrderReport = {
      result: (fields) => {
        if (fields.outcome === 'started') {
          started();
          step('shutdown', 'started');
        }
        logger.info(`offline shutdown ${fields.outcome}`, { orderId: id });
      },
      progress: (fields) => {
        if (fields.step !== 'shutdown') step('hook', `${fields.step}: ${fields.state}`);
        logger.info(`offline shutdown: ${fields.step} ${fields.state}`, { orderId: id });
      },
    };
    const final: FinalResult = decision.ok
      ? await decision.plan
          .act(report)
          .catch((error: unknown) => ({ outcome: 'failed' as const, error: errorMessage(error) }))
      : { outcome: 'failed', error: decision.reason };
    try {
      await executed.complete(id, final.outcome);
    } catch (error) {
      logger.warn(`could not record the outcome of the shutdown: ${errorMessage(error)}`);
    }
    const detail = `${final.outcome}${final.error === undefined ? '' : `: ${final.error}`}`;
    step('shutdown', detail);
    if (final.outcome === 'succeeded') logger.info(`offline shutdown ${detail}`, { orderId: id });
    else logger.error(`offline shutdown ${detail}`, { orderId: id });
    return final.outcome;
  };
}

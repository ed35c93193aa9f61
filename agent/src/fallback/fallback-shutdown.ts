/**
 * The host's configured shutdown, run by the fallback rule: the same plan a shutdown order runs
 * (orders/shutdown-plan.ts), recorded in the executed-order store as `fallback:<briefing version>`
 * before it starts, so that a restart never runs it again for that briefing.
 */
import type { Clock } from '../../../shared/src/clock.js';
import { formatDuration } from '../../../shared/src/duration.js';
import { errorMessage } from '../../../shared/src/errors.js';
import type { Logger } from '../../../shared/src/logger.js';
import { BRIEFING_TTL_MS } from '../../../shared/src/tokens.js';
import type { ExecutedOrderStore } from '../executed-orders.js';
import type { FinalResult, OrderReport } from '../orders/order-plan.js';
import { planShutdown, type ShutdownAbility } from '../orders/shutdown-plan.js';
import type { Countdown } from './decide-fallback.js';

export interface FallbackShutdownOptions {
  readonly ability: ShutdownAbility;
  readonly executed: ExecutedOrderStore;
  readonly clock: Clock;
  readonly logger: Logger;
}

export function fallbackId(version: number): string {
  return `fallback:${version}`;
}

/** Runs the shutdown at most once per briefing version. Never rejects; the outcome is logged. */
export function createFallbackShutdown(
  options: FallbackShutdownOptions,
): (countdown: Countdown) => Promise<void> {
  const { executed, logger } = options;
  return async (countdown) => {
    const id = fallbackId(countdown.version);
    if (executed.has(id)) {
      logger.warn(`the fallback shutdown for briefing ${countdown.version} already ran: not repeating it`);
      return;
    }
    const now = options.clock.now();
    try {
      await executed.record(id, { at: now, expiresAt: now + BRIEFING_TTL_MS });
    } catch (error) {
      // As for a shutdown order: losing power uncleanly is worse than a possible repeat.
      logger.error(
        `could not record the fallback shutdown durably, running it anyway: ${errorMessage(error)}`,
      );
    }
    logger.warn(
      `the coordinator did not come back within ${formatDuration(countdown.after)}: ` +
        `running the shutdown by the fallback rule (briefing ${countdown.version})`,
      { orderId: id },
    );
    const decision = planShutdown(
      { orderId: id, claims: { kind: 'shutdown', runId: 'fallback', stage: 'fallback', drill: false } },
      options.ability,
    );
    // Nobody to report to: the steps go to the log.
    const report: OrderReport = {
      result: (fields) => logger.info(`fallback shutdown ${fields.outcome}`, { orderId: id }),
      progress: (fields) => logger.info(`fallback shutdown: ${fields.step} ${fields.state}`, { orderId: id }),
    };
    const final: FinalResult = decision.ok
      ? await decision.plan
          .act(report)
          .catch((error: unknown) => ({ outcome: 'failed' as const, error: errorMessage(error) }))
      : { outcome: 'failed', error: decision.reason };
    try {
      await executed.complete(id, final.outcome);
    } catch (error) {
      logger.warn(`could not record the outcome of the fallback shutdown: ${errorMessage(error)}`);
    }
    const line = `fallback shutdown ${final.outcome}${final.error === undefined ? '' : `: ${final.error}`}`;
    if (final.outcome === 'succeeded') logger.info(line, { orderId: id });
    else logger.error(line, { orderId: id });
  };
}

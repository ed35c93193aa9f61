/**
 * The engine's timer: deadlines (grace, delays, the dead-UPS rule) wake the engine with a `tick`
 * through the serial queue (group-commit.ts). A failed tick (the database restarting, say) is retried soon, since a
 * deadline must not wait for the next input.
 */
import type { Clock } from '../../../shared/src/clock.js';
import type { Logger } from '../../../shared/src/logger.js';
import type { EngineTimer } from './context.js';
import type { Scheduler } from './scheduler.js';

/** After a failed timer tick, the engine is woken again this soon. */
export const TICK_RETRY_MS = 5_000;

export function createEngineTimer(deps: {
  readonly scheduler: Scheduler;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Runs one `tick` decision through the queue. */
  readonly tick: () => Promise<void>;
}): EngineTimer {
  const { scheduler, clock, logger } = deps;
  let stopped = false;
  function schedule(at: number | undefined): void {
    scheduler.cancel();
    if (stopped || at === undefined) return;
    scheduler.at(at, () => {
      deps.tick().catch((error: unknown) => {
        logger.error('engine tick failed: retrying in 5 s', { error: String(error) });
        schedule(clock.now() + TICK_RETRY_MS);
      });
    });
  }
  return {
    schedule,
    stop() {
      stopped = true;
      scheduler.cancel();
    },
  };
}

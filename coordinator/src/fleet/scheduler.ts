/**
 * The fleet's one timer, as a seam: the engine only ever needs a single wake-up (the earliest
 * deadline), so a scheduler holds at most one. On Node it is a `setTimeout`; on an edge runtime it
 * can be a Durable Object's alarm, whose handler calls the task it was given.
 */
import type { Clock } from '../../../shared/src/clock.js';

export interface Scheduler {
  /** Runs `task` at `ms` (epoch ms, the clock's time), replacing any wake-up set before. */
  at(ms: number, task: () => void): void;
  /** Drops the pending wake-up, if any. */
  cancel(): void;
}

/** A scheduler on the runtime's `setTimeout` (Node, browsers, workers alike). */
export function createTimeoutScheduler(clock: Clock): Scheduler {
  let handle: ReturnType<typeof setTimeout> | undefined;
  const cancel = () => {
    if (handle !== undefined) clearTimeout(handle);
    handle = undefined;
  };
  return {
    at(ms, task) {
      cancel();
      handle = setTimeout(
        () => {
          handle = undefined;
          task();
        },
        Math.max(0, ms - clock.now()),
      );
    },
    cancel,
  };
}

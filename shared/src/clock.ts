/** Time is injected everywhere: production passes `systemClock`, tests a fake. Milliseconds since the epoch. */
export interface Clock {
  now(): number;
  /**
   * Milliseconds on a clock that only moves forward (not stepped by NTP or by hand), for timing
   * intervals; its origin means nothing. Clocks without one time intervals with `now()`.
   */
  monotonic?(): number;
}

export const systemClock: Clock = { now: () => Date.now(), monotonic: () => performance.now() };

/** A monotonic reading from `clock`: its own when it has one, else its wall clock. */
export function monotonicNow(clock: Clock): number {
  return clock.monotonic?.() ?? clock.now();
}

/**
 * A clock a test moves by hand. `advance` moves both readings (time passes); `set` moves only the
 * wall clock (a step, as NTP or an operator makes one).
 */
export function createManualClock(
  start = 0,
): Required<Clock> & { advance(ms: number): void; set(ms: number): void } {
  let current = start;
  let elapsed = 0;
  return {
    now: () => current,
    monotonic: () => elapsed,
    advance: (ms) => {
      current += ms;
      elapsed += ms;
    },
    set: (ms) => {
      current = ms;
    },
  };
}

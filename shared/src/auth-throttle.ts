/**
 * Throttles failed authentication per client address (the admin API, the NUT bridge): after `limit` failures within `windowMs`,
 * further attempts from that address are refused (HTTP 429, NUT ACCESS-DENIED) until the window has passed,
 * even with a good token — guessing must not be cheap. Pure: time comes from the clock.
 */
import type { Clock } from './clock.js';

export interface AuthThrottleOptions {
  readonly clock: Clock;
  /** Failures allowed per window before refusing. */
  readonly limit?: number;
  readonly windowMs?: number;
  /** Addresses tracked at most (oldest forgotten first), so a flood cannot exhaust memory. */
  readonly maxKeys?: number;
}

export function createAuthThrottle(options: AuthThrottleOptions) {
  const limit = options.limit ?? 10;
  const windowMs = options.windowMs ?? 60_000;
  const maxKeys = options.maxKeys ?? 10_000;
  const failures = new Map<string, number[]>();

  function recent(key: string, now: number): number[] {
    const times = (failures.get(key) ?? []).filter((at) => now - at < windowMs);
    if (times.length === 0) failures.delete(key);
    else failures.set(key, times);
    return times;
  }

  return {
    /** Milliseconds to wait when `key` is blocked; undefined when it may try. */
    blockedFor(key: string): number | undefined {
      const now = options.clock.now();
      const times = recent(key, now);
      if (times.length < limit) return undefined;
      return windowMs - (now - (times[times.length - limit] as number));
    },
    failed(key: string): void {
      const now = options.clock.now();
      const times = recent(key, now);
      times.push(now);
      failures.delete(key);
      failures.set(key, times.slice(-limit));
      if (failures.size > maxKeys) {
        const oldest = failures.keys().next().value;
        if (oldest !== undefined) failures.delete(oldest);
      }
    },
    succeeded(key: string): void {
      failures.delete(key);
    },
  };
}
export type AuthThrottle = ReturnType<typeof createAuthThrottle>;

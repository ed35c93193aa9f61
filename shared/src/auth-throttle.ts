/**
 * Throttles failed authentication per client address (the admin API, the NUT bridge): after `limit` failures within `windowMs`,
 * further attempts from that address are refused (HTTP 429, NUT ACCESS-DENIED) until the window has passed,
 * even with a good token — guessing must not be cheap. Pure: time comes from the clock, the failures
 * are kept in a store (in memory unless given one; the edge keeps them in its Durable Object's storage).
 */
import type { Clock } from './clock.js';

/** Where a throttle keeps each address's recent failure times. Synchronous. */
export interface ThrottleStore {
  /** `key`'s failure times later than `since`, oldest first (older ones may be forgotten). */
  recent(key: string, since: number): number[];
  /** Records a failure of `key` at `at`, keeping at most its newest `keep`. */
  record(key: string, at: number, keep: number): void;
  /** Forgets `key`'s failures. */
  forget(key: string): void;
}

/**
 * A throttle store in memory, tracking `maxKeys` addresses at most (the oldest forgotten first), so
 * a flood cannot exhaust memory.
 */
export function createMemoryThrottleStore(options: { maxKeys?: number } = {}): ThrottleStore {
  const maxKeys = options.maxKeys ?? 10_000;
  const failures = new Map<string, number[]>();
  return {
    recent(key, since) {
      const times = (failures.get(key) ?? []).filter((at) => at > since);
      if (times.length === 0) failures.delete(key);
      else failures.set(key, times);
      return times;
    },
    record(key, at, keep) {
      const times = [...(failures.get(key) ?? []), at];
      failures.delete(key);
      failures.set(key, times.slice(-keep));
      if (failures.size > maxKeys) {
        const oldest = failures.keys().next().value;
        if (oldest !== undefined) failures.delete(oldest);
      }
    },
    forget(key) {
      failures.delete(key);
    },
  };
}

export interface AuthThrottleOptions {
  readonly clock: Clock;
  /** Failures allowed per window before refusing. */
  readonly limit?: number;
  readonly windowMs?: number;
  /** Addresses tracked at most by the default in-memory store. */
  readonly maxKeys?: number;
  readonly store?: ThrottleStore;
}

export function createAuthThrottle(options: AuthThrottleOptions) {
  const limit = options.limit ?? 10;
  const windowMs = options.windowMs ?? 60_000;
  const store =
    options.store ??
    createMemoryThrottleStore(options.maxKeys === undefined ? {} : { maxKeys: options.maxKeys });

  return {
    /** Milliseconds to wait when `key` is blocked; undefined when it may try. */
    blockedFor(key: string): number | undefined {
      const now = options.clock.now();
      const times = store.recent(key, now - windowMs);
      if (times.length < limit) return undefined;
      return windowMs - (now - (times[times.length - limit] as number));
    },
    failed(key: string): void {
      const now = options.clock.now();
      store.recent(key, now - windowMs);
      store.record(key, now, limit);
    },
    succeeded(key: string): void {
      store.forget(key);
    },
  };
}
export type AuthThrottle = ReturnType<typeof createAuthThrottle>;

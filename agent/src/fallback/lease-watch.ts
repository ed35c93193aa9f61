/**
 * The lease as an agent holds it: verifies each lease (pinned keys, expiry, replay by its sequence
 * number), remembers until when the agent counts on it (at most 15 s), and tells when that time has
 * passed with no newer lease. Shared by the host's fail-safe and the NUT bridge's offline rules.
 */
import type { CryptoKey } from 'jose';
import type { Clock } from '../../../shared/src/clock.js';
import { errorMessage } from '../../../shared/src/errors.js';
import type { Logger } from '../../../shared/src/logger.js';
import { SignatureError } from '../../../shared/src/signing.js';
import { verifyLease } from '../../../shared/src/tokens.js';

/** Runs `fn` after `ms`; the returned function cancels it. */
export type Schedule = (ms: number, fn: () => void) => () => void;

export const realSchedule: Schedule = (ms, fn) => {
  const timer = setTimeout(fn, ms);
  return () => clearTimeout(timer);
};

export interface LeaseWatch {
  /** Until when the agent counts on its lease (its clock). */
  readonly until: number;
  /** Verifies a lease; a valid, newer one moves `until` on and returns its sequence and lifetime. */
  accept(token: string): Promise<{ seq: number; ttlMs: number } | undefined>;
  /** A new connection: its leases count from any sequence number again. */
  linkOpened(): void;
  /**
   * Calls `expired` (through the caller's queue: `check` runs there) once `until` has passed; a
   * timer that fires a little early by the wall clock (Node's timers run on a monotonic clock) is
   * armed again rather than given up.
   */
  arm(): void;
  disarm(): void;
}

export function createLeaseWatch(options: {
  readonly keys: () => readonly CryptoKey[];
  readonly clockToleranceMs: number;
  /** Until when a fresh start counts as leased (the time a first lease has to arrive). */
  readonly until: number;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly schedule: Schedule;
  /** Runs `task` in the caller's serial queue. */
  readonly enqueue: (task: () => void) => void;
  /** No valid lease since `until`. */
  readonly expired: () => void;
}): LeaseWatch {
  const { clock, logger } = options;
  let floor = -1;
  let until = options.until;
  let cancel: (() => void) | undefined;

  const disarm = (): void => {
    cancel?.();
    cancel = undefined;
  };
  const arm = (): void => {
    disarm();
    cancel = options.schedule(Math.max(0, until - clock.now()), () => {
      cancel = undefined;
      options.enqueue(() => {
        if (cancel !== undefined) return; // armed again meanwhile (a lease arrived)
        if (clock.now() < until) arm();
        else options.expired();
      });
    });
  };

  return {
    get until() {
      return until;
    },
    async accept(token) {
      let lease: { seq: number; ttlMs: number } | undefined;
      const keys = options.keys();
      for (const key of keys) {
        try {
          lease = await verifyLease(token, key, {
            now: clock.now(),
            clockToleranceMs: options.clockToleranceMs,
          });
          break;
        } catch (error) {
          if (key === keys.at(-1)) {
            const reason = error instanceof SignatureError ? error.reason : 'malformed';
            logger.warn(`lease refused: ${reason}`, { detail: errorMessage(error) });
          }
        }
      }
      if (lease === undefined) return undefined;
      if (lease.seq <= floor) {
        logger.warn(`lease ${lease.seq} ignored: replayed (not newer than ${floor})`);
        return undefined;
      }
      floor = lease.seq;
      until = clock.now() + lease.ttlMs;
      return lease;
    },
    linkOpened() {
      floor = -1;
    },
    arm,
    disarm,
  };
}

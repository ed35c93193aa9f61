/**
 * The lease as an agent holds it: verifies each lease (pinned keys, expiry, replay by its sequence
 * number), remembers until when the agent counts on it (at most 15 s), and tells when that time has
 * passed with no newer lease. Shared by the host's fail-safe and the NUT bridge's offline rules.
 *
 * The wall clock only checks a lease's signed times; how long the agent counts on it is timed on the
 * monotonic clock (`clock.monotonic`), so a wall-clock step (NTP setting the clock back an hour) does
 * not keep the agent "leased" for that hour after the leases stopped.
 */
import type { CryptoKey } from 'jose';
import { type Clock, monotonicNow } from '../../../shared/src/clock.js';
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
  /** Verifies a lease; a valid, newer one moves `until` on and returns its sequence and lifetime. */
  accept(token: string): Promise<{ seq: number; ttlMs: number } | undefined>;
  /** A new connection: its leases count from any sequence number again. */
  linkOpened(): void;
  /**
   * Calls `expired` (through the caller's queue) once the time the agent counts on its lease has
   * passed; a timer that fires a little early is armed again rather than given up.
   */
  arm(): void;
  /** Cancels the timer, and a check it already queued: `expired` is not called until armed again. */
  disarm(): void;
}

export function createLeaseWatch(options: {
  readonly keys: () => readonly CryptoKey[];
  readonly clockToleranceMs: number;
  /**
   * Until when (wall clock, read once at creation) a fresh start counts as leased: the time a first
   * lease has to arrive.
   */
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
  const monotonic = () => monotonicNow(clock);
  let floor = -1;
  /** Until when the agent counts on its lease, on the monotonic clock. */
  let deadline = monotonic() + (options.until - clock.now());
  /** The current arming: a queued check from an earlier one (or from before `disarm`) does nothing. */
  let armed: { cancel: () => void } | undefined;

  const disarm = (): void => {
    armed?.cancel();
    armed = undefined;
  };
  const arm = (): void => {
    disarm();
    const self = {
      cancel: options.schedule(Math.max(0, deadline - monotonic()), () => {
        options.enqueue(() => {
          if (armed !== self) return; // armed again (a lease arrived), or disarmed (stopped)
          armed = undefined;
          if (monotonic() < deadline) arm();
          else options.expired();
        });
      }),
    };
    armed = self;
  };

  return {
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
      deadline = monotonic() + lease.ttlMs;
      return lease;
    },
    linkOpened() {
      floor = -1;
    },
    arm,
    disarm,
  };
}

/**
 * The lease: every interval the coordinator makes a round trip to its database and, only if that
 * succeeded, signs one lease for the whole fleet and sends it to every connected agent. A host
 * holding a valid lease leaves the decisions to the coordinator; without one (link closed or
 * silent, or this coordinator up while its database is gone) it counts as on its own within 15 s.
 */
import { sql } from 'drizzle-orm';
import type { Clock } from '../../../shared/src/clock.js';
import { errorMessage } from '../../../shared/src/errors.js';
import type { Logger } from '../../../shared/src/logger.js';
import type { SigningKeyPair } from '../../../shared/src/signing.js';
import { MAX_LEASE_MS, signLease } from '../../../shared/src/tokens.js';
import type { Db } from '../db/client.js';
import type { Hub } from '../ws/hub.js';

export const DEFAULT_LEASE_INTERVAL_MS = 5_000;

export interface LeaseDeps {
  readonly db: Db;
  readonly hub: Pick<Hub, 'broadcast'>;
  /** The signing key (the key ring: the current key after a rotation). */
  readonly signingKey: SigningKeyPair;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly intervalMs?: number;
}

/**
 * The lease without a timer, the same on both runtimes: `renew()` makes one round (database round
 * trip, then sign and broadcast); Node drives it with setTimeout (startLeaseSender), the edge with
 * the Durable Object's alarm (edge/alarm-scheduler.ts).
 */
export interface Lease {
  readonly intervalMs: number;
  /** One round: the database answers within the interval → a new lease to every connected agent. */
  renew(): Promise<void>;
  /** The latest lease while it is still valid (for an agent that just said hello). */
  current(): string | undefined;
  /** No broadcast after this (a round under way finishes). */
  stop(): void;
}

export interface LeaseSender {
  /** The latest lease while it is still valid (for an agent that just said hello). */
  current(): string | undefined;
  stop(): Promise<void>;
}

/** A round trip to the database, bounded: a server that hangs counts as gone. */
async function databaseAnswers(db: Db, timeoutMs: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      db.execute(sql`select 1`),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export function createLease(deps: LeaseDeps): Lease {
  const { clock, logger } = deps;
  const intervalMs = deps.intervalMs ?? DEFAULT_LEASE_INTERVAL_MS;
  const ttlMs = Math.min(MAX_LEASE_MS, 3 * intervalMs);
  let seq = 0;
  let latest: { token: string; until: number } | undefined;
  let failing = false;
  let stopped = false;

  const once = async (): Promise<void> => {
    try {
      await databaseAnswers(deps.db, intervalMs);
    } catch (error) {
      if (!failing)
        logger.error(
          'no lease for the hosts: the database does not answer; they follow their offline rules',
          {
            error: errorMessage(error),
          },
        );
      failing = true;
      return;
    }
    if (failing) logger.warn('the database answers again: leases resume, the coordinator decides');
    failing = false;
    const now = clock.now();
    seq = Math.max(seq + 1, now);
    const token = await signLease(deps.signingKey, seq, now, ttlMs);
    latest = { token, until: now + ttlMs };
    if (!stopped) deps.hub.broadcast({ type: 'lease', token });
  };

  return {
    intervalMs,
    renew: () =>
      once().catch((error: unknown) =>
        logger.error('signing the lease failed', { error: errorMessage(error) }),
      ),
    current: () =>
      latest !== undefined && clock.now() < latest.until - intervalMs ? latest.token : undefined,
    stop() {
      stopped = true;
    },
  };
}

/** The Node coordinator's lease: a round at start, then one every interval after the last ended. */
export function startLeaseSender(deps: LeaseDeps): LeaseSender {
  const lease = createLease(deps);
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let round: Promise<void> = Promise.resolve();

  const loop = (): void => {
    if (stopped) return;
    round = lease.renew().finally(() => {
      if (!stopped) timer = setTimeout(loop, lease.intervalMs);
    });
  };
  loop();

  return {
    current: () => lease.current(),
    async stop() {
      stopped = true;
      lease.stop();
      clearTimeout(timer);
      await round;
    },
  };
}

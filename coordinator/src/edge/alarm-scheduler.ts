/**
 * A Durable Object has one alarm; the edge coordinator needs four wake-ups from it: the engine's
 * next deadline (the fleet's Scheduler seam: stage delays, grace, the dead-UPS rule), the
 * keepalive that agents need (they drop a connection on which nothing arrived for 45 s), the
 * lease (fleet/lease.ts: due every lease interval after the last round while agents are connected;
 * without it hosts count as on their own) and the notification outbox's next due message (one
 * delivery step, notify/delivery.ts, returns it; a commit that queued messages makes it due now).
 * The alarm is set to the earliest of the four. It is durable: after an eviction or a restart it
 * still fires, and the object's start re-evaluates the engine (resume) and makes a delivery step
 * due, which arm their next deadlines again.
 */
import type { Clock } from '../../../shared/src/clock.js';
import type { Scheduler } from '../fleet/scheduler.js';
import type { DurableObjectStorage } from './workerd-types.js';

/** When a delivery step failed after all (it should not), the next one is due this much later. */
const DELIVERY_RETRY_MS = 5_000;
/**
 * While a step runs, the alarm stays set at most this far ahead (the claim on its rows, request
 * timeout + 30 s): if workerd dies before the step re-arms, the restarted object still wakes and
 * sends them, instead of waiting for some other request.
 */
const DELIVERY_GUARD_MS = 40_000;

export interface AlarmScheduler {
  /** The fleet's engine timer. */
  readonly scheduler: Scheduler;
  /** Keepalives and leases while agents are connected (`false`: none). */
  keepalive(on: boolean): void;
  /**
   * The alarm fired: runs what is due (the engine's task, the keepalive, the lease; the keepalive
   * also when `forceKeepalive`, after an eviction lost its schedule; a notification delivery step)
   * and re-arms. Resolves when the lease round it started (a database round trip) has ended; a
   * delivery step goes on after that and re-arms when it ends.
   */
  fire(forceKeepalive: boolean): Promise<void>;
  /**
   * A notification delivery step is due at `at` (now: after a commit that queued messages), unless
   * one is due earlier already. Ignored without a `deliver` step.
   */
  deliverAt(at: number): void;
}

export function createAlarmScheduler(deps: {
  readonly storage: DurableObjectStorage;
  readonly clock: Clock;
  readonly intervalMs: number;
  /** Sends a keepalive to every connected agent; false when there was none (keepalives stop). */
  readonly sendKeepalive: () => boolean;
  /**
   * The lease: every `intervalMs` after the last round while agents are connected; `renew` starts
   * a round, or returns undefined when no agent is connected (leases stop, like keepalives).
   */
  readonly lease?: { readonly intervalMs: number; readonly renew: () => Promise<void> | undefined };
  /**
   * One notification delivery step: sends what is due and resolves with when the next message
   * falls due (undefined: none waits). Never rejects. One step at a time; a step made due while
   * one runs follows it.
   */
  readonly deliver?: () => Promise<number | undefined>;
}): AlarmScheduler {
  const { storage, clock, lease, deliver } = deps;
  let engine: { at: number; task: () => void } | undefined;
  let keepaliveAt: number | undefined;
  let leaseAt: number | undefined;
  let deliverAt: number | undefined;
  let delivering = false;
  let guardAt: number | undefined;

  const arm = () => {
    const next = Math.min(
      engine?.at ?? Number.POSITIVE_INFINITY,
      keepaliveAt ?? Number.POSITIVE_INFINITY,
      leaseAt ?? Number.POSITIVE_INFINITY,
      // While a step runs, the next one waits for its end (which re-arms); the guard stands in.
      delivering ? (guardAt ?? Number.POSITIVE_INFINITY) : (deliverAt ?? Number.POSITIVE_INFINITY),
    );
    // Storage writes are ordered and confirmed before any output leaves the object (output gate).
    void (Number.isFinite(next) ? storage.setAlarm(next) : storage.deleteAlarm());
  };

  return {
    scheduler: {
      at(ms, task) {
        engine = { at: ms, task };
        arm();
      },
      cancel() {
        engine = undefined;
        arm();
      },
    },
    keepalive(on) {
      if (on && keepaliveAt === undefined) keepaliveAt = clock.now() + deps.intervalMs;
      if (on && leaseAt === undefined && lease !== undefined) leaseAt = clock.now() + lease.intervalMs;
      if (!on) {
        keepaliveAt = undefined;
        leaseAt = undefined;
      }
      arm();
    },
    async fire(forceKeepalive) {
      const now = clock.now();
      if (forceKeepalive || (keepaliveAt !== undefined && keepaliveAt <= now)) {
        keepaliveAt = deps.sendKeepalive() ? now + deps.intervalMs : undefined;
      }
      let round: Promise<void> | undefined;
      if (lease !== undefined && leaseAt !== undefined && leaseAt <= now) {
        round = lease.renew();
        leaseAt = round === undefined ? undefined : now + lease.intervalMs;
      }
      if (delivering && guardAt !== undefined && guardAt <= now) guardAt = now + DELIVERY_GUARD_MS;
      if (deliver !== undefined && !delivering && deliverAt !== undefined && deliverAt <= now) {
        deliverAt = undefined;
        delivering = true;
        guardAt = now + DELIVERY_GUARD_MS;
        // Not awaited: a chat service that hangs (up to the request timeout) must not hold up the
        // alarm's next round, and with it the lease. The step re-arms when it ends.
        void deliver()
          .catch(() => clock.now() + DELIVERY_RETRY_MS)
          .then((next) => {
            delivering = false;
            guardAt = undefined;
            if (next !== undefined) deliverAt = Math.min(deliverAt ?? next, next);
            arm();
          });
      }
      const due = engine !== undefined && engine.at <= now ? engine : undefined;
      if (due !== undefined) engine = undefined;
      arm();
      due?.task();
      await round;
    },
    deliverAt(at) {
      // No step to run: a due time would never be cleared and keep the alarm set in the past.
      if (deliver === undefined) return;
      if (deliverAt !== undefined && deliverAt <= at) return;
      deliverAt = at;
      arm();
    },
  };
}

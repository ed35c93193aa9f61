/**
 * A Durable Object has one alarm; the edge coordinator needs three wake-ups from it: the engine's
 * next deadline (the fleet's Scheduler seam: stage delays, grace, the dead-UPS rule), the
 * keepalive that agents need (they drop a connection on which nothing arrived for 45 s) and the
 * lease (fleet/lease.ts: due every lease interval after the last round while agents are connected;
 * without it hosts count as on their own). The alarm is set to the earliest of the three. It is durable: after an eviction or a restart it still fires,
 * and the object's start re-evaluates the engine (resume), which arms the next deadline again.
 */
import type { Clock } from '../../../shared/src/clock.js';
import type { Scheduler } from '../fleet/scheduler.js';
import type { DurableObjectStorage } from './workerd-types.js';

export interface AlarmScheduler {
  /** The fleet's engine timer. */
  readonly scheduler: Scheduler;
  /** Keepalives and leases while agents are connected (`false`: none). */
  keepalive(on: boolean): void;
  /**
   * The alarm fired: runs what is due (the engine's task, the keepalive, the lease; the keepalive
   * also when `forceKeepalive`, after an eviction lost its schedule) and re-arms. Resolves when the
   * lease round it started (a database round trip) has ended.
   */
  fire(forceKeepalive: boolean): Promise<void>;
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
}): AlarmScheduler {
  const { storage, clock, lease } = deps;
  let engine: { at: number; task: () => void } | undefined;
  let keepaliveAt: number | undefined;
  let leaseAt: number | undefined;

  const arm = () => {
    const next = Math.min(
      engine?.at ?? Number.POSITIVE_INFINITY,
      keepaliveAt ?? Number.POSITIVE_INFINITY,
      leaseAt ?? Number.POSITIVE_INFINITY,
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
      const due = engine !== undefined && engine.at <= now ? engine : undefined;
      if (due !== undefined) engine = undefined;
      arm();
      due?.task();
      await round;
    },
  };
}

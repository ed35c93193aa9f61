import { describe, expect, it } from 'vitest';
import { createAlarmScheduler } from './alarm-scheduler.js';
import type { DurableObjectStorage } from './workerd-types.js';

function setup(
  connected = true,
  leaseConnected = connected,
  deliver?: (now: number) => Promise<number | undefined>,
) {
  let now = 1_000_000;
  let alarm: number | null = null;
  const storage = {
    setAlarm: async (at: number) => {
      alarm = at;
    },
    deleteAlarm: async () => {
      alarm = null;
    },
  } as unknown as DurableObjectStorage;
  const keepalives: number[] = [];
  const leases: number[] = [];
  const alarms = createAlarmScheduler({
    storage,
    clock: { now: () => now },
    intervalMs: 30_000,
    sendKeepalive: () => {
      keepalives.push(now);
      return connected;
    },
    lease: {
      intervalMs: 5_000,
      renew: () => {
        if (!leaseConnected) return undefined;
        leases.push(now);
        return Promise.resolve();
      },
    },
    ...(deliver === undefined ? {} : { deliver: () => deliver(now) }),
  });
  return {
    alarms,
    keepalives,
    leases,
    alarm: () => alarm,
    advance: (to: number) => {
      now = to;
    },
  };
}

describe("one Durable Object alarm for the engine's deadline, the agents' keepalive and the lease", () => {
  it('is set to the earliest deadline and runs what is due when it fires', async () => {
    const t = setup(true, false);
    const ticks: number[] = [];
    t.alarms.keepalive(true);
    // The first lease is due one interval after the first agent connected.
    expect(t.alarm()).toBe(1_005_000);
    t.advance(1_005_000);
    await t.alarms.fire(false); // no agent for the lease: leases stop
    expect(t.alarm()).toBe(1_030_000);
    t.alarms.scheduler.at(1_015_000, () => ticks.push(1));
    expect(t.alarm()).toBe(1_015_000);
    t.advance(1_015_000);
    await t.alarms.fire(false);
    expect(ticks).toEqual([1]);
    expect(t.keepalives).toEqual([]);
    expect(t.alarm()).toBe(1_030_000);
    t.advance(1_030_001);
    await t.alarms.fire(false);
    expect(t.keepalives).toEqual([1_030_001]);
    expect(t.alarm()).toBe(1_060_001);
  });

  it('renews the lease one interval after the last round while agents are connected', async () => {
    const t = setup();
    const ticks: number[] = [];
    t.alarms.keepalive(true);
    t.alarms.scheduler.at(1_007_000, () => ticks.push(1));
    expect(t.alarm()).toBe(1_005_000);
    t.advance(1_005_200); // the alarm fires a little late: the next lease counts from this round
    await t.alarms.fire(false);
    expect(t.leases).toEqual([1_005_200]);
    expect(ticks).toEqual([]);
    expect(t.alarm()).toBe(1_007_000);
    t.advance(1_007_000);
    await t.alarms.fire(false);
    expect(ticks).toEqual([1]);
    expect(t.leases).toEqual([1_005_200]);
    expect(t.alarm()).toBe(1_010_200);
    t.advance(1_010_200);
    await t.alarms.fire(false);
    expect(t.leases).toEqual([1_005_200, 1_010_200]);
    expect(t.alarm()).toBe(1_015_200);
    // The last agent left: keepalives and leases stop, the alarm is free for the engine alone.
    t.alarms.keepalive(false);
    expect(t.alarm()).toBeNull();
  });

  it('drops a cancelled deadline, and stops keepalives and leases when no agent is left', async () => {
    const t = setup(false);
    t.alarms.scheduler.at(1_010_000, () => {
      throw new Error('cancelled: must not run');
    });
    t.alarms.scheduler.cancel();
    expect(t.alarm()).toBeNull();
    t.alarms.keepalive(true);
    t.advance(1_030_000);
    await t.alarms.fire(false);
    expect(t.keepalives).toHaveLength(1);
    expect(t.leases).toEqual([]);
    expect(t.alarm()).toBeNull();
  });

  it('sends a keepalive at once after an eviction lost its schedule, and re-arms an early alarm', async () => {
    const t = setup();
    const ticks: number[] = [];
    t.alarms.scheduler.at(1_020_000, () => ticks.push(1));
    await t.alarms.fire(true);
    expect(t.keepalives).toEqual([1_000_000]);
    expect(ticks).toEqual([]);
    expect(t.alarm()).toBe(1_020_000);
  });
});

/** Lets a finished delivery step's continuation (which re-arms) run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

describe('notification delivery steps on the same alarm', () => {
  /** Each step started, with its start time; the test ends it with the next due time. */
  function withSteps(connected = false) {
    const steps: { at: number; end: (next: number | undefined) => void }[] = [];
    const t = setup(connected, connected, (now) => new Promise((end) => steps.push({ at: now, end })));
    return { ...t, steps };
  }

  it('runs a step when one is made due, then arms the next due time the step returned', async () => {
    const t = withSteps();
    t.alarms.deliverAt(1_000_000); // a commit queued messages
    expect(t.alarm()).toBe(1_000_000);
    await t.alarms.fire(false);
    expect(t.steps.map((step) => step.at)).toEqual([1_000_000]);
    // Only the guard while the step runs: should workerd die now, the alarm still wakes the object.
    expect(t.alarm()).toBe(1_040_000);
    t.steps[0]?.end(1_004_000); // a retry after backoff
    await settle();
    expect(t.alarm()).toBe(1_004_000);
    t.advance(1_004_000);
    await t.alarms.fire(false);
    t.steps[1]?.end(undefined); // the outbox is empty: no more wake-ups for it
    await settle();
    expect(t.steps.map((step) => step.at)).toEqual([1_000_000, 1_004_000]);
    expect(t.alarm()).toBeNull();
  });

  it('keeps the earliest due time, and runs a step made due during another one right after it', async () => {
    const t = withSteps();
    t.alarms.deliverAt(1_020_000);
    t.alarms.deliverAt(1_030_000);
    expect(t.alarm()).toBe(1_020_000);
    t.alarms.deliverAt(1_000_000);
    expect(t.alarm()).toBe(1_000_000);
    await t.alarms.fire(false);
    t.alarms.deliverAt(1_000_000); // another commit while the step sends
    t.alarms.deliverAt(1_000_000);
    expect(t.alarm()).toBe(1_040_000);
    t.advance(1_040_000);
    await t.alarms.fire(false); // the guard, the step still hanging: no second step at the same time
    expect(t.steps).toHaveLength(1);
    expect(t.alarm()).toBe(1_080_000);
    t.steps[0]?.end(1_060_000);
    await settle();
    expect(t.alarm()).toBe(1_000_000);
    await t.alarms.fire(false);
    expect(t.steps).toHaveLength(2);
    expect(t.steps[1]?.at).toBe(1_040_000);
  });

  it('does not hold up the lease while a step waits for a chat service that hangs', async () => {
    const t = withSteps(true);
    t.alarms.keepalive(true);
    t.alarms.deliverAt(1_000_000);
    await t.alarms.fire(false); // resolves although the step has not ended
    expect(t.steps).toHaveLength(1);
    expect(t.alarm()).toBe(1_005_000); // the lease, before the step's guard
    t.advance(1_005_000);
    await t.alarms.fire(false);
    expect(t.leases).toEqual([1_005_000]);
    t.steps[0]?.end(undefined);
    await settle();
    expect(t.alarm()).toBe(1_010_000);
  });

  it('without a delivery step, a due time for one is ignored: the alarm is not left in the past', async () => {
    const t = setup(false);
    t.alarms.scheduler.at(1_060_000, () => {});
    t.alarms.deliverAt(1_000_000);
    expect(t.alarm()).toBe(1_060_000);
    t.advance(1_000_000);
    await t.alarms.fire(false);
    expect(t.alarm()).toBe(1_060_000);
  });
});

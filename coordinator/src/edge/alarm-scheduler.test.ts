import { describe, expect, it } from 'vitest';
import { createAlarmScheduler } from './alarm-scheduler.js';
import type { DurableObjectStorage } from './workerd-types.js';

function setup(connected = true) {
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
  const alarms = createAlarmScheduler({
    storage,
    clock: { now: () => now },
    intervalMs: 30_000,
    sendKeepalive: () => {
      keepalives.push(now);
      return connected;
    },
  });
  return {
    alarms,
    keepalives,
    alarm: () => alarm,
    advance: (to: number) => {
      now = to;
    },
  };
}

describe("one Durable Object alarm for the engine's deadline and the agents' keepalive", () => {
  it('is set to the earlier of the two and runs what is due when it fires', () => {
    const t = setup();
    const ticks: number[] = [];
    t.alarms.keepalive(true);
    expect(t.alarm()).toBe(1_030_000);
    t.alarms.scheduler.at(1_015_000, () => ticks.push(1));
    expect(t.alarm()).toBe(1_015_000);
    t.advance(1_015_000);
    t.alarms.fire(false);
    expect(ticks).toEqual([1]);
    expect(t.keepalives).toEqual([]);
    expect(t.alarm()).toBe(1_030_000);
    t.advance(1_030_001);
    t.alarms.fire(false);
    expect(t.keepalives).toEqual([1_030_001]);
    expect(t.alarm()).toBe(1_060_001);
  });

  it('drops a cancelled deadline, and stops keepalives when no agent is left', () => {
    const t = setup(false);
    t.alarms.scheduler.at(1_010_000, () => {
      throw new Error('cancelled: must not run');
    });
    t.alarms.scheduler.cancel();
    expect(t.alarm()).toBeNull();
    t.alarms.keepalive(true);
    t.advance(1_030_000);
    t.alarms.fire(false);
    expect(t.keepalives).toHaveLength(1);
    expect(t.alarm()).toBeNull();
  });

  it('sends a keepalive at once after an eviction lost its schedule, and re-arms an early alarm', () => {
    const t = setup();
    const ticks: number[] = [];
    t.alarms.scheduler.at(1_020_000, () => ticks.push(1));
    t.alarms.fire(true);
    expect(t.keepalives).toEqual([1_000_000]);
    expect(ticks).toEqual([]);
    expect(t.alarm()).toBe(1_020_000);
  });
});

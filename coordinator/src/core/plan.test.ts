import { describe, expect, it } from 'vitest';
import type { RunEffect } from './engine-state.js';
import { type PlanResult, parseScenario, type ScenarioInput, simulatePlan } from './plan.js';
import { type PolicyInput, parsePolicy } from './policy.js';

const wake = (n: number) => ({ mac: `00:11:22:33:44:0${n}`, via: 'nas', address: '192.168.1.255' });

/** Three stages: apps after 30 s on battery, db after 2 m (once apps is down), final on low battery. */
const threeStages: PolicyInput = {
  ups: [
    { name: 'nas-ups', watcher: 'nas', powerOff: 'shutdown.return' },
    { name: 'pi-ups', watcher: 'pi' },
  ],
  hosts: [
    { name: 'web1', ups: ['nas-ups'], tags: ['web'], wake: wake(1) },
    { name: 'web2', ups: ['nas-ups'], tags: ['web'], wake: wake(2) },
    { name: 'db1', ups: ['nas-ups'] },
    { name: 'nas', ups: ['nas-ups'] },
    { name: 'vault', ups: ['nas-ups', 'pi-ups'] },
  ],
  stages: [
    { name: 'apps', hosts: ['tag:web'], trigger: { onBattery: '30s' } },
    { name: 'db', hosts: ['db1', 'vault'], trigger: { onBattery: '2m' }, after: ['apps'] },
    { name: 'final', hosts: ['nas'], trigger: { lowBattery: true }, after: ['db'] },
  ],
  restore: { wake: ['web2', 'web1'] },
};

const policy = parsePolicy(threeStages);
const plan = (
  scenario: ScenarioInput | Record<string, unknown>,
  options: Parameters<typeof simulatePlan>[2] = {},
) => simulatePlan(policy, parseScenario(scenario), options);
const batteryNow = (runtime: string, more: Record<string, unknown> = {}) =>
  plan({ kind: 'battery-now', ups: ['nas-ups'], readings: { 'nas-ups': { runtime, charge: 100, ...more } } });

const host = (result: PlanResult, name: string) => result.hosts.find((h) => h.host === name);
const stage = (result: PlanResult, name: string) => result.stages.find((s) => s.name === name);
const isKind = <K extends RunEffect['kind']>(
  effect: RunEffect,
  kind: K,
): effect is Extract<RunEffect, { kind: K }> => effect.kind === kind;
/** The effects of one kind, with their time. */
const kinds = <K extends RunEffect['kind']>(result: PlanResult, kind: K) =>
  result.effects.flatMap(({ at, effect }) => (isKind(effect, kind) ? [{ at, ...effect }] : []));

describe('simulatePlan: battery now, runtime falling at the present load', () => {
  const result = batteryNow('10m');

  it('fires the three stages in order, at their delays and at low battery', () => {
    expect(result.stages).toEqual([
      { name: 'apps', firedAt: 30_000, reason: 'nas-ups: on battery 30s', completedAt: 60_000 },
      { name: 'db', firedAt: 120_000, reason: 'nas-ups: on battery 120s', completedAt: 150_000 },
      // LB assumed at runtime ≤ 2 min (battery.runtime.low not given): 10 min − 2 min.
      { name: 'final', firedAt: 480_000, reason: 'nas-ups: low battery', completedAt: 510_000 },
    ]);
    expect(kinds(result, 'stage-fired').map((e) => e.at)).toEqual([30_000, 120_000, 480_000]);
    expect(result.notes.join('\n')).toContain('low battery assumed at runtime ≤ 120s or charge ≤ 10%');
  });

  it('orders each host with its stage and sees it confirmed down after its shutdown time', () => {
    expect(host(result, 'web1')).toEqual({
      host: 'web1',
      stage: 'apps',
      orderedAt: 30_000,
      reason: 'nas-ups: on battery 30s',
      downAt: 60_000,
      downHow: 'confirmed',
    });
    expect(host(result, 'nas')).toMatchObject({ orderedAt: 480_000, downAt: 510_000, downHow: 'confirmed' });
    expect(kinds(result, 'order').map((o) => o.deadline)).toEqual([150_000, 150_000, 240_000, 600_000]);
  });

  it('records the UPS changes and the run still going at the horizon (a dead UPS never comes back)', () => {
    expect(result.ups.map((u) => [u.at, u.ups, u.what, u.charge])).toEqual([
      [0, 'nas-ups', 'on battery', 100],
      [480_000, 'nas-ups', 'low battery', 20],
      [600_000, 'nas-ups', 'dead', 0],
    ]);
    expect(result.endedAt).toBeUndefined();
    expect(result.horizonMs).toBe(7_200_000);
  });

  it('powers the UPS off once the hosts that need it are down; a dual-fed host safe on its other feed does not hold it', () => {
    expect(result.powerOff).toEqual([{ at: 510_000, ups: 'nas-ups', command: 'shutdown.return' }]);
    expect(host(result, 'vault')?.orderedAt).toBeUndefined();
    expect(result.warnings).toContain(
      'vault is never ordered to shut down in this scenario (still fed by pi-ups)',
    );
  });

  it('is pure: the same inputs give the same plan', () => {
    expect(batteryNow('10m')).toEqual(result);
  });
});

describe('simulatePlan: low battery before the delays', () => {
  // LB at runtime ≤ 2 min: 2:40 − 2:00 = +0:40, before db's own 2 min.
  const result = batteryNow('160s', { lowBatteryRuntime: '2m' });

  it('pulls the later stage’s prerequisites forward and keeps their order', () => {
    expect(stage(result, 'db')).toMatchObject({ firedAt: 60_000, reason: 'required by final' });
    expect(stage(result, 'final')).toMatchObject({ firedAt: 90_000, reason: 'nas-ups: low battery' });
    expect(host(result, 'db1')).toMatchObject({ orderedAt: 60_000, downAt: 90_000 });
    expect(host(result, 'nas')).toMatchObject({ orderedAt: 90_000, downAt: 120_000 });
    expect(result.powerOff).toEqual([{ at: 120_000, ups: 'nas-ups', command: 'shutdown.return' }]);
  });
});

describe('simulatePlan: dual feeds', () => {
  it('never orders a dual-fed host when only one of its UPSes fails, and says so', () => {
    const result = batteryNow('10m');
    expect(kinds(result, 'order').map((o) => o.host)).toEqual(['web1', 'web2', 'db1', 'nas']);
    expect(host(result, 'vault')).toEqual({ host: 'vault', stage: 'db' });
  });

  it('orders it when both fail', () => {
    const result = plan({
      kind: 'battery-now',
      readings: { 'nas-ups': { runtime: '10m' }, 'pi-ups': { runtime: '20m' } },
    });
    expect(host(result, 'vault')).toMatchObject({ stage: 'db', orderedAt: 120_000, downHow: 'confirmed' });
    expect(result.powerOff).toEqual([{ at: 510_000, ups: 'nas-ups', command: 'shutdown.return' }]);
  });
});

describe('simulatePlan: a scripted timeline with power back at 1 min', () => {
  const result = plan(
    {
      kind: 'timeline',
      events: [
        { at: 0, ups: 'nas-ups', status: 'OB DISCHRG' },
        { at: '1m', ups: 'nas-ups', status: 'OL CHRG' },
      ],
    },
    { hostShutdownMs: 20_000 },
  );

  it('cancels the remaining stages', () => {
    expect(result.stages.map((s) => [s.name, s.firedAt, s.completedAt, s.cancelledAt])).toEqual([
      ['apps', 30_000, 50_000, undefined],
      ['db', undefined, undefined, 60_000],
      ['final', undefined, undefined, 60_000],
    ]);
    expect(host(result, 'db1')?.orderedAt).toBeUndefined();
  });

  it('wakes the hosts that went down in restore order, after mains has been stable', () => {
    // restore.stableFor defaults to 2 m: +1:00 + 2:00; each host boots in 60 s before the next.
    expect(kinds(result, 'wake').map((w) => [w.at, w.host])).toEqual([
      [180_000, 'web2'],
      [240_000, 'web1'],
    ]);
    expect(host(result, 'web1')).toMatchObject({ wokenAt: 240_000, backAt: 300_000 });
    expect(host(result, 'web2')).toMatchObject({ wokenAt: 180_000, backAt: 240_000 });
    expect([result.endedAt, result.endReason]).toEqual([300_000, 'restored']);
  });
});

describe('simulatePlan: an unresponsive host', () => {
  const result = plan(
    { kind: 'battery-now', ups: ['nas-ups'], readings: { 'nas-ups': { runtime: '1h' } } },
    { unresponsive: ['web1'] },
  );

  it('counts it down when its grace expires, and holds the dependent stage until then', () => {
    expect(host(result, 'web1')).toMatchObject({
      orderedAt: 30_000,
      downAt: 150_000,
      downHow: 'grace-expired',
    });
    expect(host(result, 'web2')).toMatchObject({ downAt: 60_000, downHow: 'confirmed' });
    expect(stage(result, 'apps')?.completedAt).toBe(150_000);
    expect(stage(result, 'db')?.firedAt).toBe(150_000); // its own trigger held from +2:00
  });
});

describe('simulatePlan: warnings', () => {
  it('names unknown UPSes and hosts, hosts not enrolled, and hosts that lose power running', () => {
    const result = plan(
      { kind: 'battery-now', ups: ['nas-ups', 'ghost-ups'], readings: { 'nas-ups': { runtime: '20s' } } },
      { unresponsive: ['nobody'], enrolled: ['web1', 'web2', 'db1', 'vault'] },
    );
    expect(result.warnings).toEqual(
      expect.arrayContaining([
        'scenario: unknown UPS "ghost-ups" ignored',
        'options: "nobody" is not a host of the policy',
        'nas is not enrolled yet: no order reaches it until its grace expires',
        'nas loses power (nas-ups dead) before it has shut down',
      ]),
    );
    expect(host(result, 'nas')?.powerLostAt).toBe(20_000);
  });

  it('stops at the horizon and says which scripted events it did not play', () => {
    const result = plan(
      {
        kind: 'timeline',
        events: [
          { at: 0, ups: 'nas-ups', status: 'OB' },
          { at: '3h', ups: 'nas-ups', status: 'OL' },
        ],
      },
      { horizonMs: 3_600_000 },
    );
    expect(result.endedAt).toBeUndefined();
    expect(result.warnings).toContain(
      'scenario: events after 1h are not simulated (the run ended or the horizon came)',
    );
  });
});

describe('simulatePlan: engine behaviour found by simulation', () => {
  const twoUps = parsePolicy({
    ups: [
      { name: 'ups-a', watcher: 'a' },
      { name: 'ups-b', watcher: 'b' },
    ],
    hosts: [
      { name: 'web1', ups: ['ups-a'] },
      { name: 'web2', ups: ['ups-b'] },
    ],
    stages: [{ name: 'apps', hosts: ['web1', 'web2'], trigger: { onBattery: '30s' } }],
  });

  // Engine bug: once a stage is complete it is skipped, so a host of that stage whose UPS fails
  // later (web2, ups-b at +2:00) is never ordered and loses power at +20:00. Flip to `it` when fixed.
  it('orders a stage host whose UPS fails after the stage completed', () => {
    const result = simulatePlan(
      twoUps,
      parseScenario({
        kind: 'timeline',
        events: [
          { at: 0, ups: 'ups-a', status: 'OB' },
          { at: '2m', ups: 'ups-b', status: 'OB' },
          { at: '20m', ups: 'ups-b', status: 'OB', dead: true },
        ],
      }),
    );
    expect(result.hosts.find((h) => h.host === 'web2')?.orderedAt).toBe(150_000);
  });
});

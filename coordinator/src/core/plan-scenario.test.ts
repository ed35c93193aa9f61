import { describe, expect, it } from 'vitest';
import { parsePlanOptions, parseScenario, ScenarioError, scenarioReadings } from './plan-scenario.js';
import { parsePolicy } from './policy.js';

/** The errors of a scenario that must be refused (fails the test if it is accepted). */
function errorsOf(run: () => unknown): readonly string[] {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ScenarioError);
    if (error instanceof ScenarioError) {
      expect(error.code).toBe('unprocessable');
      return error.errors;
    }
  }
  throw new Error('expected a ScenarioError, but the scenario was accepted');
}

describe('parseScenario', () => {
  it('reads durations as text or milliseconds', () => {
    expect(
      parseScenario({
        kind: 'battery-now',
        readings: { 'nas-ups': { runtime: '10m', charge: 80, lowBatteryRuntime: 90_000 } },
      }),
    ).toEqual({
      kind: 'battery-now',
      readings: { 'nas-ups': { runtime: 600_000, charge: 80, lowBatteryRuntime: 90_000 } },
    });
    expect(
      parseScenario({ kind: 'timeline', events: [{ at: '1m30s', ups: 'a', status: 'OB LB', dead: true }] }),
    ).toEqual({ kind: 'timeline', events: [{ at: 90_000, ups: 'a', status: 'OB LB', dead: true }] });
  });

  it('names every bad field at once', () => {
    const errors = errorsOf(() =>
      parseScenario({
        kind: 'timeline',
        events: [
          { at: '9x', ups: 'a', status: 'OB' },
          { at: 0, ups: 'a', status: 'OB BANANA' },
          { at: 0, ups: 'a', status: 'CHRG' },
          { at: 0, ups: 'a', status: 'OL', charge: 140, colour: 'red' },
        ],
      }),
    );
    expect(errors).toEqual([
      'events[0].at: invalid duration "9x": write it like 90s, 5m, 1h or 250ms',
      'events[1].status: unknown status word(s) BANANA',
      'events[2].status: "CHRG" says neither OL nor OB',
      'events[3].charge: Too big: expected number to be <=100',
      'events[3]: Unrecognized key: "colour"',
    ]);
  });

  it('refuses an unknown kind, an empty timeline and a bad reading', () => {
    expect(errorsOf(() => parseScenario({ kind: 'meteor' }))[0]).toMatch(/^kind: /);
    expect(errorsOf(() => parseScenario({ kind: 'timeline', events: [] }))).toEqual([
      'events: a timeline needs at least one event',
    ]);
    expect(
      errorsOf(() => parseScenario({ kind: 'battery-now', readings: { 'nas-ups': { runtime: 'soon' } } })),
    ).toEqual(['readings.nas-ups.runtime: invalid duration "soon": write it like 90s, 5m, 1h or 250ms']);
  });
});

describe('parsePlanOptions', () => {
  it('reads durations and names bad ones', () => {
    expect(parsePlanOptions({ hostShutdownMs: '45s', unresponsive: ['web1'] })).toEqual({
      hostShutdownMs: 45_000,
      unresponsive: ['web1'],
    });
    expect(parsePlanOptions(undefined)).toEqual({});
    expect(errorsOf(() => parsePlanOptions({ stepMs: '10ms', horizonMs: '2d' }))).toEqual([
      'stepMs: at least 1s',
      'horizonMs: at most 24h',
    ]);
  });
});

describe('scenarioReadings', () => {
  const policy = parsePolicy({
    ups: [
      { name: 'a', watcher: 'w' },
      { name: 'b', watcher: 'w' },
    ],
  });

  it('drains runtime 1 s per second and charge in proportion, with LB at the threshold and death at 0', () => {
    const scenario = parseScenario({
      kind: 'battery-now',
      ups: ['a'],
      readings: { a: { runtime: '100s', charge: 50, lowBatteryRuntime: '30s', lowBatteryCharge: 20 } },
    });
    const readings = scenarioReadings(policy, scenario, { stepMs: 20_000, horizonMs: 3_600_000 }, []);
    const rows = readings.map((r) => [
      r.at,
      r.input.ups,
      r.input.charge,
      r.input.runtime,
      r.input.lowBattery,
    ]);
    expect(rows).toEqual([
      [0, 'b', undefined, undefined, false],
      [0, 'a', 50, 100_000, false],
      [20_000, 'a', 40, 80_000, false],
      [40_000, 'a', 30, 60_000, false],
      [60_000, 'a', 20, 40_000, true], // charge ≤ battery.charge.low
      [70_000, 'a', 15, 30_000, true], // runtime ≤ battery.runtime.low
      [80_000, 'a', 10, 20_000, true],
      [100_000, 'a', 0, 0, true],
    ]);
    expect(readings.at(-1)?.input).toMatchObject({ dead: true, power: 'battery' });
    expect(readings[0]?.input.power).toBe('online');
  });

  it('never runs a UPS out without a runtime reading, and notes it', () => {
    const notes: string[] = [];
    const scenario = parseScenario({ kind: 'battery-now', ups: ['a'], readings: { a: { charge: 5 } } });
    const readings = scenarioReadings(policy, scenario, { stepMs: 5_000, horizonMs: 3_600_000 }, notes);
    expect(readings.filter((r) => r.input.ups === 'a').map((r) => [r.at, r.input.lowBattery])).toEqual([
      [0, true],
    ]);
    expect(notes).toEqual([
      'a: no battery.runtime reading, so it never runs out here; only time and charge triggers fire',
    ]);
  });

  it('plays a timeline after every UPS starts on mains, in time order', () => {
    const scenario = parseScenario({
      kind: 'timeline',
      events: [
        { at: '1m', ups: 'a', status: 'OL' },
        { at: 0, ups: 'a', status: 'FSD OB' },
      ],
    });
    const rows = scenarioReadings(policy, scenario, { stepMs: 5_000, horizonMs: 3_600_000 }, []).map((r) => [
      r.at,
      r.input.ups,
      r.input.power,
      r.input.fsd,
    ]);
    expect(rows).toEqual([
      [0, 'a', 'online', false],
      [0, 'b', 'online', false],
      [0, 'a', 'battery', true],
      [60_000, 'a', 'online', false],
    ]);
  });
});

/**
 * The engine as timelines: each step feeds one input at an explicit `now` and states the exact
 * effects expected. No timers: a `wake-at` effect is only data.
 */
import { describe, expect, it } from 'vitest';
import { decide, type Effect, type EngineInput, type EngineState, emptyState } from './engine.js';
import { type Policy, parsePolicy } from './policy.js';

const T0 = Date.UTC(2025, 0, 15, 12, 0, 0);
const S = 1_000;
const M = 60_000;

/** UPS "ups-a" feeds web1, db1 and storage; "ups-b" feeds only lab1. Stages at 0s, 30s and 2m. */
const policy: Policy = parsePolicy({
  ups: [
    { name: 'ups-a', watcher: 'nas' },
    { name: 'ups-b', watcher: 'pi' },
  ],
  hosts: [
    { name: 'web1', ups: ['ups-a'] },
    { name: 'db1', ups: ['ups-a'] },
    { name: 'storage', ups: ['ups-a'] },
    { name: 'lab1', ups: ['ups-b'] },
  ],
  stages: [
    { name: 'early', hosts: ['web1', 'lab1'], trigger: { onBattery: '0s' } },
    { name: 'middle', hosts: ['db1'], trigger: { onBattery: '30s' } },
    { name: 'late', hosts: ['storage'], trigger: { onBattery: '2m' } },
  ],
});

const power = (ups: string, state: 'online' | 'battery' | 'unknown', at: number): EngineInput => ({
  kind: 'power',
  ups,
  power: state,
  at,
});
const tick: EngineInput = { kind: 'tick' };

interface Step {
  readonly now: number;
  readonly input: EngineInput;
  readonly effects: readonly Effect[];
}

/** Feeds the steps in order, checking every step's effects exactly; returns the final state. */
function play(steps: readonly Step[], options: { policy?: Policy | undefined; state?: EngineState } = {}) {
  const usedPolicy = 'policy' in options ? options.policy : policy;
  let state = options.state ?? emptyState;
  steps.forEach((step, index) => {
    const decision = decide(usedPolicy, deepFreeze(state), step.input, step.now);
    expect(decision.effects, `step ${index} (t0+${(step.now - T0) / S}s)`).toEqual(step.effects);
    state = decision.state;
  });
  return state;
}

/** The engine must be pure: a frozen input state makes any mutation throw. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

const fire = (stage: string, hosts: readonly string[], ups = 'ups-a'): Effect => ({
  kind: 'fire-stage',
  ups,
  stage,
  hosts,
});

describe('decide: an outage of one UPS', () => {
  it('on battery at t0: starts a run, fires the 0s stage at once and asks to wake at the next deadline', () => {
    play([
      {
        now: T0,
        input: power('ups-a', 'battery', T0),
        effects: [
          { kind: 'start-run', ups: 'ups-a', at: T0 },
          fire('early', ['web1']),
          { kind: 'wake-at', at: T0 + 30 * S },
        ],
      },
    ]);
  });

  it('fires each stage once at its deadline, never before and never again on later ticks', () => {
    const state = play([
      {
        now: T0,
        input: power('ups-a', 'battery', T0),
        effects: [
          { kind: 'start-run', ups: 'ups-a', at: T0 },
          fire('early', ['web1']),
          { kind: 'wake-at', at: T0 + 30 * S },
        ],
      },
      { now: T0 + 29_999, input: tick, effects: [{ kind: 'wake-at', at: T0 + 30 * S }] },
      {
        now: T0 + 30 * S,
        input: tick,
        effects: [fire('middle', ['db1']), { kind: 'wake-at', at: T0 + 2 * M }],
      },
      { now: T0 + 30 * S, input: tick, effects: [{ kind: 'wake-at', at: T0 + 2 * M }] },
      { now: T0 + 90 * S, input: tick, effects: [{ kind: 'wake-at', at: T0 + 2 * M }] },
      // A late wake-up (the process was busy) still fires, once.
      { now: T0 + 2 * M + 5 * S, input: tick, effects: [fire('late', ['storage'])] },
      { now: T0 + 3 * M, input: tick, effects: [] },
      { now: T0 + 60 * M, input: tick, effects: [] },
    ]);
    expect(state.runs['ups-a']?.firedStages).toEqual(['early', 'middle', 'late']);
  });

  it('a repeated on-battery reading neither starts a second run nor moves the deadlines', () => {
    play([
      {
        now: T0,
        input: power('ups-a', 'battery', T0),
        effects: [
          { kind: 'start-run', ups: 'ups-a', at: T0 },
          fire('early', ['web1']),
          { kind: 'wake-at', at: T0 + 30 * S },
        ],
      },
      {
        now: T0 + 20 * S,
        input: power('ups-a', 'battery', T0 + 20 * S),
        effects: [{ kind: 'wake-at', at: T0 + 30 * S }],
      },
      {
        now: T0 + 30 * S,
        input: tick,
        effects: [fire('middle', ['db1']), { kind: 'wake-at', at: T0 + 2 * M }],
      },
    ]);
  });

  it('power back before a stage ends the run, and that stage never fires', () => {
    const state = play([
      {
        now: T0,
        input: power('ups-a', 'battery', T0),
        effects: [
          { kind: 'start-run', ups: 'ups-a', at: T0 },
          fire('early', ['web1']),
          { kind: 'wake-at', at: T0 + 30 * S },
        ],
      },
      {
        now: T0 + 20 * S,
        input: power('ups-a', 'online', T0 + 20 * S),
        effects: [{ kind: 'end-run', ups: 'ups-a', reason: 'power-restored' }],
      },
      // The wake-up asked for earlier still arrives: it must do nothing.
      { now: T0 + 30 * S, input: tick, effects: [] },
      { now: T0 + 5 * M, input: tick, effects: [] },
    ]);
    expect(state.runs).toEqual({});
    expect(state.ups['ups-a']).toEqual({ power: 'online', since: T0 + 20 * S });
  });

  it('flapping OB/OL faster than the 30s stage never fires it; each outage is its own run', () => {
    const steps: Step[] = [];
    for (let cycle = 0; cycle < 4; cycle++) {
      const start = T0 + cycle * 20 * S;
      steps.push(
        {
          now: start,
          input: power('ups-a', 'battery', start),
          effects: [
            { kind: 'start-run', ups: 'ups-a', at: start },
            fire('early', ['web1']),
            { kind: 'wake-at', at: start + 30 * S },
          ],
        },
        {
          now: start + 10 * S,
          input: power('ups-a', 'online', start + 10 * S),
          effects: [{ kind: 'end-run', ups: 'ups-a', reason: 'power-restored' }],
        },
        { now: start + 19 * S, input: tick, effects: [] },
      );
    }
    play(steps);
  });

  it('an event observed before it arrives counts from when it was observed', () => {
    // A watcher's queued OB reading, delivered 40 s late: the 30 s stage is already due.
    play([
      {
        now: T0 + 40 * S,
        input: power('ups-a', 'battery', T0),
        effects: [
          { kind: 'start-run', ups: 'ups-a', at: T0 },
          fire('early', ['web1']),
          fire('middle', ['db1']),
          { kind: 'wake-at', at: T0 + 2 * M },
        ],
      },
    ]);
  });

  it('an observation time in the future (watcher clock ahead) is clamped to now', () => {
    play([
      {
        now: T0,
        input: power('ups-a', 'battery', T0 + 10 * M),
        effects: [
          { kind: 'start-run', ups: 'ups-a', at: T0 },
          fire('early', ['web1']),
          { kind: 'wake-at', at: T0 + 30 * S },
        ],
      },
    ]);
  });
});

describe('decide: unknown is never on battery', () => {
  it('unknown power (DATA-STALE, no driver) never starts a run nor fires a stage', () => {
    const state = play([
      { now: T0, input: power('ups-a', 'unknown', T0), effects: [] },
      { now: T0 + 30 * S, input: tick, effects: [] },
      { now: T0 + 10 * M, input: tick, effects: [] },
    ]);
    expect(state.runs).toEqual({});
  });

  it('online then unknown does nothing; the first OB afterwards starts the run', () => {
    play([
      { now: T0, input: power('ups-a', 'online', T0), effects: [] },
      { now: T0 + S, input: power('ups-a', 'unknown', T0 + S), effects: [] },
      { now: T0 + 5 * M, input: tick, effects: [] },
      {
        now: T0 + 6 * M,
        input: power('ups-a', 'battery', T0 + 6 * M),
        effects: [
          { kind: 'start-run', ups: 'ups-a', at: T0 + 6 * M },
          fire('early', ['web1']),
          { kind: 'wake-at', at: T0 + 6 * M + 30 * S },
        ],
      },
    ]);
  });

  it('unknown mid-outage keeps the run open but fires nothing while unknown', () => {
    const state = play([
      {
        now: T0,
        input: power('ups-a', 'battery', T0),
        effects: [
          { kind: 'start-run', ups: 'ups-a', at: T0 },
          fire('early', ['web1']),
          { kind: 'wake-at', at: T0 + 30 * S },
        ],
      },
      { now: T0 + 10 * S, input: power('ups-a', 'unknown', T0 + 10 * S), effects: [] },
      { now: T0 + 30 * S, input: tick, effects: [] },
      { now: T0 + 3 * M, input: tick, effects: [] },
    ]);
    expect(state.runs['ups-a']).toEqual({ startedAt: T0, firedStages: ['early'] });
  });

  it('power back after an unknown spell ends the run', () => {
    play([
      {
        now: T0,
        input: power('ups-a', 'battery', T0),
        effects: [
          { kind: 'start-run', ups: 'ups-a', at: T0 },
          fire('early', ['web1']),
          { kind: 'wake-at', at: T0 + 30 * S },
        ],
      },
      { now: T0 + 10 * S, input: power('ups-a', 'unknown', T0 + 10 * S), effects: [] },
      {
        now: T0 + 20 * S,
        input: power('ups-a', 'online', T0 + 20 * S),
        effects: [{ kind: 'end-run', ups: 'ups-a', reason: 'power-restored' }],
      },
    ]);
  });

  it('a short data-stale blip during an outage does not restart the on-battery clock', () => {
    // NUT's upsmon/upssched keep the ONBATT timer running across COMMBAD/COMMOK: the UPS was on
    // battery at t0 and is on battery again at t0+20s, so the 30s stage is due at t0+30s. A
    // flaky USB link must not postpone every stage by each blip.
    play([
      {
        now: T0,
        input: power('ups-a', 'battery', T0),
        effects: [
          { kind: 'start-run', ups: 'ups-a', at: T0 },
          fire('early', ['web1']),
          { kind: 'wake-at', at: T0 + 30 * S },
        ],
      },
      { now: T0 + 15 * S, input: power('ups-a', 'unknown', T0 + 15 * S), effects: [] },
      {
        now: T0 + 20 * S,
        input: power('ups-a', 'battery', T0 + 20 * S),
        effects: [{ kind: 'wake-at', at: T0 + 30 * S }],
      },
      {
        now: T0 + 30 * S,
        input: tick,
        effects: [fire('middle', ['db1']), { kind: 'wake-at', at: T0 + 2 * M }],
      },
    ]);
  });
});

describe('decide: which hosts are ordered', () => {
  it('hosts fed by another UPS are not ordered', () => {
    play([
      {
        now: T0,
        input: power('ups-b', 'battery', T0),
        effects: [{ kind: 'start-run', ups: 'ups-b', at: T0 }, fire('early', ['lab1'], 'ups-b')],
      },
      // ups-b feeds nobody in "middle" or "late": nothing to wait for, nothing fires later.
      { now: T0 + 10 * M, input: tick, effects: [] },
    ]);
  });

  it('a stage whose hosts no UPS on battery feeds is skipped, and later stages still fire', () => {
    const labFirst = parsePolicy({
      ups: [
        { name: 'ups-a', watcher: 'nas' },
        { name: 'ups-b', watcher: 'pi' },
      ],
      hosts: [
        { name: 'web1', ups: ['ups-a'] },
        { name: 'lab1', ups: ['ups-b'] },
      ],
      stages: [
        { name: 'lab', hosts: ['lab1'], trigger: { onBattery: '0s' } },
        { name: 'web', hosts: ['web1'], trigger: { onBattery: '30s' } },
      ],
    });
    const state = play(
      [
        {
          now: T0,
          input: power('ups-a', 'battery', T0),
          effects: [
            { kind: 'start-run', ups: 'ups-a', at: T0 },
            { kind: 'wake-at', at: T0 + 30 * S },
          ],
        },
        { now: T0 + 30 * S, input: tick, effects: [fire('web', ['web1'])] },
      ],
      { policy: labFirst },
    );
    expect(state.runs['ups-a']?.firedStages).toEqual(['web']);
  });

  it('two UPSes on battery run independently, each ordering only its own hosts', () => {
    play([
      {
        now: T0,
        input: power('ups-a', 'battery', T0),
        effects: [
          { kind: 'start-run', ups: 'ups-a', at: T0 },
          fire('early', ['web1']),
          { kind: 'wake-at', at: T0 + 30 * S },
        ],
      },
      {
        now: T0 + 10 * S,
        input: power('ups-b', 'battery', T0 + 10 * S),
        effects: [
          { kind: 'start-run', ups: 'ups-b', at: T0 + 10 * S },
          fire('early', ['lab1'], 'ups-b'),
          { kind: 'wake-at', at: T0 + 30 * S },
        ],
      },
      {
        now: T0 + 20 * S,
        input: power('ups-b', 'online', T0 + 20 * S),
        effects: [
          { kind: 'end-run', ups: 'ups-b', reason: 'power-restored' },
          { kind: 'wake-at', at: T0 + 30 * S },
        ],
      },
      {
        now: T0 + 30 * S,
        input: tick,
        effects: [fire('middle', ['db1']), { kind: 'wake-at', at: T0 + 2 * M }],
      },
    ]);
  });
});

describe('decide: restored state and policy changes', () => {
  const midRun: EngineState = {
    ups: { 'ups-a': { power: 'battery', since: T0 } },
    runs: { 'ups-a': { startedAt: T0, firedStages: ['early', 'middle'] } },
  };

  it('state restored mid-run does not fire its stages again', () => {
    play(
      [
        { now: T0 + 60 * S, input: tick, effects: [{ kind: 'wake-at', at: T0 + 2 * M }] },
        { now: T0 + 2 * M, input: tick, effects: [fire('late', ['storage'])] },
        { now: T0 + 3 * M, input: tick, effects: [] },
      ],
      { state: midRun },
    );
  });

  it('a restart after every deadline passed fires only the stages not yet fired', () => {
    play([{ now: T0 + 10 * M, input: tick, effects: [fire('late', ['storage'])] }], { state: midRun });
  });

  it('without a policy no stage fires, but runs still start and end', () => {
    play(
      [
        {
          now: T0,
          input: power('ups-a', 'battery', T0),
          effects: [{ kind: 'start-run', ups: 'ups-a', at: T0 }],
        },
        { now: T0 + 10 * M, input: tick, effects: [] },
        {
          now: T0 + 11 * M,
          input: power('ups-a', 'online', T0 + 11 * M),
          effects: [{ kind: 'end-run', ups: 'ups-a', reason: 'power-restored' }],
        },
      ],
      { policy: undefined },
    );
  });

  it('a policy applied mid-outage fires its overdue stages on the next tick', () => {
    const noPolicyYet = play(
      [
        {
          now: T0,
          input: power('ups-a', 'battery', T0),
          effects: [{ kind: 'start-run', ups: 'ups-a', at: T0 }],
        },
      ],
      { policy: undefined },
    );
    play(
      [
        {
          now: T0 + 45 * S,
          input: tick,
          effects: [fire('early', ['web1']), fire('middle', ['db1']), { kind: 'wake-at', at: T0 + 2 * M }],
        },
      ],
      { state: noPolicyYet },
    );
  });
});

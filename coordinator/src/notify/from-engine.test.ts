import { describe, expect, it } from 'vitest';
import { decide } from '../core/engine.js';
import type { Effect } from '../core/engine-state.js';
import { initialEngineState } from '../core/engine-state.js';
import { parsePolicy } from '../core/policy.js';
import { connected, createTimeline, S, t, tick, ups } from '../core/test-timeline.js';
import {
  deadUpses,
  factsFromEffects,
  factsFromSilence,
  factsFromUpsEvent,
  nextStageFor,
} from './from-engine.js';
import { toMessage } from './messages.js';

const policy = parsePolicy({
  ups: [{ name: 'nas-ups', watcher: 'nas', deadAfter: '1d' }],
  hosts: [
    { name: 'web-1', ups: ['nas-ups'] },
    { name: 'web-2', ups: ['nas-ups'] },
    { name: 'db-1', ups: ['nas-ups'] },
  ],
  stages: [
    { name: 'apps', hosts: ['web-1', 'web-2'], trigger: { onBattery: '60s' } },
    { name: 'data', hosts: ['db-1'], trigger: { onBattery: '5m' }, after: ['apps'] },
  ],
});

describe('factsFromUpsEvent', () => {
  const claims = {
    ups: 'nas-ups',
    events: ['ONBATT'] as const,
    status: ['OB', 'DISCHRG'],
    vars: { 'battery.charge': '87', 'battery.runtime': '860', 'ups.load': '23' },
    dead: false,
  };

  it('one fact per notify event, with charge, runtime and the next stage', () => {
    expect(
      factsFromUpsEvent(
        { ...claims, events: ['ONBATT'] },
        { at: t(0), wasDead: false, nextStage: { name: 'apps', inMs: 60 * S } },
      ),
    ).toEqual([
      {
        kind: 'onbatt',
        ups: 'nas-ups',
        at: t(0),
        status: ['OB', 'DISCHRG'],
        charge: 87,
        runtime: 860,
        nextStage: { name: 'apps', inMs: 60 * S },
      },
    ]);
  });

  it('the dead verdict is a fact once, when it is new', () => {
    const dead = { ...claims, events: [], status: null, dead: true };
    expect(factsFromUpsEvent(dead, { at: t(0), wasDead: false }).map((f) => f.kind)).toEqual(['dead']);
    expect(factsFromUpsEvent(dead, { at: t(5), wasDead: true })).toEqual([]);
  });

  it('the next stage only goes with trouble, and unreadable values are left out', () => {
    const [online] = factsFromUpsEvent(
      { ...claims, events: ['ONLINE'], vars: { 'battery.charge': 'n/a' } },
      { at: t(0), wasDead: false, nextStage: { name: 'apps', inMs: 1 } },
    );
    expect(online).toEqual({ kind: 'online', ups: 'nas-ups', at: t(0), status: ['OB', 'DISCHRG'] });
  });
});

describe('from the engine', () => {
  function outage() {
    const timeline = createTimeline(policy);
    for (const host of ['web-1', 'web-2', 'db-1']) timeline.feed(t(0), connected(host));
    return timeline;
  }

  it('the next stage of a UPS on battery, counted from when it went on battery', () => {
    const timeline = outage();
    timeline.feed(t(10), ups('nas-ups', 'OB DISCHRG', t(10)));
    expect(nextStageFor(policy, timeline.state, 'nas-ups', t(10))).toEqual({ name: 'apps', inMs: 60 * S });
    expect(nextStageFor(policy, timeline.state, 'nas-ups', t(40))).toEqual({ name: 'apps', inMs: 30 * S });
    timeline.feed(t(70), ups('nas-ups', 'OB DISCHRG', t(70)));
    // apps has fired: data (5 min from t(10)) is next.
    expect(nextStageFor(policy, timeline.state, 'nas-ups', t(70))).toEqual({ name: 'data', inMs: 240 * S });
  });

  it('no next stage on mains', () => {
    const timeline = outage();
    timeline.feed(t(10), ups('nas-ups', 'OL', t(10)));
    expect(nextStageFor(policy, timeline.state, 'nas-ups', t(10))).toBeUndefined();
  });

  it('a decision firing a stage: one stage-fired fact with the hosts it orders down', () => {
    const timeline = outage();
    const started = timeline.feed(t(10), ups('nas-ups', 'OB DISCHRG', t(10))).map(([, e]) => e);
    expect(factsFromEffects(started, { at: t(10), drill: false }).map((f) => f.kind)).toEqual([
      'run-started',
    ]);
    const fired = timeline.feed(t(70), ups('nas-ups', 'OB DISCHRG', t(70))).map(([, e]) => e);
    const facts = factsFromEffects(fired, { at: t(70), drill: false });
    expect(facts).toEqual([
      {
        kind: 'stage-fired',
        at: t(70),
        run: 1,
        drill: false,
        stage: 'apps',
        reason: 'nas-ups: on battery 60s',
        hosts: ['web-1', 'web-2'],
      },
    ]);
    expect(facts.map(toMessage)[0]?.text).toBe(
      "Stage 'apps' fired: nas-ups on battery for 60 s — shutting down web-1, web-2",
    );
  });

  it('a drill is marked from its start', () => {
    const effects: Effect[] = [{ kind: 'run-started', run: 2, runKind: 'drill', reason: 'drill requested' }];
    expect(factsFromEffects(effects, { at: t(0), drill: false })).toEqual([
      { kind: 'run-started', at: t(0), run: 2, drill: true, reason: 'drill requested' },
    ]);
  });

  it('effects nobody needs to hear about make no facts', () => {
    const effects: Effect[] = [
      { kind: 'stage-waiting', run: 1, stage: 'data', waitingFor: ['apps'] },
      { kind: 'stage-complete', run: 1, stage: 'apps' },
      { kind: 'host-back', run: 1, host: 'web-1' },
      { kind: 'wake-at', at: t(99) },
      { kind: 'host-down', run: 1, host: 'web-1', how: 'confirmed' },
    ];
    expect(factsFromEffects(effects, { at: t(1), drill: false })).toEqual([
      { kind: 'host-down', at: t(1), run: 1, drill: false, host: 'web-1', how: 'confirmed' },
    ]);
  });
});

describe('factsFromSilence: the watcher silent while its UPS was on battery', () => {
  const silentPolicy = parsePolicy({
    ups: [{ name: 'nas-ups', watcher: 'nas', deadAfter: '60s' }],
    hosts: [{ name: 'web-1', ups: ['nas-ups'] }],
    stages: [{ name: 'apps', hosts: ['web-1'], trigger: { onBattery: '10m' } }],
  });

  /** Decides `input` at `now` and returns the state and the silence facts of that decision. */
  function step(state: typeof initialEngineState, input: Parameters<typeof decide>[2], now: number) {
    const before = deadUpses(state);
    const after = decide(silentPolicy, state, input, now).state;
    return { state: after, facts: factsFromSilence(before, after, now) };
  }

  it('raises one notification when the dead-UPS deadline passes, and none on later ticks', () => {
    let { state, facts } = step(initialEngineState, ups('nas-ups', 'OB DISCHRG', t(0)), t(0));
    expect(facts).toEqual([]);
    ({ state, facts } = step(state, tick, t(30)));
    expect(facts).toEqual([]);
    ({ state, facts } = step(state, tick, t(61)));
    expect(facts).toEqual([{ kind: 'silent', ups: 'nas-ups', at: t(61), status: null }]);
    expect(toMessage(facts[0] as NonNullable<(typeof facts)[0]>)).toMatchObject({
      severity: 'critical',
      text: 'Lost contact with nas-ups while on battery — hosts follow their offline rules',
    });
    for (const later of [t(120), t(600)]) {
      ({ state, facts } = step(state, tick, later));
      expect(facts).toEqual([]);
    }
  });

  it('stays quiet for a UPS silent on mains, and for a dead verdict the watcher itself reports', () => {
    const online = step(initialEngineState, ups('nas-ups', 'OL', t(0)), t(0));
    expect(step(online.state, tick, t(600)).facts).toEqual([]);
    const onBattery = step(initialEngineState, ups('nas-ups', 'OB', t(0)), t(0));
    expect(step(onBattery.state, ups('nas-ups', '', t(10), { dead: true }), t(10)).facts).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import type { BriefingClaims } from '../../../shared/src/protocol.js';
import {
  type CachedBriefing,
  decideFallback,
  type FallbackEffect,
  type FallbackInput,
  type FallbackState,
  initialFallbackState,
} from './decide-fallback.js';
import { assessPower, type LastKnownPower, nextLastKnown } from './power-health.js';

const T0 = Date.parse('2026-11-23T22:00:00Z');
const S = 1_000;
const t = (seconds: number) => T0 + seconds * S;

type Feed = BriefingClaims['feeds'][number];
const feed = (ups: string, power: Feed['power'], dead = false): Feed => ({
  ups,
  power,
  dead,
  observedAt: T0,
});

function claims(version: number, feeds: Feed[], changes: Partial<BriefingClaims> = {}): BriefingClaims {
  return {
    kind: 'briefing',
    version,
    feeds,
    minSupplies: 1,
    fallback: { after: 120 * S },
    offline: [],
    ...changes,
  };
}

function cached(body: BriefingClaims, previous: LastKnownPower = {}): CachedBriefing {
  return {
    token: `token-${body.version}`,
    claims: body,
    receivedAt: T0,
    lastKnown: nextLastKnown(previous, body),
  };
}

const onBattery = (version: number, changes: Partial<BriefingClaims> = {}) =>
  cached(claims(version, [feed('nas-ups', 'battery')], changes));
const online = (version: number) => cached(claims(version, [feed('nas-ups', 'online')]));

const link = (state: 'open' | 'closed' | 'connecting' | 'stopped'): FallbackInput => ({
  kind: 'link',
  state,
});
const briefing = (value: CachedBriefing): FallbackInput => ({ kind: 'briefing', briefing: value });
const due: FallbackInput = { kind: 'due' };

function describeEffect(effect: FallbackEffect): string {
  switch (effect.kind) {
    case 'start':
      return `start v${effect.countdown.version} until t+${(effect.countdown.deadline - T0) / S}s`;
    case 'hold':
      return `hold ${effect.reason}`;
    case 'cancel':
      return `cancel (${effect.health.inTrouble ? 'power in trouble' : 'power fine'})`;
    case 'shutdown':
      return `shutdown v${effect.countdown.version}`;
  }
}

/** Feeds the inputs in order, each at its time; returns each step's effects, described. */
function play(start: FallbackState, steps: readonly [number, FallbackInput][]): string[][] {
  let state = start;
  return steps.map(([at, input]) => {
    const decision = decideFallback(state, input, at);
    state = decision.state;
    return decision.effects.map(describeEffect);
  });
}

describe('decideFallback: timelines', () => {
  it('lost while on battery: the countdown runs out and the shutdown runs once', () => {
    expect(
      play(initialFallbackState(onBattery(1), false), [
        [t(0), link('open')],
        [t(10), link('closed')],
        [t(11), link('connecting')],
        [t(12), link('closed')],
        [t(100), due],
        [t(130), due],
        [t(131), due],
        [t(140), link('closed')],
      ]),
    ).toEqual([
      [],
      ['start v1 until t+130s'],
      [],
      [],
      // A timer that fires early changes nothing.
      [],
      ['shutdown v1'],
      [],
      [],
    ]);
  });

  it('the coordinator comes back with power restored: cancelled, and a later loss holds', () => {
    expect(
      play(initialFallbackState(onBattery(1), false), [
        [t(0), link('closed')],
        [t(5), link('open')],
        [t(6), briefing(online(2))],
        [t(200), due],
        [t(300), link('closed')],
      ]),
    ).toEqual([['start v1 until t+120s'], [], ['cancel (power fine)'], [], ['hold power-fine']]);
  });

  it('the coordinator comes back with power still in trouble: cancelled; a new loss starts over', () => {
    expect(
      play(initialFallbackState(onBattery(1), false), [
        [t(0), link('closed')],
        [t(60), briefing(onBattery(2))],
        [t(120), due],
        [t(200), link('closed')],
        [t(320), due],
      ]),
    ).toEqual([
      ['start v1 until t+120s'],
      ['cancel (power in trouble)'],
      [],
      ['start v2 until t+320s'],
      ['shutdown v2'],
    ]);
  });

  it('connecting again proves nothing: only a briefing cancels', () => {
    expect(
      play(initialFallbackState(onBattery(1), false), [
        [t(0), link('closed')],
        [t(1), link('connecting')],
        [t(2), link('open')],
        [t(3), link('closed')],
        [t(120), due],
      ]),
    ).toEqual([['start v1 until t+120s'], [], [], [], ['shutdown v1']]);
  });

  it('no briefing yet: the power state is unknown, never read as on battery', () => {
    expect(play(initialFallbackState(undefined, false), [[t(0), link('closed')]])).toEqual([
      ['hold no-briefing'],
    ]);
  });

  it('no rule for this host (fallback null): no countdown, whatever the local config says', () => {
    expect(
      play(initialFallbackState(onBattery(1, { fallback: null }), false), [[t(0), link('closed')]]),
    ).toEqual([['hold no-rule']]);
  });

  it('the fallback for this briefing already ran (before a restart): never again', () => {
    expect(
      play(initialFallbackState(onBattery(7), true), [
        [t(0), link('closed')],
        [t(500), due],
      ]),
    ).toEqual([['hold already-ran'], []]);
    // A newer briefing is a new outage: its own fallback may run.
    expect(
      play(initialFallbackState(onBattery(7), true), [
        [t(0), briefing(onBattery(8))],
        [t(1), link('closed')],
        [t(121), due],
      ]),
    ).toEqual([[], ['start v8 until t+121s'], ['shutdown v8']]);
  });

  it('stopping (the agent itself, or a revocation) is not losing the coordinator', () => {
    expect(play(initialFallbackState(onBattery(1), false), [[t(0), link('stopped')]])).toEqual([[]]);
  });

  it('a zero delay shuts down as soon as the timer fires', () => {
    expect(
      play(initialFallbackState(onBattery(1, { fallback: { after: 0 } }), false), [
        [t(0), link('closed')],
        [t(0), due],
      ]),
    ).toEqual([['start v1 until t+0s'], ['shutdown v1']]);
  });
});

describe('power health: MINSUPPLIES and unknown', () => {
  it.each([
    ['online', [feed('a', 'online')], 1, false],
    ['on battery', [feed('a', 'battery')], 1, true],
    ['dead', [feed('a', 'unknown', true)], 1, true],
    ['never known', [feed('a', 'unknown')], 1, false],
    ['one of two on battery, one needed', [feed('a', 'online'), feed('b', 'battery')], 1, false],
    ['one of two on battery, two needed', [feed('a', 'online'), feed('b', 'battery')], 2, true],
  ] as const)('%s', (_what, feeds, minSupplies, inTrouble) => {
    expect(assessPower(claims(1, [...feeds], { minSupplies }), {}).inTrouble).toBe(inTrouble);
  });

  it('unknown keeps the last known power: unknown after battery is in trouble, after online is fine', () => {
    const afterBattery = nextLastKnown(
      nextLastKnown({}, claims(1, [feed('a', 'battery')])),
      claims(2, [feed('a', 'unknown')]),
    );
    expect(afterBattery).toEqual({ a: 'battery' });
    expect(assessPower(claims(2, [feed('a', 'unknown')]), afterBattery)).toEqual({
      healthy: 0,
      needed: 1,
      inTrouble: true,
      summary: 'a unknown (last known battery) (0 of 1 feeds healthy, 1 needed)',
    });
    const afterOnline = nextLastKnown({ a: 'online' }, claims(2, [feed('a', 'unknown')]));
    expect(assessPower(claims(2, [feed('a', 'unknown')]), afterOnline).inTrouble).toBe(false);
    // Dead counts as battery for what comes after it.
    expect(nextLastKnown({}, claims(3, [feed('a', 'unknown', true)]))).toEqual({ a: 'battery' });
  });

  it('says what it saw, for the log', () => {
    expect(assessPower(claims(1, [feed('nas-ups', 'battery')]), {}).summary).toBe(
      'nas-ups on battery (0 of 1 feeds healthy, 1 needed)',
    );
  });
});

import { describe, expect, it } from 'vitest';
import {
  evaluateOffline,
  type FeedView,
  type HostOfflineRule,
  initialOfflineMemory,
  type OfflineVerdict,
} from './offline-evaluator.js';

const S = 1_000;
const M = 60 * S;
/** The host lost its lease at t=100 s. */
const LOST = 100 * S;

const ownOnline: FeedView = {
  source: 'own',
  power: 'online',
  lowBattery: false,
  fsd: false,
  dead: false,
  charge: 100,
  runtime: 20 * M,
  batterySince: undefined,
};
/** Its own reading: on battery since it saw the power go at t=90 s (before it lost the lease). */
const ownBattery: FeedView = { ...ownOnline, power: 'battery', batterySince: 90 * S };
const briefedBattery: FeedView = { ...ownBattery, source: 'briefing', batterySince: undefined };
const briefedOnline: FeedView = { ...ownOnline, source: 'briefing' };

const single = (
  stages: HostOfflineRule['stages'],
  fallback: HostOfflineRule['fallback'] = { after: 5 * M },
) => ({ feeds: ['a'], minSupplies: 1, stages, fallback }) satisfies HostOfflineRule;

const apps = { stage: 'apps', trigger: { onBattery: 30 * S }, wait: 0, waitBound: 0 };
/** After a stage with `onBattery: 0s` and a 2 m grace. */
const db = { stage: 'db', trigger: { onBattery: M }, wait: 2 * M, waitBound: 2 * M };

type Expect = Pick<OfflineVerdict, 'kind'> & { at?: number; by?: string; stage?: string | null };

describe('evaluateOffline: a host on its own, by its own reading and clock', () => {
  const cases: readonly [string, HostOfflineRule, Record<string, FeedView>, number, Expect][] = [
    ['mains in its own reading: never', single([apps]), { a: ownOnline }, LOST, { kind: 'mains' }],
    [
      'mains in its own reading beats a briefing that said battery and a fallback',
      { ...single([apps]), feeds: ['a', 'b'] },
      { a: ownOnline, b: briefedBattery },
      LOST,
      { kind: 'mains' },
    ],
    [
      'FSD on mains is not mains (the primary is about to cut power)',
      single([{ stage: 'apps', trigger: { fsd: true }, wait: 0, waitBound: 0 }]),
      { a: { ...ownOnline, fsd: true } },
      LOST,
      { kind: 'countdown', at: LOST, by: 'offline', stage: 'apps' },
    ],
    [
      'on battery: its stage fires 30 s after IT saw the power go, not after the loss',
      single([apps]),
      { a: ownBattery },
      LOST,
      { kind: 'countdown', at: 120 * S, by: 'offline', stage: 'apps' },
    ],
    [
      'after: the wait ends at the bound when that is sooner',
      single([db]),
      { a: ownBattery },
      LOST,
      { kind: 'countdown', at: 90 * S + 2 * M, by: 'offline', stage: 'db' },
    ],
    [
      'after: without a bound, the trigger plus the whole wait',
      single([{ ...db, waitBound: null }]),
      { a: ownBattery },
      LOST,
      { kind: 'countdown', at: 90 * S + M + 2 * M, by: 'offline', stage: 'db' },
    ],
    [
      'low battery: at once',
      single([{ stage: 'apps', trigger: { lowBattery: true }, wait: 0, waitBound: 0 }]),
      { a: { ...ownBattery, lowBattery: true } },
      LOST,
      { kind: 'countdown', at: LOST, by: 'offline', stage: 'apps' },
    ],
    [
      'runtime below',
      single([{ stage: 'apps', trigger: { runtimeBelow: 5 * M }, wait: 0, waitBound: 0 }]),
      { a: { ...ownBattery, runtime: 4 * M } },
      LOST,
      { kind: 'countdown', at: LOST, by: 'offline', stage: 'apps' },
    ],
    [
      'the fallback, when sooner than every stage rule',
      single([{ stage: 'apps', trigger: { onBattery: 10 * M }, wait: 0, waitBound: 0 }], { after: M }),
      { a: ownBattery },
      LOST,
      { kind: 'countdown', at: LOST + M, by: 'fallback', stage: null },
    ],
    [
      'no reading of its own: only the fallback, from the loss (the rule before hosts read upsd)',
      single([apps]),
      { a: briefedBattery },
      LOST,
      { kind: 'countdown', at: LOST + 5 * M, by: 'fallback', stage: null },
    ],
    [
      'no reading of its own and the briefing said online: fine',
      single([apps]),
      { a: briefedOnline },
      LOST,
      { kind: 'fine' },
    ],
    ['never heard of at all: fine (unknown is never battery)', single([apps]), {}, LOST, { kind: 'fine' }],
    [
      'in trouble, a manual-only stage and no fallback: no rule',
      single([], null),
      { a: ownBattery },
      LOST,
      { kind: 'no-rule' },
    ],
    [
      'dead UPS in its own reading counts as on battery from its last OB',
      single([{ stage: 'apps', trigger: { dead: true }, wait: 0, waitBound: 0 }]),
      { a: { ...ownBattery, power: 'unknown', dead: true } },
      LOST,
      { kind: 'countdown', at: LOST, by: 'offline', stage: 'apps' },
    ],
    [
      'two feeds, minSupplies 1: one on battery is not trouble',
      { ...single([apps]), feeds: ['a', 'b'] },
      { a: ownBattery, b: ownOnline },
      LOST,
      { kind: 'mains' },
    ],
    [
      'two feeds, minSupplies 1: both on battery, the later one counts',
      { ...single([apps]), feeds: ['a', 'b'] },
      { a: ownBattery, b: { ...ownBattery, batterySince: 95 * S } },
      LOST,
      { kind: 'countdown', at: 125 * S, by: 'offline', stage: 'apps' },
    ],
    [
      'two feeds, minSupplies 2: one on battery is enough',
      { ...single([apps]), feeds: ['a', 'b'], minSupplies: 2 },
      { a: ownBattery, b: ownOnline },
      LOST,
      { kind: 'countdown', at: 120 * S, by: 'offline', stage: 'apps' },
    ],
  ];

  it.each(cases)('%s', (_, rule, feeds, now, expected) => {
    const { verdict } = evaluateOffline(rule, feeds, initialOfflineMemory(LOST), now);
    expect(verdict).toMatchObject(expected);
  });

  it('a condition without a time of its own counts from when it was first seen, and stays', () => {
    const rule = single([{ stage: 'db', trigger: { lowBattery: true }, wait: M, waitBound: null }]);
    const first = evaluateOffline(
      rule,
      { a: { ...ownBattery, lowBattery: true } },
      initialOfflineMemory(LOST),
      LOST,
    );
    expect(first.verdict).toMatchObject({ kind: 'countdown', at: LOST + M });
    // LB flickers away: the stage that fired stays fired, the countdown keeps its time.
    const later = evaluateOffline(rule, { a: ownBattery }, first.memory, LOST + 10 * S);
    expect(later.verdict).toMatchObject({ kind: 'countdown', at: LOST + M, stage: 'db' });
  });

  it('mains clears what it remembered: a new outage starts from zero', () => {
    const rule = single([{ stage: 'db', trigger: { lowBattery: true }, wait: M, waitBound: null }], null);
    const first = evaluateOffline(
      rule,
      { a: { ...ownBattery, lowBattery: true } },
      initialOfflineMemory(LOST),
      LOST,
    );
    const back = evaluateOffline(rule, { a: ownOnline }, first.memory, LOST + S);
    expect(back.verdict.kind).toBe('mains');
    const again = evaluateOffline(rule, { a: ownBattery }, back.memory, LOST + 2 * S);
    expect(again.verdict.kind).toBe('no-rule');
  });

  it('the fallback counts from when it was both on its own and in trouble', () => {
    const rule = single([], { after: M });
    const calm = evaluateOffline(rule, { a: ownOnline }, initialOfflineMemory(LOST), LOST);
    const trouble = evaluateOffline(
      rule,
      { a: { ...ownBattery, batterySince: LOST + 5 * M } },
      calm.memory,
      LOST + 5 * M,
    );
    expect(trouble.verdict).toMatchObject({ kind: 'countdown', at: LOST + 6 * M, by: 'fallback' });
  });
});

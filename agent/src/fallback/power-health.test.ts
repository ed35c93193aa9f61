import { describe, expect, it } from 'vitest';
import type { BriefingClaims } from '../../../shared/src/protocol.js';
import { assessPower, nextLastKnown } from './power-health.js';

const T0 = Date.parse('2026-11-23T22:00:00Z');

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
    fallback: { after: 120_000 },
    offline: [],
    ...changes,
  };
}

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

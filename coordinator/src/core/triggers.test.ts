import { describe, expect, it } from 'vitest';
import type { UpsView } from './engine-state.js';
import { type HostEntry, parsePolicy, type Trigger } from './policy.js';
import { M, S, t } from './test-timeline.js';
import {
  conditionsMet,
  hostsFedBy,
  inTrouble,
  nextTimeCondition,
  onBattery,
  threatened,
  triggerReason,
} from './triggers.js';

const online: UpsView = {
  power: 'online',
  lowBattery: false,
  fsd: false,
  dead: false,
  charge: 100,
  runtime: 30 * M,
  batterySince: undefined,
  onlineSince: t(0),
};
/** On battery since t(0). */
const battery: UpsView = { ...online, power: 'battery', batterySince: t(0), onlineSince: undefined };
const unknown: UpsView = { ...online, power: 'unknown', onlineSince: undefined };
/** upsmon's dead-UPS verdict: last seen on battery, silent since. */
const dead: UpsView = { ...battery, power: 'unknown', dead: true };
const fsdOnline: UpsView = { ...online, fsd: true };

describe('onBattery and inTrouble', () => {
  it.each([
    ['online', online, false, false],
    ['on battery', battery, true, true],
    ['unknown (stale, WAIT, no data)', unknown, false, false],
    ['dead', dead, true, true],
    ['FSD OL', fsdOnline, false, true],
    ['never heard from', undefined, false, false],
  ])('%s', (_, view, expectedOnBattery, expectedInTrouble) => {
    expect(onBattery(view)).toBe(expectedOnBattery);
    expect(inTrouble(view)).toBe(expectedInTrouble);
  });
});

describe('conditionsMet: which conditions of a trigger hold for one UPS', () => {
  const cases: readonly [string, Trigger, UpsView | undefined, number, string[]][] = [
    ['on battery, before the delay', { onBattery: 30 * S }, battery, t(29.999), []],
    ['on battery, at the delay', { onBattery: 30 * S }, battery, t(30), ['on battery 30s']],
    ['on battery 0s, at once', { onBattery: 0 }, battery, t(0), ['on battery 0s']],
    ['on battery: not while online', { onBattery: 0 }, online, t(100), []],
    ['on battery: FSD OL is not on battery', { onBattery: 0 }, fsdOnline, t(100), []],
    ['on battery: a dead UPS counts from its last OB', { onBattery: M }, dead, t(60), ['on battery 60s']],
    ['charge below', { chargeBelow: 50 }, { ...battery, charge: 49 }, t(0), ['charge 49% < 50%']],
    ['charge equal is not below', { chargeBelow: 50 }, { ...battery, charge: 50 }, t(0), []],
    ['charge below, but on mains (charging)', { chargeBelow: 50 }, { ...online, charge: 10 }, t(0), []],
    ['charge below, not reported', { chargeBelow: 50 }, { ...battery, charge: undefined }, t(0), []],
    [
      'runtime below',
      { runtimeBelow: 5 * M },
      { ...battery, runtime: 299 * S },
      t(0),
      ['runtime 299s < 300s'],
    ],
    ['runtime equal is not below', { runtimeBelow: 5 * M }, { ...battery, runtime: 300 * S }, t(0), []],
    ['runtime below, but on mains', { runtimeBelow: 5 * M }, { ...online, runtime: 10 * S }, t(0), []],
    ['low battery', { lowBattery: true }, { ...battery, lowBattery: true }, t(0), ['low battery']],
    ['low battery, but on mains (OL LB)', { lowBattery: true }, { ...online, lowBattery: true }, t(0), []],
    ['low battery not asked for', { onBattery: M }, { ...battery, lowBattery: true }, t(0), []],
    ['FSD on mains (FSD OL)', { fsd: true }, fsdOnline, t(0), ['FSD']],
    ['FSD on battery', { fsd: true }, { ...battery, fsd: true }, t(0), ['FSD']],
    ['FSD not asked for', { onBattery: M }, fsdOnline, t(0), []],
    ['dead', { dead: true }, dead, t(0), ['dead UPS']],
    ['dead not asked for, not yet on battery long enough', { onBattery: M }, dead, t(10), []],
    ['manual never comes from a UPS', { manual: true }, { ...battery, fsd: true, dead: true }, t(999), []],
    ['unknown readings meet nothing', { onBattery: 0, lowBattery: true }, unknown, t(999), []],
    ['never heard from meets nothing', { onBattery: 0, fsd: true, dead: true }, undefined, t(999), []],
    [
      'several at once, in a fixed order',
      { fsd: true, dead: true, lowBattery: true, onBattery: 0, chargeBelow: 50, runtimeBelow: M },
      { ...dead, fsd: true, lowBattery: true, charge: 5, runtime: 20 * S },
      t(10),
      ['FSD', 'dead UPS', 'low battery', 'on battery 0s', 'charge 5% < 50%', 'runtime 20s < 60s'],
    ],
  ];
  it.each(cases)('%s', (_, trigger, view, now, expected) => {
    expect(conditionsMet(trigger, view, now)).toEqual(expected);
  });
});

describe('triggerReason and threatened: the MINSUPPLIES rule', () => {
  const host = (ups: string[], minSupplies: number): HostEntry => ({
    name: 'nas',
    tags: [],
    ups,
    minSupplies,
  });
  const trigger: Trigger = { onBattery: 0 };
  const cases: readonly [string, HostEntry, Record<string, UpsView>, string | undefined, boolean][] = [
    ['single feed, on mains', host(['a'], 1), { a: online }, undefined, false],
    ['single feed, on battery', host(['a'], 1), { a: battery }, 'a: on battery 0s', true],
    [
      'two feeds, one on battery, minSupplies 1',
      host(['a', 'b'], 1),
      { a: battery, b: online },
      undefined,
      false,
    ],
    [
      'two feeds, both on battery, minSupplies 1',
      host(['a', 'b'], 1),
      { a: battery, b: battery },
      'a: on battery 0s; b: on battery 0s',
      true,
    ],
    [
      'two feeds, one on battery, minSupplies 2',
      host(['a', 'b'], 2),
      { a: battery, b: online },
      'a: on battery 0s',
      true,
    ],
    ['two feeds, one dead, the other fine', host(['a', 'b'], 1), { a: dead, b: online }, undefined, false],
    ['two feeds, one never heard from (healthy)', host(['a', 'b'], 1), { a: battery }, undefined, false],
    ['two feeds, one unknown (healthy)', host(['a', 'b'], 1), { a: battery, b: unknown }, undefined, false],
    ['FSD OL, trigger without fsd', host(['a'], 1), { a: fsdOnline }, undefined, true],
  ];
  it.each(cases)('%s', (_, entry, views, reason, isThreatened) => {
    expect(triggerReason(trigger, entry, views, t(0))).toBe(reason);
    expect(threatened(entry, views)).toBe(isThreatened);
  });

  it('a trigger whose conditions differ per feed: each feed counts for what it meets', () => {
    const both: Trigger = { onBattery: M, lowBattery: true };
    const views = { a: { ...battery, lowBattery: true }, b: battery };
    expect(triggerReason(both, host(['a', 'b'], 1), views, t(30))).toBeUndefined();
    expect(triggerReason(both, host(['a', 'b'], 1), views, t(60))).toBe(
      'a: low battery, on battery 60s; b: on battery 60s',
    );
    expect(triggerReason(both, host(['a', 'b'], 2), views, t(30))).toBe('a: low battery');
  });
});

describe('nextTimeCondition: when to look again', () => {
  it.each([
    ['the end of the onBattery delay', { onBattery: 30 * S }, battery, t(10), t(30)],
    ['nothing once the delay is over', { onBattery: 30 * S }, battery, t(30), undefined],
    ['nothing on mains', { onBattery: 30 * S }, online, t(10), undefined],
    ['nothing without an onBattery condition', { chargeBelow: 50 }, battery, t(10), undefined],
    ['a dead UPS counts from its last OB', { onBattery: M }, dead, t(10), t(60)],
    ['nothing for a UPS never heard from', { onBattery: M }, undefined, t(10), undefined],
  ])('%s', (_, trigger: Trigger, view, now, expected) => {
    expect(nextTimeCondition(trigger, view, now)).toBe(expected);
  });
});

describe('hostsFedBy', () => {
  it('lists every host a UPS feeds, single and dual feeds alike, in document order', () => {
    const policy = parsePolicy({
      ups: [
        { name: 'ups-a', watcher: 'nas' },
        { name: 'ups-b', watcher: 'pi' },
        { name: 'ups-c', watcher: 'pi' },
      ],
      hosts: [
        { name: 'web1', ups: ['ups-a'] },
        { name: 'nas', ups: ['ups-b', 'ups-a'] },
        { name: 'lab1', ups: ['ups-b'] },
      ],
    });
    expect(hostsFedBy(policy, 'ups-a')).toEqual(['web1', 'nas']);
    expect(hostsFedBy(policy, 'ups-b')).toEqual(['nas', 'lab1']);
    expect(hostsFedBy(policy, 'ups-c')).toEqual([]);
    expect(hostsFedBy(policy, 'ups-x')).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { describeOfflineRules } from '../../../shared/src/offline-rule-text.js';
import type { OfflineStageRule } from '../../../shared/src/protocol.js';
import { compileOfflineRules } from './offline-rule.js';
import { type PolicyInput, parsePolicy } from './policy.js';

const S = 1_000;
const M = 60 * S;

const hosts = (names: string[], ups = ['nas-ups'], minSupplies = 1) =>
  names.map((name) => ({ name, ups, minSupplies }));

function policy(stages: NonNullable<PolicyInput['stages']>, extraHosts: PolicyInput['hosts'] = []) {
  return parsePolicy({
    ups: [
      { name: 'nas-ups', watcher: 'nas' },
      { name: 'b-ups', watcher: 'nas' },
    ],
    hosts: [...hosts(['web1', 'web2', 'db1', 'nas1', 'spare']), ...(extraHosts ?? [])],
    stages,
  });
}

describe('compileOfflineRules: what a host does on its own, from the policy', () => {
  const cases: readonly [string, ReturnType<typeof policy>, string, OfflineStageRule[]][] = [
    [
      'a stage without after: its own trigger, nothing to wait for',
      policy([{ name: 'apps', hosts: ['web1'], trigger: { onBattery: '30s' } }]),
      'web1',
      [{ stage: 'apps', trigger: { onBattery: 30 * S }, wait: 0, waitBound: 0 }],
    ],
    [
      'every trigger condition is carried, manual is dropped',
      policy([
        {
          name: 'apps',
          hosts: ['web1'],
          trigger: {
            onBattery: '1m',
            chargeBelow: 40,
            runtimeBelow: '5m',
            lowBattery: true,
            fsd: true,
            dead: true,
            manual: true,
          },
        },
      ]),
      'web1',
      [
        {
          stage: 'apps',
          trigger: {
            onBattery: M,
            chargeBelow: 40,
            runtimeBelow: 5 * M,
            lowBattery: true,
            fsd: true,
            dead: true,
          },
          wait: 0,
          waitBound: 0,
        },
      ],
    ],
    [
      'a manual-only stage has no offline rule (only the fallback)',
      policy([{ name: 'apps', hosts: ['web1'], trigger: { manual: true } }]),
      'web1',
      [],
    ],
    [
      'a host in no stage has no offline rule',
      policy([{ name: 'apps', hosts: ['web1'], trigger: { onBattery: '30s' } }]),
      'spare',
      [],
    ],
    [
      'after: one stage: its grace, bounded by its own delay plus grace',
      policy([
        { name: 'apps', hosts: ['web1'], trigger: { onBattery: '30s' }, grace: '2m' },
        { name: 'db', hosts: ['db1'], trigger: { onBattery: '10s' }, after: ['apps'] },
      ]),
      'db1',
      [{ stage: 'db', trigger: { onBattery: 10 * S }, wait: 2 * M, waitBound: 2 * M + 30 * S }],
    ],
    [
      'a chain: graces add up; the bound follows the slowest path',
      policy([
        { name: 'apps', hosts: ['web1'], trigger: { onBattery: '30s' }, grace: '1m' },
        { name: 'db', hosts: ['db1'], trigger: { onBattery: '5m' }, after: ['apps'], grace: '2m' },
        { name: 'storage', hosts: ['nas1'], trigger: { onBattery: '0s' }, after: ['db'] },
      ]),
      'nas1',
      [{ stage: 'storage', trigger: { onBattery: 0 }, wait: 3 * M, waitBound: 7 * M }],
    ],
    [
      'two stages before it: the longer of the two',
      policy([
        { name: 'apps', hosts: ['web1'], trigger: { onBattery: '30s' }, grace: '1m' },
        { name: 'batch', hosts: ['web2'], trigger: { onBattery: '2m' }, grace: '3m' },
        { name: 'db', hosts: ['db1'], trigger: { lowBattery: true }, after: ['apps', 'batch'] },
      ]),
      'db1',
      [{ stage: 'db', trigger: { lowBattery: true }, wait: 3 * M, waitBound: 5 * M }],
    ],
    [
      'a stage before it without an on-battery trigger: no bound, only the wait',
      policy([
        { name: 'apps', hosts: ['web1'], trigger: { chargeBelow: 50 }, grace: '1m' },
        { name: 'db', hosts: ['db1'], trigger: { onBattery: '1m' }, after: ['apps'] },
      ]),
      'db1',
      [{ stage: 'db', trigger: { onBattery: M }, wait: M, waitBound: null }],
    ],
    [
      'a stage before it whose hosts are fed by another UPS: no bound (their outage is not ours)',
      policy(
        [
          { name: 'apps', hosts: ['web9'], trigger: { onBattery: '30s' }, grace: '1m' },
          { name: 'db', hosts: ['db1'], trigger: { onBattery: '1m' }, after: ['apps'] },
        ],
        [{ name: 'web9', ups: ['b-ups'] }],
      ),
      'db1',
      [{ stage: 'db', trigger: { onBattery: M }, wait: M, waitBound: null }],
    ],
    [
      'a host in two stages gets both rules',
      policy([
        { name: 'early', hosts: ['web1'], trigger: { runtimeBelow: '10m' } },
        { name: 'late', hosts: ['web1', 'web2'], trigger: { onBattery: '5m' }, grace: '1m' },
      ]),
      'web1',
      [
        { stage: 'early', trigger: { runtimeBelow: 10 * M }, wait: 0, waitBound: 0 },
        { stage: 'late', trigger: { onBattery: 5 * M }, wait: 0, waitBound: 0 },
      ],
    ],
  ];

  it.each(cases)('%s', (_, compiled, host, expected) => {
    expect(compileOfflineRules(compiled, host)).toEqual(expected);
  });

  it('reads in words as plan and the host log show it', () => {
    const compiled = policy([
      { name: 'apps', hosts: ['web1'], trigger: { onBattery: '30s' }, grace: '2m' },
      { name: 'db', hosts: ['db1'], trigger: { onBattery: '10s', lowBattery: true }, after: ['apps'] },
    ]);
    expect(describeOfflineRules(compileOfflineRules(compiled, 'db1'), { after: 5 * M })).toBe(
      'stage db: on battery 10s or low battery, then up to 2m for the stages before it ' +
        '(at the latest 2m30s on battery); fallback 5m after losing the coordinator while in trouble',
    );
    expect(describeOfflineRules([], null)).toBe('no stage rule; no fallback');
  });
});

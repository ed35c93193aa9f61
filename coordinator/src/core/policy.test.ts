import { describe, expect, it } from 'vitest';
import { hostsOfStageOnUps, PolicyError, type PolicyInput, parsePolicy, parsePolicyYaml } from './policy.js';

const valid: PolicyInput = {
  ups: [
    { name: 'ups-a', watcher: 'nas' },
    { name: 'ups-b', watcher: 'pi' },
  ],
  hosts: [
    { name: 'web1', ups: ['ups-a'] },
    { name: 'db1', ups: ['ups-a', 'ups-b'] },
  ],
  stages: [
    { name: 'web', hosts: ['web1'], trigger: { onBattery: '0s' } },
    { name: 'db', hosts: ['db1'], trigger: { onBattery: '1m30s' } },
  ],
};

/** The errors of a document that must be refused (fails the test if it is accepted). */
function errorsOf(run: () => unknown): readonly string[] {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(PolicyError);
    if (error instanceof PolicyError) {
      expect(error.code).toBe('unprocessable');
      // The message shows every error too (it is what the CLI prints).
      for (const line of error.errors) expect(error.message).toContain(line);
      return error.errors;
    }
  }
  throw new Error('expected a PolicyError, but the policy was accepted');
}

/** `valid` with some parts replaced, typed loosely on purpose: these are user documents. */
function withChanges(changes: Record<string, unknown>): Record<string, unknown> {
  return { ...structuredClone(valid), ...changes };
}

describe('parsePolicy: a valid document', () => {
  it('parses, with durations in milliseconds', () => {
    const policy = parsePolicy(valid);
    expect(policy.ups.map((u) => u.watcher)).toEqual(['nas', 'pi']);
    expect(policy.stages.map((s) => [s.name, s.trigger.onBattery])).toEqual([
      ['web', 0],
      ['db', 90_000],
    ]);
  });

  it('reads the same document from YAML', () => {
    const policy = parsePolicyYaml(`
ups:
  - { name: ups-a, watcher: nas }
hosts:
  - name: web1
    ups: [ups-a]
stages:
  - name: web
    hosts: [web1]
    trigger:
      onBattery: 5m
  - name: last
    hosts: [web1]
    trigger: { onBattery: 1h }
`);
    expect(policy.stages.map((s) => s.trigger.onBattery)).toEqual([300_000, 3_600_000]);
  });

  it('accepts a policy with no hosts and no stages (UPSes only)', () => {
    expect(parsePolicy({ ups: [{ name: 'ups-a', watcher: 'nas' }], hosts: [], stages: [] }).stages).toEqual(
      [],
    );
  });

  it('hostsOfStageOnUps keeps only the hosts that UPS feeds', () => {
    const policy = parsePolicy({
      ...valid,
      stages: [{ name: 'all', hosts: ['web1', 'db1'], trigger: { onBattery: '0s' } }],
    });
    const [stage] = policy.stages;
    if (stage === undefined) throw new Error('stage missing');
    expect(hostsOfStageOnUps(policy, stage, 'ups-a')).toEqual(['web1', 'db1']);
    expect(hostsOfStageOnUps(policy, stage, 'ups-b')).toEqual(['db1']);
    expect(hostsOfStageOnUps(policy, stage, 'ups-z')).toEqual([]);
  });
});

describe('parsePolicy: every error, with its field path', () => {
  it('an unknown UPS in a host', () => {
    const errors = errorsOf(() =>
      parsePolicy(withChanges({ hosts: [{ name: 'web1', ups: ['ups-a', 'ups-x'] }], stages: [] })),
    );
    expect(errors).toEqual(['hosts[0].ups: unknown UPS "ups-x"']);
  });

  it('an unknown host in a stage', () => {
    const errors = errorsOf(() =>
      parsePolicy(
        withChanges({
          stages: [
            { name: 'web', hosts: ['web1'], trigger: { onBattery: '0s' } },
            { name: 'db', hosts: ['db1', 'db2'], trigger: { onBattery: '0s' } },
          ],
        }),
      ),
    );
    expect(errors).toEqual(['stages[1].hosts: unknown host "db2"']);
  });

  it('duplicate names of UPSes, hosts and stages, all at once', () => {
    const errors = errorsOf(() =>
      parsePolicy({
        ups: [
          { name: 'ups-a', watcher: 'nas' },
          { name: 'ups-a', watcher: 'pi' },
        ],
        hosts: [
          { name: 'web1', ups: ['ups-a'] },
          { name: 'web1', ups: ['ups-a'] },
        ],
        stages: [
          { name: 'web', hosts: ['web1'], trigger: { onBattery: '0s' } },
          { name: 'web', hosts: ['web1'], trigger: { onBattery: '1m' } },
        ],
      }),
    );
    expect(errors).toEqual([
      'ups: "ups-a" is listed twice',
      'hosts: "web1" is listed twice',
      'stages: "web" is listed twice',
    ]);
  });

  it('bad durations, a bare number among them, each at its path', () => {
    const errors = errorsOf(() =>
      parsePolicy(
        withChanges({
          stages: [
            { name: 'web', hosts: ['web1'], trigger: { onBattery: 'soon' } },
            { name: 'db', hosts: ['db1'], trigger: { onBattery: 30 } },
          ],
        }),
      ),
    );
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(/^stages\[0\]\.trigger\.onBattery: invalid duration "soon"/);
    expect(errors[1]).toMatch(/^stages\[1\]\.trigger\.onBattery: /);
  });

  it('unknown keys, named, at the object that holds them', () => {
    const errors = errorsOf(() =>
      parsePolicy({
        ...valid,
        restore: {},
        stages: [{ name: 'web', hosts: ['web1'], trigger: { onBattery: '0s' }, grace: '1m' }],
      }),
    );
    expect(errors).toHaveLength(2);
    expect(errors.find((e) => e.startsWith('(document)'))).toContain('restore');
    expect(errors.find((e) => e.startsWith('stages[0]'))).toContain('grace');
  });

  it('missing sections', () => {
    const errors = errorsOf(() => parsePolicy({ ups: [{ name: 'ups-a', watcher: 'nas' }] }));
    expect(errors.map((e) => e.split(':')[0])).toEqual(['hosts', 'stages']);
  });

  it('an empty UPS list, a host fed by nothing, a stage with no hosts, a bad name', () => {
    const errors = errorsOf(() =>
      parsePolicy({
        ups: [],
        hosts: [{ name: 'web 1', ups: [] }],
        stages: [{ name: 'web', hosts: [], trigger: { onBattery: '0s' } }],
      }),
    );
    expect(errors.map((e) => e.split(':')[0]).sort()).toEqual(
      ['hosts[0].name', 'hosts[0].ups', 'stages[0].hosts', 'ups'].sort(),
    );
  });

  it('several kinds of error in one PolicyError', () => {
    const errors = errorsOf(() =>
      parsePolicy({
        ups: [{ name: 'ups-a', watcher: 'nas' }],
        hosts: [{ name: 'web1', ups: ['ups-a'] }],
        stages: [
          { name: 'web', hosts: ['web1'], trigger: { onBattery: 'later' } },
          { name: 'db', hosts: ['web1'], trigger: {} },
        ],
        extra: true,
      }),
    );
    expect(errors).toHaveLength(3);
    expect(errors.some((e) => e.startsWith('stages[0].trigger.onBattery:'))).toBe(true);
    expect(errors.some((e) => e.startsWith('stages[1].trigger.onBattery:'))).toBe(true);
    expect(errors.some((e) => e.startsWith('(document):') && e.includes('extra'))).toBe(true);
  });

  it('shape errors and reference errors are reported together, not in two rounds', () => {
    // A user who fixes the bad duration should not then discover the unknown host.
    const errors = errorsOf(() =>
      parsePolicy({
        ups: [{ name: 'ups-a', watcher: 'nas' }],
        hosts: [{ name: 'web1', ups: ['ups-a'] }],
        stages: [{ name: 'web', hosts: ['web1', 'web2'], trigger: { onBattery: '5 minutes' } }],
      }),
    );
    expect(errors).toContain('stages[0].hosts: unknown host "web2"');
    expect(errors.some((e) => e.startsWith('stages[0].trigger.onBattery:'))).toBe(true);
  });

  it('a document that is not an object', () => {
    for (const document of [null, 42, 'ups: []', []]) {
      expect(errorsOf(() => parsePolicy(document))).not.toHaveLength(0);
    }
  });
});

describe('parsePolicyYaml', () => {
  it('a YAML syntax error is a PolicyError', () => {
    const errors = errorsOf(() => parsePolicyYaml('ups:\n  - name: ups-a\n    watcher: [nas\nhosts: []\n'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^not valid YAML: /);
  });

  it('an empty file is a PolicyError, not a crash', () => {
    expect(errorsOf(() => parsePolicyYaml(''))).not.toHaveLength(0);
  });

  it('a YAML document with errors lists them with their paths', () => {
    const errors = errorsOf(() =>
      parsePolicyYaml(`
ups:
  - { name: ups-a, watcher: nas }
hosts:
  - { name: web1, ups: [ups-b] }
stages:
  - { name: web, hosts: [web9], trigger: { onBattery: 0s } }
`),
    );
    expect(errors).toEqual(['hosts[0].ups: unknown UPS "ups-b"', 'stages[0].hosts: unknown host "web9"']);
  });
});

import { describe, expect, it } from 'vitest';
import { PolicyError, type PolicyInput, parsePolicy, parsePolicyYaml } from './policy.js';

const valid: PolicyInput = {
  ups: [
    { name: 'ups-a', watcher: 'nas', powerOff: 'shutdown.return' },
    { name: 'ups-b', watcher: 'pi' },
  ],
  hosts: [
    { name: 'web1', tags: ['web', 'front'], ups: ['ups-a'] },
    { name: 'web2', tags: ['web'], ups: ['ups-a'] },
    {
      name: 'db1',
      ups: ['ups-a', 'ups-b'],
      minSupplies: 2,
      wake: { mac: '00:11:22:33:44:55', via: 'nas', address: '192.168.1.255' },
    },
  ],
  stages: [
    { name: 'web', hosts: ['tag:web'], trigger: { onBattery: '0s' }, grace: '1m' },
    { name: 'db', hosts: ['db1'], trigger: { onBattery: '1m30s', lowBattery: true }, after: ['web'] },
  ],
  restore: { stableFor: '5m', minCharge: 40, wake: ['db1'], wakeTimeout: '3m' },
};

/** The errors of a document that must be refused (fails the test if it is accepted). */
function errorsOf(run: () => unknown): readonly string[] {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(PolicyError);
    if (error instanceof PolicyError) {
      expect(error.name).toBe('PolicyError');
      expect(error.code).toBe('unprocessable');
      // The message lists every error too (it is what the CLI prints).
      for (const line of error.errors) expect(error.message).toContain(line);
      return error.errors;
    }
  }
  throw new Error('expected a PolicyError, but the policy was accepted');
}

/** `valid` with some parts replaced; typed loosely on purpose: these are user documents. */
function withChanges(changes: Record<string, unknown>): Record<string, unknown> {
  return { ...structuredClone(valid), ...changes };
}

/** The first part of each error: its field path. */
const paths = (errors: readonly string[]) => errors.map((e) => e.slice(0, e.indexOf(':')));

describe('parsePolicy: the compiled policy', () => {
  const policy = parsePolicy(valid);

  it('indexes UPSes and hosts by name, in document order', () => {
    expect([...policy.ups.keys()]).toEqual(['ups-a', 'ups-b']);
    expect([...policy.hosts.keys()]).toEqual(['web1', 'web2', 'db1']);
    expect(policy.ups.get('ups-a')?.powerOff).toBe('shutdown.return');
    expect(policy.hosts.get('db1')?.minSupplies).toBe(2);
  });

  it('expands tags into host names and turns durations into milliseconds', () => {
    expect(policy.stages).toEqual([
      { name: 'web', hosts: ['web1', 'web2'], trigger: { onBattery: 0 }, after: [], grace: 60_000 },
      {
        name: 'db',
        hosts: ['db1'],
        trigger: { onBattery: 90_000, lowBattery: true },
        after: ['web'],
        grace: 120_000,
      },
    ]);
  });

  it('compiles restore, with its wake list resolved, and normalises the MAC', () => {
    expect(policy.restore).toEqual({
      stableFor: 300_000,
      minCharge: 40,
      wake: ['db1'],
      wakeTimeout: 180_000,
    });
    expect(policy.hosts.get('db1')?.wake).toEqual({
      mac: '001122334455',
      via: 'nas',
      address: '192.168.1.255',
      port: 9,
    });
  });

  it('keeps the validated document, and no warnings', () => {
    expect(policy.document.stages[1]?.after).toEqual(['web']);
    expect(policy.warnings).toEqual([]);
  });

  it('fills in every default (prefault: the defaults go through the duration parser too)', () => {
    const minimal = parsePolicy({
      ups: [{ name: 'ups-a', watcher: 'nas' }],
      hosts: [{ name: 'web1', ups: ['ups-a'] }],
      stages: [{ name: 's', hosts: ['web1'], trigger: { fsd: true } }],
    });
    expect(minimal.hosts.get('web1')).toEqual({ name: 'web1', tags: [], ups: ['ups-a'], minSupplies: 1 });
    expect(minimal.ups.get('ups-a')).toMatchObject({ name: 'ups-a', watcher: 'nas' });
    expect(minimal.ups.get('ups-a')?.powerOff).toBeUndefined();
    expect(minimal.ups.get('ups-a')?.deadAfter).toBe(60_000);
    expect(minimal.stages[0]).toMatchObject({ after: [], grace: 120_000 });
    expect(minimal.restore).toEqual({ stableFor: 120_000, minCharge: 0, wake: [], wakeTimeout: 300_000 });
  });

  it('accepts UPSes alone (no hosts, no stages yet)', () => {
    const bare = parsePolicy({ ups: [{ name: 'ups-a', watcher: 'nas' }] });
    expect(bare.stages).toEqual([]);
    expect(bare.hosts.size).toBe(0);
  });

  it('a host named twice in a stage, by name and by tag, is listed once, in document order', () => {
    const policy = parsePolicy(
      withChanges({ stages: [{ name: 's', hosts: ['web2', 'tag:web', 'web1'], trigger: { fsd: true } }] }),
    );
    expect(policy.stages[0]?.hosts).toEqual(['web2', 'web1']);
  });

  it('restore.wake keeps its own order and expands tags', () => {
    const policy = parsePolicy(
      withChanges({
        hosts: [
          {
            name: 'web1',
            tags: ['web'],
            ups: ['ups-a'],
            wake: { mac: '00-11-22-33-44-01', via: 'nas', address: '10.0.0.255' },
          },
          {
            name: 'db1',
            ups: ['ups-a'],
            wake: { mac: '001122334402', via: 'nas', address: 'ff02::1', port: 7 },
          },
        ],
        stages: [],
        restore: { wake: ['db1', 'tag:web'] },
      }),
    );
    expect(policy.restore.wake).toEqual(['db1', 'web1']);
    expect(policy.hosts.get('web1')?.wake?.mac).toBe('001122334401');
    expect(policy.hosts.get('db1')?.wake).toMatchObject({ address: 'ff02::1', port: 7 });
  });

  it('dependencies: a diamond is not a cycle, and `after` may name a stage listed later', () => {
    const policy = parsePolicy(
      withChanges({
        stages: [
          { name: 'last', hosts: ['db1'], trigger: { fsd: true }, after: ['left', 'right'] },
          { name: 'left', hosts: ['web1'], trigger: { fsd: true }, after: ['first'] },
          { name: 'right', hosts: ['web2'], trigger: { fsd: true }, after: ['first'] },
          { name: 'first', hosts: ['web1'], trigger: { fsd: true } },
        ],
      }),
    );
    expect(policy.stages.map((s) => [s.name, s.after])).toEqual([
      ['last', ['left', 'right']],
      ['left', ['first']],
      ['right', ['first']],
      ['first', []],
    ]);
  });

  it('each trigger condition alone is enough', () => {
    for (const trigger of [
      { onBattery: '30s' },
      { chargeBelow: 50 },
      { runtimeBelow: '5m' },
      { lowBattery: true },
      { fsd: true },
      { dead: true },
      { manual: true },
    ]) {
      expect(
        parsePolicy(withChanges({ stages: [{ name: 's', hosts: ['web1'], trigger }] })).stages,
      ).toHaveLength(1);
    }
  });
});

describe('parsePolicy: warnings (accepted)', () => {
  it('a tag that matches no host, in a stage or in restore.wake', () => {
    const policy = parsePolicy(
      withChanges({
        stages: [{ name: 's', hosts: ['web1', 'tag:nothing'], trigger: { fsd: true } }],
        restore: { wake: ['tag:ghosts'] },
      }),
    );
    expect(policy.warnings).toEqual([
      'stages[0].hosts: no host has tag "nothing"',
      'restore.wake: no host has tag "ghosts"',
    ]);
    expect(policy.stages[0]?.hosts).toEqual(['web1']);
    expect(policy.restore.wake).toEqual([]);
  });

  it('a UPS power-off whose watcher is one of the hosts it feeds (it would be down before the order comes)', () => {
    const policy = parsePolicy({
      ups: [{ name: 'nas-ups', watcher: 'nas', powerOff: 'shutdown.return' }],
      hosts: [{ name: 'nas', ups: ['nas-ups'] }],
      stages: [{ name: 'storage', hosts: ['nas'], trigger: { lowBattery: true } }],
    });
    expect(policy.warnings).toEqual([
      expect.stringMatching(/^ups "nas-ups": its watcher "nas" is also a host it feeds/),
    ]);
  });
});

describe('parsePolicy: every error, with its field path', () => {
  it('an unknown UPS in a host', () => {
    expect(
      errorsOf(() =>
        parsePolicy(
          withChanges({ hosts: [{ name: 'web1', ups: ['ups-a', 'ups-x'] }], stages: [], restore: {} }),
        ),
      ),
    ).toEqual(['hosts[0].ups: unknown UPS "ups-x"']);
  });

  it('an unknown host in a stage or in restore.wake', () => {
    const errors = errorsOf(() =>
      parsePolicy(
        withChanges({
          stages: [
            { name: 'web', hosts: ['web1'], trigger: { onBattery: '0s' } },
            { name: 'db', hosts: ['db1', 'db2'], trigger: { onBattery: '0s' } },
          ],
          restore: { wake: ['db9'] },
        }),
      ),
    );
    expect(errors).toEqual([
      'stages[1].hosts: unknown host "db2" (list it under hosts: with the UPSes that feed it)',
      'restore.wake: unknown host "db9" (list it under hosts: with the UPSes that feed it)',
    ]);
  });

  it('a host to wake without its wake settings', () => {
    expect(errorsOf(() => parsePolicy(withChanges({ restore: { wake: ['web2', 'db1'] } })))).toEqual([
      'hosts[1].wake: "web2" is in restore.wake but has no wake: { mac, via, address }',
    ]);
  });

  it('minSupplies above the number of feeds, or below 1', () => {
    const errors = errorsOf(() =>
      parsePolicy(
        withChanges({
          hosts: [
            { name: 'web1', ups: ['ups-a'], minSupplies: 2 },
            { name: 'web2', ups: ['ups-a', 'ups-b'], minSupplies: 3 },
            { name: 'db1', ups: ['ups-a'], minSupplies: 0 },
          ],
          stages: [],
          restore: {},
        }),
      ),
    );
    expect(errors).toContain('hosts[0].minSupplies: 2 is more than its 1 UPS feed(s)');
    expect(errors).toContain('hosts[1].minSupplies: 3 is more than its 2 UPS feed(s)');
    expect(paths(errors)).toContain('hosts[2].minSupplies');
    expect(errors).toHaveLength(3);
  });

  it('after: an unknown stage, a stage waiting for itself', () => {
    const errors = errorsOf(() =>
      parsePolicy(
        withChanges({
          stages: [
            { name: 'a', hosts: ['web1'], trigger: { fsd: true }, after: ['nope'] },
            { name: 'b', hosts: ['web1'], trigger: { fsd: true }, after: ['b'] },
          ],
        }),
      ),
    );
    expect(errors).toEqual([
      'stages[0].after: unknown stage "nope"',
      'stages[1].after: a stage cannot wait for itself',
    ]);
  });

  it.each([
    [
      'two stages',
      [
        ['a', ['b']],
        ['b', ['a']],
      ],
      'stages: dependency cycle a → b → a',
    ],
    [
      'three stages, behind an acyclic one',
      [
        ['x', ['a']],
        ['a', ['c']],
        ['b', ['a']],
        ['c', ['b']],
      ],
      'stages: dependency cycle a → c → b → a',
    ],
  ] as const)('a dependency cycle through %s is named as a path', (_, graph, message) => {
    const stages = graph.map(([name, after]) => ({ name, hosts: ['web1'], trigger: { fsd: true }, after }));
    expect(errorsOf(() => parsePolicy(withChanges({ stages })))).toEqual([message]);
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

  it('triggers: empty, only false, out of range, unknown condition, bad durations', () => {
    const errors = errorsOf(() =>
      parsePolicy(
        withChanges({
          stages: [
            { name: 's0', hosts: ['web1'], trigger: {} },
            { name: 's1', hosts: ['web1'], trigger: { lowBattery: false, fsd: false } },
            { name: 's2', hosts: ['web1'], trigger: { chargeBelow: 101 } },
            { name: 's3', hosts: ['web1'], trigger: { onBattery: '0s', whenever: true } },
            { name: 's4', hosts: ['web1'], trigger: { onBattery: 'soon' } },
            { name: 's5', hosts: ['web1'], trigger: { runtimeBelow: 300 } },
          ],
          restore: {},
        }),
      ),
    );
    expect(errors).toHaveLength(6);
    expect(errors).toContain('stages[0].trigger: a trigger needs at least one condition');
    expect(errors).toContain('stages[1].trigger: a trigger needs at least one condition');
    expect(paths(errors)).toEqual(
      expect.arrayContaining([
        'stages[2].trigger.chargeBelow',
        'stages[3].trigger',
        'stages[4].trigger.onBattery',
        'stages[5].trigger.runtimeBelow',
      ]),
    );
    expect(errors.find((e) => e.startsWith('stages[3]'))).toContain('whenever');
    expect(errors.find((e) => e.startsWith('stages[4]'))).toMatch(/invalid duration "soon"/);
  });

  it('restore and grace durations, minCharge, a bad instant command, a bad MAC, address and port', () => {
    const errors = errorsOf(() =>
      parsePolicy({
        ups: [{ name: 'ups-a', watcher: 'nas', powerOff: 'SHUTDOWN RETURN' }],
        hosts: [
          {
            name: 'web1',
            ups: ['ups-a'],
            wake: { mac: '00:11:22:33:44', via: 'nas', address: 'lan', port: 70000 },
          },
        ],
        stages: [{ name: 's', hosts: ['web1'], trigger: { fsd: true }, grace: '2 minutes' }],
        restore: { stableFor: 'a while', minCharge: -1, wakeTimeout: '1x' },
      }),
    );
    expect(paths(errors).sort()).toEqual(
      [
        'ups[0].powerOff',
        'hosts[0].wake.mac',
        'hosts[0].wake.address',
        'hosts[0].wake.port',
        'stages[0].grace',
        'restore.stableFor',
        'restore.minCharge',
        'restore.wakeTimeout',
      ].sort(),
    );
    expect(errors.find((e) => e.startsWith('ups[0].powerOff'))).toContain('shutdown.return');
    expect(errors.find((e) => e.startsWith('hosts[0].wake.mac'))).toContain('MAC address');
  });

  it('unknown keys, named, at the object that holds them', () => {
    const errors = errorsOf(() =>
      parsePolicy({
        ...valid,
        extra: true,
        stages: [{ name: 'web', hosts: ['web1'], trigger: { onBattery: '0s' }, delay: '1m' }],
      }),
    );
    expect(errors).toHaveLength(2);
    expect(errors.find((e) => e.startsWith('(document)'))).toContain('extra');
    expect(errors.find((e) => e.startsWith('stages[0]'))).toContain('delay');
  });

  it('an empty UPS list, a host fed by nothing, a stage with no hosts, a bad name', () => {
    const errors = errorsOf(() =>
      parsePolicy({
        ups: [],
        hosts: [{ name: 'web 1', ups: [] }],
        stages: [{ name: 'web', hosts: [], trigger: { onBattery: '0s' } }],
      }),
    );
    expect(errors).toContain('ups: list at least one UPS');
    expect(errors).toContain('hosts[0].ups: a host is fed by at least one UPS');
    expect(errors).toContain('stages[0].hosts: a stage shuts down at least one host');
    expect(paths(errors)).toContain('hosts[0].name');
  });

  it('shape errors and reference errors come together, not in two rounds', () => {
    // A user who fixes the bad duration should not then discover the unknown host and the cycle.
    const errors = errorsOf(() =>
      parsePolicy({
        ups: [{ name: 'ups-a', watcher: 'nas' }],
        hosts: [{ name: 'web1', ups: ['ups-a', 'ups-z'] }],
        stages: [
          { name: 'a', hosts: ['web1', 'web2'], trigger: { onBattery: '5 minutes' }, after: ['b'] },
          { name: 'b', hosts: ['web1'], trigger: { fsd: true }, after: ['a'] },
        ],
      }),
    );
    expect(errors).toHaveLength(4);
    expect(errors).toContain('hosts[0].ups: unknown UPS "ups-z"');
    expect(errors).toContain(
      'stages[0].hosts: unknown host "web2" (list it under hosts: with the UPSes that feed it)',
    );
    expect(errors).toContain('stages: dependency cycle a → b → a');
    expect(paths(errors)).toContain('stages[0].trigger.onBattery');
  });

  it('a document that is not an object', () => {
    for (const document of [null, undefined, 42, 'ups: []', []]) {
      expect(errorsOf(() => parsePolicy(document))).not.toHaveLength(0);
    }
  });

  it('a missing UPS list', () => {
    expect(paths(errorsOf(() => parsePolicy({ hosts: [], stages: [] })))).toEqual(['ups']);
  });
});

describe('parsePolicyYaml', () => {
  it('reads the same document as YAML', () => {
    const policy = parsePolicyYaml(`
ups:
  - { name: ups-a, watcher: nas, powerOff: shutdown.return }
hosts:
  - name: web1
    tags: [web]
    ups: [ups-a]
    wake: { mac: "00:11:22:33:44:55", via: nas, address: 192.168.1.255 }
stages:
  - name: web
    hosts: [tag:web]
    trigger:
      onBattery: 5m
      runtimeBelow: 10m
  - name: last
    hosts: [web1]
    after: [web]
    trigger: { lowBattery: true }
    grace: 30s
restore:
  stableFor: 10m
  wake: [web1]
`);
    expect(policy.stages.map((s) => [s.name, s.hosts, s.trigger, s.grace])).toEqual([
      ['web', ['web1'], { onBattery: 300_000, runtimeBelow: 600_000 }, 120_000],
      ['last', ['web1'], { lowBattery: true }, 30_000],
    ]);
    expect(policy.restore).toMatchObject({ stableFor: 600_000, wake: ['web1'] });
  });

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
    expect(errors).toEqual([
      'hosts[0].ups: unknown UPS "ups-b"',
      'stages[0].hosts: unknown host "web9" (list it under hosts: with the UPSes that feed it)',
    ]);
  });
});

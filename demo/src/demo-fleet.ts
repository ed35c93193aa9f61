/** The demo's fleet: a NAS watcher and three hosts in three stages, as files a user would write. */

export const DEMO_UPS = 'demo-ups';
export const WATCHER = 'nas';

export interface DemoHost {
  readonly name: string;
  readonly stage: string;
  readonly mac: string;
}

export const HOSTS: readonly DemoHost[] = [
  { name: 'web1', stage: 'web', mac: '02:00:00:00:00:01' },
  { name: 'app1', stage: 'apps', mac: '02:00:00:00:00:02' },
  { name: 'db1', stage: 'databases', mac: '02:00:00:00:00:03' },
];

/** Web first, then the apps once web is down, then the database; woken in the reverse order. */
export function demoPolicy(wakePort: number) {
  return {
    ups: [{ name: DEMO_UPS, watcher: WATCHER }],
    hosts: HOSTS.map((host) => ({
      name: host.name,
      ups: [DEMO_UPS],
      wake: { mac: host.mac, via: WATCHER, address: '127.0.0.1', port: wakePort },
    })),
    stages: [
      { name: 'web', hosts: ['web1'], trigger: { onBattery: '3s' }, grace: '10s' },
      { name: 'apps', hosts: ['app1'], trigger: { onBattery: '6s' }, after: ['web'], grace: '10s' },
      {
        name: 'databases',
        hosts: ['db1'],
        trigger: { onBattery: '9s', lowBattery: true },
        after: ['apps'],
        grace: '10s',
      },
    ],
    restore: { stableFor: '3s', wake: ['db1', 'app1', 'web1'], wakeTimeout: '15s' },
  };
}

/** The watcher reads the simulated UPS over the NUT protocol, as it would read a NAS's upsd. */
export function watcherConfig(coordinator: string, stateDir: string, upsdPort: number): string {
  return [
    `coordinator: ${coordinator}`,
    `stateDir: ${stateDir}`,
    'ups:',
    `  - id: ${DEMO_UPS}`,
    `    upsd: 127.0.0.1:${upsdPort}`,
    '    name: ups',
    '    username: monuser',
    '    password: secret',
    '    pollInterval: 250ms',
    '    tls: off',
    'wake:',
    '  allowed: ["127.0.0.1"]',
  ].join('\n');
}

/** A host whose "shutdown" only appends its name to the record file: nothing is powered off. */
export function hostConfig(coordinator: string, stateDir: string, record: string, name: string): string {
  const shutdown = [
    process.execPath,
    '-e',
    'require("node:fs").appendFileSync(process.argv[1], process.argv[2] + "\\n")',
    record,
    name,
  ];
  return [
    `coordinator: ${coordinator}`,
    `stateDir: ${stateDir}`,
    'host:',
    `  name: ${name}`,
    `  shutdown: ${JSON.stringify(shutdown)}`,
    '  shutdownTimeout: 30s',
  ].join('\n');
}

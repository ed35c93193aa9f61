import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AppError } from '../../shared/src/errors.js';
import { loadAgentConfig, parseAgentConfig } from './config.js';
import { createTempDir } from './test-support.js';

function configError(text: string): AppError {
  try {
    parseAgentConfig(text, '/etc/upsfleet/agent.yaml');
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected a config error');
}

describe('parseAgentConfig', () => {
  it('reads a host config, applies defaults and resolves stateDir against the config folder', () => {
    const config = parseAgentConfig(
      'coordinator: https://ups.example.net/\nstateDir: state\nhost:\n  shutdown: [/sbin/poweroff]\n',
      '/etc/upsfleet/agent.yaml',
    );
    expect(config).toEqual({
      coordinator: 'https://ups.example.net',
      stateDir: '/etc/upsfleet/state',
      host: {
        name: undefined,
        shutdown: ['/sbin/poweroff'],
        shutdownTimeout: 300_000,
        clockTolerance: 30_000,
        before: [],
        fallbackAfter: undefined,
        upsd: [],
      },
      ups: [],
      wake: undefined,
      clockTolerance: 30_000,
      source: '/etc/upsfleet/agent.yaml',
    });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.host?.shutdown)).toBe(true);
  });

  it('parses durations and keeps an absolute stateDir', () => {
    const config = parseAgentConfig(
      [
        'coordinator: http://10.0.0.5:8080',
        'stateDir: /var/lib/upsfleet-agent',
        'host:',
        '  name: web1',
        '  shutdown: [systemctl, poweroff]',
        '  shutdownTimeout: 90s',
        '  clockTolerance: 1m30s',
      ].join('\n'),
      'agent.yaml',
    );
    expect(config.stateDir).toBe('/var/lib/upsfleet-agent');
    expect(config.host).toMatchObject({ name: 'web1', shutdownTimeout: 90_000, clockTolerance: 90_000 });
    // host.clockTolerance is the older spelling of the top-level key: it applies to every order.
    expect(config.clockTolerance).toBe(90_000);
  });

  it('reads the watcher role: upsd address with NUT port 3493 by default, upsmon-like defaults', () => {
    const config = parseAgentConfig(
      [
        'coordinator: http://127.0.0.1:8080',
        'stateDir: /var/lib/upsfleet-agent',
        'ups:',
        '  - id: nas-ups',
        '    upsd: nas.local',
        '    username: monuser',
        '    password: secret',
        '  - id: rack-ups',
        '    upsd: "[::1]:3494"',
        '    name: rack',
        '    pollInterval: 2s',
        '    deadTime: 30s',
      ].join('\n'),
      'agent.yaml',
    );
    expect(config.host).toBeUndefined();
    expect(config.ups).toEqual([
      {
        id: 'nas-ups',
        upsd: { host: 'nas.local', port: 3493 },
        name: 'ups',
        username: 'monuser',
        password: 'secret',
        pollInterval: 1_000,
        deadTime: 15_000,
        snapshotInterval: 60_000,
        alertSnapshotInterval: 5_000,
        tls: { mode: 'try' },
      },
      expect.objectContaining({
        id: 'rack-ups',
        upsd: { host: '::1', port: 3494 },
        name: 'rack',
        pollInterval: 2_000,
        deadTime: 30_000,
      }),
    ]);
  });

  it('STARTTLS to upsd: try by default (as upsmon), or require / off, with an optional CA', () => {
    const parse = (tls: string) =>
      parseAgentConfig(
        `coordinator: http://127.0.0.1:8080\nstateDir: s\nups:\n  - id: a\n    upsd: nas\n${tls}`,
        'agent.yaml',
      ).ups[0]?.tls;
    expect(parse('')).toEqual({ mode: 'try' });
    expect(parse('    tls: require\n')).toEqual({ mode: 'require' });
    expect(parse('    tls: { mode: require, ca: /etc/upsfleet/nas-ca.pem, servername: nas.lan }\n')).toEqual({
      mode: 'require',
      ca: '/etc/upsfleet/nas-ca.pem',
      servername: 'nas.lan',
    });
    expect(() => parse('    tls: sometimes\n')).toThrow(/ups\.0\.tls/);
  });

  it('refuses bad UPS entries, each with its path', () => {
    const error = configError(
      [
        'coordinator: http://127.0.0.1:8080',
        'stateDir: s',
        'ups:',
        '  - id: a',
        '    upsd: "nas:99999"',
        '  - id: a',
        '    upsd: nas',
        '    username: monuser',
        '  - id: c',
        '    upsd: nas',
        '    pollInterval: 10ms',
        '    name: "bad name"',
      ].join('\n'),
    ).message;
    expect(error).toContain('ups.0.upsd: must be host:port');
    expect(error).toContain('ups.1.id: "a" is listed twice');
    expect(error).toContain('ups.1: give both username and password, or neither');
    expect(error).toContain('ups.2.pollInterval: must be at least 100ms');
    expect(error).toContain('ups.2.name:');
  });

  it("host.upsd: the host reads its UPS itself with the watcher's reading keys; bad entries are named", () => {
    const config = parseAgentConfig(
      [
        'coordinator: https://ups.example.net',
        'stateDir: /var/lib/upsfleet-agent',
        'host:',
        '  shutdown: [/sbin/poweroff]',
        '  upsd:',
        '    - { id: nas-ups, upsd: 192.0.2.7, username: monuser, password: secret }',
      ].join('\n'),
      '/etc/upsfleet/agent.yaml',
    );
    expect(config.host?.upsd).toEqual([
      {
        id: 'nas-ups',
        upsd: { host: '192.0.2.7', port: 3493 },
        name: 'ups',
        username: 'monuser',
        password: 'secret',
        pollInterval: 1_000,
        deadTime: 15_000,
        tls: { mode: 'try' },
      },
    ]);
    const error = configError(
      [
        'coordinator: https://ups.example.net',
        'stateDir: /s',
        'host:',
        '  shutdown: [/sbin/poweroff]',
        '  upsd:',
        '    - { id: a, upsd: nas, username: monuser }',
        '    - { id: a, upsd: nas, snapshotInterval: 5s }',
      ].join('\n'),
    );
    expect(error.message).toContain('host.upsd.1.snapshotInterval: unknown key');
    expect(error.message).toContain('host.upsd.0: give both username and password, or neither');
    expect(error.message).toContain('host.upsd.1.id: "a" is listed twice');
  });

  it("bridge.upsd: the bridge reads the UPS itself with the same keys, for its hosts' offline rules; bad entries are named", () => {
    const config = parseAgentConfig(
      [
        'coordinator: https://ups.example.net',
        'stateDir: /var/lib/upsfleet-agent',
        'bridge:',
        '  listen: 0.0.0.0:3493',
        '  upsd:',
        '    - { id: nas-ups, upsd: 192.0.2.7, pollInterval: 500ms }',
      ].join('\n'),
      '/etc/upsfleet/agent.yaml',
    );
    expect(config.bridge?.upsd).toEqual([
      {
        id: 'nas-ups',
        upsd: { host: '192.0.2.7', port: 3493 },
        name: 'ups',
        pollInterval: 500,
        deadTime: 15_000,
        tls: { mode: 'try' },
      },
    ]);
    const bare = parseAgentConfig(
      'coordinator: https://ups.example.net\nstateDir: /s\nbridge: {}\n',
      '/a.yaml',
    );
    expect(bare.bridge?.upsd).toEqual([]);
    const error = configError(
      [
        'coordinator: https://ups.example.net',
        'stateDir: /s',
        'bridge:',
        '  upsd:',
        '    - { id: a, upsd: nas, password: x }',
        '    - { id: a, upsd: nas, powerOff: {} }',
      ].join('\n'),
    );
    expect(error.message).toContain('bridge.upsd.1.powerOff: unknown key');
    expect(error.message).toContain('bridge.upsd.0: give both username and password, or neither');
    expect(error.message).toContain('bridge.upsd.1.id: "a" is listed twice');
  });

  it('caps the snapshot intervals, so the coordinator never takes a UPS on battery for dead', () => {
    const ups = (intervals: string[]) =>
      ['coordinator: http://127.0.0.1:8080', 'stateDir: s', 'ups:', '  - id: nas-ups', '    upsd: nas']
        .concat(intervals.map((line) => `    ${line}`))
        .join('\n');
    const limits = parseAgentConfig(ups(['alertSnapshotInterval: 20s', 'snapshotInterval: 10m']), 'a.yaml');
    expect(limits.ups[0]).toMatchObject({ alertSnapshotInterval: 20_000, snapshotInterval: 600_000 });

    const error = configError(ups(['alertSnapshotInterval: 21s', 'snapshotInterval: 11m']));
    expect(error.details?.problems).toEqual([
      "ups.0.snapshotInterval: must be at most 10m: longer, and the coordinator's view of a UPS on mains goes stale",
      'ups.0.alertSnapshotInterval: must be at most 20s: the coordinator counts a UPS silent for 60 s on battery as dead',
    ]);
  });

  it('lists every bad key with its path in one config error', () => {
    const error = configError(
      [
        'coordinator: ftp://ups.example.net',
        'host:',
        '  shutdown: /sbin/shutdown -h now',
        '  shutdownTimeout: 5 minutes',
        '  clockTolerance: 30',
        '  before: [sync]',
        '  after: [reboot]',
        'ups: main',
        'colour: blue',
      ].join('\n'),
    );
    expect(error.code).toBe('config');
    const message = error.message;
    expect(message).toContain('/etc/upsfleet/agent.yaml');
    expect(message).toMatch(/coordinator: must be an http:\/\/ or https:\/\/ URL/);
    expect(message).toMatch(/stateDir: required/);
    expect(message).toMatch(/host\.shutdown: .*argv list, not a shell string/);
    expect(message).toMatch(/host\.shutdownTimeout: must be a duration/);
    expect(message).toMatch(/host\.clockTolerance: must be a duration/);
    expect(message).toMatch(/host\.before\.0: /);
    expect(message).toMatch(/host\.after: unknown key/);
    expect(message).toMatch(/ups: must be a list/);
    expect(message).toMatch(/colour: unknown key/);
    expect(error.details?.problems).toHaveLength(9);
  });

  it('refuses an empty argv, empty entries and a missing coordinator', () => {
    const message = configError('stateDir: s\nhost:\n  shutdown: []\n').message;
    expect(message).toMatch(/coordinator: required/);
    expect(message).toMatch(/host\.shutdown: must name at least the program/);
    expect(configError('coordinator: http://x\nstateDir: s\nhost:\n  shutdown: [""]\n').message).toMatch(
      /host\.shutdown\.0: an argv entry must not be empty/,
    );
    expect(
      configError('coordinator: http://x\nstateDir: s\nhost:\n  shutdown: [a]\n  shutdownTimeout: 0s\n')
        .message,
    ).toMatch(/host\.shutdownTimeout: must be longer than 0/);
  });

  it('refuses YAML that does not parse and an empty file', () => {
    expect(configError('coordinator: [unclosed\n').message).toMatch(/not valid YAML/);
    expect(configError('').message).toMatch(/the config is empty/);
    expect(configError('- a list\n').message).toMatch(/\(top level\)/);
  });
});

describe('loadAgentConfig', () => {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => cleanup?.());

  it('reads the file and resolves stateDir relative to it', async () => {
    const dir = await createTempDir('config');
    cleanup = dir.remove;
    const file = join(dir.path, 'agent.yaml');
    await writeFile(file, 'coordinator: http://127.0.0.1:8080\nstateDir: ./state\n');
    const config = await loadAgentConfig(file);
    expect(config.stateDir).toBe(join(dir.path, 'state'));
    expect(config.host).toBeUndefined();
    await expect(loadAgentConfig(join(dir.path, 'missing.yaml'))).rejects.toThrow(/cannot read agent config/);
  });
});

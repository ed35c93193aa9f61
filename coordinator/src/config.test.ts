import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

const GOOD_TOKEN = 'a-very-long-admin-token-0123456789';

/** The problems of a configuration that must be refused (fails the test if it is accepted). */
function problemsOf(run: () => unknown): readonly string[] {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    if (error instanceof ConfigError) {
      for (const problem of error.problems) expect(error.message).toContain(problem);
      return error.problems;
    }
  }
  throw new Error('expected a ConfigError, but the configuration was accepted');
}

describe('loadConfig', () => {
  it('defaults: loopback:8080, embedded database in ./data, no admin token, frozen', () => {
    const config = loadConfig({}, {});
    expect(config).toEqual({
      host: '127.0.0.1',
      port: 8080,
      database: { kind: 'pglite', dataDir: './data' },
      policyFile: undefined,
      adminToken: undefined,
      orderTtlMs: 600_000,
      heartbeatMs: 15_000,
      logLevel: 'info',
      metricsPublic: false,
      resumeSettleMs: 15_000,
      leaseIntervalMs: 5_000,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('metrics are public only when UPSFLEET_METRICS_PUBLIC says exactly true; the settle time is a duration', () => {
    expect(loadConfig({}, { UPSFLEET_METRICS_PUBLIC: 'true' }).metricsPublic).toBe(true);
    expect(loadConfig({}, { UPSFLEET_METRICS_PUBLIC: 'false' }).metricsPublic).toBe(false);
    expect(() => loadConfig({}, { UPSFLEET_METRICS_PUBLIC: 'yes' })).toThrow(
      'UPSFLEET_METRICS_PUBLIC: "yes" is not true or false',
    );
    expect(loadConfig({}, { UPSFLEET_RESUME_SETTLE: '2s' }).resumeSettleMs).toBe(2_000);
    expect(() => loadConfig({}, { UPSFLEET_RESUME_SETTLE: 'soon' })).toThrow('UPSFLEET_RESUME_SETTLE');
  });

  it('never invents an admin token: unset or empty means "generate one at first start"', () => {
    expect(loadConfig({}, {}).adminToken).toBeUndefined();
    expect(loadConfig({}, { UPSFLEET_ADMIN_TOKEN: '' }).adminToken).toBeUndefined();
    expect(loadConfig({}, { UPSFLEET_ADMIN_TOKEN: GOOD_TOKEN }).adminToken).toBe(GOOD_TOKEN);
  });

  it('reads every setting from the environment', () => {
    const config = loadConfig(
      {},
      {
        UPSFLEET_LISTEN: '0.0.0.0:9090',
        UPSFLEET_DATA_DIR: '/var/lib/upsfleet',
        UPSFLEET_POLICY: '/etc/upsfleet/policy.yaml',
        UPSFLEET_ORDER_TTL: '5m',
        UPSFLEET_HEARTBEAT: '30s',
        UPSFLEET_LOG_LEVEL: 'debug',
      },
    );
    expect(config).toMatchObject({
      host: '0.0.0.0',
      port: 9090,
      database: { kind: 'pglite', dataDir: '/var/lib/upsfleet' },
      policyFile: '/etc/upsfleet/policy.yaml',
      orderTtlMs: 300_000,
      heartbeatMs: 30_000,
      logLevel: 'debug',
    });
  });

  it('flags override the environment', () => {
    const env = {
      UPSFLEET_LISTEN: '0.0.0.0:9090',
      UPSFLEET_DATA_DIR: '/env/data',
      UPSFLEET_POLICY: '/env/policy.yaml',
      DATABASE_URL: 'postgres://env@db/upsfleet',
    };
    expect(
      loadConfig(
        { listen: '[::1]:7000', databaseUrl: 'postgresql://flag@db/upsfleet', policy: 'p.yaml' },
        env,
      ),
    ).toMatchObject({
      host: '::1',
      port: 7000,
      database: { kind: 'postgres', url: 'postgresql://flag@db/upsfleet' },
      policyFile: 'p.yaml',
    });
    const { DATABASE_URL: _unused, ...withoutUrl } = env;
    expect(loadConfig({ dataDir: '/flag/data' }, withoutUrl).database).toEqual({
      kind: 'pglite',
      dataDir: '/flag/data',
    });
  });

  it('DATABASE_URL selects PostgreSQL; an empty one keeps the embedded database', () => {
    expect(loadConfig({}, { DATABASE_URL: 'postgres://u@127.0.0.1:5432/fleet' }).database).toEqual({
      kind: 'postgres',
      url: 'postgres://u@127.0.0.1:5432/fleet',
    });
    expect(loadConfig({}, { DATABASE_URL: '' }).database).toEqual({ kind: 'pglite', dataDir: './data' });
  });

  it('one ConfigError lists every bad key at once', () => {
    const problems = problemsOf(() =>
      loadConfig(
        {},
        {
          UPSFLEET_LISTEN: 'localhost',
          DATABASE_URL: 'mysql://root@db/fleet',
          UPSFLEET_ADMIN_TOKEN: 'short',
          UPSFLEET_ORDER_TTL: '10',
          UPSFLEET_HEARTBEAT: '0s',
          UPSFLEET_LOG_LEVEL: 'verbose',
        },
      ),
    );
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual(
      [
        'DATABASE_URL',
        'UPSFLEET_ADMIN_TOKEN',
        'UPSFLEET_HEARTBEAT',
        'UPSFLEET_LISTEN',
        'UPSFLEET_LOG_LEVEL',
        'UPSFLEET_ORDER_TTL',
      ].sort(),
    );
  });

  it('refuses a heartbeat the agents would take for a dead connection (their idle limit is 45 s)', () => {
    expect(loadConfig({}, { UPSFLEET_HEARTBEAT: '30s' }).heartbeatMs).toBe(30_000);
    expect(problemsOf(() => loadConfig({}, { UPSFLEET_HEARTBEAT: '45s' }))).toEqual([
      expect.stringMatching(/^UPSFLEET_HEARTBEAT: at most 30s/),
    ]);
  });

  it('names the flag, not the variable, when the bad value came from a flag', () => {
    const problems = problemsOf(() => loadConfig({ listen: 'nohost', databaseUrl: 'http://db' }, {}));
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual(['--database-url', '--listen']);
  });

  it.each([
    'localhost',
    ':8080',
    '127.0.0.1:',
    '127.0.0.1:65536',
    '127.0.0.1:http',
    '::1:8080',
    'my host:80',
  ])('refuses listen address %j', (listen) => {
    expect(problemsOf(() => loadConfig({ listen }, {}))).toHaveLength(1);
  });

  it.each([
    ['localhost:80', 'localhost', 80],
    ['[::]:8443', '::', 8443],
    ['127.0.0.1:0', '127.0.0.1', 0],
  ])('accepts listen address %j', (listen, host, port) => {
    expect(loadConfig({ listen }, {})).toMatchObject({ host, port });
  });

  it('refuses an admin token with spaces, even a long one', () => {
    expect(
      problemsOf(() => loadConfig({}, { UPSFLEET_ADMIN_TOKEN: 'a long token with some spaces in it' })),
    ).toHaveLength(1);
  });

  it('never echoes the admin token in its error', () => {
    const secret = 'tooShortSecret';
    try {
      loadConfig({}, { UPSFLEET_ADMIN_TOKEN: secret });
      expect.unreachable('a short admin token was accepted');
    } catch (error) {
      expect(String(error)).not.toContain(secret);
    }
  });

  it.each(['verbose', 'INFO', 'constructor', 'toString', '__proto__'])('refuses log level %j', (level) => {
    expect(problemsOf(() => loadConfig({}, { UPSFLEET_LOG_LEVEL: level }))).toEqual([
      expect.stringMatching(/^UPSFLEET_LOG_LEVEL: /),
    ]);
  });
});

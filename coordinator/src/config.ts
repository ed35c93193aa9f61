import { parseDuration } from '../../shared/src/duration.js';
import { AppError } from '../../shared/src/errors.js';
import { isLogLevel, type LogLevel } from '../../shared/src/logger.js';
import type { DatabaseTarget } from './db/client.js';

export interface CoordinatorConfig {
  readonly host: string;
  readonly port: number;
  readonly database: DatabaseTarget;
  readonly policyFile: string | undefined;
  /** Bootstrap admin token from the environment; undefined = generate once and print it. */
  readonly adminToken: string | undefined;
  readonly orderTtlMs: number;
  readonly heartbeatMs: number;
  readonly logLevel: LogLevel;
  /** `/metrics` without a token (for a Prometheus on a trusted network). */
  readonly metricsPublic: boolean;
  /** After a restart mid-run, how long stages wait for fresh readings. */
  readonly resumeSettleMs: number;
  /** How often the lease is signed (after a database round trip) and sent to every agent; it lasts 3×. */
  readonly leaseIntervalMs: number;
}

/** Command-line flags; each overrides its environment variable. */
export interface CoordinatorFlags {
  readonly listen?: string | undefined;
  readonly dataDir?: string | undefined;
  readonly databaseUrl?: string | undefined;
  readonly policy?: string | undefined;
}

export class ConfigError extends AppError {
  override readonly name = 'ConfigError';
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super('config', `invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.problems = problems;
  }
}

const MIN_ADMIN_TOKEN_LENGTH = 24;
const MAX_HEARTBEAT_MS = 30_000;

function parseListen(text: string, problems: string[], key: string): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+)):(\d{1,5})$/.exec(text);
  const port = Number(match?.[3]);
  const host = match?.[1] ?? match?.[2];
  if (host === undefined || !Number.isInteger(port) || port > 65535) {
    problems.push(`${key}: "${text}" is not HOST:PORT (e.g. 127.0.0.1:8080 or [::1]:8080)`);
    return { host: '127.0.0.1', port: 8080 };
  }
  return { host, port };
}

function duration(text: string | undefined, fallback: number, key: string, problems: string[]): number {
  if (text === undefined || text === '') return fallback;
  try {
    const ms = parseDuration(text);
    if (ms <= 0) throw new Error('must be greater than zero');
    return ms;
  } catch (error) {
    problems.push(`${key}: ${error instanceof Error ? error.message : String(error)}`);
    return fallback;
  }
}

/** Pure: reads flags and environment, returns a frozen config or throws one ConfigError listing every bad key. */
export function loadConfig(
  flags: CoordinatorFlags,
  env: Readonly<Record<string, string | undefined>>,
): CoordinatorConfig {
  const problems: string[] = [];
  const listenKey = flags.listen === undefined ? 'UPSFLEET_LISTEN' : '--listen';
  const { host, port } = parseListen(
    flags.listen ?? env.UPSFLEET_LISTEN ?? '127.0.0.1:8080',
    problems,
    listenKey,
  );

  const databaseUrl = flags.databaseUrl ?? env.DATABASE_URL;
  let database: DatabaseTarget;
  if (databaseUrl !== undefined && databaseUrl !== '') {
    if (!/^postgres(ql)?:\/\//.test(databaseUrl)) {
      problems.push(
        `${flags.databaseUrl === undefined ? 'DATABASE_URL' : '--database-url'}: must start with postgres:// or postgresql://`,
      );
    }
    database = { kind: 'postgres', url: databaseUrl };
  } else {
    database = { kind: 'pglite', dataDir: flags.dataDir ?? env.UPSFLEET_DATA_DIR ?? './data' };
  }

  const adminToken = env.UPSFLEET_ADMIN_TOKEN === '' ? undefined : env.UPSFLEET_ADMIN_TOKEN;
  if (adminToken !== undefined && (adminToken.length < MIN_ADMIN_TOKEN_LENGTH || /\s/.test(adminToken))) {
    problems.push(
      `UPSFLEET_ADMIN_TOKEN: must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters without spaces (or unset to generate one)`,
    );
  }
  const orderTtlMs = duration(env.UPSFLEET_ORDER_TTL, 10 * 60_000, 'UPSFLEET_ORDER_TTL', problems);
  const heartbeatMs = duration(env.UPSFLEET_HEARTBEAT, 15_000, 'UPSFLEET_HEARTBEAT', problems);
  if (heartbeatMs > MAX_HEARTBEAT_MS) {
    problems.push(`UPSFLEET_HEARTBEAT: at most 30s (agents drop a connection that stays silent for 45 s)`);
  }
  const metricsPublic = env.UPSFLEET_METRICS_PUBLIC ?? 'false';
  if (metricsPublic !== 'true' && metricsPublic !== 'false')
    problems.push(`UPSFLEET_METRICS_PUBLIC: "${metricsPublic}" is not true or false`);
  const resumeSettleMs = duration(env.UPSFLEET_RESUME_SETTLE, 15_000, 'UPSFLEET_RESUME_SETTLE', problems);
  const leaseIntervalMs = duration(env.UPSFLEET_LEASE_INTERVAL, 5_000, 'UPSFLEET_LEASE_INTERVAL', problems);
  if (leaseIntervalMs < 200 || leaseIntervalMs > 5_000)
    problems.push('UPSFLEET_LEASE_INTERVAL: between 200ms and 5s (hosts count on a lease for at most 15 s)');
  const level = env.UPSFLEET_LOG_LEVEL ?? 'info';
  if (!isLogLevel(level))
    problems.push(`UPSFLEET_LOG_LEVEL: "${level}" is not one of debug, info, warn, error`);

  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({
    host,
    port,
    database,
    policyFile: flags.policy ?? env.UPSFLEET_POLICY,
    adminToken,
    orderTtlMs,
    heartbeatMs,
    logLevel: isLogLevel(level) ? level : 'info',
    metricsPublic: metricsPublic === 'true',
    resumeSettleMs,
    leaseIntervalMs,
  });
}

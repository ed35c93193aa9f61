/**
 * The edge deployment's settings: Worker bindings (secrets and vars) instead of flags. One
 * deployment serves several fleets, each in its own Durable Object with its own schema, keys,
 * tokens and policy: the default fleet at the root URL, every other one under `/fleets/<name>`.
 */
import { ConfigError, type CoordinatorConfig, loadConfig } from '../config.js';

export const DEFAULT_FLEET = 'default';
const FLEET_NAME = /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/;
const FLEET_PREFIX = /^\/fleets\/([^/]+)(\/.*)?$/;

/** The bindings a deployment gives the Worker (wrangler.jsonc vars, `wrangler secret put`). */
export interface EdgeBindings {
  readonly DATABASE_URL?: string;
  /** Hyperdrive's binding in production: its `connectionString` wins over DATABASE_URL. */
  readonly HYPERDRIVE?: { readonly connectionString: string };
  /** More fleets than the default one, comma-separated (`site-b,site-c`). */
  readonly UPSFLEET_FLEETS?: string;
  readonly [key: string]: unknown;
}

/** Which fleet a request is for, and the path that fleet's coordinator sees; undefined: no such fleet. */
export function routeToFleet(
  pathname: string,
  fleets: ReadonlySet<string>,
): { fleet: string; path: string } | undefined {
  const match = FLEET_PREFIX.exec(pathname);
  if (match === null) return { fleet: DEFAULT_FLEET, path: pathname };
  const name = match[1] as string;
  if (name === DEFAULT_FLEET || !fleets.has(name)) return undefined;
  return { fleet: name, path: match[2] ?? '/' };
}

/** The fleets a deployment serves besides the default one; a bad name stops it with a ConfigError. */
export function fleetsOf(bindings: EdgeBindings): Set<string> {
  const names = (bindings.UPSFLEET_FLEETS ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  const bad = names.filter((name) => !FLEET_NAME.test(name) || name === DEFAULT_FLEET);
  if (bad.length > 0) {
    throw new ConfigError(
      bad.map((name) => `UPSFLEET_FLEETS: "${name}" is not a fleet name (a-z, 0-9, '-'; not "default")`),
    );
  }
  return new Set(names);
}

/** The secret holding a fleet's admin token: UPSFLEET_ADMIN_TOKEN, or UPSFLEET_ADMIN_TOKEN_SITE_B. */
export function adminTokenBinding(fleet: string): string {
  return fleet === DEFAULT_FLEET
    ? 'UPSFLEET_ADMIN_TOKEN'
    : `UPSFLEET_ADMIN_TOKEN_${fleet.toUpperCase().replaceAll('-', '_')}`;
}

export interface EdgeConfig {
  readonly fleet: string;
  readonly databaseUrl: string;
  readonly adminToken: string;
  readonly coordinator: CoordinatorConfig;
}

/** Pure: one fleet's settings from the bindings, or one ConfigError listing every problem. */
export function loadEdgeConfig(bindings: EdgeBindings, fleet: string): EdgeConfig {
  const text = (key: string) => (typeof bindings[key] === 'string' ? (bindings[key] as string) : undefined);
  const tokenKey = adminTokenBinding(fleet);
  const databaseUrl = bindings.HYPERDRIVE?.connectionString ?? text('DATABASE_URL');
  const problems: string[] = [];
  if (databaseUrl === undefined || databaseUrl === '')
    problems.push('DATABASE_URL: required at the edge (or a HYPERDRIVE binding)');
  const adminToken = text(tokenKey);
  if (adminToken === undefined || adminToken === '')
    problems.push(`${tokenKey}: required at the edge (wrangler secret put ${tokenKey})`);
  let coordinator: CoordinatorConfig | undefined;
  try {
    coordinator = loadConfig(
      {},
      {
        ...Object.fromEntries(
          [
            'UPSFLEET_ORDER_TTL',
            'UPSFLEET_HEARTBEAT',
            'UPSFLEET_LEASE_INTERVAL',
            'UPSFLEET_LOG_LEVEL',
            'UPSFLEET_METRICS_PUBLIC',
            'UPSFLEET_RESUME_SETTLE',
          ].map((key) => [key, text(key)]),
        ),
        UPSFLEET_ADMIN_TOKEN: adminToken,
        DATABASE_URL: databaseUrl,
      },
    );
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems.map((problem) => problem.replace('UPSFLEET_ADMIN_TOKEN', tokenKey)));
  }
  if (problems.length > 0 || coordinator === undefined) throw new ConfigError(problems);
  return Object.freeze({
    fleet,
    databaseUrl: databaseUrl as string,
    adminToken: adminToken as string,
    coordinator,
  });
}

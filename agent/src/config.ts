import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { parseDuration } from '../../shared/src/duration.js';
import { AppError, errorMessage } from '../../shared/src/errors.js';
import { NameSchema } from '../../shared/src/protocol.js';
import { type BridgeConfig, BridgeSchema } from './bridge/bridge-config.js';
import { Argv, CoordinatorUrl, Duration, NutName, required, UpsdAddress } from './config-fields.js';
import { toWakeConfig, type WakeConfig, WakeSchema } from './wake/wake-config.js';

const HostSchema = z.strictObject({
  /** Optional; the name that counts is the enrolled one. A mismatch is logged. */
  name: NameSchema.optional(),
  shutdown: Argv,
  shutdownTimeout: Duration.refine((ms) => ms > 0, 'must be longer than 0').default(parseDuration('5m')),
  /** The older spelling of the top-level clockTolerance (host orders were the only orders). */
  clockTolerance: Duration.optional(),
  /** Run in order before the shutdown (stop containers, VMs, services), each with its timeout. */
  before: z
    .array(
      z.strictObject({
        name: NameSchema,
        run: Argv,
        timeout: Duration.refine((ms) => ms > 0, 'must be longer than 0').default(parseDuration('60s')),
      }),
    )
    .max(32)
    .default([]),
  /**
   * The local fail-safe, used until the coordinator has sent this host its signed one: when the
   * coordinator is lost while this host's power is in trouble, shut down after this long.
   */
  fallback: z.strictObject({ after: Duration }).optional(),
});

const DEFAULT_CLOCK_TOLERANCE = parseDuration('30s');

/** ms; see `alertSnapshotInterval` below. */
const MAX_ALERT_SNAPSHOT_INTERVAL = parseDuration('20s');
/** ms */
const MAX_SNAPSHOT_INTERVAL = parseDuration('10m');

const UpsSchema = z.strictObject({
  /** The UPS's name in the fleet policy. */
  id: NameSchema,
  upsd: UpsdAddress,
  /** The UPS name in upsd (`ups` on a Synology NAS). */
  name: NutName.default('ups'),
  /** A `upsmon secondary` account: the watcher logs in as upsmon does (optional; reads work without). */
  username: NutName.optional(),
  password: z.string().min(1).max(128).optional(),
  pollInterval: Duration.refine((ms) => ms >= 100, 'must be at least 100ms').default(parseDuration('1s')),
  /** upsmon's DEADTIME: a UPS last seen on battery and silent this long counts as critical. */
  deadTime: Duration.default(parseDuration('15s')),
  /** How often a snapshot is sent while on mains / while on battery. */
  snapshotInterval: Duration.refine(
    (ms) => ms <= MAX_SNAPSHOT_INTERVAL,
    "must be at most 10m: longer, and the coordinator's view of a UPS on mains goes stale",
  ).default(parseDuration('60s')),
  /**
   * The coordinator counts a UPS last seen on battery and then silent for its policy's `deadAfter`
   * (60 s by default) as dead: several snapshots must fit in that time.
   */
  alertSnapshotInterval: Duration.refine(
    (ms) => ms <= MAX_ALERT_SNAPSHOT_INTERVAL,
    'must be at most 20s: the coordinator counts a UPS silent for 60 s on battery as dead',
  ).default(parseDuration('5s')),
  /** An upsd account with `instcmds` (e.g. the NAS admin, not the monitoring secondary), for power-off orders. */
  powerOff: z.strictObject({ username: NutName, password: z.string().min(1).max(128) }).optional(),
  /**
   * STARTTLS to upsd: `try` (default, as upsmon does) encrypts when upsd offers it, `require` refuses
   * plain text, `off` never asks. `ca` (a PEM file) turns on certificate verification.
   */
  tls: z
    .union([
      z.enum(['off', 'try', 'require']).transform((mode): WatchTls => ({ mode })),
      z.strictObject({
        mode: z.enum(['off', 'try', 'require']).default('try'),
        ca: z.string().min(1).optional(),
        servername: z.string().min(1).max(253).optional(),
      }),
    ])
    .default({ mode: 'try' }),
});

/**
 * `host.upsd:` — the host reads its UPS itself, read-only, with the watcher's keys and upsmon's rules,
 * so that it can follow its offline rule when it has no valid lease from the coordinator.
 */
const HostUpsdSchema = UpsSchema.pick({
  id: true,
  upsd: true,
  name: true,
  username: true,
  password: true,
  pollInterval: true,
  deadTime: true,
  tls: true,
});

const HostWithUpsdSchema = HostSchema.extend({
  upsd: z.array(HostUpsdSchema, { error: 'must be a list of UPSes (id, upsd, name, …)' }).max(16).default([]),
});

/** `bridge.upsd:` — the bridge reads the UPSes itself, to apply its hosts' offline rules on its own. */
const BridgeWithUpsdSchema = BridgeSchema.extend({
  upsd: z.array(HostUpsdSchema, { error: 'must be a list of UPSes (id, upsd, name, …)' }).max(16).default([]),
});

const ConfigSchema = z.strictObject({
  coordinator: CoordinatorUrl,
  stateDir: z.string({ error: required('a folder path') }).min(1, 'must name a folder'),
  host: HostWithUpsdSchema.optional(),
  /** The watcher role: the UPSes this agent reads from upsd. */
  ups: z.array(UpsSchema, { error: 'must be a list of UPSes' }).optional(),
  /** Where this agent may send Wake-on-LAN packets; without it, wake orders are refused. */
  wake: WakeSchema.optional(),
  /** Accepted clock difference when verifying orders of every kind. */
  clockTolerance: Duration.optional(),
  /** The NUT bridge role: serve NUT to the hosts the policy says this agent bridges. */
  bridge: BridgeWithUpsdSchema.optional(),
});

const asRecord = (value: unknown): Record<string, unknown> =>
  typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};

/** Checks across keys and UPS entries, on the raw document so they are reported with any shape error. */
function crossProblems(raw: unknown): string[] {
  const doc = asRecord(raw);
  const entries = (Array.isArray(doc.ups) ? doc.ups : []).map(asRecord);
  const problems: string[] = [];
  const check = (list: Record<string, unknown>[], where: string) => {
    const ids = list.map((entry) => entry.id);
    list.forEach((entry, i) => {
      if (typeof entry.id === 'string' && ids.indexOf(entry.id) !== i)
        problems.push(`${where}.${i}.id: "${entry.id}" is listed twice`);
      if ((entry.username === undefined) !== (entry.password === undefined)) {
        problems.push(`${where}.${i}: give both username and password, or neither`);
      }
    });
  };
  check(entries, 'ups');
  const host = asRecord(doc.host);
  check((Array.isArray(host.upsd) ? host.upsd : []).map(asRecord), 'host.upsd');
  const bridge = asRecord(doc.bridge);
  check((Array.isArray(bridge.upsd) ? bridge.upsd : []).map(asRecord), 'bridge.upsd');
  if (doc.clockTolerance !== undefined && asRecord(doc.host).clockTolerance !== undefined)
    problems.push('host.clockTolerance: also given at the top level; keep only clockTolerance');
  return problems;
}

/** STARTTLS settings of one watched UPS. */
export interface WatchTls {
  readonly mode: 'off' | 'try' | 'require';
  /** A PEM file: verify upsd's certificate against it. */
  readonly ca?: string | undefined;
  readonly servername?: string | undefined;
}

export type UpsWatchConfig = Readonly<Omit<z.output<typeof UpsSchema>, 'tls'> & { tls?: WatchTls }>;

/** One UPS a host reads itself (`host.upsd:`): the watcher's reading keys, nothing it sends. */
export type HostUpsdConfig = Readonly<Omit<z.output<typeof HostUpsdSchema>, 'tls'> & { tls?: WatchTls }>;

export interface HostConfig {
  /** The name the admin expects this host to be enrolled as, if given. */
  readonly name: string | undefined;
  readonly shutdown: readonly string[];
  /** ms */
  readonly shutdownTimeout: number;
  /** ms */
  readonly clockTolerance: number;
  /** Hooks run in order before the shutdown; a failing hook is reported and the shutdown goes on. */
  readonly before: readonly {
    readonly name: string;
    readonly run: readonly string[];
    readonly timeout: number;
  }[];
  /** The local fallback delay (ms), used until a signed briefing says otherwise; undefined: none. */
  readonly fallbackAfter: number | undefined;
  /** The UPSes this host reads itself (empty: it knows its power only from its briefings). */
  readonly upsd?: readonly HostUpsdConfig[];
}

export interface AgentConfig {
  /** Base URL of the coordinator, without a trailing slash. */
  readonly coordinator: string;
  /** Absolute path. */
  readonly stateDir: string;
  readonly host: HostConfig | undefined;
  /** The watcher role's UPSes (empty: no watcher role). */
  readonly ups: readonly UpsWatchConfig[];
  /** Wake-on-LAN targets this agent may send to; undefined: wake orders are refused. */
  readonly wake: WakeConfig | undefined;
  /** The NUT bridge role, and the UPSes it reads itself (`bridge.upsd:`); undefined: none. */
  readonly bridge?: (BridgeConfig & { readonly upsd?: readonly HostUpsdConfig[] }) | undefined;
  /** ms; the accepted clock difference when verifying orders (also `host.clockTolerance`). */
  readonly clockTolerance: number;
  /** Where the config came from, for messages. */
  readonly source: string;
}

function formatIssues(error: z.ZodError): string[] {
  const lines: string[] = [];
  for (const issue of error.issues) {
    const where = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) lines.push(`${where === '' ? key : `${where}.${key}`}: unknown key`);
    } else {
      lines.push(`${where === '' ? '(top level)' : where}: ${issue.message}`);
    }
  }
  return lines;
}

/** Parses the YAML text of an agent config into a frozen config, or throws one error listing every bad key. */
export function parseAgentConfig(text: string, sourceName: string): AgentConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (cause) {
    throw new AppError('config', `${sourceName}: not valid YAML: ${errorMessage(cause)}`, { cause });
  }
  if (raw === null || raw === undefined) {
    throw new AppError('config', `${sourceName}: the config is empty (needs coordinator and stateDir)`);
  }
  const result = ConfigSchema.safeParse(raw);
  const cross = crossProblems(raw);
  if (!result.success || cross.length > 0) {
    const problems = [...(result.success ? [] : formatIssues(result.error)), ...cross];
    throw new AppError('config', `${sourceName}: invalid agent config:\n  ${problems.join('\n  ')}`, {
      details: { problems },
    });
  }
  const data = result.data;
  const clockTolerance = data.clockTolerance ?? data.host?.clockTolerance ?? DEFAULT_CLOCK_TOLERANCE;
  const host: HostConfig | undefined =
    data.host === undefined
      ? undefined
      : Object.freeze({
          name: data.host.name,
          shutdown: Object.freeze([...data.host.shutdown]),
          shutdownTimeout: data.host.shutdownTimeout,
          clockTolerance,
          before: Object.freeze(
            data.host.before.map((hook) => Object.freeze({ ...hook, run: Object.freeze([...hook.run]) })),
          ),
          fallbackAfter: data.host.fallback?.after,
          upsd: Object.freeze(
            data.host.upsd.map((ups) => Object.freeze({ ...ups, upsd: Object.freeze(ups.upsd) })),
          ),
        });
  return Object.freeze({
    coordinator: data.coordinator.replace(/\/+$/, ''),
    stateDir: resolve(dirname(resolve(sourceName)), data.stateDir),
    host,
    ups: Object.freeze(
      (data.ups ?? []).map((ups) =>
        Object.freeze({
          ...ups,
          upsd: Object.freeze(ups.upsd),
          ...(ups.powerOff === undefined ? {} : { powerOff: Object.freeze(ups.powerOff) }),
        }),
      ),
    ),
    wake: data.wake === undefined ? undefined : toWakeConfig(data.wake),
    bridge:
      data.bridge === undefined
        ? undefined
        : Object.freeze({
            listen: Object.freeze(data.bridge.listen),
            allow: data.bridge.allow === undefined ? undefined : Object.freeze([...data.bridge.allow]),
            tls:
              data.bridge.tls === undefined
                ? undefined
                : Object.freeze({
                    key: resolve(dirname(resolve(sourceName)), data.bridge.tls.key),
                    cert: resolve(dirname(resolve(sourceName)), data.bridge.tls.cert),
                  }),
            upsd: Object.freeze(
              data.bridge.upsd.map((ups) => Object.freeze({ ...ups, upsd: Object.freeze(ups.upsd) })),
            ),
          }),
    clockTolerance,
    source: sourceName,
  });
}

export async function loadAgentConfig(path: string): Promise<AgentConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new AppError('config', `cannot read agent config ${path}: ${errorMessage(cause)}`, { cause });
  }
  return parseAgentConfig(text, path);
}

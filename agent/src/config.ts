import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { isDuration, parseDuration } from '../../shared/src/duration.js';
import { AppError, errorMessage } from '../../shared/src/errors.js';
import { NameSchema } from '../../shared/src/protocol.js';

const ARGV_HINT = 'write it as an argv list, not a shell string: shutdown: ["/sbin/poweroff"]';

/** zod's message for a missing key is "expected string, received undefined"; say what is needed instead. */
const required =
  (what: string) =>
  (issue: { input?: unknown }): string =>
    issue.input === undefined ? `required: ${what}` : `must be ${what}`;

const CoordinatorUrl = z.string({ error: required('the coordinator URL') }).refine((text) => {
  try {
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.search === '' && url.hash === '';
  } catch {
    return false;
  }
}, 'must be an http:// or https:// URL without query or fragment, like https://ups.example.net');

const Duration = z
  .string({ error: 'must be a duration like 90s, 5m or 1h' })
  .refine(isDuration, 'must be a duration like 90s, 5m or 1h')
  .transform((text) => parseDuration(text));

const Argv = z
  .array(z.string().min(1, 'an argv entry must not be empty'), {
    error: (issue) =>
      typeof issue.input === 'string'
        ? ARGV_HINT
        : required('the shutdown command as a list of strings')(issue),
  })
  .min(1, 'must name at least the program to run');

const HostSchema = z.strictObject({
  /** Optional; the name that counts is the enrolled one. A mismatch is logged. */
  name: NameSchema.optional(),
  shutdown: Argv,
  shutdownTimeout: Duration.refine((ms) => ms > 0, 'must be longer than 0').default(parseDuration('5m')),
  clockTolerance: Duration.default(parseDuration('30s')),
});

/** `host:port` of upsd; the port defaults to NUT's 3493. IPv6 as `[::1]:3493`. */
const UpsdAddress = z.string({ error: required('the upsd address as host:port') }).transform((text, ctx) => {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+))(?::(\d{1,5}))?$/.exec(text.trim());
  const host = match?.[1] ?? match?.[2];
  const port = match?.[3] === undefined ? 3493 : Number(match[3]);
  if (host === undefined || port < 1 || port > 65535) {
    ctx.addIssue({ code: 'custom', message: 'must be host:port, like 192.0.2.7:3493 or nas.local' });
    return z.NEVER;
  }
  return { host, port };
});

/** NUT UPS, variable and user names as upsd.conf/ups.conf allow them. */
const NutName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/, 'letters, digits, ".", "_", "-" and "@"');

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
  snapshotInterval: Duration.default(parseDuration('60s')),
  alertSnapshotInterval: Duration.default(parseDuration('5s')),
});

const ConfigSchema = z.strictObject({
  coordinator: CoordinatorUrl,
  stateDir: z.string({ error: required('a folder path') }).min(1, 'must name a folder'),
  host: HostSchema.optional(),
  /** The watcher role: the UPSes this agent reads from upsd. */
  ups: z.array(UpsSchema, { error: 'must be a list of UPSes' }).optional(),
});

/** Checks across UPS entries, on the raw document so they are reported with any shape error. */
function upsListProblems(raw: unknown): string[] {
  const list =
    typeof raw === 'object' && raw !== null && 'ups' in raw && Array.isArray(raw.ups) ? raw.ups : [];
  const entries = list.map((item: unknown) =>
    typeof item === 'object' && item !== null ? (item as Record<string, unknown>) : {},
  );
  const ids = entries.map((entry) => entry.id);
  const problems: string[] = [];
  entries.forEach((entry, i) => {
    if (typeof entry.id === 'string' && ids.indexOf(entry.id) !== i)
      problems.push(`ups.${i}.id: "${entry.id}" is listed twice`);
    if ((entry.username === undefined) !== (entry.password === undefined)) {
      problems.push(`ups.${i}: give both username and password, or neither`);
    }
  });
  return problems;
}

export type UpsWatchConfig = Readonly<z.output<typeof UpsSchema>>;

export interface HostConfig {
  /** The name the admin expects this host to be enrolled as, if given. */
  readonly name: string | undefined;
  readonly shutdown: readonly string[];
  /** ms */
  readonly shutdownTimeout: number;
  /** ms */
  readonly clockTolerance: number;
}

export interface AgentConfig {
  /** Base URL of the coordinator, without a trailing slash. */
  readonly coordinator: string;
  /** Absolute path. */
  readonly stateDir: string;
  readonly host: HostConfig | undefined;
  /** The watcher role's UPSes (empty: no watcher role). */
  readonly ups: readonly UpsWatchConfig[];
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
  const crossProblems = upsListProblems(raw);
  if (!result.success || crossProblems.length > 0) {
    const problems = [...(result.success ? [] : formatIssues(result.error)), ...crossProblems];
    throw new AppError('config', `${sourceName}: invalid agent config:\n  ${problems.join('\n  ')}`, {
      details: { problems },
    });
  }
  const data = result.data;
  const host: HostConfig | undefined =
    data.host === undefined
      ? undefined
      : Object.freeze({
          name: data.host.name,
          shutdown: Object.freeze([...data.host.shutdown]),
          shutdownTimeout: data.host.shutdownTimeout,
          clockTolerance: data.host.clockTolerance,
        });
  return Object.freeze({
    coordinator: data.coordinator.replace(/\/+$/, ''),
    stateDir: resolve(dirname(resolve(sourceName)), data.stateDir),
    host,
    ups: Object.freeze(
      (data.ups ?? []).map((ups) => Object.freeze({ ...ups, upsd: Object.freeze(ups.upsd) })),
    ),
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

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

const ConfigSchema = z.strictObject({
  coordinator: CoordinatorUrl,
  stateDir: z.string({ error: required('a folder path') }).min(1, 'must name a folder'),
  host: HostSchema.optional(),
  /** The watcher role (a later issue): accepted when it is a list, not read yet. */
  ups: z.array(z.unknown(), { error: 'must be a list of UPSes' }).optional(),
});

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
  if (!result.success) {
    const problems = formatIssues(result.error);
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

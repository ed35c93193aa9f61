/**
 * The fleet policy document (YAML on disk, JSON through the API), parsed once and then trusted.
 *
 * This is the first, minimal form: UPSes and their watcher, hosts and their feeds, and ordered
 * stages whose trigger is "on battery for a duration". Every error names the field.
 */
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { parseDuration } from '../../../shared/src/duration.js';
import { AppError } from '../../../shared/src/errors.js';
import { NameSchema } from '../../../shared/src/protocol.js';

const DurationSchema = z.string().transform((text, ctx) => {
  try {
    return parseDuration(text);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message : String(error) });
    return z.NEVER;
  }
});

const PolicySchema = z.strictObject({
  ups: z
    .array(
      z.strictObject({
        name: NameSchema,
        /** Name of the enrolled agent whose watcher reports this UPS. */
        watcher: NameSchema,
      }),
    )
    .min(1, 'list at least one UPS'),
  hosts: z.array(
    z.strictObject({
      name: NameSchema,
      /** The UPSes that feed this host. */
      ups: z.array(NameSchema).min(1, 'a host is fed by at least one UPS'),
    }),
  ),
  stages: z.array(
    z.strictObject({
      name: NameSchema,
      hosts: z.array(NameSchema).min(1, 'a stage shuts down at least one host'),
      trigger: z.strictObject({
        /** Fire once the UPS has been on battery this long (`0s` = at once). */
        onBattery: DurationSchema,
      }),
    }),
  ),
});

export type Policy = z.output<typeof PolicySchema>;
export type PolicyInput = z.input<typeof PolicySchema>;

export class PolicyError extends AppError {
  override readonly name = 'PolicyError';
  readonly errors: readonly string[];
  constructor(errors: readonly string[]) {
    super('unprocessable', `invalid policy:\n  - ${errors.join('\n  - ')}`, { details: { errors } });
    this.errors = errors;
  }
}

function pathOf(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (out, key) => (typeof key === 'number' ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key)),
    '',
  );
}

function duplicates(names: readonly string[]): string[] {
  return names.filter((name, index) => names.indexOf(name) !== index);
}

/** Items of a list in a document that may not have passed validation (non-objects skipped). */
function itemsOf(list: unknown): Record<string, unknown>[] {
  if (!Array.isArray(list)) return [];
  return list.map((item: unknown) =>
    typeof item === 'object' && item !== null ? (item as Record<string, unknown>) : {},
  );
}

function stringsOf(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/**
 * Cross-references (unknown UPS or host, duplicate names). Works on the raw document too, so a
 * document with a shape error still gets its reference errors in the same report.
 */
function referenceErrors(document: unknown): string[] {
  if (typeof document !== 'object' || document === null) return [];
  const doc = document as Record<string, unknown>;
  const ups = itemsOf(doc.ups);
  const hosts = itemsOf(doc.hosts);
  const stages = itemsOf(doc.stages);
  const upsNames = ups.flatMap((u) => stringsOf([u.name]));
  const hostNames = hosts.flatMap((h) => stringsOf([h.name]));
  const errors: string[] = [];
  for (const name of duplicates(upsNames)) errors.push(`ups: "${name}" is listed twice`);
  for (const name of duplicates(hostNames)) errors.push(`hosts: "${name}" is listed twice`);
  for (const name of duplicates(stages.flatMap((s) => stringsOf([s.name]))))
    errors.push(`stages: "${name}" is listed twice`);
  hosts.forEach((host, i) => {
    for (const name of stringsOf(host.ups)) {
      if (!upsNames.includes(name)) errors.push(`hosts[${i}].ups: unknown UPS "${name}"`);
    }
  });
  stages.forEach((stage, i) => {
    for (const name of stringsOf(stage.hosts)) {
      if (!hostNames.includes(name)) errors.push(`stages[${i}].hosts: unknown host "${name}"`);
    }
  });
  return errors;
}

/** Validates a policy document (already decoded from YAML/JSON); throws PolicyError listing every problem. */
export function parsePolicy(input: unknown): Policy {
  const result = PolicySchema.safeParse(input);
  const errors = result.success
    ? []
    : result.error.issues.map((issue) => `${pathOf(issue.path) || '(document)'}: ${issue.message}`);
  errors.push(...referenceErrors(input));
  if (!result.success || errors.length > 0) throw new PolicyError(errors);
  return result.data;
}

export function parsePolicyYaml(text: string): Policy {
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (cause) {
    throw new PolicyError([`not valid YAML: ${cause instanceof Error ? cause.message : String(cause)}`]);
  }
  return parsePolicy(document);
}

const feedsByHost = new WeakMap<Policy, ReadonlyMap<string, readonly string[]>>();

/** The hosts of `stage` that `ups` feeds (host feeds indexed once per policy). */
export function hostsOfStageOnUps(policy: Policy, stage: Policy['stages'][number], ups: string): string[] {
  let feeds = feedsByHost.get(policy);
  if (feeds === undefined) {
    feeds = new Map(policy.hosts.map((host) => [host.name, host.ups]));
    feedsByHost.set(policy, feeds);
  }
  const index = feeds;
  return stage.hosts.filter((name) => index.get(name)?.includes(ups));
}

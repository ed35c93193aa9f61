/**
 * The fleet policy: validated once (every error named, all at once) and compiled into the form the
 * engine reads — tags expanded, dependencies checked for cycles, lookups indexed.
 */
import { parse as parseYaml } from 'yaml';
import { AppError } from '../../../shared/src/errors.js';
import { describeValue } from '../../../shared/src/protocol.js';
import { type PolicyDocument, PolicySchema, type Trigger } from './policy-schema.js';

export type { PolicyDocument, PolicyInput, Trigger } from './policy-schema.js';

export type UpsEntry = PolicyDocument['ups'][number];
export type HostEntry = PolicyDocument['hosts'][number];

export interface Stage {
  readonly name: string;
  /** Resolved host names (tags expanded), in document order, without duplicates. */
  readonly hosts: readonly string[];
  readonly trigger: Trigger;
  /** Direct prerequisites. */
  readonly after: readonly string[];
  readonly grace: number;
}

export interface Policy {
  readonly document: PolicyDocument;
  readonly ups: ReadonlyMap<string, UpsEntry>;
  readonly hosts: ReadonlyMap<string, HostEntry>;
  readonly stages: readonly Stage[];
  readonly restore: PolicyDocument['restore'] & { readonly wake: readonly string[] };
  /** Things worth telling the admin that do not make the policy invalid. */
  readonly warnings: readonly string[];
}

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
  return [...new Set(names.filter((name, index) => names.indexOf(name) !== index))];
}

function itemsOf(list: unknown): Record<string, unknown>[] {
  if (!Array.isArray(list)) return [];
  return list.map((item: unknown) =>
    typeof item === 'object' && item !== null ? (item as Record<string, unknown>) : {},
  );
}

function stringsOf(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/** Expands `tag:NAME` entries; reports names that match nothing. */
function resolveHosts(
  entries: readonly string[],
  hosts: readonly Record<string, unknown>[],
  where: string,
  errors: string[],
  warnings: string[],
): string[] {
  const out: string[] = [];
  for (const entry of entries) {
    if (entry.startsWith('tag:')) {
      const tag = entry.slice(4);
      const tagged = hosts.filter((h) => stringsOf(h.tags).includes(tag)).flatMap((h) => stringsOf([h.name]));
      if (tagged.length === 0) warnings.push(`${where}: no host has tag "${tag}"`);
      out.push(...tagged);
    } else if (hosts.some((h) => h.name === entry)) {
      out.push(entry);
    } else {
      errors.push(`${where}: unknown host "${entry}" (list it under hosts: with the UPSes that feed it)`);
    }
  }
  return [...new Set(out)];
}

/** The first dependency cycle found, as a path, or undefined. */
function findCycle(stages: readonly { name: string; after: readonly string[] }[]): string[] | undefined {
  const byName = new Map(stages.map((s) => [s.name, s]));
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, path: string[]): string[] | undefined => {
    if (state.get(name) === 'visiting') return [...path.slice(path.indexOf(name)), name];
    if (state.get(name) === 'done') return undefined;
    state.set(name, 'visiting');
    for (const next of byName.get(name)?.after ?? []) {
      const cycle = visit(next, [...path, name]);
      if (cycle) return cycle;
    }
    state.set(name, 'done');
    return undefined;
  };
  for (const stage of stages) {
    const cycle = visit(stage.name, []);
    if (cycle) return cycle;
  }
  return undefined;
}

/** Cross-references, on the raw document so they come with any shape error in the same report. */
function referenceChecks(document: unknown): {
  errors: string[];
  warnings: string[];
  resolved: Map<string, string[]>;
  wake: string[];
} {
  const errors: string[] = [];
  const warnings: string[] = [];
  const resolved = new Map<string, string[]>();
  if (typeof document !== 'object' || document === null) return { errors, warnings, resolved, wake: [] };
  const doc = document as Record<string, unknown>;
  const ups = itemsOf(doc.ups);
  const hosts = itemsOf(doc.hosts);
  const stages = itemsOf(doc.stages);
  const upsNames = ups.flatMap((u) => stringsOf([u.name]));
  const hostNames = hosts.flatMap((h) => stringsOf([h.name]));
  const stageNames = stages.flatMap((s) => stringsOf([s.name]));
  for (const name of duplicates(upsNames)) errors.push(`ups: "${name}" is listed twice`);
  for (const name of duplicates(hostNames)) errors.push(`hosts: "${name}" is listed twice`);
  for (const name of duplicates(stageNames)) errors.push(`stages: "${name}" is listed twice`);
  hosts.forEach((host, i) => {
    const feeds = stringsOf(host.ups);
    for (const name of feeds)
      if (!upsNames.includes(name)) errors.push(`hosts[${i}].ups: unknown UPS "${name}"`);
    if (typeof host.minSupplies === 'number' && host.minSupplies > feeds.length) {
      errors.push(
        `hosts[${i}].minSupplies: ${host.minSupplies} is more than its ${feeds.length} UPS feed(s)`,
      );
    }
  });
  stages.forEach((stage, i) => {
    if (typeof stage.name !== 'string') return;
    resolved.set(
      stage.name,
      resolveHosts(stringsOf(stage.hosts), hosts, `stages[${i}].hosts`, errors, warnings),
    );
    for (const name of stringsOf(stage.after)) {
      if (!stageNames.includes(name)) errors.push(`stages[${i}].after: unknown stage "${name}"`);
      if (name === stage.name) errors.push(`stages[${i}].after: a stage cannot wait for itself`);
    }
  });
  const cycle = findCycle(stages.map((s) => ({ name: describeValue(s.name), after: stringsOf(s.after) })));
  if (cycle && cycle.length > 2) errors.push(`stages: dependency cycle ${cycle.join(' → ')}`);
  for (const entry of ups) {
    if (typeof entry.powerOff !== 'string' || typeof entry.watcher !== 'string') continue;
    const watcherHost = hosts.find((h) => h.name === entry.watcher);
    if (watcherHost !== undefined && stringsOf(watcherHost.ups).includes(describeValue(entry.name))) {
      warnings.push(
        `ups "${describeValue(entry.name)}": its watcher "${entry.watcher}" is also a host it feeds; the power-off is sent once ` +
          'every host it feeds is down, so the watcher would be gone by then — let another agent watch this UPS',
      );
    }
  }
  const restore =
    typeof doc.restore === 'object' && doc.restore !== null ? (doc.restore as Record<string, unknown>) : {};
  const wake = resolveHosts(stringsOf(restore.wake), hosts, 'restore.wake', errors, warnings);
  hosts.forEach((host, i) => {
    if (!wake.includes(describeValue(host.name)) || typeof host.wake === 'object') return;
    errors.push(
      `hosts[${i}].wake: "${describeValue(host.name)}" is in restore.wake but has no wake: { mac, via, address }`,
    );
  });
  return { errors, warnings, resolved, wake };
}

/** Validates and compiles a policy document (decoded YAML/JSON); throws PolicyError listing every problem. */
export function parsePolicy(input: unknown): Policy {
  const result = PolicySchema.safeParse(input);
  const checks = referenceChecks(input);
  const errors = result.success
    ? []
    : result.error.issues.map((issue) => `${pathOf(issue.path) || '(document)'}: ${issue.message}`);
  errors.push(...checks.errors);
  if (!result.success || errors.length > 0) throw new PolicyError(errors);
  const document = result.data;
  return {
    document,
    ups: new Map(document.ups.map((u) => [u.name, u])),
    hosts: new Map(document.hosts.map((h) => [h.name, h])),
    stages: document.stages.map((stage) => ({
      name: stage.name,
      hosts: checks.resolved.get(stage.name) ?? [],
      trigger: stage.trigger,
      after: stage.after,
      grace: stage.grace,
    })),
    restore: { ...document.restore, wake: checks.wake },
    warnings: checks.warnings,
  };
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

/**
 * Attack: fuzzed policy documents (what `PUT /api/v1/policy` and `--policy FILE` hand to
 * parsePolicy). Property-based, fixed seed, bounded runs: every document either compiles into a
 * consistent policy or is refused with a PolicyError listing at least one error, never with another
 * exception (which the API would turn into a 500). Documents are decoded JSON, as the API sees
 * them, shaped like policies with wrong types, bad names and durations, and keys that are risky in
 * JavaScript (`__proto__`, `toString`, `constructor`, …): valid policies, and valid policies with
 * one to three parts replaced, removed or added at random.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PolicyError, parsePolicy, parsePolicyYaml } from '../../coordinator/src/core/policy.js';
import { type Json, mutateJson, mutation, riskyObject } from '../helpers/fuzz-json.js';
import { chooseSeed } from '../helpers/seeded-random.js';

const seed = chooseSeed('UPSFLEET_FUZZ_SEED', 'policy fuzzing', 20_240_602);

const name = fc.constantFrom(
  'nas-ups',
  'ups2',
  'web1',
  'db1',
  'nas',
  'apps',
  'db',
  'tag:web',
  '',
  'bad name!',
);
const duration = fc.constantFrom('1s', '90s', '5m', '1h', '0s', '-1s', '10', 'soon', '');
/** Any value at all, biased towards the ones a policy holds and the risky objects. */
const anything: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: name },
  { weight: 2, arbitrary: duration },
  { weight: 2, arbitrary: riskyObject },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  { weight: 1, arbitrary: fc.array(name, { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.array(riskyObject, { maxLength: 2 }) },
);

/** A valid policy: consistent names, a valid trigger per stage, dependencies on earlier stages only. */
const validPolicy = fc
  .record({
    hostCount: fc.integer({ min: 1, max: 3 }),
    stageCount: fc.integer({ min: 0, max: 3 }),
    triggers: fc.array(
      fc.constantFrom<Record<string, unknown>>(
        { onBattery: '30s' },
        { chargeBelow: 50 },
        { runtimeBelow: '5m' },
        { lowBattery: true },
        { fsd: true, dead: true },
        { manual: true },
      ),
      { minLength: 3, maxLength: 3 },
    ),
    dependsOnPrevious: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
    tagged: fc.boolean(),
    fallback: fc.constantFrom<unknown>(false, { after: '2m' }, undefined),
  })
  .map(({ hostCount, stageCount, triggers, dependsOnPrevious, tagged, fallback }) => {
    const hosts = ['web1', 'db1', 'app1'].slice(0, hostCount);
    return {
      ups: [{ name: 'nas-ups', watcher: 'nas' }],
      hosts: hosts.map((host, i) => ({
        name: host,
        ups: ['nas-ups'],
        ...(tagged && i === 0 ? { tags: ['web'] } : {}),
      })),
      stages: Array.from({ length: stageCount }, (_, i) => ({
        name: `s${i}`,
        hosts: tagged && i === 0 ? ['tag:web'] : [hosts[i % hosts.length]],
        trigger: triggers[i],
        ...(i > 0 && dependsOnPrevious[i] ? { after: [`s${i - 1}`] } : {}),
        grace: '1m',
      })),
      restore: { stableFor: '2m', minCharge: 40 },
      ...(fallback === undefined ? {} : { fallback }),
    };
  });

/** Valid policies, and valid policies with one to three things broken. */
const document = fc.oneof(
  validPolicy,
  fc
    .tuple(validPolicy, fc.array(mutation(anything), { minLength: 1, maxLength: 3 }))
    .map(([policy, changes]) =>
      changes.reduce<Json>(
        (doc, [pick, how, value]) => mutateJson(doc, pick, how, value),
        policy as unknown as Json,
      ),
    ),
);

/** Decoded JSON, as the API hands it over: own keys only, `__proto__` included as a plain key. */
const decoded = (value: unknown): unknown => JSON.parse(JSON.stringify(value) ?? 'null');

function checkOutcome(compile: () => ReturnType<typeof parsePolicy>): void {
  let policy: ReturnType<typeof parsePolicy>;
  try {
    policy = compile();
  } catch (error) {
    if (!(error instanceof PolicyError))
      throw new Error(`not a PolicyError: ${String(error)}`, { cause: error });
    expect(error.errors.length).toBeGreaterThan(0);
    for (const line of error.errors) expect(line.trim()).not.toBe('');
    return;
  }
  // A compiled policy is consistent: every stage names known hosts and known earlier stages.
  const stages = new Set(policy.stages.map((stage) => stage.name));
  for (const stage of policy.stages) {
    for (const host of stage.hosts) expect(policy.hosts.has(host)).toBe(true);
    for (const after of stage.after) expect(stages.has(after)).toBe(true);
  }
  for (const host of policy.hosts.values())
    for (const ups of host.ups) expect(policy.ups.has(ups)).toBe(true);
}

describe('attack: fuzzed policy documents into parsePolicy', () => {
  it('policy-shaped documents: a valid policy or a PolicyError listing errors, nothing else', () => {
    fc.assert(
      fc.property(document, (doc) => checkOutcome(() => parsePolicy(decoded(doc)))),
      { seed, numRuns: 1_500 },
    );
  });

  it('any JSON value at all', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (value) => checkOutcome(() => parsePolicy(value))),
      { seed, numRuns: 500 },
    );
  });

  it('any YAML text', () => {
    // Tags (`!x`) and directives (`%x`) are left out: the yaml library prints a warning for each
    // unknown one, which would only flood the test output.
    const yamlish = fc.array(
      fc.oneof(
        fc.string({ maxLength: 20 }).map((text) => text.replace(/[!%]/g, '?')),
        fc.constantFrom(
          'ups:',
          '  - name: nas-ups',
          '    watcher: nas',
          'stages: [',
          '&a',
          '*a',
          '<<: *a',
          '---',
          '\t',
        ),
      ),
      { maxLength: 8 },
    );
    fc.assert(
      fc.property(yamlish, (lines) => checkOutcome(() => parsePolicyYaml(lines.join('\n')))),
      { seed, numRuns: 500 },
    );
  });
});

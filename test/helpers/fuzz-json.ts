/**
 * Building blocks for property-based attacks on decoded JSON (policies, frames): objects whose keys
 * are risky in JavaScript, and mutations that break one part of a valid document at a time.
 */
import fc from 'fast-check';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Keys that trip code which treats decoded JSON as ordinary objects (`String(x)`, `x.then`, …). */
export const RISKY_KEYS = ['__proto__', 'toString', 'valueOf', 'constructor', 'hasOwnProperty', 'then'];

/** A small object whose own keys are risky ones, e.g. `{"toString": 1}` as JSON.parse builds it. */
export const riskyObject = fc.dictionary(
  fc.constantFrom(...RISKY_KEYS),
  fc.oneof(fc.integer(), fc.string(), fc.constant(null)),
  { minKeys: 1, maxKeys: 2 },
);

export type MutationKind = 'replace' | 'delete' | 'add';

/** Every path (list of keys) in a JSON tree, the root included. */
function pathsOf(value: Json, path: (string | number)[] = []): (string | number)[][] {
  const here = [path];
  if (Array.isArray(value)) return [...here, ...value.flatMap((item, i) => pathsOf(item, [...path, i]))];
  if (value !== null && typeof value === 'object')
    return [...here, ...Object.entries(value).flatMap(([key, item]) => pathsOf(item, [...path, key]))];
  return here;
}

/** A copy of `root` with one change at a path `pick` chooses: replaced, deleted, or a risky key added. */
export function mutateJson(root: Json, pick: number, how: MutationKind, value: unknown): Json {
  const copy = structuredClone(root);
  const paths = pathsOf(copy);
  const path = paths[pick % paths.length] ?? [];
  if (path.length === 0) return how === 'replace' ? (value as Json) : copy;
  const parent = path
    .slice(0, -1)
    .reduce<Json>((node, key) => (node as Record<string, Json>)[key] as Json, copy);
  const key = path[path.length - 1] as string | number;
  const target = parent as Record<string | number, Json>;
  if (how === 'delete') {
    if (Array.isArray(parent) && typeof key === 'number') parent.splice(key, 1);
    else delete target[key];
  } else if (
    how === 'add' &&
    typeof target[key] === 'object' &&
    target[key] !== null &&
    !Array.isArray(target[key])
  ) {
    Object.defineProperty(target[key], RISKY_KEYS[pick % RISKY_KEYS.length] ?? 'x', {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else target[key] = value as Json;
  return copy;
}

/** `[pick, kind, value]` for mutateJson, with new values drawn from `values`. */
export function mutation(values: fc.Arbitrary<unknown>): fc.Arbitrary<[number, MutationKind, unknown]> {
  return fc.tuple(fc.nat(), fc.constantFrom<MutationKind>('replace', 'delete', 'add'), values);
}

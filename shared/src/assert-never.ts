/** Exhaustiveness check for `switch (x.type)`: an unhandled variant fails to compile. */
export function assertNever(value: never, what = 'value'): never {
  throw new Error(`unexpected ${what}: ${JSON.stringify(value)}`);
}

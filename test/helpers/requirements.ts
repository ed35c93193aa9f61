/**
 * Suites that need something from outside the repository (a real upsd, PostgreSQL, the reference
 * kit's device dumps): run when it is there; otherwise skipped with the reason shown locally, and a
 * failure under CI=true, where nothing may be skipped quietly.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe } from 'vitest';

export const REQUIRED_IN_CI = process.env.CI === 'true';

/** `describe` for a suite that needs what `missing` says is absent (undefined: all there). */
export function describeRequiring(name: string, missing: string | undefined, body: () => void): void {
  if (missing === undefined) describe(name, body);
  else if (REQUIRED_IN_CI) throw new Error(`${name}: required under CI=true, but ${missing}`);
  else {
    console.warn(`skipping "${name}": ${missing}`);
    describe.skip(`${name} [SKIPPED: ${missing}]`, body);
  }
}

/** NUT's Devices Dumps Library in the reference kit beside the repository (never committed). */
export const DDL_DIR = fileURLToPath(new URL('../../../shared/nut-ddl/', import.meta.url));

export function ddlMissingReason(): string | undefined {
  return existsSync(DDL_DIR) ? undefined : `${DDL_DIR} not found`;
}

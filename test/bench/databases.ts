/** The two databases a coordinator runs on, prepared for one figure: the bench seeds it, then the coordinator opens it. */
import type { DatabaseTarget } from '../../coordinator/src/db/client.js';
import type { BenchContext } from './context.js';
import type { CoordinatorDatabase } from './coordinator.js';
import { createBenchDatabase } from './postgres.js';
import type { Scope } from './scope.js';

export type DatabaseKind = 'pglite' | 'postgres';

export const DATABASE_LABEL: Record<DatabaseKind, string> = {
  pglite: 'embedded PGlite',
  postgres: 'PostgreSQL',
};

export interface PreparedDatabase {
  /** How the coordinator is pointed at it (--data-dir or --database-url). */
  readonly coordinator: CoordinatorDatabase;
  /** How the bench opens it to seed it. */
  readonly target: DatabaseTarget;
}

/** A migrated PGlite data dir under `dir`, or a fresh PostgreSQL database dropped with `scope`. */
export async function prepareDatabase(
  context: BenchContext,
  scope: Scope,
  dir: string,
  kind: DatabaseKind,
): Promise<PreparedDatabase> {
  if (kind === 'pglite') {
    const dataDir = await context.embeddedDataDir(dir, 'data');
    return { coordinator: { dataDir }, target: { kind: 'pglite', dataDir } };
  }
  const url = await createBenchDatabase(scope);
  return { coordinator: { url }, target: { kind: 'postgres', url } };
}

/**
 * PostgreSQL for the figures that compare it with the embedded database: a fresh database per run
 * on the server named by TEST_DATABASE_URL (made and dropped by the test suites' own helpers),
 * dropped again when the figure's scope closes.
 */
import { createPostgresDatabase, probePostgres } from '../helpers/database.js';
import type { Scope } from './scope.js';

export const PG_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432/test';

/** Why PostgreSQL cannot be used, or undefined when it can. */
export async function postgresMissingReason(url = PG_URL): Promise<string | undefined> {
  const probe = await probePostgres(url);
  return probe.ok
    ? undefined
    : `PostgreSQL unreachable at ${new URL(url).host} (${probe.reason}); set TEST_DATABASE_URL`;
}

/** An empty database on the server, dropped when `scope` closes. Returns its URL. */
export async function createBenchDatabase(scope: Scope, url = PG_URL): Promise<string> {
  const created = await createPostgresDatabase(url);
  scope.defer(`database ${new URL(created.url).pathname}`, () => created.drop());
  return created.url;
}

/**
 * Databases for tests: in-memory PGlite always, and a fresh database on a real PostgreSQL server.
 * PostgreSQL is mandatory under CI=true (or UPSFLEET_REQUIRE_POSTGRES=1): a missing server fails
 * the suite instead of skipping it.
 */

import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { describe, it } from 'vitest';
import { type Database, openDatabase } from '../../coordinator/src/db/client.js';
import { REQUIRED_IN_CI } from './requirements.js';

export const TEST_PG_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const postgresRequired = REQUIRED_IN_CI || process.env.UPSFLEET_REQUIRE_POSTGRES === '1';

export async function probePostgres(
  url = TEST_PG_URL,
): Promise<{ ok: true } | { ok: false; reason: string }> {
  const sql = postgres(url, { max: 1, connect_timeout: 3, onnotice: () => {} });
  try {
    await sql`select 1`;
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/** Creates an empty database on the test server; `drop()` removes it (and its connections). */
export async function createPostgresDatabase(
  url = TEST_PG_URL,
): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `upsfleet_t_${randomBytes(6).toString('hex')}`;
  const admin = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database ${name}`);
  } finally {
    await admin.end({ timeout: 1 });
  }
  const target = new URL(url);
  target.pathname = `/${name}`;
  return {
    url: target.toString(),
    async drop() {
      const sql = postgres(url, { max: 1, onnotice: () => {} });
      try {
        await sql.unsafe(`drop database if exists ${name} with (force)`);
      } finally {
        await sql.end({ timeout: 1 });
      }
    },
  };
}

export type DatabaseKind = 'pglite' | 'postgres';

export interface DatabaseFactory {
  readonly kind: DatabaseKind;
  /** A new, migrated, empty database; close it with `cleanup`. */
  open(): Promise<{ database: Database; cleanup(): Promise<void> }>;
}

const pglite: DatabaseFactory = {
  kind: 'pglite',
  async open() {
    const database = await openDatabase({ kind: 'memory' });
    return { database, cleanup: () => database.close() };
  },
};

const postgresFactory: DatabaseFactory = {
  kind: 'postgres',
  async open() {
    const created = await createPostgresDatabase();
    const database = await openDatabase({ kind: 'postgres', url: created.url });
    return {
      database,
      async cleanup() {
        await database.close();
        await created.drop();
      },
    };
  },
};

const probe = await probePostgres();

/**
 * Runs the same suite on every database: `body` gets a factory. PostgreSQL is skipped with its
 * reason when unreachable locally, and fails when it is required.
 */
export function describeOnEachDatabase(title: string, body: (factory: DatabaseFactory) => void): void {
  describe(`${title} [pglite]`, () => body(pglite));
  if (probe.ok) {
    describe(`${title} [postgres]`, () => body(postgresFactory));
  } else if (postgresRequired) {
    describe(`${title} [postgres]`, () => {
      it('needs PostgreSQL', () => {
        throw new Error(
          `PostgreSQL is required (CI=true) but unreachable at ${TEST_PG_URL}: ${probe.reason}`,
        );
      });
    });
  } else {
    describe.skip(`${title} [postgres] — skipped, PostgreSQL unreachable at ${TEST_PG_URL}: ${probe.reason}`, () => {
      it('needs PostgreSQL', () => {});
    });
  }
}

import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { AppError } from '../../../shared/src/errors.js';
import { lockDataDir } from './data-dir-lock.js';
import { extractPgliteTemplate, readPgliteTemplate } from './pglite-template.js';
import { schema } from './schema.js';

/** The handle every query function takes; both drivers are assignable to it. */
export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

export type DatabaseTarget =
  | { readonly kind: 'postgres'; readonly url: string }
  | { readonly kind: 'pglite'; readonly dataDir: string }
  /** In-memory PGlite, for tests. */
  | { readonly kind: 'memory' };

export interface Database {
  readonly db: Db;
  readonly kind: DatabaseTarget['kind'];
  close(): Promise<void>;
}

/** pg_try_advisory_lock key of the single writer ("upsf"). */
const WRITER_LOCK_KEY = 0x75707366;

async function tryWriterLock(lockClient: postgres.Sql): Promise<boolean> {
  const [row] = await lockClient`select pg_try_advisory_lock(${WRITER_LOCK_KEY}) as locked`;
  return row?.locked === true;
}

export interface WriterLockOptions {
  /**
   * Another coordinator took the database while ours had lost its lock (a PostgreSQL restart drops
   * every session, and with it the lock): this process must stop deciding at once.
   */
  readonly onWriterLockLost?: () => void;
  readonly lockCheckMs?: number;
}

/**
 * A PostgreSQL restart (or a dropped connection) silently releases the session's advisory lock.
 * Checked every second: when our session no longer holds it, take it again; when someone else has
 * it meanwhile, say so (the coordinator exits rather than decide beside another one).
 */
function watchWriterLock(lockClient: postgres.Sql, options: WriterLockOptions): { stop(): void } {
  let busy = false;
  let lost = false;
  const timer = setInterval(() => {
    if (busy || lost) return;
    busy = true;
    void (async () => {
      const [held] = await lockClient`select exists (
          select 1 from pg_locks where locktype = 'advisory' and objid = ${WRITER_LOCK_KEY}
            and pid = pg_backend_pid() and granted) as held`;
      if (held?.held === true) return;
      if (await tryWriterLock(lockClient)) return;
      lost = true;
      options.onWriterLockLost?.();
    })()
      // The database is unreachable: nobody else can take the lock through it either; retry.
      .catch(() => undefined)
      .finally(() => {
        busy = false;
      });
  }, options.lockCheckMs ?? 1_000);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/**
 * PGlite in `pgdata` (or in memory). A new database starts from the template for these migrations
 * when there is one (no initdb, nothing to migrate); should that fail, whatever it left is removed
 * and initdb runs, as it does without a template.
 */
async function openPglite(pgdata: string | undefined, migrationsFolder: string): Promise<PGlite> {
  const isNew = pgdata === undefined || !existsSync(join(pgdata, 'PG_VERSION'));
  const template = isNew ? await readPgliteTemplate(migrationsFolder) : undefined;
  if (template !== undefined) {
    try {
      if (pgdata === undefined) return await PGlite.create({ loadDataDir: new Blob([template]) });
      await extractPgliteTemplate(template, pgdata);
      return await PGlite.create(pgdata);
    } catch {
      if (pgdata !== undefined) await rm(pgdata, { recursive: true, force: true });
    }
  }
  return PGlite.create(pgdata);
}

/** Resolved from this file, not the CWD: the migrator needs meta/_journal.json. */
export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../drizzle', import.meta.url));

/** Opens the database and applies pending migrations. */
export async function openDatabase(
  target: DatabaseTarget,
  migrationsFolder = MIGRATIONS_FOLDER,
  options: WriterLockOptions = {},
): Promise<Database> {
  if (target.kind === 'postgres') {
    const client = postgres(target.url, { max: 10, onnotice: () => {} });
    const db = drizzlePostgres(client, { schema });
    // One coordinator per database: a session-level advisory lock, held by a connection of its own.
    // (Advisory locks are per database, so test databases on one server do not collide.)
    const lockClient = postgres(target.url, { max: 1, max_lifetime: 0, idle_timeout: 0, onnotice: () => {} });
    try {
      if (!(await tryWriterLock(lockClient))) {
        throw new AppError(
          'config',
          'another upsfleet coordinator is using this PostgreSQL database; stop it first',
        );
      }
      await migratePostgres(db, { migrationsFolder });
      const watchdog = watchWriterLock(lockClient, options);
      return {
        db,
        kind: 'postgres',
        close: async () => {
          watchdog.stop();
          await lockClient.end({ timeout: 1 });
          await client.end({ timeout: 5 });
        },
      };
    } catch (error) {
      await lockClient.end({ timeout: 1 });
      await client.end({ timeout: 1 });
      throw error;
    }
  }
  const lock = target.kind === 'pglite' ? lockDataDir(target.dataDir) : undefined;
  try {
    const pgdata = target.kind === 'pglite' ? join(target.dataDir, 'pgdata') : undefined;
    const client = await openPglite(pgdata, migrationsFolder);
    const db = drizzlePglite(client, { schema });
    await migratePglite(db, { migrationsFolder });
    return {
      db,
      kind: target.kind,
      close: async () => {
        await client.close();
        lock?.release();
      },
    };
  } catch (error) {
    lock?.release();
    throw error;
  }
}

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

/** Resolved from this file, not the CWD: the migrator needs meta/_journal.json. */
export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../drizzle', import.meta.url));

/** Opens the database and applies pending migrations. */
export async function openDatabase(
  target: DatabaseTarget,
  migrationsFolder = MIGRATIONS_FOLDER,
): Promise<Database> {
  if (target.kind === 'postgres') {
    const client = postgres(target.url, { max: 10, onnotice: () => {} });
    const db = drizzlePostgres(client, { schema });
    try {
      // One coordinator per database: a session-level advisory lock on a connection kept for it.
      // (Advisory locks are per database, so test databases on one server do not collide.)
      const holder = await client.reserve();
      const [row] = await holder`select pg_try_advisory_lock(${WRITER_LOCK_KEY}) as locked`;
      if (row?.locked !== true) {
        holder.release();
        throw new AppError(
          'config',
          'another upsfleet coordinator is using this PostgreSQL database; stop it first',
        );
      }
      await migratePostgres(db, { migrationsFolder });
      return {
        db,
        kind: 'postgres',
        close: async () => {
          holder.release();
          await client.end({ timeout: 5 });
        },
      };
    } catch (error) {
      await client.end({ timeout: 1 });
      throw error;
    }
  }
  const lock = target.kind === 'pglite' ? lockDataDir(target.dataDir) : undefined;
  try {
    const client =
      target.kind === 'pglite' ? await PGlite.create(join(target.dataDir, 'pgdata')) : await PGlite.create();
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

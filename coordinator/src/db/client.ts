import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
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
      await migratePostgres(db, { migrationsFolder });
    } catch (error) {
      await client.end({ timeout: 1 });
      throw error;
    }
    return { db, kind: 'postgres', close: () => client.end({ timeout: 5 }) };
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

/**
 * Storage at the edge: the same drizzle queries over PostgreSQL through postgres.js's workerd build
 * (TCP by `cloudflare:sockets`; Hyperdrive's connection string in production). Each fleet keeps
 * its tables in a schema of its own; the migrations are the committed SQL files, embedded at build
 * time (workerd has no file system to read them from).
 */
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import type { Database, Db } from '../db/client.js';
import { schema } from '../db/schema.js';

/** One migration as drizzle's migrator takes it (see infra/build-edge.mjs). */
export interface EmbeddedMigration {
  readonly sql: string[];
  readonly bps: boolean;
  readonly folderMillis: number;
  readonly hash: string;
}

interface Migrator {
  readonly dialect: {
    migrate(migrations: readonly EmbeddedMigration[], session: unknown, config: object): Promise<void>;
  };
  readonly session: unknown;
}

/** The PostgreSQL schema a fleet's tables live in: `public` for the default fleet, as on Node. */
export function schemaOfFleet(fleet: string): string {
  return fleet === 'default' ? 'public' : `fleet_${fleet.replaceAll('-', '_')}`;
}

/** The committed migrations, with `"public".` (drizzle-kit's qualifier) turned into the fleet's schema. */
export function migrationsForSchema(
  migrations: readonly EmbeddedMigration[],
  pgSchema: string,
): EmbeddedMigration[] {
  if (pgSchema === 'public') return [...migrations];
  return migrations.map((migration) => ({
    ...migration,
    sql: migration.sql.map((statement) => statement.replaceAll('"public".', `"${pgSchema}".`)),
  }));
}

export async function openEdgeDatabase(options: {
  readonly url: string;
  readonly pgSchema: string;
  readonly migrations: readonly EmbeddedMigration[];
}): Promise<Database> {
  const { pgSchema } = options;
  const client = postgres(options.url, {
    max: 2,
    onnotice: () => {},
    // Unqualified table names resolve in the fleet's schema.
    connection: { search_path: pgSchema },
    // Hyperdrive pools the connections; prepared statements do not survive its pooling.
    prepare: false,
    // No timer and no idle socket may outlive the work, or the object never hibernates: idle
    // connections close after a few seconds (reconnecting costs ~16 ms), none has a lifetime timer.
    idle_timeout: 1,
    max_lifetime: null,
  });
  const db = drizzle(client, { schema });
  try {
    if (pgSchema !== 'public') await client.unsafe(`create schema if not exists "${pgSchema}"`);
    const migrator = db as unknown as Migrator;
    await migrator.dialect.migrate(migrationsForSchema(options.migrations, pgSchema), migrator.session, {
      migrationsSchema: pgSchema === 'public' ? 'drizzle' : pgSchema,
    });
  } catch (error) {
    await client.end({ timeout: 1 });
    throw error;
  }
  return {
    db: db as unknown as Db,
    kind: 'postgres',
    close: () => client.end({ timeout: 1 }),
  };
}

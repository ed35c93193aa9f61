// Builds the edge coordinator for workerd (Cloudflare Workers): dist/edge/worker.mjs, one ES module
// with the Worker entry and the fleet Durable Object. The committed migrations are embedded (workerd
// has no file system), hashed as drizzle's own migrator does, so Node and the edge agree on what ran.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { build } from 'esbuild';

const root = new URL('../', import.meta.url);
const folder = new URL('coordinator/drizzle/', root);

export async function embeddedMigrations() {
  const journal = JSON.parse(await readFile(new URL('meta/_journal.json', folder), 'utf8'));
  return Promise.all(
    journal.entries.map(async (entry) => {
      const query = await readFile(new URL(`${entry.tag}.sql`, folder), 'utf8');
      return {
        sql: query.split('--> statement-breakpoint'),
        bps: entry.breakpoints,
        folderMillis: entry.when,
        hash: createHash('sha256').update(query).digest('hex'),
      };
    }),
  );
}

export async function buildEdge({ outfile = 'dist/edge/worker.mjs', quiet = false } = {}) {
  const migrations = await embeddedMigrations();
  const result = await build({
    absWorkingDir: new URL('.', root).pathname,
    entryPoints: ['coordinator/src/edge/worker.ts'],
    outfile,
    bundle: true,
    format: 'esm',
    // workerd's settings (STACK.md): neutral platform, the workerd/worker export conditions (postgres.js
    // then takes its cloudflare:sockets build), and every built-in left to nodejs_compat.
    platform: 'neutral',
    conditions: ['workerd', 'worker'],
    mainFields: ['module', 'main'],
    external: ['cloudflare:*', 'node:*', ...builtinModules],
    target: 'es2022',
    minify: false,
    sourcemap: false,
    metafile: true,
    legalComments: 'none',
    // prom-client's files (metrics/prom.ts) are CommonJS and require('util'); esbuild's ESM output
    // turns that into a require() call, which workerd's ES modules lack: give them nodejs_compat's.
    // (createRequire needs a path; workerd has no file system, any absolute one will do.)
    banner: {
      js: "import { createRequire as __upsfleetCreateRequire } from 'node:module';\nconst require = __upsfleetCreateRequire('/');",
    },
    define: { __UPSFLEET_MIGRATIONS__: JSON.stringify(migrations) },
    logLevel: 'warning',
  });
  const bytes = Object.values(result.metafile.outputs).reduce((sum, output) => sum + output.bytes, 0);
  if (!quiet) console.log(`${outfile} ${(bytes / 1024).toFixed(1)} KiB, ${migrations.length} migrations`);
  return { outfile, bytes };
}

if (import.meta.url === `file://${process.argv[1]}`) await buildEdge();

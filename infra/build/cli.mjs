// The whole `upsfleet` program as the npm package ships it: dist/cli/upsfleet.mjs and its chunks.
// Code splitting keeps each command's code in its own chunk, loaded when the command runs: an admin
// command loads the CLI, zod and yaml, never the server or the database (start time ≤ 200 ms).
// PGlite stays a package (its WebAssembly and data files are read from beside its own modules): it
// is the package's one runtime dependency. The migrations are copied beside the chunks.
import { execFile } from 'node:child_process';
import { cp, readFile, rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import {
  englishZodOnly,
  externalImports,
  kib,
  NODE_MIN,
  nodeCheck,
  outputBytes,
  pkg,
  requireBanner,
} from './common.mjs';

const run = promisify(execFile);
const OUT = 'dist/cli';
const CLIENT = 'coordinator/src/db/client.ts';
const FROM_SOURCE = "new URL('../../drizzle', import.meta.url)";
const FROM_CHUNK = "new URL('../drizzle', import.meta.url)";

/** The coordinator finds its migrations beside its source; in the bundle they are dist/cli/drizzle. */
const migrationsBesideChunks = {
  name: 'migrations-beside-chunks',
  setup(b) {
    b.onLoad({ filter: /coordinator[/\\]src[/\\]db[/\\]client\.ts$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      if (!source.includes(FROM_SOURCE))
        throw new Error(`${CLIENT} no longer says ${FROM_SOURCE}: update infra/build/cli.mjs`);
      return { contents: source.replace(FROM_SOURCE, FROM_CHUNK), loader: 'ts' };
    });
  },
};

export async function buildCli() {
  // Made (or found) first, in the checkout's coordinator/pglite/, and copied in at the end: the
  // seconds initdb takes never leave dist/cli/ half built.
  await run('npx', ['tsx', 'infra/pglite-template.ts']);
  await rm(OUT, { recursive: true, force: true });
  const result = await build({
    entryPoints: { upsfleet: 'bin/upsfleet.ts' },
    outdir: OUT,
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    splitting: true,
    platform: 'node',
    target: NODE_MIN.target,
    format: 'esm',
    minify: true,
    keepNames: true,
    sourcemap: false,
    metafile: true,
    legalComments: 'none',
    external: ['@electric-sql/pglite', '@electric-sql/pglite/*'],
    plugins: [migrationsBesideChunks, englishZodOnly],
    banner: { js: [requireBanner, nodeCheck('upsfleet')].join('\n') },
  });
  const clientIn = Object.entries(result.metafile.outputs).find(([, output]) =>
    Object.keys(output.inputs).includes(CLIENT),
  )?.[0];
  if (clientIn === undefined || !clientIn.startsWith(`${OUT}/chunks/`))
    throw new Error(
      `${CLIENT} landed in ${clientIn}, not in ${OUT}/chunks/: the migrations would not be found`,
    );
  const runtime = Object.keys(pkg.dependencies ?? {});
  const missing = externalImports(result.metafile).filter(
    (path) => !runtime.some((name) => path === name || path.startsWith(`${name}/`)),
  );
  if (missing.length > 0)
    throw new Error(
      `the CLI bundle imports packages that are not runtime dependencies: ${missing.join(', ')}`,
    );
  await cp('coordinator/drizzle', `${OUT}/drizzle`, { recursive: true });
  // The embedded database's template beside them (dist/cli/pglite/): a first start without initdb.
  await cp('coordinator/pglite', `${OUT}/pglite`, { recursive: true });
  console.log(
    `${OUT}/ ${kib(outputBytes(result.metafile))} (Node.js >= ${NODE_MIN.major}.${NODE_MIN.minor})`,
  );
}

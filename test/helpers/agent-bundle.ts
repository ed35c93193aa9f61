/**
 * The agent as a single-file bundle (the way it is installed, see infra/build.mjs), built into a
 * test's own folder: a bundled agent starts in a fraction of the time tsx needs to compile the
 * sources, which matters to suites that start and kill agents over and over.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';
import { REPO_ROOT, type WatchedProcess, watchProcess } from './processes.js';

/** The systemd unit users install: tests and the bench run the agent with the Node.js flags it uses. */
const UNIT = join(REPO_ROOT, 'infra', 'systemd', 'upsfleet-agent.service');

/** The unit's NODE_OPTIONS, if it sets any (V8's heap sizes, say), as systemd passes them to the agent. */
export async function unitNodeOptions(unit = UNIT): Promise<Record<string, string>> {
  const line = /^Environment="NODE_OPTIONS=([^"]*)"$/m.exec(await readFile(unit, 'utf8'))?.[1];
  return line === undefined ? {} : { NODE_OPTIONS: line };
}

/** Bundles agent/src/main.ts into `<dir>/upsfleet-agent.mjs` and returns its path. */
export async function buildAgentBundle(dir: string): Promise<string> {
  const outfile = join(dir, 'upsfleet-agent.mjs');
  await build({
    entryPoints: [join(REPO_ROOT, 'agent/src/main.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20.11',
    format: 'esm',
    logLevel: 'error',
    // ws is CommonJS and require()s Node built-ins: give the ESM bundle a real require.
    banner: {
      js: "import { createRequire as __testCreateRequire } from 'node:module'; const require = __testCreateRequire(import.meta.url);",
    },
  });
  return outfile;
}

/** Spawns `node <bundle> <args>` in its own process group, its output watched line by line. */
export function spawnBundledAgent(name: string, bundle: string, args: readonly string[]): WatchedProcess {
  const child = spawn(process.execPath, [bundle, ...args], {
    cwd: REPO_ROOT,
    env: process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  return watchProcess(child, name);
}

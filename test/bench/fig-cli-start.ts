/**
 * Figure 7, the admin CLI's start: spawn → exit of `upsfleet status` against a running coordinator
 * (load, parse flags, one HTTP request, parse the answer with its schema, print), and of
 * `upsfleet --help`. The installed program (the bundle in dist/cli/, built here first) beside the
 * checkout's (tsx compiling the TypeScript). Wall time and the CPU time the process used: on a
 * loaded machine the CPU time says more about the program than the wall time.
 */
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../helpers/processes.js';
import type { BenchContext } from './context.js';
import { ADMIN_TOKEN, startCoordinator, tempDir } from './coordinator.js';
import { figureLabel } from './options.js';
import { clockTicks } from './proc.js';
import { withScope } from './scope.js';
import { summarize } from './stats.js';
import type { Row } from './table.js';

const FIGURE = figureLabel('cli');
const run = promisify(execFile);

interface Timing {
  readonly wallMs: number;
  readonly cpuMs: number;
}

/**
 * User + system CPU ms of this process's children that have exited and been waited for (cutime and
 * cstime in /proc/self/stat): the difference around one child's run is that child's CPU time.
 */
function reapedChildrenCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): cutime is field 16, cstime field 17.
  const ticks = Number(fields[13]) + Number(fields[14]);
  return (ticks * 1000) / clockTicks();
}

/** Runs `node args…` to its exit; wall time and the child's user + system CPU time. */
function timed(args: readonly string[]): Promise<Timing> {
  return new Promise((resolve, reject) => {
    const cpuBefore = reapedChildrenCpuMs();
    const start = performance.now();
    const child = spawn(process.execPath, [...args], { cwd: REPO_ROOT, stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', (code) => {
      const wallMs = performance.now() - start;
      if (code !== 0) reject(new Error(`node ${args.join(' ')} exited ${code}`));
      resolve({ wallMs, cpuMs: reapedChildrenCpuMs() - cpuBefore });
    });
  });
}

export async function runCliStart(context: BenchContext): Promise<Row[]> {
  const trials = context.options.trials ?? (context.options.quick ? 2 : 10);
  await run(process.execPath, ['infra/build.mjs', 'cli'], { cwd: REPO_ROOT });
  return withScope(async (scope) => {
    const dir = await tempDir(scope, 'cli-start');
    const dataDir = await context.embeddedDataDir(dir, 'data');
    const coordinator = await startCoordinator(scope, 'coordinator-cli', { dataDir });
    const admin = ['status', '--url', coordinator.url, '--token', ADMIN_TOKEN];
    const variants: { name: string; args: string[]; key?: string }[] = [
      {
        name: 'installed (bundle): `upsfleet status`',
        args: [join('dist', 'cli', 'upsfleet.mjs'), ...admin],
        key: 'cli-start-status',
      },
      {
        name: 'installed (bundle): `upsfleet --help`',
        args: [join('dist', 'cli', 'upsfleet.mjs'), '--help'],
      },
      { name: 'checkout (tsx): `upsfleet status`', args: ['--import', 'tsx', 'bin/upsfleet.ts', ...admin] },
      { name: 'plain `node -e 0`, for scale', args: ['-e', '0'] },
    ];
    const rows: Row[] = [];
    for (const variant of variants) {
      await timed(variant.args); // warm the file cache
      const runs: Timing[] = [];
      for (let i = 0; i < trials; i++) runs.push(await timed(variant.args));
      context.log(`cli: ${variant.name} median of ${trials}`);
      rows.push({
        figure: FIGURE,
        measurement: `${variant.name}: spawn → exit`,
        value: summarize(runs.map((r) => r.wallMs)),
        unit: 'ms',
        note: 'wall time, machine load included',
        ...(variant.key === undefined ? {} : { key: variant.key }),
      });
      rows.push({
        figure: FIGURE,
        measurement: `${variant.name}: CPU time`,
        value: summarize(runs.map((r) => r.cpuMs)),
        unit: 'ms',
        note: `user + system, ${(1000 / clockTicks()).toFixed(0)} ms resolution`,
      });
    }
    return rows;
  });
}

/**
 * The agent as a single executable (`npm run build` → dist/sea/), for machines without Node.js:
 * the linux-x64 one runs here with no Node.js on PATH, enrolls, connects to a real coordinator and
 * passes a drill; the linux-arm64 one (which cannot run here) is an aarch64 binary carrying the agent.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DrillStartedSchema, EnrollmentSchema, RunDetailSchema } from '../../shared/src/admin-api.js';
import { createAdminApi } from '../helpers/admin-api.js';
import {
  coordinatorUrl,
  REPO_ROOT,
  spawnUpsfleet,
  type WatchedProcess,
  watchProcess,
} from '../helpers/processes.js';

const run = promisify(execFile);
const ADMIN_TOKEN = 'executable-e2e-admin-token-0123456789';
/** Node's documented fuse (as in infra/build/sea.mjs): `:1` once a blob is injected. */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const executable = (platform: string) => join(REPO_ROOT, 'dist', 'sea', `upsfleet-agent-${platform}`);

/** The ELF machine field (62 x86-64, 183 AArch64) and whether Node's fuse says a blob is inside. */
async function inspect(path: string): Promise<{ machine: number; injected: boolean }> {
  const bytes = await readFile(path);
  return { machine: bytes.readUInt16LE(18), injected: bytes.includes(`${SEA_FUSE}:1`) };
}

describe('the agent as a single executable', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const processes: WatchedProcess[] = [];

  beforeAll(async () => {
    // Fetches the Node.js binaries from the npm registry the first time (cached after that).
    await run('npm', ['run', 'build', '--', 'sea'], { cwd: REPO_ROOT, maxBuffer: 1 << 24 });
    dir = await mkdtemp(join(tmpdir(), 'upsfleet-sea-'));
    // No Node.js anywhere on PATH: the executable must not need one.
    const emptyBin = join(dir, 'bin');
    await mkdir(emptyBin);
    env = { PATH: emptyBin, HOME: dir };
  }, 600_000);

  afterAll(async () => {
    for (const proc of processes.reverse()) await proc.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('is built for linux-x64 and linux-arm64, each with the agent inside', async () => {
    expect(await inspect(executable('linux-x64'))).toEqual({ machine: 62, injected: true });
    expect(await inspect(executable('linux-arm64'))).toEqual({ machine: 183, injected: true });
  });

  it('runs without Node.js: --help, enroll, connect, and a drill', async () => {
    const exe = executable('linux-x64');
    const { stdout } = await run(exe, ['--help'], { cwd: dir, env });
    expect(stdout).toMatch(/^Usage: upsfleet-agent <command>/);

    const coordinator = spawnUpsfleet(
      'coordinator',
      ['coordinator', '--listen', '127.0.0.1:0', '--data-dir', join(dir, 'data')],
      { UPSFLEET_ADMIN_TOKEN: ADMIN_TOKEN },
    );
    processes.push(coordinator);
    const base = await coordinatorUrl(coordinator);
    const api = createAdminApi({ base, token: ADMIN_TOKEN });
    await api.call('PUT', '/api/v1/policy', {
      ups: [{ name: 'nas-ups', watcher: 'nas' }],
      hosts: [{ name: 'pi', ups: ['nas-ups'] }],
      stages: [{ name: 'all', hosts: ['pi'], trigger: { onBattery: '1m' } }],
    });
    const { token } = EnrollmentSchema.parse(await api.call('POST', '/api/v1/enrollments', { name: 'pi' }));
    const stateDir = join(dir, 'state');
    await run(exe, ['enroll', '--coordinator', base, '--name', 'pi', '--state-dir', stateDir], {
      cwd: dir,
      env: { ...env, UPSFLEET_ENROLL_TOKEN: token },
    });

    const config = join(dir, 'agent.yaml');
    // A drill only checks that the command exists; nothing is run.
    const shutdown = [process.execPath, '-e', "require('node:fs').appendFileSync('shutdown.log', 'x')"];
    await writeFile(
      config,
      [
        `coordinator: ${base}`,
        `stateDir: ${stateDir}`,
        'host:',
        `  shutdown: ${JSON.stringify(shutdown)}`,
      ].join('\n'),
      { mode: 0o600 },
    );
    const agent = watchProcess(
      spawn(exe, ['agent', '--config', config], {
        cwd: dir,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      }),
      'executable agent',
    );
    processes.push(agent);
    await agent.waitForLine(/connected to .* as pi/, 'connected');

    const drill = DrillStartedSchema.parse(await api.call('POST', '/api/v1/drills', {}));
    await coordinator.waitForLine(/run \d+ ended: drill-complete/, 'the end of the drill');
    const drilled = RunDetailSchema.parse(await api.call('GET', `/api/v1/runs/${drill.number}`));
    expect(drilled.orders).toEqual([expect.objectContaining({ host: 'pi', outcome: 'drill', error: null })]);
  });
});

/**
 * A coordinator as users run it (`upsfleet coordinator`, a separate process), its admin API, and
 * real agents enrolled through that API — the same way the end-to-end tests start them.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AdminApi, createAdminApi } from '../helpers/admin-api.js';
import { coordinatorUrl, spawnUpsfleet, type WatchedProcess } from '../helpers/processes.js';
import type { Scope } from './scope.js';
import { within } from './within.js';

export const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';
/** A process that has not started within this long is not going to. */
export const START_WAIT_MS = 120_000;

/** A temp dir removed when `scope` closes. */
export async function tempDir(scope: Scope, prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `upsfleet-bench-${prefix}-`));
  scope.defer(`temp dir ${dir}`, () => rm(dir, { recursive: true, force: true }));
  return dir;
}

export type CoordinatorDatabase = { readonly dataDir: string } | { readonly url: string };

export interface BenchCoordinator {
  readonly proc: WatchedProcess;
  readonly url: string;
  readonly pid: number;
  readonly api: AdminApi['call'];
}

/** Spawns the coordinator on a free port; resolves once it logs that it is listening. */
export async function startCoordinator(
  scope: Scope,
  name: string,
  database: CoordinatorDatabase,
  env: Record<string, string> = {},
): Promise<BenchCoordinator> {
  const where = 'url' in database ? ['--database-url', database.url] : ['--data-dir', database.dataDir];
  const proc = spawnUpsfleet(name, ['coordinator', '--listen', '127.0.0.1:0', ...where], {
    UPSFLEET_ADMIN_TOKEN: ADMIN_TOKEN,
    ...env,
  });
  // A coordinator that does not exit within 15 s of SIGTERM is killed: the bench must end (say so).
  scope.defer(name, async () => {
    const stopped = proc.stop();
    const timer = setTimeout(() => {
      process.stderr.write(`bench: ${name} still running 15 s after SIGTERM: SIGKILL\n`);
      void proc.stop('SIGKILL');
    }, 15_000);
    await stopped.finally(() => clearTimeout(timer));
  });
  const url = await within(coordinatorUrl(proc), START_WAIT_MS, `${name} listening`);
  const pid = proc.child.pid;
  if (pid === undefined) throw new Error(`${name} has no pid`);
  return {
    proc,
    url,
    pid,
    api: createAdminApi({ base: url, token: ADMIN_TOKEN }).call,
  };
}

/**
 * Enrolls `name` through the admin API and `upsfleet enroll`, writes its config (`lines` after the
 * coordinator and state dir) and starts `upsfleet agent`; resolves once it is connected.
 */
export async function startEnrolledAgent(
  scope: Scope,
  coordinator: BenchCoordinator,
  dir: string,
  name: string,
  lines: readonly string[],
): Promise<WatchedProcess> {
  const { token } = await coordinator.api<{ token: string }>('POST', '/api/v1/enrollments', { name });
  const stateDir = join(dir, `${name}-state`);
  const enroll = spawnUpsfleet(`enroll-${name}`, [
    'enroll',
    '--coordinator',
    coordinator.url,
    '--token',
    token,
    '--name',
    name,
    '--state-dir',
    stateDir,
  ]);
  const code = await enroll.exited;
  if (code !== 0) throw new Error(`enrolling ${name} failed (${code}):\n${enroll.lines.join('\n')}`);
  const config = join(dir, `${name}.yaml`);
  await writeFile(config, [`coordinator: ${coordinator.url}`, `stateDir: ${stateDir}`, ...lines].join('\n'));
  const agent = spawnUpsfleet(name, ['agent', '--config', config]);
  scope.defer(name, () => agent.stop());
  await within(
    agent.waitForLine(new RegExp(`connected to .* as ${name}`), `${name} connected`),
    START_WAIT_MS,
    `${name} connecting`,
  );
  return agent;
}

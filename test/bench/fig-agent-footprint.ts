/**
 * Figure 4, the agent's footprint: the bundle users install (`npm run build` →
 * dist/upsfleet-agent.mjs) run by plain Node.js from a folder of its own, as a watcher polling a
 * real upsd every second: its size, spawn → connected, and its idle RSS and CPU. Beside it, a real
 * upsmon secondary polling the same upsd (NUT's defaults), measured over the same window.
 */
import { spawn } from 'node:child_process';
import { copyFile, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { unitNodeOptions } from '../helpers/agent-bundle.js';
import { REPO_ROOT, spawnNpm, type WatchedProcess, watchProcess } from '../helpers/processes.js';
import { startUpsd, upsdMissingReason } from '../helpers/upsd.js';
import type { BenchContext } from './context.js';
import { START_WAIT_MS, startCoordinator, tempDir } from './coordinator.js';
import { UPS } from './fleet-policy.js';
import { figureLabel } from './options.js';
import { cpuPercentOver, rssMiB, ussMiB, wallNow } from './proc.js';
import { type Scope, withScope } from './scope.js';
import { summarize } from './stats.js';
import { type Row, ratioOf } from './table.js';
import { NUT_DEFAULT_TIMERS, startUpsmon, upsmonMissingReason } from './upsmon.js';
import { within } from './within.js';

const FIGURE = figureLabel('footprint');
const NAME = 'nas-bundle';

/** The bundle under plain Node.js, with PATH as the only inherited variable (as systemd runs it). */
function spawnBundle(
  scope: Scope,
  bundle: string,
  cwd: string,
  args: string[],
  env: Record<string, string> = {},
): WatchedProcess {
  const child = spawn(process.execPath, [bundle, ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const watched = watchProcess(child, `bundle ${args[0]}`);
  scope.defer(`bundle ${args[0]}`, () => watched.stop());
  return watched;
}

async function footprint(context: BenchContext, scope: Scope): Promise<Row[]> {
  const { quick } = context.options;
  const build = spawnNpm('build', ['run', 'build', '--', 'agent']);
  scope.defer('build', () => build.stop());
  if ((await build.exited) !== 0) throw new Error(`npm run build failed:\n${build.lines.join('\n')}`);
  const dir = await tempDir(scope, 'footprint');
  const bundle = join(dir, 'upsfleet-agent.mjs');
  await copyFile(join(REPO_ROOT, 'dist', 'upsfleet-agent.mjs'), bundle);
  const bytes = (await stat(bundle)).size;
  const gzipped = gzipSync(await readFile(bundle), { level: 9 }).length;

  const upsd = await startUpsd();
  scope.defer('upsd', () => upsd.stop());
  const coordinator = await startCoordinator(scope, 'coordinator-footprint', {
    dataDir: await context.embeddedDataDir(dir, 'data'),
  });
  await coordinator.api('PUT', '/api/v1/policy', {
    ups: [{ name: UPS, watcher: NAME }],
    hosts: [],
    stages: [],
  });
  const { token } = await coordinator.api<{ token: string }>('POST', '/api/v1/enrollments', { name: NAME });
  const stateDir = join(dir, 'state');
  const enroll = spawnBundle(scope, bundle, dir, [
    'enroll',
    '--coordinator',
    coordinator.url,
    '--token',
    token,
    '--name',
    NAME,
    '--state-dir',
    stateDir,
  ]);
  if ((await enroll.exited) !== 0) throw new Error(`bundle enroll failed:\n${enroll.lines.join('\n')}`);
  const config = join(dir, 'agent.yaml');
  await writeFile(
    config,
    [
      `coordinator: ${coordinator.url}`,
      `stateDir: ${stateDir}`,
      'ups:',
      `  - id: ${UPS}`,
      `    upsd: 127.0.0.1:${upsd.port}`,
      `    name: ${upsd.ups}`,
      '    username: monsec',
      '    password: secpass',
      '    pollInterval: 1s',
    ].join('\n'),
  );

  const unitEnv = await unitNodeOptions();
  const trials = context.options.trials ?? (quick ? 2 : 5);
  const starts: number[] = [];
  let agent: WatchedProcess | undefined;
  for (let i = 0; i < trials; i++) {
    await agent?.stop();
    const spawnedAt = wallNow();
    agent = spawnBundle(scope, bundle, dir, ['agent', '--config', config], unitEnv);
    const line = await within(
      agent.waitForLine(new RegExp(`connected to .* as ${NAME}`), 'the bundle connected'),
      START_WAIT_MS,
      'the bundle connecting',
    );
    starts.push(Date.parse(line.slice(0, line.indexOf(' '))) - spawnedAt);
  }
  const pid = agent?.child.pid;
  if (pid === undefined) throw new Error('the bundle agent has no pid');
  await within(
    agent?.waitForLine(/logged in to upsd as monsec/, 'the bundle logged in') ?? Promise.resolve(''),
    START_WAIT_MS,
    'the bundle logging in to upsd',
  );

  const peerMissing = upsmonMissingReason();
  const upsmon =
    peerMissing === undefined
      ? await startUpsmon(join(dir, 'upsmon'), { port: upsd.port, ups: upsd.ups }, NUT_DEFAULT_TIMERS)
      : undefined;
  if (upsmon !== undefined) scope.defer('upsmon', () => upsmon.stop());
  // Let start-up work settle before calling anything idle.
  await new Promise((resolve) => setTimeout(resolve, quick ? 1_000 : 5_000));
  const window = quick ? 3_000 : 20_000;
  const upsmonCpuBefore = upsmon?.cpuSeconds();
  const windowStart = wallNow();
  const agentCpu = await cpuPercentOver(pid, window);
  const upsmonCpu =
    upsmon === undefined || upsmonCpuBefore === undefined
      ? undefined
      : ((upsmon.cpuSeconds() - upsmonCpuBefore) / ((wallNow() - windowStart) / 1000)) * 100;
  const agentRss = rssMiB(pid);
  const upsmonRss = upsmon?.rss();
  const rssRatio = ratioOf(agentRss, upsmonRss);
  const agentUss = ussMiB(pid);
  const upsmonUss = upsmon?.uss();
  const ussRatio = ratioOf(agentUss, upsmonUss);
  const peer = (value: number | undefined) => value ?? `n/a: ${peerMissing}`;
  const upsmonNote = 'upsmon secondary (root parent + monitoring child), POLLFREQ 5';
  return [
    {
      figure: FIGURE,
      measurement: 'agent bundle size (dist/upsfleet-agent.mjs)',
      value: bytes / 1024,
      unit: 'KiB',
      note: `${(gzipped / 1024).toFixed(0)} KiB gzip -9; runs on plain Node.js, no node_modules`,
    },
    {
      figure: FIGURE,
      measurement: 'bundle agent: spawn → connected to the coordinator',
      value: summarize(starts),
      unit: 'ms',
      note: 'node dist/upsfleet-agent.mjs agent: load, key, signed token, WebSocket upgrade, welcome',
    },
    {
      figure: FIGURE,
      measurement: 'bundle agent RSS, idle, watcher polling upsd every 1 s',
      value: agentRss,
      unit: 'MiB',
      peer: peer(upsmonRss),
      ...(rssRatio === undefined ? {} : { ratio: rssRatio }),
      note: `NODE_OPTIONS=${unitEnv.NODE_OPTIONS ?? '(none)'}, as the systemd unit sets it; ${upsmonNote}`,
      key: 'agent-idle-rss',
    },
    {
      figure: FIGURE,
      measurement: 'bundle agent private memory (USS), idle, watcher polling upsd every 1 s',
      value: agentUss,
      unit: 'MiB',
      peer: peer(upsmonUss),
      ...(ussRatio === undefined ? {} : { ratio: ussRatio }),
      note: 'RSS less the shared pages of files (node, libc): what one more agent costs the machine',
    },
    {
      figure: FIGURE,
      measurement: 'bundle agent CPU, idle, watcher polling upsd every 1 s',
      value: agentCpu,
      unit: '% of a core',
      peer: peer(upsmonCpu),
      note: `over ${window / 1000} s; ${upsmonNote}`,
    },
  ];
}

export async function runAgentFootprint(context: BenchContext): Promise<Row[]> {
  const missing = upsdMissingReason();
  if (missing !== undefined) throw new Error(`needs a real upsd: ${missing}`);
  return withScope((scope) => footprint(context, scope));
}

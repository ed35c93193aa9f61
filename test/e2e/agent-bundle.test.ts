/**
 * The agent as it is installed: `npm run build` makes dist/upsfleet-agent.mjs, which is copied into
 * a folder with no node_modules and run by plain Node.js with a minimal environment (as systemd
 * would), for enrollment and as the agent. Against a real coordinator: a drill checks the before
 * hooks and runs nothing; a signed on-battery event then fires the host's stage, and the hooks run in
 * order (one fails) before the harmless shutdown, each step in the run's timeline.
 */
import { execFile, spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAgentConfig } from '../../agent/src/config.js';
import { generateSigningKey } from '../../shared/src/signing.js';
import { signUpsEvent } from '../../shared/src/tokens.js';
import { createAdminApi } from '../helpers/admin-api.js';
import { unitNodeOptions } from '../helpers/agent-bundle.js';
import {
  coordinatorUrl,
  REPO_ROOT,
  spawnUpsfleet,
  type WatchedProcess,
  watchProcess,
} from '../helpers/processes.js';

const run = promisify(execFile);
const ADMIN_TOKEN = 'bundle-e2e-admin-token-0123456789';

interface RunView {
  id: string;
  endReason: string | null;
  timeline: { kind: string; host: string | null; detail: string | null }[];
  orders: { host: string; outcome: string | null; output: string | null; error: string | null }[];
}

/** Appends `line` to the record, then runs `then`: a harmless hook or "shutdown". */
const recorder = (record: string, line: string, then = ''): string[] => [
  process.execPath,
  '-e',
  `require('node:fs').appendFileSync(process.argv[1], '${line}\\n'); ${then}`,
  record,
];

describe('the agent bundle', () => {
  let dir: string;
  let lib: string;
  let bundle: string;
  let base: string;
  let coordinator: WatchedProcess | undefined;
  const agents: WatchedProcess[] = [];

  /** The bundle run by plain Node.js from its own folder, with PATH as the only inherited variable. */
  function spawnBundle(name: string, args: string[], env: Record<string, string> = {}): WatchedProcess {
    const child = spawn(process.execPath, [bundle, ...args], {
      cwd: lib,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const watched = watchProcess(child, name);
    agents.push(watched);
    return watched;
  }

  const { call: api } = createAdminApi({ base: () => base, token: ADMIN_TOKEN });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'upsfleet-bundle-'));
    await run('npm', ['run', 'build', '--', 'agent'], { cwd: REPO_ROOT });
    lib = join(dir, 'usr-local-lib-upsfleet');
    await mkdir(lib);
    bundle = join(lib, 'upsfleet-agent.mjs');
    await copyFile(join(REPO_ROOT, 'dist', 'upsfleet-agent.mjs'), bundle);
    coordinator = spawnUpsfleet(
      'coordinator',
      ['coordinator', '--listen', '127.0.0.1:0', '--data-dir', join(dir, 'data')],
      { UPSFLEET_ADMIN_TOKEN: ADMIN_TOKEN, UPSFLEET_HEARTBEAT: '5s' },
    );
    base = await coordinatorUrl(coordinator);
  });

  afterAll(async () => {
    for (const agent of agents) await agent.stop();
    await coordinator?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('runs on plain Node.js from a folder without node_modules', async () => {
    const { stdout } = await run(process.execPath, [bundle, '--help'], {
      cwd: lib,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    });
    expect(stdout).toMatch(/^Usage: upsfleet-agent <command>/);
    expect(stdout).toContain('enroll --coordinator URL');
  });

  it('enrolls, passes a drill, then runs the before hooks in order and the shutdown once', async () => {
    if (coordinator === undefined) throw new Error('coordinator not started');
    await api('PUT', '/api/v1/policy', {
      ups: [{ name: 'nas-ups', watcher: 'nas' }],
      hosts: [{ name: 'web1', ups: ['nas-ups'] }],
      stages: [{ name: 'apps', hosts: ['web1'], trigger: { onBattery: '1s' } }],
    });

    // Enrollment with the token in the environment, as the README says.
    const { token } = await api<{ token: string }>('POST', '/api/v1/enrollments', { name: 'web1' });
    const stateDir = join(dir, 'var-lib-upsfleet-agent');
    const enroll = spawnBundle(
      'enroll',
      ['enroll', '--coordinator', base, '--name', 'web1', '--state-dir', stateDir],
      {
        UPSFLEET_ENROLL_TOKEN: token,
      },
    );
    expect(await enroll.exited).toBe(0);
    expect(enroll.lines.join('\n')).toMatch(/enrolled as web1/);

    // The watcher enrolls over the API with its own key; the test signs its events.
    const watcher = await api<{ token: string }>('POST', '/api/v1/enrollments', { name: 'nas' });
    const { keyPair: watcherKey } = await generateSigningKey();
    const enrolled = await fetch(`${base}/agent/v1/enroll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: watcher.token, name: 'nas', publicKey: watcherKey.publicJwk }),
    });
    expect(enrolled.status).toBe(201);
    const { agentId: watcherId } = (await enrolled.json()) as { agentId: string };

    const record = join(dir, 'record.log');
    const config = join(dir, 'agent.yaml');
    const yaml = [
      `coordinator: ${base}`,
      `stateDir: ${stateDir}`,
      'host:',
      '  before:',
      '    - name: stop-app',
      `      run: ${JSON.stringify(recorder(record, 'stop-app'))}`,
      '    - name: flaky',
      `      run: ${JSON.stringify(recorder(record, 'flaky', "console.error('still busy'); process.exit(3)"))}`,
      '      timeout: 30s',
      `  shutdown: ${JSON.stringify(recorder(record, 'shutdown'))}`,
    ].join('\n');
    await writeFile(config, yaml, { mode: 0o600 });
    // With the systemd unit's NODE_OPTIONS, as it runs there.
    const agent = spawnBundle('agent', ['agent', '--config', config], await unitNodeOptions());
    await agent.waitForLine(/connected to .* as web1/, 'connected');
    await coordinator.waitForLine(/hello agent=web1/, 'the agent hello');

    // A drill: every hook and the shutdown are checked and reported; nothing runs.
    const drill = await api<{ runId: string }>('POST', '/api/v1/drills', {});
    await coordinator.waitForLine(/run \d+ ended: drill-complete/, 'the end of the drill');
    const drilled = await api<RunView>('GET', `/api/v1/runs/${drill.runId}`);
    expect(drilled.orders).toEqual([
      expect.objectContaining({ host: 'web1', outcome: 'drill', error: null }),
    ]);
    expect(drilled.orders[0]?.output?.split('\n')).toEqual([
      'does not read its UPS itself (no host.upsd:): on its own it has only its briefing and fallback',
      expect.stringMatching(/^before stop-app: would run: .* exists and is executable$/),
      expect.stringMatching(/^before flaky: would run: .* exists and is executable$/),
      expect.stringMatching(/^would run: .* exists and is executable$/),
    ]);
    expect(await readFile(record, 'utf8').catch(() => '')).toBe('');

    // Power lost: a signed on-battery event from the watcher fires the stage after 1 s.
    const now = Date.now();
    const event = await signUpsEvent(
      watcherKey,
      watcherId,
      { seq: 1, ups: 'nas-ups', observedAt: now, status: ['OB', 'DISCHRG'], events: ['ONBATT'] },
      now,
    );
    const pushed = await fetch(`${base}/agent/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ events: [event] }),
    });
    expect(pushed.status).toBe(200);
    await agent.waitForLine(/shutdown command exited 0/, 'the shutdown');
    await coordinator.waitForLine(/web1: shutdown: started/, 'the shutdown step');
    await coordinator.waitForLine(/result succeeded agent=/, 'the final result');

    expect((await readFile(record, 'utf8')).trim().split('\n')).toEqual(['stop-app', 'flaky', 'shutdown']);
    expect(agent.lines.join('\n')).toContain(
      '1 of 2 before hooks did not succeed (flaky exited 3); shutting down anyway',
    );
    const runs = await api<{ items: { id: string; kind: string }[] }>('GET', '/api/v1/runs');
    const outage = runs.items.find((item) => item.id !== drill.runId);
    if (outage === undefined) throw new Error('no outage run');
    const { timeline } = await api<RunView>('GET', `/api/v1/runs/${outage.id}`);
    expect(timeline.filter((entry) => entry.kind === 'progress').map((entry) => entry.detail)).toEqual([
      'stop-app: started',
      'stop-app: succeeded',
      'flaky: started',
      'flaky: failed (exit 3)',
      'shutdown: started',
    ]);

    expect(await agent.stop()).toBe(0);
    expect(agent.lines.join('\n')).toContain('agent stopped');
  }, 120_000);

  it('has the server config of the README, and it is valid', async () => {
    const example = await readFile(join(REPO_ROOT, 'infra', 'examples', 'agent-server.yaml'), 'utf8');
    const readme = await readFile(join(REPO_ROOT, 'README.md'), 'utf8');
    // Shown inside a numbered step, so indented by three spaces.
    const shown = example.replace(/^(?=.)/gm, '   ');
    expect(readme.includes(shown), 'README.md shows infra/examples/agent-server.yaml verbatim').toBe(true);
    const config = parseAgentConfig(example, '/etc/upsfleet/agent.yaml');
    expect(config.host?.before.map((hook) => hook.name)).toEqual(['stop-containers', 'stop-vms']);
    expect(config.stateDir).toBe('/var/lib/upsfleet-agent');
  });
});

/**
 * A staged shutdown on real parts: upsd + dummy-ups, the coordinator, a watcher agent and three
 * host agents, all separate processes. Three stages (apps after 2 s on battery, app after 4 s once
 * apps is down, db after 60 s once app is down). The coordinator is SIGKILLed after the first stage
 * and restarted on the same data directory; power returns before the last stage.
 *
 * Each host's harmless "shutdown" appends its name to a shared record and then SIGKILLs its own
 * agent, the way a real poweroff takes the agent down: the coordinator sees "started" and then the
 * connection close, and counts the host as confirmed down.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createAdminApi } from '../helpers/admin-api.js';
import { coordinatorUrl, spawnUpsfleet, type WatchedProcess } from '../helpers/processes.js';
import { describeUpsd, startUpsd, type UpsdHarness } from '../helpers/upsd.js';
import { freePort } from '../nut/daemon.js';

const ADMIN_TOKEN = 'staged-e2e-admin-token-0123456789';
const HOSTS = ['web1', 'app1', 'db1'] as const;

interface RunView {
  id: string;
  state: string;
  endReason: string | null;
  timeline: { kind: string; stage: string | null; host: string | null; detail: string | null }[];
  orders: { host: string; stage: string; ackStatus: string | null; outcome: string | null }[];
}

describeUpsd('staged shutdown end to end', () => {
  let dir: string;
  let upsd: UpsdHarness;
  let base: string;
  let port: number;
  let coordinator: WatchedProcess;
  const agents: WatchedProcess[] = [];
  const record = () => join(dir, 'shutdowns.log');

  const { call: api } = createAdminApi({ base: () => base, token: ADMIN_TOKEN });

  function startCoordinator(name: string): WatchedProcess {
    return spawnUpsfleet(
      name,
      ['coordinator', '--listen', `127.0.0.1:${port}`, '--data-dir', join(dir, 'data')],
      {
        UPSFLEET_ADMIN_TOKEN: ADMIN_TOKEN,
        UPSFLEET_HEARTBEAT: '2s',
      },
    );
  }

  async function enrollAndStart(name: string, config: string[]): Promise<WatchedProcess> {
    const { token } = await api<{ token: string }>('POST', '/api/v1/enrollments', { name });
    const stateDir = join(dir, `${name}-state`);
    const enroll = spawnUpsfleet(`enroll-${name}`, [
      'enroll',
      '--coordinator',
      base,
      '--token',
      token,
      '--name',
      name,
      '--state-dir',
      stateDir,
    ]);
    expect(await enroll.exited).toBe(0);
    const file = join(dir, `${name}.yaml`);
    await writeFile(file, [`coordinator: ${base}`, `stateDir: ${stateDir}`, ...config].join('\n'));
    const agent = spawnUpsfleet(name, ['agent', '--config', file]);
    agents.push(agent);
    await agent.waitForLine(new RegExp(`connected to .* as ${name}`), 'connected');
    return agent;
  }

  async function recorded(): Promise<string[]> {
    const text = await readFile(record(), 'utf8').catch(() => '');
    return text.trim() === ''
      ? []
      : text
          .trim()
          .split('\n')
          .map((line) => line.split(' ')[0] ?? '');
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'upsfleet-staged-'));
    upsd = await startUpsd();
    port = await freePort();
    coordinator = startCoordinator('coordinator');
    base = await coordinatorUrl(coordinator);
    await api('PUT', '/api/v1/policy', {
      ups: [{ name: 'nas-ups', watcher: 'nas' }],
      hosts: HOSTS.map((name) => ({ name, ups: ['nas-ups'] })),
      stages: [
        { name: 'apps', hosts: ['web1'], trigger: { onBattery: '2s' }, grace: '30s' },
        { name: 'app', hosts: ['app1'], trigger: { onBattery: '4s' }, after: ['apps'], grace: '30s' },
        { name: 'db', hosts: ['db1'], trigger: { onBattery: '60s' }, after: ['app'], grace: '30s' },
      ],
      restore: { stableFor: '1s' },
    });
    await enrollAndStart('nas', [
      'ups:',
      '  - id: nas-ups',
      `    upsd: ${upsd.host}:${upsd.port}`,
      `    name: ${upsd.ups}`,
      '    pollInterval: 250ms',
    ]);
    const script =
      "require('node:fs').appendFileSync(process.argv[1], process.argv[2] + ' ' + Date.now() + '\\n'); process.kill(process.ppid, 'SIGKILL')";
    for (const host of HOSTS) {
      await enrollAndStart(host, [
        'host:',
        `  shutdown: ${JSON.stringify([process.execPath, '-e', script, record(), host])}`,
      ]);
    }
    await coordinator.waitForLine(/UPS event ups=nas-ups status=OL/, 'the first reading');
  });

  afterAll(async () => {
    for (const agent of agents) await agent.stop();
    await coordinator?.stop();
    await upsd?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('runs the stages in order with their delays, survives a coordinator SIGKILL, and cancels the last stage when power returns', async () => {
    const [web1, app1, db1] = agents.slice(1);
    if (web1 === undefined || app1 === undefined || db1 === undefined) throw new Error('agents missing');

    const onBatteryAt = Date.now();
    await upsd.setStatus('OB DISCHRG', { 'battery.charge': '90', 'battery.runtime': '1800' });

    // Stage 1: web1 shuts down after 2 s on battery (its agent dies with it), and the coordinator
    // records it confirmed down. (Had the coordinator died before seeing that, web1 would count as
    // down only when its grace expired: the safe reading.)
    expect(await web1.exited).toBe('SIGKILL');
    expect(await recorded()).toEqual(['web1']);
    await coordinator.waitForLine(/web1 down \(confirmed\)/, 'web1 confirmed down');

    // The coordinator dies mid-run, before stage 2, and comes back on the same data directory.
    expect(await coordinator.stop('SIGKILL')).toBe('SIGKILL');
    coordinator = startCoordinator('coordinator-restarted');
    await coordinatorUrl(coordinator);
    await coordinator.waitForLine(/resuming the active run from the database/, 'the resumed run');

    // Stage 2 after app1's delay and once web1 is confirmed down: exactly once, after the restart.
    expect(await app1.exited).toBe('SIGKILL');
    expect(await recorded()).toEqual(['web1', 'app1']);

    // Power returns before stage 3's 60 s: db is cancelled, db1 never shuts down.
    const from = coordinator.mark();
    await upsd.setStatus('OL', { 'battery.charge': '85' });
    await coordinator.waitForLine(/stage db cancelled/, 'stage db cancelled', from);
    await coordinator.waitForLine(/run 1 ended: restored/, 'the run ended', from);
    expect(await recorded()).toEqual(['web1', 'app1']);
    expect(db1.child.exitCode).toBeNull();

    // The stored run says the same, with nothing executed twice and nothing missing.
    const { items } = await api<{ items: { id: string }[] }>('GET', '/api/v1/runs');
    expect(items).toHaveLength(1);
    const run = await api<RunView>('GET', `/api/v1/runs/${items[0]?.id}`);
    expect(run).toMatchObject({ state: 'ended', endReason: 'restored' });
    expect(run.orders.map((o) => [o.host, o.stage])).toEqual([
      ['web1', 'apps'],
      ['app1', 'app'],
    ]);
    const kinds = run.timeline.map((e) => [e.kind, e.stage ?? e.host]);
    expect(kinds).toEqual(
      expect.arrayContaining([
        ['stage-fired', 'apps'],
        ['host-down', 'web1'],
        ['stage-complete', 'apps'],
        ['stage-fired', 'app'],
        ['host-down', 'app1'],
        ['stage-cancelled', 'db'],
        ['run-restoring', null],
        ['run-ended', null],
      ]),
    );
    expect(kinds.filter(([kind]) => kind === 'order')).toHaveLength(2);

    // The configured delays: nothing ran earlier than its stage allows.
    const times = (await readFile(record(), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => Number(line.split(' ')[1]));
    expect((times[0] ?? 0) - onBatteryAt).toBeGreaterThanOrEqual(2_000);
    expect((times[1] ?? 0) - onBatteryAt).toBeGreaterThanOrEqual(4_000);
  }, 90_000);
});

/**
 * The edge coordinator (the Worker and its fleet Durable Object in local workerd, `npm run
 * edge:dev`) with real parts: upsd + dummy-ups, the agent bundle from infra/build.mjs as watcher and
 * hosts, the admin CLI. Two stages, each fired by the Durable Object's alarm (which also renews the
 * fleet's lease every 5 s: the hosts never count as on their own while it is healthy), and workerd
 * is SIGKILLed and started again on its persisted state while the second one waits. Every host's harmless "shutdown" records itself and
 * kills its agent, as a real poweroff would. A second fleet of the same deployment sees none of it.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadEnrollment } from '../../agent/src/state-dir.js';
import { signAgentAuth } from '../../shared/src/tokens.js';
import { describeEdge, type EdgeCoordinator, startEdgeCoordinator } from '../helpers/edge.js';
import { REPO_ROOT, spawnUpsfleet, type WatchedProcess, watchProcess } from '../helpers/processes.js';
import { recordedHosts, recordingShutdown } from '../helpers/shutdown-record.js';
import { startUpsd, type UpsdHarness } from '../helpers/upsd.js';

const run = promisify(execFile);
const ADMIN_TOKEN = 'edge-e2e-admin-token-0123456789abcdef';
const SITE_B_TOKEN = 'edge-e2e-site-b-token-0123456789abcdef';

describeEdge('the edge coordinator in local workerd', () => {
  let dir: string;
  let upsd: UpsdHarness;
  let edge: EdgeCoordinator;
  let bundle: string;
  const agents = new Map<string, WatchedProcess>();
  const record = () => join(dir, 'shutdowns.log');

  async function api<T>(method: string, path: string, body?: unknown, token = ADMIN_TOKEN): Promise<T> {
    const response = await fetch(`${edge.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  }

  /** The admin CLI against the edge URL, as an operator runs it. */
  async function cli(...args: string[]): Promise<{ code: number | NodeJS.Signals; output: string }> {
    const proc = spawnUpsfleet(`cli ${args[0]}`, [...args, '--url', edge.url, '--token', ADMIN_TOKEN]);
    const code = await proc.exited;
    return { code, output: proc.lines.join('\n') };
  }

  function spawnBundle(name: string, args: string[], env: Record<string, string> = {}): WatchedProcess {
    const child = spawn(process.execPath, [bundle, ...args], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    return watchProcess(child, name);
  }

  /** Enrolls `name` with the bundle (token in the environment, as the README says) and starts it. */
  async function enrollAndStart(
    name: string,
    config: string[],
    args: string[] = [],
  ): Promise<WatchedProcess> {
    const { token } = await api<{ token: string }>('POST', '/api/v1/enrollments', { name });
    const stateDir = join(dir, `${name}-state`);
    const enroll = spawnBundle(
      `enroll-${name}`,
      ['enroll', '--coordinator', edge.url, '--name', name, '--state-dir', stateDir],
      { UPSFLEET_ENROLL_TOKEN: token },
    );
    expect(await enroll.exited).toBe(0);
    const file = join(dir, `${name}.yaml`);
    await writeFile(file, [`coordinator: ${edge.url}`, `stateDir: ${stateDir}`, ...config].join('\n'), {
      mode: 0o600,
    });
    const agent = spawnBundle(name, ['agent', '--config', file, ...args]);
    agents.set(name, agent);
    await agent.waitForLine(
      new RegExp(`connected to ws://127\\.0\\.0\\.1:\\d+/agent/v1/ws as ${name}`),
      'connected',
    );
    return agent;
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'upsfleet-edge-'));
    await run(process.execPath, ['infra/build.mjs', 'agent'], { cwd: REPO_ROOT });
    bundle = join(REPO_ROOT, 'dist', 'upsfleet-agent.mjs');
    upsd = await startUpsd();
    edge = await startEdgeCoordinator({
      dir,
      bindings: {
        UPSFLEET_ADMIN_TOKEN: ADMIN_TOKEN,
        UPSFLEET_FLEETS: 'site-b',
        UPSFLEET_ADMIN_TOKEN_SITE_B: SITE_B_TOKEN,
        UPSFLEET_HEARTBEAT: '30s',
        UPSFLEET_RESUME_SETTLE: '2s',
        UPSFLEET_LOG_LEVEL: 'debug',
      },
    });
  });

  afterAll(async () => {
    for (const agent of agents.values()) await agent.stop();
    await edge?.stop();
    await upsd?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('applies a policy with the CLI, enrolls the agent bundle, and passes a drill', async () => {
    const policy = join(dir, 'policy.yaml');
    await writeFile(
      policy,
      [
        'ups:',
        '  - { name: nas-ups, watcher: nas }',
        'hosts:',
        '  - { name: web1, ups: [nas-ups] }',
        '  - { name: db1, ups: [nas-ups] }',
        'stages:',
        // Longer than the hosts trust a lease (15 s): they stay with the coordinator only if the
        // object keeps renewing it on its alarm.
        '  - { name: apps, hosts: [web1], trigger: { onBattery: 40s }, grace: 30s }',
        '  - { name: storage, hosts: [db1], trigger: { onBattery: 85s }, after: [apps], grace: 30s }',
      ].join('\n'),
    );
    const applied = await cli('policy', 'apply', policy);
    expect(applied.code, applied.output).toBe(0);

    await enrollAndStart('nas', [
      'ups:',
      '  - id: nas-ups',
      `    upsd: ${upsd.host}:${upsd.port}`,
      `    name: ${upsd.ups}`,
      '    pollInterval: 250ms',
    ]);
    for (const host of ['web1', 'db1']) {
      const agent = await enrollAndStart(
        host,
        ['host:', `  shutdown: ${JSON.stringify(recordingShutdown(record(), host, { killAgent: true }))}`],
        ['--log-level', 'debug'],
      );
      // The lease at hello (or the next round): the host leaves the decisions to the coordinator.
      await agent.waitForLine(/lease \d+: the coordinator decides for 15000 ms/, `${host} holds a lease`);
    }
    await edge.process().waitForLine(/UPS event ups=nas-ups status=OL/, 'the first reading');

    const status = await cli('status');
    expect(status.code, status.output).toBe(0);
    expect(status.output).toMatch(/nas-ups/);
    const drill = await cli('drill');
    expect(drill.code, drill.output).toBe(0);
    expect(drill.output).toMatch(/web1/);
    expect(drill.output).toMatch(/db1/);
    expect(await recordedHosts(record())).toEqual([]);
  }, 120_000);

  it('keeps a second fleet apart: its tokens, its hosts, its agents', async () => {
    // The default fleet's admin token means nothing to site-b, and site-b's nothing to the default fleet.
    const crossed = await fetch(`${edge.url}/fleets/site-b/api/v1/hosts`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(crossed.status).toBe(401);
    expect(crossed.headers.get('content-type')).toBe('application/problem+json');
    const back = await fetch(`${edge.url}/api/v1/hosts`, {
      headers: { authorization: `Bearer ${SITE_B_TOKEN}` },
    });
    expect(back.status).toBe(401);
    const hosts = await api<{ items: unknown[] }>(
      'GET',
      '/fleets/site-b/api/v1/hosts',
      undefined,
      SITE_B_TOKEN,
    );
    expect(hosts.items).toEqual([]);
    const siteStatus = await api<{ ups: unknown[]; policy: { applied: boolean } }>(
      'GET',
      '/fleets/site-b/api/v1/status',
      undefined,
      SITE_B_TOKEN,
    );
    expect(siteStatus).toMatchObject({ ups: [], policy: { applied: false } });
    expect(await fetch(`${edge.url}/fleets/site-c/healthz`).then((r) => r.status)).toBe(404);

    // web1's own key: accepted by its fleet, refused (401 before the upgrade) by site-b.
    const { identity, keyPair } = await loadEnrollment(join(dir, 'web1-state'));
    const upgrade = async (base: string) =>
      new Promise<number>((resolve, reject) => {
        void signAgentAuth(keyPair, identity.agentId, Date.now()).then((token) => {
          const ws = new WebSocket(`${base.replace('http', 'ws')}/agent/v1/ws`, {
            headers: { authorization: `Bearer ${token}` },
          });
          ws.on('unexpected-response', (_request, response) => {
            resolve(response.statusCode ?? 0);
            ws.terminate();
          });
          ws.on('open', () => {
            resolve(101);
            ws.close(1000);
          });
          ws.on('error', reject);
        }, reject);
      });
    expect(await upgrade(`${edge.url}/fleets/site-b`)).toBe(401);
  });

  it('runs the stages in order on alarms, the hosts on leases, through a workerd restart and an eviction, each order once', async () => {
    const web1 = agents.get('web1');
    const db1 = agents.get('db1');
    if (web1 === undefined || db1 === undefined) throw new Error('agents missing');
    const from = edge.process().mark();
    await upsd.setStatus('OB DISCHRG', { 'battery.charge': '90', 'battery.runtime': '1800' });
    await edge.process().waitForLine(/UPS event ups=nas-ups status="OB DISCHRG"/, 'on battery', from);
    // The watcher's snapshots (every 5 s on battery) would keep the object awake: it has said enough.
    await agents.get('nas')?.stop();
    agents.delete('nas');

    // Stage 1 waits 40 s, fired by the alarm; meanwhile the alarm renews the lease every 5 s, so
    // the hosts (who trust a lease for 15 s) never count as on their own.
    const db1Before = db1.mark();
    expect(await web1.exited).toBe('SIGKILL');
    expect(await recordedHosts(record())).toEqual(['web1']);
    const lines = edge.process().lines.slice(from);
    const fired = lines.findIndex((line) => /stage apps fired/.test(line));
    expect(lines.slice(0, fired).some((line) => /coordinator\[default\] alarm/.test(line))).toBe(true);
    await edge.process().waitForLine(/web1 down \(confirmed\)/, 'web1 confirmed down', from);
    // Still renewed after the 40 s, and not one "on its own" line from either host.
    await db1.waitForLine(/lease \d+: the coordinator decides/, 'db1 still holds a lease', db1Before);
    for (const host of [web1, db1])
      expect(host.lines.filter((line) => / agent on its own/.test(line))).toEqual([]);

    // workerd dies while stage 2 waits, and comes back on its persisted state: the run resumes
    // from PostgreSQL, and db1 reconnects to it.
    const beforeRestart = db1.mark();
    await edge.restart();
    await edge.process().waitForLine(/coordinator started fleet=default/, 'the object started again');
    await db1.waitForLine(
      /lease \d+: the coordinator decides/,
      'db1 leased by the restarted object',
      beforeRestart,
    );
    // Then db1 stops too: no agent is connected, nothing keeps the object awake (no keepalive, no
    // lease round), and workerd evicts it. Stage 2's alarm wakes a new instance, which fires it.
    const beforeEviction = edge.process().mark();
    await db1.stop();
    agents.delete('db1');
    await edge
      .process()
      .waitForLine(
        /coordinator\[default\] alarm woken=true/,
        'an alarm waking an evicted object',
        beforeEviction,
      );
    await edge.process().waitForLine(/stage storage fired/, 'stage 2', beforeEviction);
    expect(await recordedHosts(record())).toEqual(['web1']);
    // db1 comes back: its order was waiting for it; it runs once.
    const again = spawnBundle('db1', ['agent', '--config', join(dir, 'db1.yaml'), '--log-level', 'debug']);
    agents.set('db1', again);
    expect(await again.exited).toBe('SIGKILL');
    expect(await recordedHosts(record())).toEqual(['web1', 'db1']);

    const runs = await cli('runs');
    expect(runs.code, runs.output).toBe(0);
    const outage = await api<{ items: { id: string; kind: string }[] }>('GET', '/api/v1/runs');
    const active = outage.items.find((item) => item.kind !== 'drill');
    if (active === undefined) throw new Error('no outage run');
    const view = await api<{ orders: { host: string; stage: string }[] }>('GET', `/api/v1/runs/${active.id}`);
    expect(view.orders.map((order) => `${order.stage}:${order.host}`).sort()).toEqual([
      'apps:web1',
      'storage:db1',
    ]);
    const text = await readFile(record(), 'utf8');
    expect(text.trim().split('\n')).toHaveLength(2);
  }, 180_000);
});

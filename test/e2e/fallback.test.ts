/**
 * The host's fail-safe on real processes: a coordinator and two host agents, each agent reaching the
 * coordinator through its own TCP proxy that the test cuts like a dead switch. The UPS readings are
 * signed events pushed over HTTP by a watcher "nas" enrolled with a generated key. The only stage
 * would fire after 10 minutes on battery, so whatever shuts a host down here is its fallback rule:
 * 2 s fleet-wide, 60 s for web2.
 *
 * Each host's harmless "shutdown" appends its name to a shared record; the agents stay up.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, type SigningKeyPair } from '../../shared/src/signing.js';
import { signUpsEvent } from '../../shared/src/tokens.js';
import { createAdminApi } from '../helpers/admin-api.js';
import { coordinatorUrl, spawnUpsfleet, type WatchedProcess } from '../helpers/processes.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

const ADMIN_TOKEN = 'fallback-e2e-admin-token-0123456789';

describe('fail-safe: a host cut off from the coordinator while on battery', () => {
  let dir: string;
  let base: string;
  let coordinator: WatchedProcess;
  const processes: WatchedProcess[] = [];
  const proxies = new Map<string, TcpProxy>();
  const agents = new Map<string, WatchedProcess>();
  let watcher: { agentId: string; key: SigningKeyPair };
  let seq = 0;
  const record = () => join(dir, 'shutdowns.log');

  const { call: api } = createAdminApi({ base: () => base, token: ADMIN_TOKEN });

  /** A signed reading of nas-ups from the watcher, pushed over HTTP; resolves once it is applied. */
  async function ups(status: string[]): Promise<void> {
    seq += 1;
    const token = await signUpsEvent(
      watcher.key,
      watcher.agentId,
      { seq, ups: 'nas-ups', observedAt: Date.now(), status, events: [] },
      Date.now(),
    );
    const response = await fetch(`${base}/agent/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ events: [token] }),
    });
    if (response.status !== 200) throw new Error(`event push: ${response.status} ${await response.text()}`);
  }

  function agentConfig(name: string): string {
    return join(dir, `${name}.yaml`);
  }

  function startAgent(name: string): WatchedProcess {
    const agent = spawnUpsfleet(name, ['agent', '--config', agentConfig(name)]);
    processes.push(agent);
    agents.set(name, agent);
    return agent;
  }

  function agent(name: string): WatchedProcess {
    const found = agents.get(name);
    if (found === undefined) throw new Error(`no agent ${name}`);
    return found;
  }

  function proxy(name: string): TcpProxy {
    const found = proxies.get(name);
    if (found === undefined) throw new Error(`no proxy for ${name}`);
    return found;
  }

  /** Enrolls `name` through its own proxy and writes its config; the agent is started by the caller. */
  async function enrollHost(name: string): Promise<void> {
    const target = new URL(base);
    const hostProxy = await startTcpProxy({ host: target.hostname, port: Number(target.port) });
    proxies.set(name, hostProxy);
    const { token } = await api<{ token: string }>('POST', '/api/v1/enrollments', { name });
    const stateDir = join(dir, `${name}-state`);
    const enroll = spawnUpsfleet(`enroll-${name}`, [
      'enroll',
      '--coordinator',
      hostProxy.url,
      '--token',
      token,
      '--name',
      name,
      '--state-dir',
      stateDir,
    ]);
    expect(await enroll.exited).toBe(0);
    const script = "require('node:fs').appendFileSync(process.argv[1], process.argv[2] + '\\n')";
    await writeFile(
      agentConfig(name),
      [
        `coordinator: ${hostProxy.url}`,
        `stateDir: ${stateDir}`,
        'host:',
        `  shutdown: ${JSON.stringify([process.execPath, '-e', script, record(), name])}`,
      ].join('\n'),
    );
  }

  async function recorded(): Promise<string[]> {
    const text = await readFile(record(), 'utf8').catch(() => '');
    return text.split('\n').filter((line) => line !== '');
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'upsfleet-fallback-'));
    coordinator = spawnUpsfleet(
      'coordinator',
      ['coordinator', '--listen', '127.0.0.1:0', '--data-dir', join(dir, 'data')],
      { UPSFLEET_ADMIN_TOKEN: ADMIN_TOKEN, UPSFLEET_HEARTBEAT: '2s' },
    );
    processes.push(coordinator);
    base = await coordinatorUrl(coordinator);
    await api('PUT', '/api/v1/policy', {
      ups: [{ name: 'nas-ups', watcher: 'nas' }],
      hosts: [
        { name: 'web1', ups: ['nas-ups'] },
        { name: 'web2', ups: ['nas-ups'], fallback: { after: '60s' } },
      ],
      stages: [{ name: 'late', hosts: ['web1', 'web2'], trigger: { onBattery: '10m' } }],
      fallback: { after: '2s' },
    });

    // The watcher enrolls over the API with its own key; its readings are pushed over HTTP.
    const { token } = await api<{ token: string }>('POST', '/api/v1/enrollments', { name: 'nas' });
    const { keyPair } = await generateSigningKey();
    const enrolled = await fetch(`${base}/agent/v1/enroll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token, name: 'nas', publicKey: keyPair.publicJwk }),
    });
    expect(enrolled.status).toBe(201);
    watcher = { agentId: ((await enrolled.json()) as { agentId: string }).agentId, key: keyPair };

    for (const name of ['web1', 'web2']) {
      await enrollHost(name);
      const started = startAgent(name);
      // Briefed at hello: nothing heard of nas-ups yet, and its fallback rule.
      await started.waitForLine(/briefing \d+: nas-ups unknown/, `${name}'s first briefing`);
    }

    // Power lost: each host is briefed that its UPS is on battery.
    await ups(['OB', 'DISCHRG']);
    await agent('web1').waitForLine(/briefing \d+: nas-ups on battery/, 'web1 briefed: on battery');
    await agent('web2').waitForLine(/briefing \d+: nas-ups on battery/, 'web2 briefed: on battery');
  });

  afterAll(async () => {
    for (const each of processes) await each.stop();
    for (const each of proxies.values()) await each.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('A: the coordinator stays away: the shutdown runs by the fallback rule, exactly once, and not again after a restart', async () => {
    const web1 = agent('web1');
    const from = web1.mark();
    proxy('web1').cut();
    await web1.waitForLine(
      /on its own: shutting down at \S+ \(in 2s\) by the fallback rule/,
      'the countdown',
      from,
    );
    await web1.waitForLine(/offline shutdown succeeded/, 'the fallback shutdown', from);
    expect(await recorded()).toEqual(['web1']);

    // Restarted while still cut off: it remembers the briefing, and that its fallback already ran.
    await web1.stop();
    const restarted = startAgent('web1');
    await restarted.waitForLine(/cached briefing \d+: nas-ups on battery/, 'the cached briefing');
    await restarted.waitForLine(
      /resuming on its own since \S+: its shutdown already ran at \S+; not repeating it/,
      'the refusal to repeat it',
    );
    expect(await recorded()).toEqual(['web1']);
  });

  it('B: the coordinator returns within the window with power restored: the countdown is cancelled', async () => {
    const web2 = agent('web2');
    const from = web2.mark();
    proxy('web2').cut();
    await web2.waitForLine(
      /on its own: shutting down at \S+ \(in 1m\) by the fallback rule/,
      'the countdown',
      from,
    );

    await ups(['OL']);
    proxy('web2').restore();
    await web2.waitForLine(/briefing \d+: nas-ups online/, 'the briefing after reconnecting', from);
    await web2.waitForLine(
      /a valid lease again after .* on its own: the coordinator decides/,
      'the cancellation',
      from,
    );
    expect(await recorded()).not.toContain('web2');
  });
});

/**
 * The agent WebSocket endpoint on a real coordinator (in-process, loopback port): authentication
 * before the upgrade, named close codes for bad frames, liveness, and nothing stored on refusal.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { enroll } from '../agent/src/enroll.js';
import { rotateAgentKey } from '../agent/src/rotate-key.js';
import { loadEnrollment } from '../agent/src/state-dir.js';
import type { CoordinatorConfig } from '../coordinator/src/config.js';
import { type RunningCoordinator, startCoordinator } from '../coordinator/src/main.js';
import { silentLogger } from '../shared/src/logger.js';
import {
  Audience,
  CloseCode,
  encodeMessage,
  MAX_FRAME_BYTES,
  PROTOCOL_VERSION,
} from '../shared/src/protocol.js';
import { generateSigningKey, type SigningKeyPair, signToken } from '../shared/src/signing.js';
import { randomId, signAgentAuth, signUpsEvent } from '../shared/src/tokens.js';
import { createAdminApi } from './helpers/admin-api.js';
import { type OpenSocket, openAgentSocket } from './helpers/agent-socket.js';

const ADMIN = 'ws-test-admin-token-0123456789';

const config: CoordinatorConfig = {
  host: '127.0.0.1',
  port: 0,
  database: { kind: 'memory' },
  policyFile: undefined,
  adminToken: ADMIN,
  orderTtlMs: 600_000,
  // Short, to see a silent agent dropped quickly; long enough that a busy machine still answers in time.
  heartbeatMs: 1_000,
  logLevel: 'error',
  metricsPublic: false,
  resumeSettleMs: 15_000,
  leaseIntervalMs: 5_000,
};

let coordinator: RunningCoordinator;
let wsUrl: string;

const api = createAdminApi({ base: () => coordinator.url, token: ADMIN });

async function enrollAgent(name: string): Promise<{ agentId: string; key: SigningKeyPair }> {
  const body = await api.call<{ token: string }>('POST', '/api/v1/enrollments', { name });
  const { keyPair } = await generateSigningKey();
  const response = await fetch(`${coordinator.url}/agent/v1/enroll`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token: body.token, name, publicKey: keyPair.publicJwk }),
  });
  const { agentId } = (await response.json()) as { agentId: string };
  return { agentId, key: keyPair };
}

/** Resolves with the HTTP status when the upgrade is refused, or 101 when it succeeds. */
function upgradeStatus(headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl, { headers });
    ws.once('unexpected-response', (_request, response) => {
      resolve(response.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('upgrade', () => {
      resolve(101);
      ws.close();
    });
    ws.once('error', (error) => {
      if (!String(error).includes('Unexpected server response')) reject(error);
    });
  });
}

/** Opens an authenticated socket and waits for the welcome frame. */
async function connect(
  agent: { agentId: string; key: SigningKeyPair },
  options: { autoPong?: boolean } = {},
): Promise<OpenSocket & { welcome: Record<string, unknown> }> {
  const token = await signAgentAuth(agent.key, agent.agentId, Date.now());
  const socket = await openAgentSocket(coordinator.url, `Bearer ${token}`, options);
  if (socket.kind === 'refused') throw new Error(`upgrade refused: ${socket.status} ${socket.body}`);
  return { ...socket, welcome: await socket.frame((frame) => frame.type === 'welcome', 'the welcome') };
}

/** Sends `frame` and resolves with the next frame the coordinator answers. */
function reply(socket: OpenSocket, frame: string): Promise<Record<string, unknown>> {
  const from = socket.mark();
  socket.send(frame);
  return socket.frame(() => true, 'an answer', from);
}

let host: { agentId: string; key: SigningKeyPair };
let watcher: { agentId: string; key: SigningKeyPair };

beforeAll(async () => {
  coordinator = await startCoordinator(config, { logger: silentLogger, announceAdminToken: () => {} });
  wsUrl = `${coordinator.url.replace('http', 'ws')}/agent/v1/ws`;
  await api.call('PUT', '/api/v1/policy', {
    ups: [{ name: 'nas-ups', watcher: 'nas' }],
    hosts: [{ name: 'web1', ups: ['nas-ups'] }],
    stages: [{ name: 'apps', hosts: ['web1'], trigger: { onBattery: '5m' } }],
  });
  host = await enrollAgent('web1');
  watcher = await enrollAgent('nas');
});

afterAll(async () => {
  await coordinator?.close();
});

describe('agent WebSocket: authentication before the upgrade', () => {
  it('accepts a fresh token signed by the agent and greets it with its name and the protocol version', async () => {
    const { ws, welcome } = await connect(host);
    expect(welcome).toMatchObject({
      type: 'welcome',
      protocol: PROTOCOL_VERSION,
      agentId: host.agentId,
      name: 'web1',
    });
    ws.close();
  });

  it('refuses a missing token with HTTP 401', async () => {
    expect(await upgradeStatus({})).toBe(401);
  });

  it('refuses a token signed by another key, an expired token, a token for another audience, and a replayed token', async () => {
    const { keyPair: stranger } = await generateSigningKey();
    const forged = await signAgentAuth(stranger, host.agentId, Date.now());
    expect(await upgradeStatus({ authorization: `Bearer ${forged}` })).toBe(401);

    const expired = await signAgentAuth(host.key, host.agentId, Date.now() - 10 * 60_000);
    expect(await upgradeStatus({ authorization: `Bearer ${expired}` })).toBe(401);

    const wrongAudience = await signToken(
      host.key,
      {},
      {
        issuer: host.agentId,
        audience: Audience.Event,
        id: randomId(),
        now: Date.now(),
        ttlMs: 60_000,
      },
    );
    expect(await upgradeStatus({ authorization: `Bearer ${wrongAudience}` })).toBe(401);

    const once = await signAgentAuth(host.key, host.agentId, Date.now());
    expect(await upgradeStatus({ authorization: `Bearer ${once}` })).toBe(101);
    expect(await upgradeStatus({ authorization: `Bearer ${once}` })).toBe(401);
  });

  it('answers 404 for an upgrade on another path', async () => {
    const token = await signAgentAuth(host.key, host.agentId, Date.now());
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${coordinator.url.replace('http', 'ws')}/agent/v1/other`, {
        headers: { authorization: `Bearer ${token}` },
      });
      ws.once('unexpected-response', (_request, response) => {
        resolve(response.statusCode ?? 0);
        ws.terminate();
      });
      ws.once('error', () => {});
    });
    expect(status).toBe(404);
  });
});

describe('agent WebSocket: bad frames close with a named code', () => {
  it.each([
    ['not JSON', 'hello there'],
    ['an unknown type', JSON.stringify({ type: 'reboot-everything' })],
    ['a known type with a bad field', JSON.stringify({ type: 'ack', orderId: 7, status: 'accepted' })],
  ])('%s → 4400 ProtocolError', async (_what, frame) => {
    const { ws, closed } = await connect(host);
    ws.send(frame);
    expect(await closed).toBe(CloseCode.ProtocolError);
  });

  it('another protocol version → 4426 UnsupportedVersion', async () => {
    const { ws, closed } = await connect(host);
    ws.send(encodeMessage({ type: 'hello', protocol: PROTOCOL_VERSION + 1, version: 'x', roles: ['host'] }));
    expect(await closed).toBe(CloseCode.UnsupportedVersion);
  });

  it(`a frame over ${MAX_FRAME_BYTES} bytes → 1009 MessageTooBig`, async () => {
    const { ws, closed } = await connect(host);
    ws.send('x'.repeat(MAX_FRAME_BYTES + 1));
    expect(await closed).toBe(CloseCode.MessageTooBig);
  });

  it('a second connection of the same agent replaces the first (4409)', async () => {
    const first = await connect(host);
    await connect(host);
    expect(await first.closed).toBe(CloseCode.Replaced);
  });

  it('an agent that stops answering pings is dropped', async () => {
    const { closed } = await connect(host, { autoPong: false });
    expect(await closed).toBe(1006);
  });
});

describe('agent WebSocket: events', () => {
  it('refuses an event the host signed for a UPS it does not watch, and stores nothing', async () => {
    const socket = await connect(host);
    const token = await signUpsEvent(
      host.key,
      host.agentId,
      { seq: 1, ups: 'nas-ups', observedAt: Date.now(), status: ['OB'], events: ['ONBATT'] },
      Date.now(),
    );
    expect(await reply(socket, encodeMessage({ type: 'event', token }))).toMatchObject({
      type: 'error',
      code: 'forbidden',
    });
    socket.ws.close();
    const ups = await api.call<{ items: unknown[] }>('GET', '/api/v1/ups');
    expect(ups.items).toEqual([]);
  });

  it('refuses an event signed by another agent over this connection', async () => {
    const socket = await connect(host);
    const token = await signUpsEvent(
      watcher.key,
      watcher.agentId,
      { seq: 1, ups: 'nas-ups', observedAt: Date.now(), status: ['OB'], events: ['ONBATT'] },
      Date.now(),
    );
    expect(await reply(socket, encodeMessage({ type: 'event', token }))).toMatchObject({
      type: 'error',
      code: 'forbidden',
    });
    socket.ws.close();
    expect((await api.call<{ items: unknown[] }>('GET', '/api/v1/ups')).items).toEqual([]);
  });

  it('accepts the watcher’s event over its own socket and acknowledges its sequence number', async () => {
    const socket = await connect(watcher);
    const token = await signUpsEvent(
      watcher.key,
      watcher.agentId,
      { seq: 1, ups: 'nas-ups', observedAt: Date.now(), status: ['OL'], events: [] },
      Date.now(),
    );
    expect(await reply(socket, encodeMessage({ type: 'event', token }))).toEqual({
      type: 'event-ack',
      seq: 1,
    });
    socket.ws.close();
    const ups = await api.call<{ items: { ups: string; power: string }[] }>('GET', '/api/v1/ups');
    expect(ups.items).toEqual([expect.objectContaining({ ups: 'nas-ups', power: 'online' })]);
  });
});

describe("a host's own upsd reading", () => {
  it('GET /hosts shows what the host reads itself: status and age, a reading error, a host.upsd warning', async () => {
    const socket = await connect(host);
    socket.send(
      encodeMessage({ type: 'hello', protocol: PROTOCOL_VERSION, version: 'test', roles: ['host'] }),
    );
    await socket.frame((frame) => frame.type === 'briefing', 'the briefing');
    const at = Date.now();
    socket.send(
      encodeMessage({
        type: 'host-reading',
        readings: [
          { ups: 'nas-ups', status: ['OB', 'DISCHRG'], dead: false, at },
          { ups: 'rack-ups', status: null, reason: 'ERR ACCESS-DENIED', dead: false, at },
        ],
        warnings: ['host.upsd: "rack-ups" feeds nothing in this host\'s briefing'],
      }),
    );
    type Hosts = { items: { name: string; sees?: unknown }[] };
    const web1 = await vi.waitFor(async () => {
      const { items } = await api.call<Hosts>('GET', '/api/v1/hosts');
      const found = items.find((item) => item.name === 'web1');
      if (found?.sees === undefined) throw new Error('no reading yet');
      return found;
    });
    expect(web1.sees).toEqual({
      readings: [
        { ups: 'nas-ups', status: ['OB', 'DISCHRG'], dead: false, readAt: expect.any(String) },
        {
          ups: 'rack-ups',
          status: null,
          error: 'ERR ACCESS-DENIED',
          dead: false,
          readAt: expect.any(String),
        },
      ],
      warnings: ['host.upsd: "rack-ups" feeds nothing in this host\'s briefing'],
      receivedAt: expect.any(String),
    });
    const { items } = await api.call<Hosts>('GET', '/api/v1/hosts');
    expect(items.find((item) => item.name === 'nas')?.sees).toBeUndefined();
    // The dashboard's hosts table says the same, in words.
    const hostsSection = await (await api.send('GET', '/dashboard/sections?only=hosts')).text();
    const web1Row = /<tr data-host="web1">[\s\S]*?<\/tr>/.exec(hostsSection)?.[0] ?? '';
    expect(web1Row).toMatch(/nas-ups OB DISCHRG, \d+ s ago/);
    expect(web1Row).toMatch(/rack-ups unknown \(ERR ACCESS-DENIED\), \d+ s ago/);
    expect(web1Row).toContain('warning: host.upsd: ');
    socket.ws.close();
  });
});

describe('revocation and key rotation', () => {
  it('revoking a host closes its connection with 4403 and refuses its credentials from then on', async () => {
    const victim = await enrollAgent('revokee');
    const { closed } = await connect(victim);
    expect((await api.send('POST', '/api/v1/hosts/revokee/revoke')).status).toBe(200);
    expect(await closed).toBe(CloseCode.Revoked);
    const fresh = await signAgentAuth(victim.key, victim.agentId, Date.now());
    expect(await upgradeStatus({ authorization: `Bearer ${fresh}` })).toBe(401);
    expect((await api.send('POST', '/api/v1/hosts/revokee/revoke')).status).toBe(404);
    const hosts = await api.call<{ items: { name: string; status: string }[] }>('GET', '/api/v1/hosts');
    expect(hosts.items.find((h) => h.name === 'revokee')).toMatchObject({ status: 'revoked' });
  });

  it('rotating an agent key: the new key connects, the old one no longer does, and a forged proof is refused', async () => {
    const name = 'rotor';
    const body = await api.call<{ token: string }>('POST', '/api/v1/enrollments', { name });
    const stateDir = await mkdtemp(join(tmpdir(), 'upsfleet-rotate-'));
    try {
      const identity = await enroll({ coordinatorUrl: coordinator.url, token: body.token, name, stateDir });
      const old = await loadEnrollment(stateDir);

      // A proof signed by some other key is refused, and nothing changes.
      const { keyPair: stranger } = await generateSigningKey();
      const forged = await fetch(`${coordinator.url}/agent/v1/keys`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${await signAgentAuth(old.keyPair, identity.agentId, Date.now())}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({
          publicKey: (await generateSigningKey()).keyPair.publicJwk,
          proof: await signAgentAuth(stranger, identity.agentId, Date.now()),
        }),
      });
      expect(forged.status).toBe(401);

      await rotateAgentKey({ coordinatorUrl: coordinator.url, stateDir });
      const rotated = await loadEnrollment(stateDir);
      expect(rotated.keyPair.kid).not.toBe(old.keyPair.kid);
      const withNew = await signAgentAuth(rotated.keyPair, identity.agentId, Date.now());
      const withOld = await signAgentAuth(old.keyPair, identity.agentId, Date.now());
      expect(await upgradeStatus({ authorization: `Bearer ${withNew}` })).toBe(101);
      expect(await upgradeStatus({ authorization: `Bearer ${withOld}` })).toBe(401);
    } finally {
      await rm(stateDir, { recursive: true, force: true });
    }
  });
});

describe('offline reports from a NUT bridge', () => {
  it("a report for a legacy host is recorded only from the agent the policy names as that host's bridge", async () => {
    await api.call('PUT', '/api/v1/policy', {
      ups: [{ name: 'nas-ups', watcher: 'nas' }],
      hosts: [
        { name: 'web1', ups: ['nas-ups'] },
        { name: 'nas2', ups: ['nas-ups'], nut: { bridge: 'nas' } },
      ],
      stages: [{ name: 'apps', hosts: ['web1', 'nas2'], trigger: { onBattery: '5m' } }],
    });
    await api.call('POST', '/api/v1/stages/apps/fire');
    const at = Date.now();
    const report = (id: string) =>
      encodeMessage({
        type: 'offline-report',
        id,
        host: 'nas2',
        lostAt: at,
        steps: [
          { at, what: 'shutdown', detail: "FSD shown to its NUT clients by stage apps's offline rule" },
        ],
        shutdown: { at, rule: 'offline', stage: 'apps' },
      });
    const hello = (roles: ('host' | 'watcher' | 'bridge')[]) =>
      encodeMessage({ type: 'hello', protocol: PROTOCOL_VERSION, version: 'test', roles });
    type Runs = { items: { id: string }[] };
    type Run = { timeline: { kind: string; host?: string; detail?: string }[] };
    const timeline = async () => {
      const { items } = await api.call<Runs>('GET', '/api/v1/runs');
      return (await api.call<Run>('GET', `/api/v1/runs/${items[0]?.id}`)).timeline;
    };

    // web1 is not nas2's bridge: acknowledged (so it stops resending), recorded nowhere.
    const impostor = await connect(host);
    impostor.send(hello(['host']));
    const sent = impostor.mark();
    impostor.send(report(`offline:${at}:nas2`));
    await impostor.frame((frame) => frame.type === 'offline-ack', 'the ack', sent);
    expect(
      (await timeline()).filter((event) => event.host === 'nas2' && event.kind.startsWith('offline')),
    ).toEqual([]);
    impostor.ws.close();

    const bridge = await connect(watcher);
    bridge.send(hello(['watcher', 'bridge']));
    const from = bridge.mark();
    bridge.send(report(`offline:${at}:nas2`));
    await bridge.frame((frame) => frame.type === 'offline-ack', 'the ack', from);
    const events = await timeline();
    expect(events).toContainEqual(
      expect.objectContaining({
        kind: 'offline-report',
        host: 'nas2',
        detail: `nas2's NUT bridge nas reported what it did on its own for it (offline:${at}:nas2; times on the bridge's clock)`,
      }),
    );
    expect(events).toContainEqual(expect.objectContaining({ kind: 'host-down', host: 'nas2' }));
    bridge.ws.close();
  });
});

describe('NUT accounts in the state sent to a bridge', () => {
  it('an account bound to addresses reaches only a bridge that says it checks them', async () => {
    await api.call('PUT', '/api/v1/policy', {
      ups: [{ name: 'nas-ups', watcher: 'nas' }],
      hosts: [
        { name: 'web1', ups: ['nas-ups'] },
        { name: 'nas2', ups: ['nas-ups'], nut: { bridge: 'nas', alias: 'ups' } },
        { name: 'nas3', ups: ['nas-ups'], nut: { bridge: 'nas' } },
      ],
      stages: [{ name: 'apps', hosts: ['web1', 'nas2', 'nas3'], trigger: { onBattery: '5m' } }],
    });
    const fixed = { username: 'monuser', password: 'secret', from: ['192.0.2.2'] };
    await api.call('POST', '/api/v1/hosts/nas2/nut-credentials', fixed);
    await api.call('POST', '/api/v1/hosts/nas3/nut-credentials', {});
    type Account = { username: string; host: string | null; from: string[] | null };
    const accountsSent = async (bridge: { listen: string; accountAddresses?: boolean }) => {
      const socket = await connect(watcher);
      const from = socket.mark();
      socket.send(
        encodeMessage({
          type: 'hello',
          protocol: PROTOCOL_VERSION,
          version: 'test',
          roles: ['bridge'],
          bridge,
        }),
      );
      const frame = await socket.frame((f) => f.type === 'bridge', 'the bridge state', from);
      socket.ws.close();
      await socket.closed;
      const payload = String(frame.token).split('.')[1] ?? '';
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as {
        accounts: Account[];
      };
      return claims.accounts.map(({ username, host, from }) => ({ username, host, from }));
    };
    // A bridge from before account addresses would let monuser in from anywhere: it is not sent.
    expect(await accountsSent({ listen: '127.0.0.1:3493' })).toEqual([
      { username: 'nas3', host: 'nas3', from: null },
    ]);
    expect(await accountsSent({ listen: '127.0.0.1:3493', accountAddresses: true })).toEqual([
      { username: 'monuser', host: 'nas2', from: ['192.0.2.2'] },
      { username: 'nas3', host: 'nas3', from: null },
    ]);
  });
});

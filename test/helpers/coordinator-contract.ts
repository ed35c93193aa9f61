/**
 * The coordinator's contract at its edges, as one suite run against every runtime (the Node
 * coordinator in test/coordinator-contract.test.ts, the edge Worker in test/edge/): what it refuses,
 * with which status and problem document, and which WebSocket close codes an agent gets. Same
 * expectations for both: a difference between the runtimes fails one of them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { type ClientOptions } from 'ws';
import { CLOSE_TIMEOUT_MS } from '../../agent/src/link.js';
import { CloseCode, MAX_FRAME_BYTES, PROTOCOL_VERSION } from '../../shared/src/protocol.js';
import { generateSigningKey, type SigningKeyPair } from '../../shared/src/signing.js';
import { signAgentAuth, signUpsEvent } from '../../shared/src/tokens.js';
import { startReceiver, wechatOk } from '../notify/receiver.js';

export interface RunningCoordinatorUnderTest {
  readonly url: string;
  readonly adminToken: string;
  /**
   * Kills the coordinator and starts it again on the same URL and state, for a runtime whose
   * replay guard and admin throttle are durable (the edge keeps them in its Durable Object's
   * storage; the Node coordinator keeps them in memory, so its restart forgets them).
   */
  restart?(): Promise<void>;
  stop(): Promise<void>;
}

interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
}

async function problemOf(response: Response): Promise<Problem> {
  expect(response.headers.get('content-type')).toBe('application/problem+json');
  return (await response.json()) as Problem;
}

/** Frames are kept from the first byte: a welcome may arrive in the same packet as the upgrade. */
const received = new WeakMap<WebSocket, Record<string, unknown>[]>();

/** Opens the agent WebSocket; resolves with the HTTP status of a refused upgrade, or the socket. */
function connect(url: string, token: string | undefined): Promise<{ status: number; ws?: WebSocket }> {
  return new Promise((resolve, reject) => {
    // As the agent's link does: a close sent from another request reaches it within CLOSE_TIMEOUT_MS.
    const options: ClientOptions & { readonly closeTimeout: number } = {
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
      closeTimeout: CLOSE_TIMEOUT_MS,
    };
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/agent/v1/ws`, options);
    const frames: Record<string, unknown>[] = [];
    received.set(ws, frames);
    ws.on('message', (data) => frames.push(JSON.parse(data.toString()) as Record<string, unknown>));
    ws.once('unexpected-response', (_request, response) => {
      resolve({ status: response.statusCode ?? 0 });
      ws.terminate();
    });
    ws.once('open', () => resolve({ status: 101, ws }));
    ws.once('error', reject);
  });
}

function closed(ws: WebSocket): Promise<number> {
  return new Promise((resolve) => ws.once('close', (code) => resolve(code)));
}

/** The first frame of `type` the coordinator sent (or sends). */
function frame(ws: WebSocket, type: string): Promise<Record<string, unknown>> {
  const frames = received.get(ws) ?? [];
  const seen = frames.find((message) => message.type === type);
  if (seen !== undefined) return Promise.resolve(seen);
  return new Promise((resolve) => {
    const onMessage = () => {
      const message = frames.find((candidate) => candidate.type === type);
      if (message === undefined) return;
      ws.off('message', onMessage);
      resolve(message);
    };
    ws.on('message', onMessage);
  });
}

export function describeCoordinatorContract(
  runtime: string,
  start: () => Promise<RunningCoordinatorUnderTest>,
  options: {
    /** The replay guard and the admin throttle survive a restart (the runtime gives `restart`). */
    readonly durableGuards?: boolean;
  } = {},
): void {
  describe(`the coordinator's contract [${runtime}]`, () => {
    let coordinator: RunningCoordinatorUnderTest;
    let url: string;
    const agent: { id?: string; key?: SigningKeyPair } = {};

    const admin = (method: string, path: string, body?: unknown, token = coordinator.adminToken) =>
      fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      });

    /** Another host, for the restart case (the first one is revoked by then). */
    const spare: { id?: string; key?: SigningKeyPair } = {};

    async function agentToken(host = agent): Promise<string> {
      if (host.id === undefined || host.key === undefined) throw new Error('no agent enrolled');
      return signAgentAuth(host.key, host.id, Date.now());
    }

    async function enroll(name: string, host: { id?: string; key?: SigningKeyPair }): Promise<void> {
      const created = await admin('POST', '/api/v1/enrollments', { name });
      const { token } = (await created.json()) as { token: string };
      const { keyPair } = await generateSigningKey();
      const enrolled = await fetch(`${url}/agent/v1/enroll`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token, name, publicKey: keyPair.publicJwk }),
      });
      expect(enrolled.status).toBe(201);
      host.id = ((await enrolled.json()) as { agentId: string }).agentId;
      host.key = keyPair;
    }

    beforeAll(async () => {
      coordinator = await start();
      url = coordinator.url;
      await enroll('contract-host', agent);
      if (options.durableGuards === true) await enroll('contract-spare', spare);
    });

    afterAll(async () => {
      await coordinator?.stop();
    });

    it('answers health and its documents', async () => {
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
      const document = (await (await fetch(`${url}/openapi.json`)).json()) as { openapi: string };
      expect(document.openapi).toMatch(/^3\.1/);
      expect((await fetch(`${url}/docs`)).headers.get('content-type')).toMatch(/^text\/html/);
      const dashboard = await fetch(`${url}/`);
      expect(dashboard.status).toBe(200);
      expect(dashboard.headers.get('content-type')).toMatch(/^text\/html/);
    });

    it('refuses a missing or wrong admin token with a 401 problem', async () => {
      const missing = await fetch(`${url}/api/v1/status`);
      expect(missing.status).toBe(401);
      expect(missing.headers.get('www-authenticate')).toBe('Bearer realm="upsfleet"');
      expect(await problemOf(missing)).toMatchObject({ status: 401, title: 'Unauthorized' });
      const wrong = await admin('GET', '/api/v1/status', undefined, 'ufa_not-a-token-of-this-coordinator');
      expect(await problemOf(wrong)).toMatchObject({ status: 401 });
    });

    it('serves /metrics in the Prometheus text format to a read token, and refuses it without one', async () => {
      const created = await admin('POST', '/api/v1/tokens', { name: 'contract-scraper', scopes: ['read'] });
      expect(created.status).toBe(201);
      const { token } = (await created.json()) as { token: string };
      const scrape = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
      expect(scrape.status).toBe(200);
      expect(scrape.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
      const text = await scrape.text();
      expect(text).toContain('# TYPE upsfleet_agents_connected gauge');
      expect(text).toMatch(/^upsfleet_events_received_total\{outcome="stored"\} 0$/m);
      expect(text).toMatch(/^upsfleet_metrics_source_up\{source="ups_states"\} 1$/m);
      const missing = await fetch(`${url}/metrics`);
      expect(missing.status).toBe(401);
      expect(await problemOf(missing)).toMatchObject({ status: 401 });
    });

    it('refuses an unknown route, an invalid policy and a malformed body as problems', async () => {
      expect(await problemOf(await admin('GET', '/api/v1/nothing-here'))).toMatchObject({
        status: 404,
        type: 'https://upsfleet.dev/problems/not_found',
      });
      const invalid = await admin('PUT', '/api/v1/policy', {
        ups: [{ name: 'nas-ups', watcher: 'nas' }],
        hosts: [{ name: 'web1', ups: ['nas-ups'] }],
        stages: [{ name: 'apps', hosts: ['web9'], trigger: { onBattery: '30s' } }],
      });
      const problem = await problemOf(invalid);
      expect(problem.status).toBe(422);
      expect(problem.detail).toContain('web9');
      expect((await admin('POST', '/api/v1/enrollments', '{"name":')).status).toBe(400);
      expect((await admin('POST', '/api/v1/enrollments', { name: 'x', extra: 1 })).status).toBe(400);
    });

    it('refuses a used or unknown enrollment token', async () => {
      const { keyPair } = await generateSigningKey();
      const refused = await fetch(`${url}/agent/v1/enroll`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          token: `ufe_${'x'.repeat(43)}`,
          name: 'intruder',
          publicKey: keyPair.publicJwk,
        }),
      });
      expect((await problemOf(refused)).status).toBe(401);
    });

    it('refuses an agent before the upgrade: no token, a forged one, a replayed one (401)', async () => {
      expect((await connect(url, undefined)).status).toBe(401);
      const { keyPair: forger } = await generateSigningKey();
      expect((await connect(url, await signAgentAuth(forger, agent.id ?? '', Date.now()))).status).toBe(401);
      const token = await agentToken();
      const first = await connect(url, token);
      expect(first.status).toBe(101);
      first.ws?.close(CloseCode.Normal);
      expect((await connect(url, token)).status).toBe(401);
    });

    it('welcomes an agent, and closes on a bad frame (4400), an oversized one (1009), another protocol (4426)', async () => {
      const good = await connect(url, await agentToken());
      if (good.ws === undefined) throw new Error('not connected');
      const welcome = await frame(good.ws, 'welcome');
      expect(welcome).toMatchObject({ protocol: PROTOCOL_VERSION, agentId: agent.id, name: 'contract-host' });
      const bad = closed(good.ws);
      good.ws.send('{"type":"no-such-frame"}');
      expect(await bad).toBe(CloseCode.ProtocolError);

      const big = await connect(url, await agentToken());
      if (big.ws === undefined) throw new Error('not connected');
      await frame(big.ws, 'welcome');
      const tooBig = closed(big.ws);
      big.ws.send(JSON.stringify({ type: 'hello', pad: 'x'.repeat(MAX_FRAME_BYTES) }));
      expect(await tooBig).toBe(CloseCode.MessageTooBig);

      const old = await connect(url, await agentToken());
      if (old.ws === undefined) throw new Error('not connected');
      await frame(old.ws, 'welcome');
      const version = closed(old.ws);
      old.ws.send(
        JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION + 1, version: 'x', roles: ['host'] }),
      );
      expect(await version).toBe(CloseCode.UnsupportedVersion);
    });

    it('answers a message it refuses with an error frame, keeping the connection', async () => {
      const socket = await connect(url, await agentToken());
      if (socket.ws === undefined) throw new Error('not connected');
      await frame(socket.ws, 'welcome');
      const error = frame(socket.ws, 'error');
      socket.ws.send(JSON.stringify({ type: 'ack', orderId: crypto.randomUUID(), status: 'accepted' }));
      expect(await error).toMatchObject({ type: 'error', code: 'protocol' });
      socket.ws.close(CloseCode.Normal);
    });

    it('takes an ack sent right behind the hello as after the hello', async () => {
      const socket = await connect(url, await agentToken());
      if (socket.ws === undefined) throw new Error('not connected');
      await frame(socket.ws, 'welcome');
      socket.ws.send(
        JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, version: 'x', roles: ['host'] }),
      );
      socket.ws.send(JSON.stringify({ type: 'ack', orderId: crypto.randomUUID(), status: 'accepted' }));
      // A barrier: a refused event is answered, after everything sent before it.
      socket.ws.send(JSON.stringify({ type: 'event', token: 'not.a.token' }));
      const error = await frame(socket.ws, 'error');
      expect(error.code).not.toBe('protocol');
      socket.ws.close(CloseCode.Normal);
    });

    it("acknowledges a host's report of what it did on its own", async () => {
      const socket = await connect(url, await agentToken());
      if (socket.ws === undefined) throw new Error('not connected');
      await frame(socket.ws, 'welcome');
      socket.ws.send(
        JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, version: 'x', roles: ['host'] }),
      );
      const now = Date.now();
      socket.ws.send(
        JSON.stringify({
          type: 'offline-report',
          id: `offline:${now}`,
          lostAt: now,
          steps: [{ at: now, what: 'lost', detail: 'no valid lease from the coordinator' }],
        }),
      );
      // Acknowledged, so the host may forget it (until then it keeps sending it).
      expect(await frame(socket.ws, 'offline-ack')).toEqual({ type: 'offline-ack', id: `offline:${now}` });
      socket.ws.close(CloseCode.Normal);
    });

    it('replaces an older connection (4409) and closes a revoked agent (4403), then refuses it', async () => {
      const older = await connect(url, await agentToken());
      if (older.ws === undefined) throw new Error('not connected');
      await frame(older.ws, 'welcome');
      const replaced = closed(older.ws);
      const newer = await connect(url, await agentToken());
      if (newer.ws === undefined) throw new Error('not connected');
      await frame(newer.ws, 'welcome');
      expect(await replaced).toBe(CloseCode.Replaced);

      const revoked = closed(newer.ws);
      expect((await admin('POST', '/api/v1/hosts/contract-host/revoke')).status).toBe(200);
      expect(await revoked).toBe(CloseCode.Revoked);
      expect((await connect(url, await agentToken())).status).toBe(401);
    });

    it('sends a power event to a WeChat Work robot (a webhook receiver on 127.0.0.1), again after a refusal', async () => {
      // The robot is down for the first attempt: the message is retried after the backoff (5 s at
      // most for the first retry), by the loop's timer on Node and by the object's alarm at the edge.
      let answered = 0;
      const robot = await startReceiver({
        respond: (request) => (answered++ === 0 ? { status: 503, body: 'unavailable' } : wechatOk(request)),
      });
      try {
        const created = await admin('POST', '/api/v1/enrollments', { name: 'contract-watcher' });
        const { token } = (await created.json()) as { token: string };
        const { keyPair } = await generateSigningKey();
        const enrolled = await fetch(`${url}/agent/v1/enroll`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ token, name: 'contract-watcher', publicKey: keyPair.publicJwk }),
        });
        const { agentId } = (await enrolled.json()) as { agentId: string };
        const policy = await admin('PUT', '/api/v1/policy', {
          ups: [{ name: 'contract-ups', watcher: 'contract-watcher' }],
        });
        expect(policy.status).toBe(200);
        const channel = await admin('PUT', '/api/v1/notifications/channels/contract-robot', {
          name: 'contract-robot',
          type: 'wechat-work',
          url: robot.url('/cgi-bin/webhook/send?key=contract-robot-key'),
          format: 'text',
          events: ['onbatt'],
        });
        expect(channel.status).toBe(201);
        const listed = (await (await admin('GET', '/api/v1/notifications/channels')).json()) as {
          items: { name: string }[];
        };
        expect(listed.items.map((item) => item.name)).toEqual(['contract-robot']);

        const now = Date.now();
        const event = await signUpsEvent(
          keyPair,
          agentId,
          {
            seq: 1,
            ups: 'contract-ups',
            observedAt: now,
            status: ['OB', 'DISCHRG'],
            events: ['ONBATT'],
            vars: { 'battery.charge': '87', 'battery.runtime': '840' },
          },
          now,
        );
        const pushed = await fetch(`${url}/agent/v1/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ events: [event] }),
        });
        expect(pushed.status).toBe(200);

        const refused = await robot.next();
        expect(refused.method).toBe('POST');
        expect(refused.path).toBe('/cgi-bin/webhook/send?key=contract-robot-key');
        const body = JSON.parse(refused.body) as { msgtype: string; text: { content: string } };
        expect(body.msgtype).toBe('text');
        expect(body.text.content).toContain('UPS contract-ups on battery');
        expect(body.text.content).toContain('charge 87 %');
        const retried = await robot.next();
        expect(retried.body).toBe(refused.body);
        // Recorded as delivered: the channel is healthy again and nothing waits in its outbox.
        const channelStatus = async () => {
          const status = (await (await admin('GET', '/api/v1/status')).json()) as {
            notifications: { name: string }[];
          };
          return status.notifications.find((entry) => entry.name === 'contract-robot');
        };
        await expect
          .poll(channelStatus)
          .toMatchObject({ pending: 0, consecutiveFailures: 0, failing: false });
      } finally {
        await robot.close();
      }
    });

    // Near the end: from here on this client's admin requests are refused for a minute.
    it('throttles a client after 10 failed admin tokens: 429, even with the right token', async () => {
      for (let attempt = 0; attempt < 10; attempt++) {
        const status = (await admin('GET', '/api/v1/status', undefined, 'ufa_a-guess-of-the-admin-token'))
          .status;
        // Earlier refusals in this suite count too: the throttle may start before the tenth.
        expect([401, 429]).toContain(status);
      }
      const refused = await admin('GET', '/api/v1/status');
      expect(await problemOf(refused)).toMatchObject({ status: 429 });
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    });

    it.runIf(options.durableGuards === true)(
      'after a restart, still refuses a used agent token (401) and the throttled client (429)',
      async () => {
        const token = await agentToken(spare);
        const first = await connect(url, token);
        expect(first.status).toBe(101);
        first.ws?.close(CloseCode.Normal);
        if (coordinator.restart === undefined) throw new Error(`${runtime}: no restart to test with`);
        await coordinator.restart();
        const replayed = await connect(url, token);
        expect(replayed.status).toBe(401);
        expect((await admin('GET', '/api/v1/status')).status).toBe(429);
        // A fresh token is still welcome: only the used one is refused.
        const fresh = await connect(url, await agentToken(spare));
        expect(fresh.status).toBe(101);
        fresh.ws?.close(CloseCode.Normal);
      },
    );

    // Last: a runtime may close the connection after refusing the body unread (refused before
    // authentication, so the throttle above does not change it).
    it('refuses a body over 1 MiB before reading it (413)', async () => {
      const big = JSON.stringify({ name: 'x'.repeat(1_100_000) });
      expect(await problemOf(await admin('POST', '/api/v1/enrollments', big))).toMatchObject({ status: 413 });
    });
  });
}

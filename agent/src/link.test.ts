import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { WebSocketServer } from 'ws';
import { systemClock } from '../../shared/src/clock.js';
import { createMemoryLogger } from '../../shared/src/logger.js';
import {
  type AgentMessage,
  CloseCode,
  type CoordinatorMessage,
  parseAgentMessage,
} from '../../shared/src/protocol.js';
import { createReplayGuard, generateSigningKey, type SigningKeyPair } from '../../shared/src/signing.js';
import { verifyAgentAuth } from '../../shared/src/tokens.js';
import { createLink, type Link, type LinkState, toAgentSocketUrl } from './link.js';
import { createAsyncQueue } from './test-support.js';

interface Connection {
  readonly ws: WebSocket;
  readonly request: IncomingMessage;
  readonly messages: ReturnType<typeof createAsyncQueue<AgentMessage>>;
}

const AGENT_ID = 'agent-web1';

describe('link', () => {
  let wss: WebSocketServer;
  let url: string;
  let keyPair: SigningKeyPair;
  let connections: ReturnType<typeof createAsyncQueue<Connection>>;
  let links: Link[];
  let refuseNext: number[];

  beforeEach(async () => {
    keyPair = (await generateSigningKey()).keyPair;
    connections = createAsyncQueue<Connection>();
    links = [];
    refuseNext = [];
    wss = new WebSocketServer({
      host: '127.0.0.1',
      port: 0,
      path: '/agent/v1/ws',
      verifyClient: (_info, callback) => {
        const status = refuseNext.shift();
        if (status === undefined) callback(true);
        else callback(false, status, 'Unauthorized');
      },
    });
    await once(wss, 'listening');
    const address = wss.address();
    if (address === null || typeof address === 'string') throw new Error('expected a TCP address');
    url = `http://127.0.0.1:${address.port}`;
    wss.on('connection', (ws, request) => {
      const messages = createAsyncQueue<AgentMessage>();
      ws.on('message', (data) => messages.push(parseAgentMessage(String(data))));
      connections.push({ ws, request, messages });
    });
  });

  afterEach(async () => {
    await Promise.all(links.map((link) => link.close()));
    for (const client of wss.clients) client.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  });

  function start(options: { onMessage?: (m: CoordinatorMessage) => void; idleTimeoutMs?: number } = {}) {
    const logger = createMemoryLogger();
    const states = createAsyncQueue<LinkState>();
    const link = createLink({
      url,
      agentId: AGENT_ID,
      keyPair,
      onMessage: options.onMessage ?? (() => {}),
      onState: (state) => states.push(state),
      clock: systemClock,
      random: () => 0,
      backoff: { initial: 2, max: 10 },
      logger,
      ...(options.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: options.idleTimeoutMs }),
    });
    links.push(link);
    return { link, logger, states };
  }

  async function waitFor(states: ReturnType<typeof createAsyncQueue<LinkState>>, wanted: LinkState) {
    for (;;) if ((await states.next()) === wanted) return;
  }

  it('maps http(s) to ws(s) under /agent/v1/ws', () => {
    expect(toAgentSocketUrl('https://ups.example.net/base/')).toBe('wss://ups.example.net/base/agent/v1/ws');
    expect(toAgentSocketUrl('http://10.0.0.5:8080')).toBe('ws://10.0.0.5:8080/agent/v1/ws');
  });

  it('authenticates with a fresh agent token and says hello', async () => {
    start();
    const { request, messages } = await connections.next();
    const header = request.headers.authorization ?? '';
    expect(header).toMatch(/^Bearer /);
    const agentId = await verifyAgentAuth(
      header.slice('Bearer '.length),
      async (id) => (id === AGENT_ID ? keyPair.publicKey : undefined),
      createReplayGuard(),
      Date.now(),
    );
    expect(agentId).toBe(AGENT_ID);
    expect(await messages.next()).toEqual({
      type: 'hello',
      protocol: 1,
      version: expect.any(String),
      roles: ['host'],
    });
  });

  it('delivers valid frames, ignores bad ones, and sends frames once flushed', async () => {
    const received = createAsyncQueue<CoordinatorMessage>();
    const { link, logger } = start({ onMessage: (message) => received.push(message) });
    const { ws, messages } = await connections.next();
    await messages.next();
    ws.send('not json');
    ws.send(JSON.stringify({ type: 'order' }));
    ws.send(JSON.stringify({ type: 'welcome', protocol: 1, agentId: AGENT_ID, name: 'web1', serverTime: 1 }));
    expect(await received.next()).toMatchObject({ type: 'welcome', name: 'web1' });
    expect(received.pending).toBe(0);
    expect(logger.lines().filter((line) => line.includes('ignored a bad frame'))).toHaveLength(2);

    await link.send({ type: 'ack', orderId: 'o-1', status: 'accepted' });
    expect(await messages.next()).toEqual({ type: 'ack', orderId: 'o-1', status: 'accepted' });
  });

  it('rejects send() while not connected', async () => {
    refuseNext.push(401);
    const { link } = start();
    await expect(link.send({ type: 'ack', orderId: 'o-1', status: 'accepted' })).rejects.toThrow(
      /not connected/,
    );
  });

  it('reconnects after the coordinator drops the connection, with a new token', async () => {
    start();
    const first = await connections.next();
    first.ws.terminate();
    const second = await connections.next();
    expect(second.request.headers.authorization).not.toBe(first.request.headers.authorization);
    expect((await second.messages.next()).type).toBe('hello');
  });

  it('starts the backoff over after a welcome', async () => {
    const received = createAsyncQueue<CoordinatorMessage>();
    const { logger } = start({ onMessage: (message) => received.push(message) });
    (await connections.next()).ws.terminate();
    const second = await connections.next();
    second.ws.send(
      JSON.stringify({ type: 'welcome', protocol: 1, agentId: AGENT_ID, name: 'web1', serverTime: 1 }),
    );
    await received.next();
    second.ws.terminate();
    await connections.next();
    const attempts = logger.entries
      .filter((e) => e.message.startsWith('reconnecting'))
      .map((e) => e.fields?.attempt);
    // Without the reset the second would be attempt 2.
    expect(attempts).toEqual([1, 1]);
  });

  it('logs an HTTP refusal at upgrade with its status and keeps trying', async () => {
    refuseNext.push(401, 403);
    const { logger } = start();
    await connections.next();
    const lines = logger.lines().join('\n');
    expect(lines).toMatch(/refused the connection: HTTP 401/);
    expect(lines).toMatch(/refused the connection: HTTP 403/);
  });

  it.each([
    ['Revoked', CloseCode.Revoked],
    ['UnsupportedVersion', CloseCode.UnsupportedVersion],
  ])('stops reconnecting when closed with %s', async (name, code) => {
    const { link, logger, states } = start();
    const { ws } = await connections.next();
    ws.close(code, 'by admin');
    await waitFor(states, 'stopped');
    expect(link.state).toBe('stopped');
    expect(connections.pending).toBe(0);
    expect(logger.entries.find((entry) => entry.level === 'error')?.message).toContain(`${name} (${code})`);
  });

  it('drops a silent connection after the idle window and reconnects', async () => {
    const { logger } = start({ idleTimeoutMs: 30 });
    const first = await connections.next();
    const closed = once(first.ws, 'close');
    await connections.next();
    await closed;
    expect(logger.lines().join('\n')).toMatch(/no traffic from the coordinator/);
  });

  it('close() stops everything, even while waiting to reconnect', async () => {
    const { link, states } = start();
    const { ws } = await connections.next();
    ws.terminate();
    await waitFor(states, 'closed');
    await link.close();
    expect(link.state).toBe('stopped');
    expect(connections.pending).toBe(0);
  });
});

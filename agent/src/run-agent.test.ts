import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type WebSocket, WebSocketServer } from 'ws';
import { createManualClock } from '../../shared/src/clock.js';
import { createMemoryLogger } from '../../shared/src/logger.js';
import {
  type AgentMessage,
  type BriefingClaims,
  CloseCode,
  encodeMessage,
  parseAgentMessage,
} from '../../shared/src/protocol.js';
import { generateSigningKey, type SigningKeyPair } from '../../shared/src/signing.js';
import { randomId, signBriefing, signLease, signOrder } from '../../shared/src/tokens.js';
import { createWatchedLogger } from '../../test/helpers/watched-logger.js';
import type { AgentConfig } from './config.js';
import { runAgent } from './run-agent.js';
import { writeEnrollment } from './state-dir.js';
import { createAsyncQueue, createTempDir, recordedLines, recorderArgv } from './test-support.js';
import { createMagicPacket } from './wake/magic-packet.js';
import { toWakeConfig } from './wake/wake-config.js';

const T0 = Date.parse('2026-11-23T22:00:00Z');

describe('runAgent', () => {
  let wss: WebSocketServer;
  let dir: { path: string; remove(): Promise<void> };
  let coordinator: SigningKeyPair;
  let config: AgentConfig;
  let recordFile: string;
  const messages = createAsyncQueue<AgentMessage>();

  beforeEach(async () => {
    dir = await createTempDir('run-agent');
    coordinator = (await generateSigningKey()).keyPair;
    const agent = await generateSigningKey();
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/agent/v1/ws' });
    await once(wss, 'listening');
    const address = wss.address();
    if (address === null || typeof address === 'string') throw new Error('expected a TCP address');
    const coordinatorUrl = `http://127.0.0.1:${address.port}`;
    const stateDir = join(dir.path, 'state');
    await writeEnrollment(stateDir, {
      identity: {
        agentId: 'agent-web1',
        name: 'web1',
        coordinatorUrl,
        enrolledAt: new Date(T0).toISOString(),
      },
      privateKey: agent.stored,
      coordinatorKey: coordinator.publicJwk,
    });
    recordFile = join(dir.path, 'shutdown.log');
    config = {
      coordinator: coordinatorUrl,
      stateDir,
      source: 'test',
      ups: [],
      wake: undefined,
      clockTolerance: 30_000,
      host: {
        name: 'web1',
        shutdown: recorderArgv(recordFile),
        shutdownTimeout: 20_000,
        clockTolerance: 30_000,
        before: [],
        fallbackAfter: undefined,
      },
    };
  });

  afterEach(async () => {
    for (const client of wss.clients) client.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    await dir.remove();
  });

  it('connects, is welcomed, verifies an order, runs the shutdown once and reports it', async () => {
    const clock = createManualClock(T0);
    const logger = createMemoryLogger();
    wss.on('connection', (ws) => ws.on('message', (data) => messages.push(parseAgentMessage(String(data)))));
    const agent = await runAgent({ config, clock, logger, random: () => 0 });
    try {
      const [ws] = await once(wss, 'connection');
      expect((await messages.next()).type).toBe('hello');
      const welcome = encodeMessage({
        type: 'welcome',
        protocol: 1,
        agentId: 'agent-web1',
        name: 'web1',
        serverTime: T0,
      });
      ws.send(welcome);
      // An edge coordinator's keepalive: the same welcome again, on the same connection.
      ws.send(welcome);
      const orderId = randomId();
      const token = await signOrder(coordinator, {
        orderId,
        agentId: 'agent-web1',
        claims: { kind: 'shutdown', runId: 'run-1', stage: 'apps', drill: false },
        now: T0,
        expiresAt: T0 + 300_000,
      });
      ws.send(encodeMessage({ type: 'order', token }));
      expect(await messages.next()).toEqual({ type: 'ack', orderId, status: 'accepted' });
      expect(await messages.next()).toMatchObject({ type: 'result', orderId, outcome: 'started' });
      expect(await messages.next()).toMatchObject({
        type: 'result',
        orderId,
        outcome: 'succeeded',
        exitCode: 0,
      });

      ws.send(encodeMessage({ type: 'order', token }));
      expect(await messages.next()).toEqual({ type: 'ack', orderId, status: 'duplicate' });
      expect(await recordedLines(recordFile)).toEqual(['ran']);

      const lines = logger.lines().join('\n');
      expect(lines).toContain(`connected to ${config.coordinator.replace('http', 'ws')}/agent/v1/ws as web1`);
      expect(lines.match(/connected to/g)).toHaveLength(1);
      expect(logger.entries.filter((entry) => entry.message === 'welcome again (keepalive)')).toHaveLength(1);
      expect(lines).toMatch(/shutdown command exited 0/);
    } finally {
      await agent.stop();
    }
  });

  it('on its own: the fallback counts from the loss, a valid lease hands the decision back, a zero delay shuts down once', async () => {
    const clock = createManualClock(T0);
    const watched = createWatchedLogger();
    const sockets = createAsyncQueue<WebSocket>();
    wss.on('connection', (ws) => sockets.push(ws));
    const agent = await runAgent({
      config,
      clock,
      logger: watched.logger,
      random: () => 0,
      backoff: { initial: 20, max: 40 },
      bootTime: T0 - 60_000,
    });
    const brief = async (ws: WebSocket, version: number, power: 'online' | 'battery', after: number) => {
      const claims: BriefingClaims = {
        kind: 'briefing',
        version,
        feeds: [{ ups: 'nas-ups', power, dead: false, observedAt: T0 }],
        minSupplies: 1,
        fallback: { after },
        offline: [],
      };
      ws.send(
        encodeMessage({
          type: 'briefing',
          token: await signBriefing(coordinator, { agentId: 'agent-web1', claims, now: T0 }),
        }),
      );
      await watched.waitFor(
        new RegExp(`briefing ${version}: nas-ups ${power === 'online' ? 'online' : 'on battery'}`),
      );
    };
    const lease = async (ws: WebSocket, seq: number) =>
      ws.send(encodeMessage({ type: 'lease', token: await signLease(coordinator, seq, T0, 15_000) }));
    try {
      // On battery, no reading of its own, then the connection dies: a 10-minute countdown starts.
      const first = await sockets.next();
      await lease(first, 1);
      await brief(first, 1, 'battery', 600_000);
      first.terminate();
      await watched.waitFor(/on its own: lost the connection to the coordinator/);
      await watched.waitFor(/on its own: shutting down at \S+ \(in 10m\) by the fallback rule/);

      // A valid lease again: the coordinator decides; nothing ran.
      const second = await sockets.next();
      await lease(second, 2);
      await watched.waitFor(/a valid lease again after .* on its own: the coordinator decides/);
      expect(await recordedLines(recordFile)).toEqual([]);

      // On battery with a zero delay, and the connection dies: the configured shutdown runs, once.
      await brief(second, 3, 'battery', 0);
      second.terminate();
      await watched.waitFor(/offline shutdown succeeded/);
      expect(await recordedLines(recordFile)).toEqual(['ran']);
    } finally {
      await agent.stop();
    }
  });

  it('the fail-safe: a half-open connection counts as lost once the link gives up on it', async () => {
    const clock = createManualClock(T0);
    const watched = createWatchedLogger();
    const sockets = createAsyncQueue<WebSocket>();
    wss.on('connection', (ws) => sockets.push(ws));
    // The coordinator sends a briefing and then nothing at all, without closing: only the link's idle
    // timeout can tell.
    const agent = await runAgent({
      config,
      clock,
      logger: watched.logger,
      random: () => 0,
      idleTimeoutMs: 200,
      bootTime: T0 - 60_000,
    });
    try {
      const silent = await sockets.next();
      const claims: BriefingClaims = {
        kind: 'briefing',
        version: 1,
        feeds: [{ ups: 'nas-ups', power: 'battery', dead: true, observedAt: T0 }],
        minSupplies: 1,
        fallback: { after: 0 },
        offline: [],
      };
      const token = await signBriefing(coordinator, { agentId: 'agent-web1', claims, now: T0 });
      silent.send(encodeMessage({ type: 'briefing', token }));
      await watched.waitFor(/no traffic from the coordinator for 200ms: dropping the connection/);
      await watched.waitFor(/offline shutdown succeeded/);
      expect(await recordedLines(recordFile)).toEqual(['ran']);
    } finally {
      await agent.stop();
    }
  });

  it('routes wake orders through the same pipeline, and rejects kinds it cannot carry out', async () => {
    const udp = createSocket('udp4');
    udp.bind(0, '127.0.0.1');
    await once(udp, 'listening');
    const clock = createManualClock(T0);
    wss.on('connection', (ws) => ws.on('message', (data) => messages.push(parseAgentMessage(String(data)))));
    const agent = await runAgent({
      config: { ...config, wake: toWakeConfig({ allowed: ['127.0.0.1'] }) },
      clock,
      logger: createMemoryLogger(),
      random: () => 0,
    });
    try {
      const [ws] = await once(wss, 'connection');
      expect(await messages.next()).toMatchObject({ type: 'hello', roles: ['host'] });
      const sign = (orderId: string, claims: Parameters<typeof signOrder>[1]['claims']) =>
        signOrder(coordinator, { orderId, agentId: 'agent-web1', claims, now: T0, expiresAt: T0 + 60_000 });

      const wakeId = randomId();
      const packet = once(udp, 'message');
      const mac = '0a1b2c3d4e5f';
      const wake = {
        kind: 'wake',
        runId: 'run-1',
        host: 'db1',
        mac,
        address: '127.0.0.1',
        port: udp.address().port,
      } as const;
      ws.send(encodeMessage({ type: 'order', token: await sign(wakeId, wake) }));
      expect(await messages.next()).toEqual({ type: 'ack', orderId: wakeId, status: 'accepted' });
      expect(await messages.next()).toMatchObject({ type: 'result', orderId: wakeId, outcome: 'succeeded' });
      const [received] = (await packet) as [Buffer];
      expect(received).toEqual(createMagicPacket(mac));

      const powerOffId = randomId();
      const powerOff = {
        kind: 'ups-power-off',
        runId: 'run-1',
        ups: 'nas-ups',
        command: 'shutdown.return',
      } as const;
      ws.send(encodeMessage({ type: 'order', token: await sign(powerOffId, powerOff) }));
      expect(await messages.next()).toEqual({
        type: 'ack',
        orderId: powerOffId,
        status: 'rejected',
        reason: 'UPS nas-ups is not watched by this agent (no ups: list)',
      });
      expect(await recordedLines(recordFile)).toEqual([]);
    } finally {
      await agent.stop();
      udp.close();
    }
  });

  it('gives up, saying why, when the coordinator revokes the agent', async () => {
    wss.on('connection', (ws) => ws.close(CloseCode.Revoked, 'revoked by admin'));
    const logger = createMemoryLogger();
    const agent = await runAgent({ config, logger, random: () => 0 });
    await expect(agent.finished).resolves.toMatch(/closed the connection for good/);
    expect(logger.lines().join('\n')).toMatch(/error .*Revoked \(4403\): revoked by admin; not reconnecting/);
    await agent.stop();
  });

  it('explains that the state dir is not enrolled', async () => {
    await expect(
      runAgent({ config: { ...config, stateDir: join(dir.path, 'empty') }, logger: createMemoryLogger() }),
    ).rejects.toThrow(/not enrolled: .*upsfleet enroll/);
  });

  it('needs a role: a host section, a ups list or a bridge section', async () => {
    await expect(
      runAgent({ config: { ...config, host: undefined }, logger: createMemoryLogger() }),
    ).rejects.toThrow(/no host: section, ups: list or bridge: section/);
  });
});

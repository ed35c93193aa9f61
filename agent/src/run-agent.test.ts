import { once } from 'node:events';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { createManualClock } from '../../shared/src/clock.js';
import { createMemoryLogger } from '../../shared/src/logger.js';
import { type AgentMessage, CloseCode, encodeMessage, parseAgentMessage } from '../../shared/src/protocol.js';
import { generateSigningKey, type SigningKeyPair } from '../../shared/src/signing.js';
import { randomId, signOrder } from '../../shared/src/tokens.js';
import type { AgentConfig } from './config.js';
import { runAgent } from './run-agent.js';
import { writeEnrollment } from './state-dir.js';
import { createAsyncQueue, createTempDir, recordedLines, recorderArgv } from './test-support.js';

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
      host: {
        name: 'web1',
        shutdown: recorderArgv(recordFile),
        shutdownTimeout: 20_000,
        clockTolerance: 30_000,
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
      ws.send(
        encodeMessage({ type: 'welcome', protocol: 1, agentId: 'agent-web1', name: 'web1', serverTime: T0 }),
      );
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
      expect(lines).toMatch(/shutdown command exited 0/);
    } finally {
      await agent.stop();
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

  it('needs a role: a host section or a ups list', async () => {
    await expect(
      runAgent({ config: { ...config, host: undefined }, logger: createMemoryLogger() }),
    ).rejects.toThrow(/neither a host: section nor a ups: list/);
  });
});

import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createManualClock } from '../../../shared/src/clock.js';
import { createMemoryLogger } from '../../../shared/src/logger.js';
import type { AgentMessage } from '../../../shared/src/protocol.js';
import { generateSigningKey, type SigningKeyPair } from '../../../shared/src/signing.js';
import { randomId, signOrder } from '../../../shared/src/tokens.js';
import type { HostConfig } from '../config.js';
import { type ExecutedOrderStore, openExecutedOrders } from '../executed-orders.js';
import type { AgentIdentity } from '../state-dir.js';
import { createTempDir, recordedLines, recorderArgv } from '../test-support.js';
import { createAgentOrders } from './agent-orders.js';

const T0 = Date.parse('2026-11-23T22:00:00Z');
const identity: AgentIdentity = {
  agentId: 'agent-web1',
  name: 'web1',
  coordinatorUrl: 'http://127.0.0.1:8080',
  enrolledAt: '2026-11-01T00:00:00.000Z',
};

describe('the order pipeline of a host-only agent', () => {
  let coordinator: SigningKeyPair;
  let dir: { path: string; remove(): Promise<void> };
  let recordFile: string;
  let storeFile: string;
  const clock = createManualClock(T0);

  beforeEach(async () => {
    coordinator = (await generateSigningKey()).keyPair;
    dir = await createTempDir('host');
    recordFile = join(dir.path, 'shutdown.log');
    storeFile = join(dir.path, 'executed-orders.json');
    clock.set(T0);
  });
  afterEach(async () => dir.remove());

  function order(
    options: {
      id?: string;
      agentId?: string;
      drill?: boolean;
      now?: number;
      ttlMs?: number;
      key?: SigningKeyPair;
    } = {},
  ): Promise<string> {
    const now = options.now ?? clock.now();
    return signOrder(options.key ?? coordinator, {
      orderId: options.id ?? randomId(),
      agentId: options.agentId ?? identity.agentId,
      claims: { kind: 'shutdown', runId: 'run-1', stage: 'apps', drill: options.drill ?? false },
      now,
      expiresAt: now + (options.ttlMs ?? 300_000),
    });
  }

  async function createRole(
    options: {
      send?: (message: AgentMessage) => Promise<void>;
      shutdown?: string[];
      store?: ExecutedOrderStore;
    } = {},
  ) {
    const sent: AgentMessage[] = [];
    const logger = createMemoryLogger();
    const executed = options.store ?? (await openExecutedOrders(storeFile, { clock }));
    const config: HostConfig = {
      name: undefined,
      shutdown: options.shutdown ?? recorderArgv(recordFile),
      shutdownTimeout: 20_000,
      clockTolerance: 30_000,
      before: [],
      fallbackAfter: undefined,
    };
    // A host-only agent: wake and UPS power-off orders are refused, saying why.
    const role = createAgentOrders({
      config: { host: config, wake: undefined, ups: [], clockTolerance: config.clockTolerance },
      agentId: identity.agentId,
      coordinatorKey: coordinator.publicKey,
      executed,
      send:
        options.send ??
        (async (message) => {
          sent.push(message);
        }),
      clock,
      logger,
    });
    return { role, sent, logger, executed };
  }

  it('runs the configured command exactly once for a valid order and reports each step', async () => {
    const id = randomId();
    const { role, sent, logger, executed } = await createRole({
      shutdown: recorderArgv(recordFile, { storeFile, orderId: id }),
    });
    await role.handleOrder(await order({ id }));
    expect(await recordedLines(recordFile)).toEqual(['ran, id on disk']);
    expect(
      sent.map((m) => (m.type === 'ack' ? `ack ${m.status}` : m.type === 'result' ? m.outcome : m.type)),
    ).toEqual(['ack accepted', 'started', 'succeeded']);
    expect(sent[2]).toMatchObject({ type: 'result', orderId: id, exitCode: 0, signal: null });
    expect(executed.get(id)?.outcome).toBe('succeeded');
    expect(logger.lines().join('\n')).toMatch(/order .* accepted: stage apps, run run-1, running /);
    expect(logger.lines().join('\n')).toMatch(/shutdown command exited 0/);
  });

  it.each([
    [
      'forged (signed by another key)',
      async () => order({ key: (await generateSigningKey()).keyPair }),
      'bad_signature',
    ],
    [
      'tampered (one payload character flipped)',
      async () => {
        const [header, payload, signature] = (await order()).split('.');
        const at = Math.floor((payload?.length ?? 0) / 2);
        const flipped = `${payload?.slice(0, at)}${payload?.[at] === 'A' ? 'B' : 'A'}${payload?.slice(at + 1)}`;
        return `${header}.${flipped}.${signature}`;
      },
      'bad_signature',
    ],
    ['expired', async () => order({ now: T0 - 600_000, ttlMs: 300_000 }), 'expired'],
    ['addressed to another agent', async () => order({ agentId: 'agent-db1' }), 'wrong_audience'],
    ['not a token at all', async () => 'not-a-jws', 'malformed'],
  ])('refuses an order that is %s and runs nothing', async (_what, makeToken, reason) => {
    const { role, sent, logger, executed } = await createRole();
    await role.handleOrder(await makeToken());
    expect(sent).toEqual([expect.objectContaining({ type: 'ack', status: 'rejected', reason })]);
    expect(logger.lines().join('\n')).toContain(`order refused: ${reason}`);
    expect(executed.size).toBe(0);
    expect(await recordedLines(recordFile)).toEqual([]);
  });

  it('answers a replayed order as duplicate and does not run it again', async () => {
    const { role, sent } = await createRole();
    const token = await order();
    await role.handleOrder(token);
    await role.handleOrder(token);
    expect(await recordedLines(recordFile)).toEqual(['ran']);
    expect(sent.at(-1)).toMatchObject({ type: 'ack', status: 'duplicate' });
  });

  it('treats a copy arriving while the first still runs as a duplicate', async () => {
    const { role, sent } = await createRole();
    const token = await order();
    await Promise.all([role.handleOrder(token), role.handleOrder(token)]);
    expect(await recordedLines(recordFile)).toEqual(['ran']);
    const acks = sent.flatMap((m) => (m.type === 'ack' ? [m.status] : []));
    expect(acks.sort()).toEqual(['accepted', 'duplicate']);
  });

  it('remembers executed orders across a restart (new role, same state dir)', async () => {
    const token = await order();
    const first = await createRole();
    await first.role.handleOrder(token);
    await first.executed.flush();

    const second = await createRole();
    await second.role.handleOrder(token);
    expect(second.sent).toEqual([expect.objectContaining({ type: 'ack', status: 'duplicate' })]);
    expect(await recordedLines(recordFile)).toEqual(['ran']);
  });

  it('acknowledges a drill and reports it without running anything', async () => {
    const { role, sent, executed } = await createRole();
    const id = randomId();
    await role.handleOrder(await order({ id, drill: true }));
    expect(sent).toEqual([
      expect.objectContaining({ type: 'ack', status: 'accepted', orderId: id }),
      expect.objectContaining({ type: 'result', outcome: 'drill', orderId: id }),
    ]);
    expect(executed.get(id)?.outcome).toBe('drill');
    expect(await recordedLines(recordFile)).toEqual([]);
  });

  it('still shuts down, once, when nothing can be sent to the coordinator', async () => {
    const { role, logger, executed } = await createRole({
      send: () => Promise.reject(new Error('not connected to the coordinator')),
    });
    const id = randomId();
    const token = await order({ id });
    await role.handleOrder(token);
    await role.handleOrder(token);
    expect(await recordedLines(recordFile)).toEqual(['ran']);
    expect(executed.get(id)?.outcome).toBe('succeeded');
    expect(logger.lines().join('\n')).toMatch(/could not send ack to the coordinator/);
  });

  it('still shuts down when the executed-order file cannot be written, and remembers the id in memory', async () => {
    const store = await openExecutedOrders(join(dir.path, 'missing-dir', 'executed-orders.json'), { clock });
    const { role, sent, logger } = await createRole({ store });
    const token = await order();
    await role.handleOrder(token);
    await role.handleOrder(token);
    expect(await recordedLines(recordFile)).toEqual(['ran']);
    expect(sent.at(-1)).toMatchObject({ type: 'ack', status: 'duplicate' });
    expect(logger.lines().join('\n')).toMatch(/error could not record order .* durably/);
  });

  it('reports a failing command with its exit code and output', async () => {
    const { role, sent, executed } = await createRole({
      shutdown: [process.execPath, '-e', "console.error('poweroff: permission denied'); process.exit(4)"],
    });
    const id = randomId();
    await role.handleOrder(await order({ id }));
    expect(sent.at(-1)).toMatchObject({ type: 'result', outcome: 'failed', exitCode: 4 });
    expect(sent.at(-1)).toHaveProperty('output', expect.stringContaining('permission denied'));
    expect(executed.get(id)?.outcome).toBe('failed');
  });
});

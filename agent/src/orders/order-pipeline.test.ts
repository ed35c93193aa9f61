import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createMemoryLogger } from '../../../shared/src/logger.js';
import { encodeMessage, parseAgentMessage } from '../../../shared/src/protocol.js';
import { generateSigningKey } from '../../../shared/src/signing.js';
import { randomId, signOrder } from '../../../shared/src/tokens.js';
import { openExecutedOrders } from '../executed-orders.js';
import type { RunResult } from '../shutdown-runner.js';
import { createTempDir } from '../test-support.js';
import { toWakeConfig } from '../wake/wake-config.js';
import { createAgentOrders, type OrderSeams } from './agent-orders.js';
import { createOrderPipeline } from './order-pipeline.js';
import { accept, type OrderDecision } from './order-plan.js';
import {
  AGENT_ID,
  createOrderSigner,
  createSentFrames,
  createTestClock,
  type OrderSigner,
  powerOffClaims,
  shutdownClaims,
  T0,
  wakeClaims,
} from './order-test-support.js';

const HOST = {
  name: undefined,
  shutdown: ['/bin/true'],
  shutdownTimeout: 20_000,
  clockTolerance: 30_000,
  before: [],
  fallbackAfter: undefined,
};

describe('order pipeline', () => {
  let dir: { path: string; remove(): Promise<void> };
  let signer: OrderSigner;
  const clock = createTestClock();

  beforeEach(async () => {
    dir = await createTempDir('pipeline');
    signer = await createOrderSigner();
  });
  afterEach(async () => dir.remove());

  const store = () => openExecutedOrders(join(dir.path, 'executed.json'), { clock });

  async function agent(host: typeof HOST | undefined, seams: OrderSeams = {}, bootTime?: number) {
    const sent = createSentFrames();
    const executed = await store();
    const config = {
      host,
      wake: toWakeConfig({ allowed: ['192.0.2.255'] }),
      ups: [],
      clockTolerance: 30_000,
    };
    const orders = createAgentOrders({
      ...seams,
      config,
      agentId: AGENT_ID,
      coordinatorKey: signer.keyPair.publicKey,
      executed,
      send: sent.send,
      clock,
      logger: createMemoryLogger(),
      ...(bootTime === undefined ? {} : { bootTime }),
    });
    return { sent, executed, orders };
  }

  it('refuses a real shutdown order issued before this machine booted (it was already down), not a drill', async () => {
    const runs: string[][] = [];
    const run = async (argv: readonly string[]): Promise<RunResult> => {
      runs.push([...argv]);
      return { exitCode: 0, signal: null, output: '', timedOut: false };
    };
    // Booted a minute ago; the first order was signed three minutes ago (still unexpired).
    const bootTime = T0 - 60_000;
    const { sent, executed, orders } = await agent(HOST, { run }, bootTime);
    await orders.handleOrder(await signer.sign(shutdownClaims(false), { now: T0 - 180_000 }));
    expect(sent.frames).toEqual([
      expect.objectContaining({
        type: 'ack',
        status: 'rejected',
        reason: expect.stringContaining('before this host booted'),
      }),
    ]);
    expect(runs).toEqual([]);
    expect(executed.size).toBe(0);
    // An order issued after the boot is carried out as usual.
    await orders.handleOrder(await signer.sign(shutdownClaims(false), { now: T0 }));
    await orders.idle();
    expect(runs).toEqual([['/bin/true']]);
  });

  it('verifies every kind before deciding, and rejects the kinds this agent cannot do, saying why', async () => {
    const { sent, executed, orders } = await agent(undefined);
    const forged = await signOrder((await generateSigningKey()).keyPair, {
      orderId: randomId(),
      agentId: AGENT_ID,
      claims: wakeClaims('192.0.2.255', 9),
      now: T0,
      expiresAt: T0 + 60_000,
    });
    await orders.handleOrder(forged);
    await orders.handleOrder(await signer.sign(shutdownClaims(false)));
    await orders.handleOrder(await signer.sign(shutdownClaims(true)));
    await orders.handleOrder(await signer.sign(powerOffClaims('nas-ups')));
    expect(sent.frames.map((m) => (m.type === 'ack' ? m.reason : m.type))).toEqual([
      'bad_signature',
      'no host: section: this agent does not shut its host down',
      'no host: section: this agent does not shut its host down',
      'UPS nas-ups is not watched by this agent (no ups: list)',
    ]);
    expect(executed.size).toBe(0);
  });

  it('carries out a wake while a shutdown of the same agent is still running', async () => {
    let finishShutdown: (result: RunResult) => void = () => undefined;
    const running = new Promise<RunResult>((resolve) => {
      finishShutdown = resolve;
    });
    let shutdownRuns: () => void = () => undefined;
    const runStarted = new Promise<void>((resolve) => {
      shutdownRuns = resolve;
    });
    const targets: string[] = [];
    const { sent, orders } = await agent(HOST, {
      run: () => {
        shutdownRuns();
        return running;
      },
      sendWake: async (target) => {
        targets.push(`${target.address}:${target.port}`);
      },
    });
    const shutdownId = randomId();
    const wakeId = randomId();
    const shutdown = orders.handleOrder(await signer.sign(shutdownClaims(false), { id: shutdownId }));
    await runStarted;
    await orders.handleOrder(await signer.sign(wakeClaims('192.0.2.255', 9), { id: wakeId }));
    const of = (id: string) =>
      sent.frames.flatMap((m) =>
        m.type === 'ack' && m.orderId === id
          ? [`ack ${m.status}`]
          : m.type === 'result' && m.orderId === id
            ? [m.outcome]
            : [],
      );
    expect(targets).toEqual(['192.0.2.255:9']);
    expect(of(wakeId)).toEqual(['ack accepted', 'succeeded']);
    expect(of(shutdownId)).not.toContain('succeeded');
    finishShutdown({ exitCode: 0, signal: null, output: '', timedOut: false });
    await shutdown;
    await orders.idle();
    expect(of(shutdownId)).toEqual(['ack accepted', 'started', 'succeeded']);
  });

  async function pipelineWith(decide: () => OrderDecision) {
    const sent = createSentFrames();
    const executed = await store();
    const pipeline = createOrderPipeline({
      agentId: AGENT_ID,
      coordinatorKey: signer.keyPair.publicKey,
      clockToleranceMs: 30_000,
      executed,
      decide,
      send: sent.send,
      clock,
      logger: createMemoryLogger(),
    });
    const id = randomId();
    await pipeline.handleOrder(await signer.sign(wakeClaims('192.0.2.255', 9), { id }));
    return { sent, outcome: executed.get(id)?.outcome };
  }

  it('reports a plan that throws as failed, and a decider that throws as a rejection', async () => {
    const plan = (act: () => never): OrderDecision =>
      accept({
        summary: 'test',
        recordAs: 'accepted',
        whenUnrecorded: 'proceed',
        whenInterrupted: 'duplicate',
        act: async () => act(),
      });
    const thrown = await pipelineWith(() =>
      plan(() => {
        throw new Error('socket exploded');
      }),
    );
    expect(thrown.sent.frames.at(-1)).toMatchObject({ outcome: 'failed', error: 'socket exploded' });
    expect(thrown.outcome).toBe('failed');

    const undecided = await pipelineWith(() => {
      throw new Error('no idea');
    });
    expect(undecided.sent.frames).toEqual([
      expect.objectContaining({ status: 'rejected', reason: 'could not plan the order: no idea' }),
    ]);
  });

  it('waits for the accepted ack at most a moment, and leaves no timer behind once it is written', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const ran: string[] = [];
      const run = async (argv: readonly string[]): Promise<RunResult> => {
        ran.push(argv.join(' '));
        return { exitCode: 0, signal: null, output: '', timedOut: false };
      };
      const { sent, orders } = await agent(HOST, { run });
      await orders.handleOrder(await signer.sign(shutdownClaims(false)));
      expect(sent.summary()).toEqual(['ack accepted', 'result started', 'result succeeded']);
      expect(ran).toEqual(['/bin/true']);
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('keeps result frames within the protocol limits (tail of the output, head of the error)', async () => {
    const { sent } = await pipelineWith(() =>
      accept({
        summary: 'test',
        recordAs: 'accepted',
        whenUnrecorded: 'proceed',
        whenInterrupted: 'duplicate',
        act: async () => ({
          outcome: 'failed',
          output: `${'x'.repeat(5000)}END`,
          error: `START${'y'.repeat(600)}`,
        }),
      }),
    );
    const last = sent.frames.at(-1);
    if (last === undefined) throw new Error('nothing was sent');
    const parsed = parseAgentMessage(encodeMessage(last));
    expect(parsed).toMatchObject({ type: 'result', outcome: 'failed' });
    if (parsed.type !== 'result') throw new Error('expected a result frame');
    expect(parsed.output).toHaveLength(4096);
    expect(parsed.output?.endsWith('END')).toBe(true);
    expect(parsed.error).toHaveLength(512);
    expect(parsed.error?.startsWith('START')).toBe(true);
  });

  it('keeps progress frames within the protocol limits too', async () => {
    const { sent } = await pipelineWith(() =>
      accept({
        summary: 'test',
        recordAs: 'accepted',
        whenUnrecorded: 'proceed',
        whenInterrupted: 'duplicate',
        act: async (report) => {
          report.progress({
            step: 's'.repeat(80),
            state: 'failed',
            exitCode: 1,
            output: `${'x'.repeat(5000)}END`,
          });
          return { outcome: 'succeeded' };
        },
      }),
    );
    const progress = sent.frames.find((frame) => frame.type === 'progress');
    if (progress === undefined) throw new Error('no progress frame');
    const parsed = parseAgentMessage(encodeMessage(progress));
    if (parsed.type !== 'progress') throw new Error('expected a progress frame');
    expect(parsed.step).toHaveLength(64);
    expect(parsed.output).toHaveLength(4096);
    expect(parsed.output?.endsWith('END')).toBe(true);
  });
});

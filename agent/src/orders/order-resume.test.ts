import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createManualClock } from '../../../shared/src/clock.js';
import { createMemoryLogger } from '../../../shared/src/logger.js';
import { randomId } from '../../../shared/src/tokens.js';
import { type ExecutedOutcome, openExecutedOrders } from '../executed-orders.js';
import type { RunResult } from '../shutdown-runner.js';
import { createTempDir } from '../test-support.js';
import { createAgentOrders } from './agent-orders.js';
import {
  AGENT_ID,
  createOrderSigner,
  createSentFrames,
  type OrderSigner,
  shutdownClaims,
  T0,
} from './order-test-support.js';

/** Harmless argv: the `run` seam below only records them; nothing is ever spawned. */
const HOST = {
  name: undefined,
  shutdown: ['shutdown-recorder'],
  shutdownTimeout: 20_000,
  clockTolerance: 30_000,
  before: [{ name: 'stop-app', run: ['stop-app-recorder'], timeout: 60_000 }],
  fallbackAfter: undefined,
};

const OK: RunResult = { exitCode: 0, signal: null, output: '', timedOut: false };

/** A point a run waits at until the test lets it go, and a promise that says it got there. */
function createGate() {
  let arrive: () => void = () => undefined;
  let release: () => void = () => undefined;
  const reached = new Promise<void>((resolve) => {
    arrive = resolve;
  });
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const wait = (): Promise<void> => {
    arrive();
    return released;
  };
  return { reached, release, wait };
}

describe('a shutdown order interrupted by an agent restart', () => {
  let dir: { path: string; remove(): Promise<void> };
  let file: string;
  let signer: OrderSigner;
  const orderId = randomId();
  const clock = createManualClock(T0);

  beforeEach(async () => {
    dir = await createTempDir('resume');
    file = join(dir.path, 'executed.json');
    signer = await createOrderSigner();
    clock.set(T0);
  });
  afterEach(async () => dir.remove());

  const sign = () => signer.sign(shutdownClaims(false), { id: orderId, now: T0 });

  /** What the previous agent process left on disk before it died: the order, recorded as `outcome`. */
  async function previousProcessDied(outcome: 'accepted' | 'started' | 'succeeded'): Promise<void> {
    const store = await openExecutedOrders(file, { clock });
    await store.record(orderId, { at: T0 + 1_000, expiresAt: T0 + 300_000 });
    if (outcome !== 'accepted') await store.complete(orderId, outcome);
  }

  /** What a restart would find on disk for the order right now (writes still pending do not count). */
  async function onDisk(): Promise<ExecutedOutcome | undefined> {
    return (await openExecutedOrders(file, { clock })).get(orderId)?.outcome;
  }

  /** A fresh agent process on the same state file; its `run` records each argv[0] and the order's outcome on disk then. */
  async function agent(options: { bootTime: number | undefined; gate?: ReturnType<typeof createGate> }) {
    const sent = createSentFrames();
    const logger = createMemoryLogger();
    const executed = await openExecutedOrders(file, { clock });
    const runs: string[] = [];
    const run = async (argv: readonly string[]): Promise<RunResult> => {
      runs.push(`${argv[0]}: ${await onDisk()}`);
      if (argv[0] === 'stop-app-recorder') await options.gate?.wait();
      return OK;
    };
    const orders = createAgentOrders({
      config: { host: HOST, wake: undefined, ups: [], clockTolerance: 30_000 },
      agentId: AGENT_ID,
      coordinatorKey: signer.keyPair.publicKey,
      executed,
      send: sent.send,
      clock,
      logger,
      run,
      ...(options.bootTime === undefined ? {} : { bootTime: options.bootTime }),
    });
    const frames = () => sent.summary().filter((frame) => frame !== 'progress');
    return { frames, logger, executed, runs, orders };
  }

  it('carries out again, hooks included, an order the previous process left accepted during its hooks', async () => {
    await previousProcessDied('accepted');
    clock.set(T0 + 30_000);
    const { frames, logger, runs, orders } = await agent({ bootTime: T0 - 3_600_000 });
    await orders.handleOrder(await sign());
    await orders.idle();
    // The hook ran with the order still `accepted`; `started` was on disk before the shutdown command ran.
    expect(runs).toEqual(['stop-app-recorder: accepted', 'shutdown-recorder: started']);
    expect(frames()).toEqual(['ack accepted', 'result started', 'result succeeded']);
    expect(await onDisk()).toBe('succeeded');
    expect(logger.lines().join('\n')).toContain(
      `warn resuming order ${orderId.slice(0, 8)}… interrupted by an agent restart before its shutdown command ran`,
    );

    // Once finished, a further copy is a duplicate.
    await orders.handleOrder(await sign());
    expect(frames().at(-1)).toBe('ack duplicate');
    expect(runs).toHaveLength(2);
  });

  it.each<
    [
      string,
      { left: 'accepted' | 'started' | 'succeeded'; bootTime: number | undefined; now: number },
      string,
    ]
  >([
    [
      'the machine rebooted since (the shutdown did happen)',
      { left: 'accepted', bootTime: T0 + 60_000, now: T0 + 90_000 },
      'recorded before this machine booted: the shutdown did happen',
    ],
    [
      'the order has expired (within the clock tolerance, so it still verifies)',
      { left: 'accepted', bootTime: T0 - 3_600_000, now: T0 + 310_000 },
      'never finished, but the order has expired',
    ],
    [
      'the boot time is unknown',
      { left: 'accepted', bootTime: undefined, now: T0 + 30_000 },
      'never finished, but the boot time is unknown',
    ],
    [
      'its shutdown command had started (it may be what killed the agent)',
      { left: 'started', bootTime: T0 - 3_600_000, now: T0 + 30_000 },
      'its shutdown command had started before an agent restart: not repeating it',
    ],
    ['it finished', { left: 'succeeded', bootTime: T0 - 3_600_000, now: T0 + 30_000 }, 'already handled'],
  ])('answers a copy as a duplicate and runs nothing when %s', async (_when, setup, why) => {
    await previousProcessDied(setup.left);
    clock.set(setup.now);
    const { frames, logger, runs, orders } = await agent({ bootTime: setup.bootTime });
    await orders.handleOrder(await sign());
    await orders.idle();
    expect(frames()).toEqual(['ack duplicate']);
    expect(runs).toEqual([]);
    expect(await onDisk()).toBe(setup.left);
    expect(logger.lines().join('\n')).toContain(`is a duplicate (${why})`);
  });

  it.each([
    ['a new order', false],
    ['a resumed order', true],
  ])('answers a copy as a duplicate while this process is still carrying out %s', async (_what, resumed) => {
    if (resumed) await previousProcessDied('accepted');
    const gate = createGate();
    const { frames, logger, runs, orders } = await agent({ bootTime: T0 - 3_600_000, gate });
    const first = orders.handleOrder(await sign());
    await gate.reached;
    await orders.handleOrder(await sign());
    expect(frames()).toEqual(['ack accepted', 'ack duplicate']);
    expect(logger.lines().join('\n')).toContain('is a duplicate (it is being carried out now)');
    gate.release();
    await first;
    await orders.idle();
    expect(runs).toEqual(['stop-app-recorder: accepted', 'shutdown-recorder: started']);
    expect(frames()).toEqual(['ack accepted', 'ack duplicate', 'result started', 'result succeeded']);
  });
});

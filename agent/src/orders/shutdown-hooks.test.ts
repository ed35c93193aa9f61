import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMemoryLogger } from '../../../shared/src/logger.js';
import type { AgentMessage } from '../../../shared/src/protocol.js';
import { randomId } from '../../../shared/src/tokens.js';
import { openExecutedOrders } from '../executed-orders.js';
import { createTempDir, recordedLines } from '../test-support.js';
import { createAgentOrders } from './agent-orders.js';
import type { BeforeHook } from './before-hooks.js';
import {
  createOrderSigner,
  createSentFrames,
  createTestClock,
  shutdownClaims,
} from './order-test-support.js';

/** Appends `line` to the record, then runs `then` (JavaScript): a harmless hook or "shutdown". */
const recorder = (record: string, line: string, then = ''): string[] => [
  process.execPath,
  '-e',
  `require('node:fs').appendFileSync(process.argv[1], '${line}\\n'); ${then}`,
  record,
];

/** One frame as a short string: "progress flaky failed 3", "result started", "ack accepted". */
function brief(frame: AgentMessage): string {
  if (frame.type === 'progress')
    return `progress ${frame.step} ${frame.state}${frame.exitCode ? ` ${frame.exitCode}` : ''}`;
  if (frame.type === 'result') return `result ${frame.outcome}`;
  return frame.type === 'ack' ? `ack ${frame.status}` : frame.type;
}

describe('shutdown orders with before hooks', () => {
  let dir: { path: string; remove(): Promise<void> };
  let record: string;
  const clock = createTestClock();

  beforeEach(async () => {
    dir = await createTempDir('shutdown-hooks');
    record = join(dir.path, 'record.log');
  });
  afterEach(async () => dir.remove());

  async function agentWith(send: (message: AgentMessage) => Promise<void>) {
    const signer = await createOrderSigner();
    const logger = createMemoryLogger();
    const before: BeforeHook[] = [
      { name: 'stop-app', run: recorder(record, 'stop-app'), timeout: 20_000 },
      { name: 'flaky', run: recorder(record, 'flaky', 'process.exit(3)'), timeout: 20_000 },
    ];
    const orders = createAgentOrders({
      config: {
        host: {
          name: undefined,
          shutdown: recorder(record, 'shutdown'),
          shutdownTimeout: 20_000,
          clockTolerance: 30_000,
          before,
          fallbackAfter: undefined,
        },
        wake: undefined,
        ups: [],
        clockTolerance: 30_000,
      },
      agentId: 'agent-nas',
      coordinatorKey: signer.keyPair.publicKey,
      executed: await openExecutedOrders(join(dir.path, 'executed.json'), { clock }),
      send,
      clock,
      logger,
    });
    const order = () => signer.sign(shutdownClaims(false), { id: randomId() });
    return { orders, logger, order };
  }

  it('runs the hooks in order, then the shutdown even though a hook failed, reporting every step', async () => {
    const sent = createSentFrames();
    const { orders, logger, order } = await agentWith(sent.send);
    await orders.handleOrder(await order());
    expect(await recordedLines(record)).toEqual(['stop-app', 'flaky', 'shutdown']);
    expect(sent.frames.map(brief)).toEqual([
      'ack accepted',
      'progress stop-app started',
      'progress stop-app succeeded',
      'progress flaky started',
      'progress flaky failed 3',
      'progress shutdown started',
      'result started',
      'result succeeded',
    ]);
    expect(logger.lines().join('\n')).toContain(
      'warn 1 of 2 before hooks did not succeed (flaky exited 3); shutting down anyway',
    );
  });

  it('still runs everything when no frame can be sent (the link is down)', async () => {
    const { orders, logger, order } = await agentWith(async () => {
      throw new Error('not connected to the coordinator (closed)');
    });
    await orders.handleOrder(await order());
    expect(await recordedLines(record)).toEqual(['stop-app', 'flaky', 'shutdown']);
    expect(logger.lines().join('\n')).toMatch(
      /warn could not send progress to the coordinator: not connected/,
    );
  });

  it('never waits for a frame to go out before acting (a link that hangs)', async () => {
    let finished: (frame: AgentMessage) => void = () => undefined;
    const last = new Promise<AgentMessage>((resolve) => {
      finished = resolve;
    });
    const { orders, order } = await agentWith((message) => {
      if (message.type === 'result' && message.outcome !== 'started') finished(message);
      return new Promise<void>(() => undefined);
    });
    // handleOrder waits for the final result to be written, which never happens here: not awaited.
    void orders.handleOrder(await order());
    expect(await last).toMatchObject({ type: 'result', outcome: 'succeeded' });
    expect(await recordedLines(record)).toEqual(['stop-app', 'flaky', 'shutdown']);
  });
});

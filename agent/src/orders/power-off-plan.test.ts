import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMemoryLogger } from '../../../shared/src/logger.js';
import { randomId } from '../../../shared/src/tokens.js';
import { type FakeUpsd, type Responder, startFakeUpsd } from '../../../test/nut/fake-upsd.js';
import type { UpsWatchConfig } from '../config.js';
import { openExecutedOrders } from '../executed-orders.js';
import { createTempDir } from '../test-support.js';
import { createAgentOrders } from './agent-orders.js';
import {
  AGENT_ID,
  createOrderSigner,
  createSentFrames,
  createTestClock,
  type OrderSigner,
  powerOffClaims,
} from './order-test-support.js';

/** upsd that accepts any credentials and answers INSTCMD with `instcmdReply`. */
const scripted =
  (instcmdReply: string): Responder =>
  (line, connection) => {
    if (line.startsWith('USERNAME ') || line.startsWith('PASSWORD ')) connection.write('OK\n');
    else if (line.startsWith('INSTCMD ')) connection.write(instcmdReply);
    else connection.write('ERR UNKNOWN-COMMAND\n');
  };

function upsEntry(upsd: { host: string; port: number }, extra: Partial<UpsWatchConfig> = {}): UpsWatchConfig {
  return {
    id: 'nas-ups',
    upsd,
    name: 'ups',
    username: 'monuser',
    password: 'secret',
    pollInterval: 1_000,
    deadTime: 15_000,
    snapshotInterval: 60_000,
    alertSnapshotInterval: 5_000,
    powerOff: { username: 'admin', password: 'admin-s3cret' },
    ...extra,
  };
}

describe('UPS power-off orders', () => {
  let dir: { path: string; remove(): Promise<void> };
  let signer: OrderSigner;
  let upsd: FakeUpsd | undefined;
  const clock = createTestClock();

  beforeEach(async () => {
    dir = await createTempDir('power-off');
    signer = await createOrderSigner();
  });
  afterEach(async () => {
    await upsd?.close();
    upsd = undefined;
    await dir.remove();
  });

  async function setup(ups: UpsWatchConfig[], storeFile = join(dir.path, 'executed.json')) {
    const sent = createSentFrames();
    const logger = createMemoryLogger();
    const executed = await openExecutedOrders(storeFile, { clock });
    const orders = createAgentOrders({
      config: { host: undefined, wake: undefined, ups, clockTolerance: 30_000 },
      agentId: AGENT_ID,
      coordinatorKey: signer.keyPair.publicKey,
      executed,
      send: sent.send,
      clock,
      logger,
      nutTimeoutMs: 5_000,
    });
    return { sent, logger, executed, orders };
  }

  it('logs in with the powerOff account, sends the INSTCMD and reports upsd OK', async () => {
    upsd = await startFakeUpsd(scripted('OK\n'));
    const { sent, executed, orders, logger } = await setup([upsEntry(upsd)]);
    const id = randomId();
    await orders.handleOrder(await signer.sign(powerOffClaims('nas-ups'), { id }));
    expect(upsd.received.map((r) => r.line)).toEqual([
      'USERNAME "admin"',
      'PASSWORD "admin-s3cret"',
      'INSTCMD ups shutdown.return',
    ]);
    await (await upsd.connection(0)).closed;
    expect(sent.summary()).toEqual(['ack accepted', 'result succeeded']);
    expect(sent.frames.at(-1)).toMatchObject({
      output: `upsd OK for INSTCMD shutdown.return on ups@127.0.0.1:${upsd.port}`,
    });
    expect(executed.get(id)?.outcome).toBe('succeeded');
    expect(logger.lines().join('\n')).toMatch(
      /accepted: sending INSTCMD shutdown.return on UPS nas-ups .* as admin/,
    );
    expect(JSON.stringify([sent.frames, logger.lines()])).not.toContain('admin-s3cret');
  });

  it("reports upsd's ERR code when the account may not run the command", async () => {
    upsd = await startFakeUpsd(scripted('ERR ACCESS-DENIED\n'));
    const { sent, executed, orders } = await setup([upsEntry(upsd)]);
    const id = randomId();
    await orders.handleOrder(await signer.sign(powerOffClaims('nas-ups'), { id }));
    expect(sent.summary()).toEqual(['ack accepted', 'result failed']);
    expect(sent.frames.at(-1)).toMatchObject({
      error: 'upsd ERR ACCESS-DENIED for INSTCMD ups shutdown.return',
    });
    expect(executed.get(id)?.outcome).toBe('failed');
    await (await upsd.connection(0)).closed;
  });

  it('reports an unreachable upsd as failed', async () => {
    const gone = await startFakeUpsd(scripted('OK\n'));
    await gone.close();
    const { sent, orders } = await setup([upsEntry(gone)]);
    await orders.handleOrder(await signer.sign(powerOffClaims('nas-ups')));
    expect(sent.summary()).toEqual(['ack accepted', 'result failed']);
    expect(sent.frames.at(-1)).toMatchObject({
      error: expect.stringMatching(new RegExp(`^upsd at ups@127\\.0\\.0\\.1:${gone.port}: `)),
    });
  });

  it.each<[string, string, Partial<UpsWatchConfig>, string]>([
    [
      'a UPS this agent does not watch',
      'rack-ups',
      {},
      'UPS rack-ups is not watched by this agent (it watches nas-ups)',
    ],
    [
      'a UPS without a powerOff account',
      'nas-ups',
      { powerOff: undefined },
      "UPS nas-ups has no powerOff account in this agent's config, so it cannot send INSTCMD",
    ],
  ])('rejects an order for %s and talks to no upsd', async (_what, ups, extra, reason) => {
    upsd = await startFakeUpsd(scripted('OK\n'));
    const { sent, executed, orders } = await setup([upsEntry(upsd, extra)]);
    await orders.handleOrder(await signer.sign(powerOffClaims(ups)));
    expect(sent.frames).toEqual([{ type: 'ack', orderId: expect.any(String), status: 'rejected', reason }]);
    expect(executed.size).toBe(0);
    expect(upsd.received).toEqual([]);
  });

  it('rejects an order for an agent without a ups: list', async () => {
    const { sent, orders } = await setup([]);
    await orders.handleOrder(await signer.sign(powerOffClaims('nas-ups')));
    expect(sent.frames).toEqual([
      expect.objectContaining({
        status: 'rejected',
        reason: 'UPS nas-ups is not watched by this agent (no ups: list)',
      }),
    ]);
  });

  it('refuses, rather than risk a repeat, when the order cannot be recorded durably', async () => {
    upsd = await startFakeUpsd(scripted('OK\n'));
    const { sent, orders, logger } = await setup(
      [upsEntry(upsd)],
      join(dir.path, 'missing-dir', 'executed.json'),
    );
    const token = await signer.sign(powerOffClaims('nas-ups'));
    await orders.handleOrder(token);
    await orders.handleOrder(token);
    expect(sent.summary()).toEqual(['ack rejected', 'ack duplicate']);
    expect(sent.frames[0]).toMatchObject({
      reason:
        'could not record the order durably, and carrying out a ups-power-off order twice could do harm',
    });
    expect(logger.lines().join('\n')).toMatch(/error could not record order .* durably/);
    expect(upsd.received).toEqual([]);
  });
});

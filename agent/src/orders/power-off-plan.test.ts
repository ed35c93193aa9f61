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

/** upsd that accepts any credentials, reports `ups.status` as `status` and answers INSTCMD with `instcmdReply`. */
const scripted =
  (instcmdReply: string, status = 'OB DISCHRG'): Responder =>
  (line, connection) => {
    if (line.startsWith('USERNAME ') || line.startsWith('PASSWORD ')) connection.write('OK\n');
    else if (line === 'GET VAR ups ups.status') connection.write(`VAR ups ups.status "${status}"\n`);
    else if (line.startsWith('INSTCMD ')) connection.write(instcmdReply);
    else connection.write('ERR UNKNOWN-COMMAND\n');
  };

const LOGIN_AND_STATUS = ['USERNAME "admin"', 'PASSWORD "admin-s3cret"', 'GET VAR ups ups.status'];

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

  async function setup(
    ups: UpsWatchConfig[],
    storeFile = join(dir.path, 'executed.json'),
    bootTime: number | undefined = undefined,
  ) {
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
      ...(bootTime === undefined ? {} : { bootTime }),
    });
    return { sent, logger, executed, orders };
  }

  it('logs in with the powerOff account, sends the INSTCMD and reports upsd OK', async () => {
    upsd = await startFakeUpsd(scripted('OK\n'));
    const { sent, executed, orders, logger } = await setup([upsEntry(upsd)]);
    const id = randomId();
    await orders.handleOrder(await signer.sign(powerOffClaims('nas-ups'), { id }));
    expect(upsd.received.map((r) => r.line)).toEqual([...LOGIN_AND_STATUS, 'INSTCMD ups shutdown.return']);
    await (await upsd.connection(0)).closed;
    expect(sent.summary()).toEqual(['ack accepted', 'result succeeded']);
    expect(sent.frames.at(-1)).toMatchObject({
      output: `upsd OK for INSTCMD shutdown.return on ups@127.0.0.1:${upsd.port} (ups.status OB DISCHRG)`,
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

  it.each<[string, string]>([
    ['OL', 'power is back (ups.status OL): not powering the UPS off'],
    ['OL CHRG', 'power is back (ups.status OL CHRG): not powering the UPS off'],
    ['OFF', 'the UPS is not on battery (ups.status OFF): not powering the UPS off'],
  ])('refuses when ups.status is %s, and never sends the INSTCMD', async (status, error) => {
    upsd = await startFakeUpsd(scripted('OK\n', status));
    const { sent, executed, orders } = await setup([upsEntry(upsd)]);
    const id = randomId();
    await orders.handleOrder(await signer.sign(powerOffClaims('nas-ups'), { id }));
    await (await upsd.connection(0)).closed;
    expect(upsd.received.map((r) => r.line)).toEqual(LOGIN_AND_STATUS);
    expect(sent.summary()).toEqual(['ack accepted', 'result failed']);
    expect(sent.frames.at(-1)).toMatchObject({ error });
    expect(executed.get(id)?.outcome).toBe('failed');
  });

  it.each(['OB DISCHRG', 'OB LB', 'FSD OL'])('sends the INSTCMD when ups.status is %s', async (status) => {
    upsd = await startFakeUpsd(scripted('OK\n', status));
    const { sent, orders } = await setup([upsEntry(upsd)]);
    await orders.handleOrder(await signer.sign(powerOffClaims('nas-ups')));
    await (await upsd.connection(0)).closed;
    expect(upsd.received.map((r) => r.line)).toEqual([...LOGIN_AND_STATUS, 'INSTCMD ups shutdown.return']);
    expect(sent.summary()).toEqual(['ack accepted', 'result succeeded']);
  });

  it('refuses when upsd cannot say the UPS status, and never sends the INSTCMD', async () => {
    upsd = await startFakeUpsd((line, connection) => {
      if (line.startsWith('GET VAR ')) connection.write('ERR DATA-STALE\n');
      else scripted('OK\n')(line, connection);
    });
    const { sent, orders } = await setup([upsEntry(upsd)]);
    await orders.handleOrder(await signer.sign(powerOffClaims('nas-ups')));
    await (await upsd.connection(0)).closed;
    expect(upsd.received.map((r) => r.line)).toEqual(LOGIN_AND_STATUS);
    expect(sent.frames.at(-1)).toMatchObject({
      outcome: 'failed',
      error: 'upsd ERR DATA-STALE for GET VAR ups ups.status',
    });
  });

  it('rejects an order issued before this machine booted, and talks to no upsd', async () => {
    upsd = await startFakeUpsd(scripted('OK\n'));
    // Booted a minute ago; the order was signed three minutes ago (still unexpired).
    const { sent, executed, orders } = await setup([upsEntry(upsd)], undefined, clock.now() - 60_000);
    await orders.handleOrder(await signer.sign(powerOffClaims('nas-ups'), { now: clock.now() - 180_000 }));
    expect(sent.frames).toEqual([
      expect.objectContaining({
        status: 'rejected',
        reason: expect.stringMatching(/, before this host booted: it belongs to an outage/),
      }),
    ]);
    expect(executed.size).toBe(0);
    expect(upsd.received).toEqual([]);
  });

  it('never sends it again after an agent restart interrupted it: a copy is a duplicate', async () => {
    upsd = await startFakeUpsd(scripted('OK\n'));
    const file = join(dir.path, 'executed.json');
    const id = randomId();
    const previous = await openExecutedOrders(file, { clock });
    await previous.record(id, { at: clock.now(), expiresAt: clock.now() + 300_000 });
    const { sent, orders } = await setup([upsEntry(upsd)], file, clock.now() - 3_600_000);
    await orders.handleOrder(await signer.sign(powerOffClaims('nas-ups'), { id }));
    expect(sent.summary()).toEqual(['ack duplicate']);
    expect(upsd.received).toEqual([]);
  });
});

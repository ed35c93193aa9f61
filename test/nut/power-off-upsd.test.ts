/**
 * UPS power-off orders against a real upsd + dummy-ups: the agent's order pipeline (real signing,
 * real executed-order store) logs in with the powerOff account, reads ups.status and sends the
 * INSTCMD only while the UPS is on battery.
 * dummy-ups 2.8.0 offers only `load.off` (harmless: the UPS is simulated); any other command, such
 * as `shutdown.return`, gets upsd's real `ERR CMD-NOT-SUPPORTED`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { UpsWatchConfig } from '../../agent/src/config.js';
import { openExecutedOrders } from '../../agent/src/executed-orders.js';
import { createNutClient } from '../../agent/src/nut/client.js';
import { createAgentOrders } from '../../agent/src/orders/agent-orders.js';
import { createManualClock } from '../../shared/src/clock.js';
import { createMemoryLogger } from '../../shared/src/logger.js';
import type { AgentMessage } from '../../shared/src/protocol.js';
import { generateSigningKey, type SigningKeyPair } from '../../shared/src/signing.js';
import { randomId, signOrder } from '../../shared/src/tokens.js';
import { describeUpsd, startUpsd, type UpsdHarness } from '../helpers/upsd.js';
import { users } from './upsd-config.js';

const T0 = Date.parse('2026-11-23T22:00:00Z');

describeUpsd('UPS power-off orders on a real upsd', () => {
  let upsd: UpsdHarness;
  let dir: string;
  let coordinator: SigningKeyPair;

  beforeAll(async () => {
    upsd = await startUpsd();
    await upsd.setStatus('OB DISCHRG');
    dir = await mkdtemp(join(tmpdir(), 'upsfleet-power-off-'));
    coordinator = (await generateSigningKey()).keyPair;
  });
  afterAll(async () => {
    await upsd?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function powerOff(command: string, account: { username: string; password: string }) {
    const clock = createManualClock(T0);
    const entry: UpsWatchConfig = {
      id: 'nas-ups',
      upsd: { host: upsd.host, port: upsd.port },
      name: upsd.ups,
      pollInterval: 1_000,
      deadTime: 15_000,
      snapshotInterval: 60_000,
      alertSnapshotInterval: 5_000,
      powerOff: account,
    };
    const sent: AgentMessage[] = [];
    const orders = createAgentOrders({
      config: { host: undefined, wake: undefined, ups: [entry], clockTolerance: 30_000 },
      agentId: 'agent-nas',
      coordinatorKey: coordinator.publicKey,
      executed: await openExecutedOrders(join(dir, `${randomId()}.json`), { clock }),
      send: async (message) => {
        sent.push(message);
      },
      clock,
      logger: createMemoryLogger(),
    });
    const orderId = randomId();
    const token = await signOrder(coordinator, {
      orderId,
      agentId: 'agent-nas',
      claims: { kind: 'ups-power-off', runId: 'run-1', ups: 'nas-ups', command },
      now: T0,
      expiresAt: T0 + 60_000,
    });
    await orders.handleOrder(token);
    expect(sent[0]).toEqual({ type: 'ack', orderId, status: 'accepted' });
    return sent[1];
  }

  it('runs the command upsd offers with the admin account: upsd OK', async () => {
    expect(await powerOff('load.off', users.admin)).toMatchObject({
      type: 'result',
      outcome: 'succeeded',
      output: `upsd OK for INSTCMD load.off on ups@127.0.0.1:${upsd.port} (ups.status OB DISCHRG)`,
    });
  });

  it("reports upsd's ERR code: CMD-NOT-SUPPORTED for shutdown.return on dummy-ups", async () => {
    const probe = await createNutClient({ host: upsd.host, port: upsd.port });
    try {
      expect(await probe.listCmd(upsd.ups)).not.toContain('shutdown.return');
    } finally {
      await probe.close();
    }
    expect(await powerOff('shutdown.return', users.admin)).toMatchObject({
      outcome: 'failed',
      error: 'upsd ERR CMD-NOT-SUPPORTED for INSTCMD ups shutdown.return',
    });
  });

  it('reports ACCESS-DENIED for an upsmon secondary account without instcmds', async () => {
    expect(await powerOff('load.off', users.monitor)).toMatchObject({
      outcome: 'failed',
      error: 'upsd ERR ACCESS-DENIED for INSTCMD ups load.off',
    });
  });

  it('refuses once the UPS is back on mains', async () => {
    await upsd.setStatus('OL');
    try {
      expect(await powerOff('load.off', users.admin)).toMatchObject({
        outcome: 'failed',
        error: 'power is back (ups.status OL): not powering the UPS off',
      });
    } finally {
      await upsd.setStatus('OB DISCHRG');
    }
  });
});

import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMemoryLogger } from '../../../shared/src/logger.js';
import { randomId } from '../../../shared/src/tokens.js';
import type { AgentConfig } from '../config.js';
import { openExecutedOrders } from '../executed-orders.js';
import { createTempDir } from '../test-support.js';
import { createMagicPacket } from '../wake/magic-packet.js';
import type { WakeTarget } from '../wake/send-magic-packet.js';
import { toWakeConfig } from '../wake/wake-config.js';
import { createAgentOrders } from './agent-orders.js';
import {
  AGENT_ID,
  createOrderSigner,
  createSentFrames,
  createTestClock,
  type OrderSigner,
  wakeClaims,
} from './order-test-support.js';

describe('wake orders', () => {
  let dir: { path: string; remove(): Promise<void> };
  let signer: OrderSigner;
  let udp: Socket;
  let port: number;
  const clock = createTestClock();

  beforeEach(async () => {
    dir = await createTempDir('wake');
    signer = await createOrderSigner();
    udp = createSocket('udp4');
    udp.bind(0, '127.0.0.1');
    await once(udp, 'listening');
    port = udp.address().port;
  });
  afterEach(async () => {
    udp.close();
    await dir.remove();
  });

  async function setup(wake: AgentConfig['wake'], sendWake?: (target: WakeTarget) => Promise<void>) {
    const sent = createSentFrames();
    const executed = await openExecutedOrders(join(dir.path, 'executed.json'), { clock });
    const orders = createAgentOrders({
      config: { host: undefined, wake, ups: [], clockTolerance: 30_000 },
      agentId: AGENT_ID,
      coordinatorKey: signer.keyPair.publicKey,
      executed,
      send: sent.send,
      clock,
      logger: createMemoryLogger(),
      ...(sendWake === undefined ? {} : { sendWake }),
    });
    return { sent, executed, orders };
  }

  it('sends the magic packet to an allowed address over real UDP, once per order id', async () => {
    const { sent, executed, orders } = await setup(toWakeConfig({ allowed: ['192.0.2.255', '127.0.0.1'] }));
    const id = randomId();
    const token = await signer.sign(wakeClaims('127.0.0.1', port), { id });
    const received = once(udp, 'message');
    await orders.handleOrder(token);
    const [packet] = (await received) as [Buffer];
    expect(packet).toEqual(createMagicPacket('0a1b2c3d4e5f'));
    expect(packet).toHaveLength(102);
    expect(sent.summary()).toEqual(['ack accepted', 'result succeeded']);
    expect(sent.frames.at(-1)).toMatchObject({
      output: `sent a magic packet for web1 (0a:1b:2c:3d:4e:5f) to 127.0.0.1:${port}`,
    });
    expect(executed.get(id)?.outcome).toBe('succeeded');

    await orders.handleOrder(token);
    expect(sent.summary().at(-1)).toBe('ack duplicate');
  });

  it('rejects a target that is not in wake.allowed and sends nothing', async () => {
    const targets: WakeTarget[] = [];
    const { sent, executed, orders } = await setup(
      toWakeConfig({ allowed: ['192.0.2.255'] }),
      async (target) => {
        targets.push(target);
      },
    );
    await orders.handleOrder(await signer.sign(wakeClaims('127.0.0.1', port)));
    expect(sent.frames).toEqual([
      {
        type: 'ack',
        orderId: expect.any(String),
        status: 'rejected',
        reason: "wake target 127.0.0.1 is not in this agent's wake.allowed list (192.0.2.255)",
      },
    ]);
    expect(targets).toEqual([]);
    expect(executed.size).toBe(0);
  });

  it('rejects every wake order when the config has no wake: section', async () => {
    const { sent, orders } = await setup(undefined);
    await orders.handleOrder(await signer.sign(wakeClaims('127.0.0.1', port)));
    expect(sent.frames).toEqual([
      expect.objectContaining({
        status: 'rejected',
        reason: "wake orders are not enabled in this agent's config (no wake: section)",
      }),
    ]);
  });

  it('reports a packet that could not be sent as failed, with the error', async () => {
    const { sent, executed, orders } = await setup(toWakeConfig({ allowed: ['127.0.0.1'] }), async () => {
      throw new Error('send EHOSTUNREACH 127.0.0.1:9');
    });
    const id = randomId();
    await orders.handleOrder(await signer.sign(wakeClaims('127.0.0.1', 9), { id }));
    expect(sent.summary()).toEqual(['ack accepted', 'result failed']);
    expect(sent.frames.at(-1)).toMatchObject({
      error:
        'could not send a magic packet for web1 (0a:1b:2c:3d:4e:5f) to 127.0.0.1:9: send EHOSTUNREACH 127.0.0.1:9',
    });
    expect(executed.get(id)?.outcome).toBe('failed');
  });
});

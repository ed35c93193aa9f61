/**
 * A simulated host agent: it verifies every order as agent/src/orders does (pinned coordinator key,
 * addressed to it, not expired, claims valid), acknowledges it when asked to, and reports when it
 * held it. It runs nothing.
 */
import type { CryptoKey } from 'jose';
import { errorMessage } from '../../../shared/src/errors.js';
import { loadSigningKey } from '../../../shared/src/signing.js';
import { verifyOrder } from '../../../shared/src/tokens.js';
import type { SimAgentCredentials } from '../seed.js';
import { openSimSocket, type SimSocket } from './sim-socket.js';

export interface HeldOrder {
  /** When the order frame arrived (ms since the epoch, sub-ms resolution). */
  readonly arrivedAt: number;
  /** When its signature, audience, expiry and claims had been checked. */
  readonly verifiedAt: number;
}

export async function connectSimHost(options: {
  readonly url: string;
  readonly credentials: SimAgentCredentials;
  readonly coordinatorKey: CryptoKey;
  readonly onOrder: (order: HeldOrder) => void;
  /** Whether to send the `ack` a real agent sends (each one costs the coordinator a decision). */
  readonly ack: () => boolean;
  readonly onRefused: (reason: string) => void;
}): Promise<SimSocket> {
  const { credentials } = options;
  const keyPair = await loadSigningKey(credentials.key);
  let socket: SimSocket | undefined;
  socket = await openSimSocket({
    url: options.url,
    agentId: credentials.id,
    keyPair,
    roles: ['host'],
    readyOn: 'briefing',
    onMessage: (message, arrivedAt) => {
      if (message.type !== 'order') return;
      verifyOrder(message.token, options.coordinatorKey, { agentId: credentials.id, now: Date.now() }).then(
        (order) => {
          const verifiedAt = performance.timeOrigin + performance.now();
          if (options.ack()) socket?.send({ type: 'ack', orderId: order.orderId, status: 'accepted' });
          options.onOrder({ arrivedAt, verifiedAt });
        },
        (error: unknown) => options.onRefused(errorMessage(error)),
      );
    },
  });
  return socket;
}

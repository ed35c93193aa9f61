/**
 * Helpers for the order tests (imported by *.test.ts only; nothing here runs at import): real
 * coordinator keys, real signed orders, the frames an agent sent.
 */
import { createManualClock } from '../../../shared/src/clock.js';
import type { AgentMessage, OrderClaims } from '../../../shared/src/protocol.js';
import { generateSigningKey, type SigningKeyPair } from '../../../shared/src/signing.js';
import { randomId, signOrder } from '../../../shared/src/tokens.js';

export const T0 = Date.parse('2026-11-23T22:00:00Z');
export const AGENT_ID = 'agent-nas';

export interface OrderSigner {
  readonly keyPair: SigningKeyPair;
  sign(claims: OrderClaims, options?: { id?: string; agentId?: string; now?: number }): Promise<string>;
}

export async function createOrderSigner(): Promise<OrderSigner> {
  const { keyPair } = await generateSigningKey();
  return {
    keyPair,
    sign: (claims, options = {}) => {
      const now = options.now ?? T0;
      return signOrder(keyPair, {
        orderId: options.id ?? randomId(),
        agentId: options.agentId ?? AGENT_ID,
        claims,
        now,
        expiresAt: now + 300_000,
      });
    },
  };
}

export function createTestClock() {
  return createManualClock(T0);
}

/** A `send` that keeps the frames, and a compact view of them ("ack accepted", "result drill"). */
export function createSentFrames() {
  const frames: AgentMessage[] = [];
  return {
    frames,
    send: async (message: AgentMessage): Promise<void> => {
      frames.push(message);
    },
    summary: (): string[] =>
      frames.map((m) =>
        m.type === 'ack' ? `ack ${m.status}` : m.type === 'result' ? `result ${m.outcome}` : m.type,
      ),
  };
}

export const shutdownClaims = (drill: boolean): OrderClaims => ({
  kind: 'shutdown',
  runId: 'run-1',
  stage: 'apps',
  drill,
});

export const wakeClaims = (address: string, port: number): OrderClaims => ({
  kind: 'wake',
  runId: 'run-1',
  host: 'web1',
  mac: '0a1b2c3d4e5f',
  address,
  port,
});

export const powerOffClaims = (ups: string, command = 'shutdown.return'): OrderClaims => ({
  kind: 'ups-power-off',
  runId: 'run-1',
  ups,
  command,
});

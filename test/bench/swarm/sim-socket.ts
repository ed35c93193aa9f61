/**
 * The agent's side of the WebSocket, without the agent: authenticated exactly as agent/src/link.ts
 * does (a short-lived token it signs itself, checked before the upgrade), then `hello`, then frames.
 * Light enough to hold thousands in one process.
 */
import WebSocket from 'ws';
import { errorMessage } from '../../../shared/src/errors.js';
import {
  type AgentMessage,
  type CoordinatorMessage,
  encodeMessage,
  MAX_FRAME_BYTES,
  PROTOCOL_VERSION,
  parseCoordinatorMessage,
} from '../../../shared/src/protocol.js';
import type { SigningKeyPair } from '../../../shared/src/signing.js';
import { signAgentAuth } from '../../../shared/src/tokens.js';

export interface SimSocket {
  send(message: AgentMessage): void;
  close(): void;
  /** Resolves with the close code once the connection is gone. */
  readonly closed: Promise<number>;
}

export function toSocketUrl(coordinatorUrl: string): string {
  return `${coordinatorUrl.replace(/^http/, 'ws').replace(/\/+$/, '')}/agent/v1/ws`;
}

/** Connects, says hello, and resolves once the `readyOn` frame arrived. */
export async function openSimSocket(options: {
  readonly url: string;
  readonly agentId: string;
  readonly keyPair: SigningKeyPair;
  readonly roles: readonly ('host' | 'watcher')[];
  readonly onMessage: (message: CoordinatorMessage, arrivedAt: number) => void;
  /**
   * The frame that means "fully connected": the welcome, or for a host the briefing its hello earns
   * (sent once the coordinator has counted it as connected).
   */
  readonly readyOn?: CoordinatorMessage['type'];
}): Promise<SimSocket> {
  const readyOn = options.readyOn ?? 'welcome';
  const token = await signAgentAuth(options.keyPair, options.agentId, Date.now());
  const ws = new WebSocket(toSocketUrl(options.url), {
    headers: { Authorization: `Bearer ${token}` },
    maxPayload: MAX_FRAME_BYTES,
    perMessageDeflate: false,
    handshakeTimeout: 120_000,
  });
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    ws.on('unexpected-response', (_request, response) => {
      response.resume();
      reject(new Error(`upgrade refused: HTTP ${response.statusCode}`));
      ws.terminate();
    });
    ws.once('error', (error) => reject(error));
    void closed.then((code) => reject(new Error(`closed (${code}) before the ${readyOn}`)));
    ws.once('open', () => {
      const hello: AgentMessage = {
        type: 'hello',
        protocol: PROTOCOL_VERSION,
        version: 'bench-sim',
        roles: [...options.roles],
      };
      ws.send(encodeMessage(hello));
    });
    ws.on('message', (data) => {
      const arrivedAt = performance.timeOrigin + performance.now();
      let message: CoordinatorMessage;
      try {
        message = parseCoordinatorMessage(data.toString());
      } catch (error) {
        process.stderr.write(`sim agent ${options.agentId}: bad frame: ${errorMessage(error)}\n`);
        return;
      }
      if (message.type === readyOn) resolve();
      options.onMessage(message, arrivedAt);
    });
  });
  ws.on('error', () => undefined);
  return {
    send: (message) => ws.send(encodeMessage(message)),
    close: () => ws.terminate(),
    closed,
  };
}

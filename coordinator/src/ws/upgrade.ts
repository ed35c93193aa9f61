import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocketServer } from 'ws';
import type { Clock } from '../../../shared/src/clock.js';
import type { Logger } from '../../../shared/src/logger.js';
import { type ReplayGuard, SignatureError } from '../../../shared/src/signing.js';
import { verifyAgentAuth } from '../../../shared/src/tokens.js';
import type { AgentKeys } from '../fleet/agent-keys.js';
import { bearerToken } from '../http/admin-auth.js';
import { problemParts } from '../http/problem.js';
import { AGENT_WS_PATH } from './session-core.js';

function refuse(socket: Duplex, status: 401 | 404, detail: string): void {
  const { title, body, headers } = problemParts({
    status,
    detail,
    code: status === 401 ? 'unauthorized' : 'not_found',
  });
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  socket.end(
    `HTTP/1.1 ${status} ${title}\r\n${lines.join('')}` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/**
 * The one `upgrade` listener: the agent is authenticated BEFORE the upgrade with a short-lived token
 * it signed itself; only then is the socket handed to `ws`, with the verified agent id attached.
 */
export function createUpgradeHandler(deps: {
  wss: WebSocketServer;
  agentKeys: AgentKeys;
  replayGuard: ReplayGuard;
  clock: Clock;
  logger: Logger;
}) {
  return (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    // Node removes its own error listener before 'upgrade': without ours, a client resetting the
    // connection during the token check would crash the coordinator.
    socket.on('error', (error) => deps.logger.debug('upgrade socket error', { reason: error.message }));
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (path !== AGENT_WS_PATH) {
      refuse(socket, 404, `no WebSocket endpoint at ${path}`);
      return;
    }
    const token = bearerToken(request.headers.authorization);
    const peer = request.socket.remoteAddress ?? 'unknown';
    if (token === undefined) {
      deps.logger.warn('agent connection refused: no bearer token', { peer });
      refuse(socket, 401, 'missing bearer token');
      return;
    }
    verifyAgentAuth(token, deps.agentKeys.keyOf, deps.replayGuard, deps.clock.now()).then(
      (agentId) => {
        deps.wss.handleUpgrade(request, socket, head, (ws) =>
          deps.wss.emit('connection', ws, request, agentId),
        );
      },
      (error: unknown) => {
        const reason = error instanceof SignatureError ? error.reason : 'error';
        deps.logger.warn('agent connection refused', { peer, reason, detail: String(error) });
        refuse(
          socket,
          401,
          error instanceof SignatureError ? `agent token refused: ${error.reason}` : 'agent token refused',
        );
      },
    );
  };
}

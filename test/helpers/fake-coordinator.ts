/**
 * A stand-in coordinator for attacking a real agent process: it holds the coordinator key the agent
 * pins, so the test can sign valid orders and, with other keys or claims, bad ones, and send them
 * down the agent's WebSocket. It checks the agent's upgrade token like the real one (the agent
 * proves its key), welcomes it, and records every frame the agent sends back.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { CryptoKey } from 'jose';
import { type WebSocket, WebSocketServer } from 'ws';
import { writeEnrollment } from '../../agent/src/state-dir.js';
import { encodeMessage, MAX_FRAME_BYTES, PROTOCOL_VERSION } from '../../shared/src/protocol.js';
import { createReplayGuard, generateSigningKey, type SigningKeyPair } from '../../shared/src/signing.js';
import { verifyAgentAuth } from '../../shared/src/tokens.js';
import { createWatchedList } from './watched-list.js';

export interface AgentConnection {
  /** Every frame the agent sent, parsed. */
  readonly frames: readonly Record<string, unknown>[];
  /**
   * The first frame (past or future, or from frame number `from`) matching `predicate`; rejects when
   * the connection closes first.
   */
  frame(
    predicate: (frame: Record<string, unknown>) => boolean,
    what: string,
    from?: number,
  ): Promise<Record<string, unknown>>;
  /** The number of frames so far: a `from` for `frame` that ignores the past. */
  mark(): number;
  /** Sends a frame as is (a string) or JSON-encoded. */
  send(frame: unknown): void;
  readonly closed: Promise<void>;
}

export interface FakeCoordinator {
  readonly url: string;
  /** The key the agents pin: what a valid order is signed with. */
  readonly key: SigningKeyPair;
  /** Writes an enrolled state dir for `name` (its own new key, this coordinator pinned); returns its id. */
  enroll(name: string, stateDir: string): Promise<string>;
  /** The `index`-th agent connection (0-based), once it is open and welcomed. */
  connection(index: number): Promise<AgentConnection>;
  close(): Promise<void>;
}

export async function startFakeCoordinator(): Promise<FakeCoordinator> {
  const { keyPair: key } = await generateSigningKey();
  const agents = new Map<string, { name: string; publicKey: CryptoKey }>();
  const guard = createReplayGuard();
  const connections = createWatchedList<AgentConnection>();
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  const server = createServer((_request, response) => response.writeHead(404).end());

  function adopt(ws: WebSocket, agentId: string): void {
    const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    const frames = createWatchedList<Record<string, unknown>>({
      ended: closed,
      endedMessage: (what) => `the agent disconnected before ${what}`,
    });
    ws.on('error', () => undefined);
    ws.on('message', (data) => frames.push(JSON.parse(String(data)) as Record<string, unknown>));
    ws.send(
      encodeMessage({
        type: 'welcome',
        protocol: PROTOCOL_VERSION,
        agentId,
        name: agents.get(agentId)?.name ?? agentId,
        serverTime: Date.now(),
      }),
    );
    connections.push({
      frames: frames.items,
      closed,
      send: (frame) => ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame)),
      frame: (predicate, what, from) => frames.waitFor(predicate, what, from),
      mark: frames.mark,
    });
  }

  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined);
    const token = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1] ?? '';
    verifyAgentAuth(token, async (id) => agents.get(id)?.publicKey, guard, Date.now()).then(
      (agentId) => wss.handleUpgrade(request, socket, head, (ws) => adopt(ws, agentId)),
      () => socket.end('HTTP/1.1 401 Unauthorized\r\nconnection: close\r\ncontent-length: 0\r\n\r\n'),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  const url = `http://127.0.0.1:${address.port}`;

  return {
    url,
    key,
    async enroll(name, stateDir) {
      const agentId = randomUUID();
      const { keyPair, stored } = await generateSigningKey();
      agents.set(agentId, { name, publicKey: keyPair.publicKey });
      await writeEnrollment(stateDir, {
        identity: { agentId, name, coordinatorUrl: url, enrolledAt: new Date().toISOString() },
        privateKey: stored,
        coordinatorKey: key.publicJwk,
      });
      return agentId;
    },
    connection: (index) => connections.waitFor((_, i) => i === index, `connection ${index}`),
    async close() {
      for (const client of wss.clients) client.terminate();
      wss.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

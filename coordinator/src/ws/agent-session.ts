import type { WebSocket } from 'ws';
import type { SessionCoreDeps, SessionState } from './session-core.js';
import { closeSession, openSession, sessionFrame } from './session-core.js';

export type { HostReportIntake } from './session-core.js';

export interface SessionDeps extends SessionCoreDeps {
  /** A ping every interval; no pong by the next one terminates the connection. */
  readonly heartbeatMs: number;
}

/** One authenticated agent connection on Node's `ws`: the session core plus ping/pong liveness. */
export function startAgentSession(ws: WebSocket, agentId: string, deps: SessionDeps): Promise<void> {
  // Listeners go on synchronously: an agent sends hello the moment the socket opens, and a frame
  // that arrives before its listener exists is lost. Frames wait for `ready` instead.
  const connection = {
    agentId,
    send: (text: string) => ws.send(text),
    close: (code: number, reason: string) => ws.close(code, reason),
  };
  const log = (message: string, fields: Record<string, string>) =>
    deps.logger.warn(message, { agent: agentId, ...fields });
  let alive = true;
  let closed = false;
  const heartbeat = setInterval(() => {
    if (!alive) {
      log('no pong: connection terminated', {});
      ws.terminate();
      return;
    }
    alive = false;
    ws.ping();
  }, deps.heartbeatMs);
  heartbeat.unref();

  const ready: Promise<SessionState | undefined> = openSession(deps, connection).then((state) => {
    // Closed while we looked the agent up: it must not stay in the hub.
    if (closed && state !== undefined) deps.hub.remove(connection);
    return closed ? undefined : state;
  });

  // Without a listener, a frame over maxPayload (or any socket error) would crash the process.
  ws.on('error', (error) => log('connection error', { reason: error.message }));
  ws.on('pong', () => {
    alive = true;
  });
  ws.on('close', (code, reason) => {
    closed = true;
    clearInterval(heartbeat);
    void ready.then((state) =>
      state === undefined ? undefined : closeSession(deps, connection, state, code, reason.toString()),
    );
  });
  ws.on('message', (data, isBinary) => {
    alive = true;
    const frame = isBinary ? ({ binary: true } as const) : { text: data.toString() };
    ready
      .then((state) => (state === undefined ? undefined : sessionFrame(deps, connection, state, frame)))
      .catch((error: unknown) => log('frame handling failed', { reason: String(error) }));
  });

  return ready.then(() => undefined);
}

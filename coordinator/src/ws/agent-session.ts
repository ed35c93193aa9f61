import type { WebSocket } from 'ws';
import { assertNever } from '../../../shared/src/assert-never.js';
import type { Clock } from '../../../shared/src/clock.js';
import { AppError } from '../../../shared/src/errors.js';
import type { Logger } from '../../../shared/src/logger.js';
import {
  type AgentMessage,
  CloseCode,
  type CoordinatorMessage,
  encodeMessage,
  PROTOCOL_VERSION,
  parseAgentMessage,
} from '../../../shared/src/protocol.js';
import { unverifiedTokenId } from '../../../shared/src/signing.js';
import { verifyUpsEvent } from '../../../shared/src/tokens.js';
import type { Db } from '../db/client.js';
import { findActiveAgent, touchAgent } from '../db/queries/agents.js';
import type { AgentKeys } from '../fleet/agent-keys.js';
import type { Fleet } from '../fleet/fleet.js';
import type { Hub } from './hub.js';

export interface SessionDeps {
  readonly db: Db;
  readonly hub: Hub;
  readonly fleet: Fleet;
  readonly agentKeys: AgentKeys;
  readonly clock: Clock;
  readonly logger: Logger;
  /** A ping every interval; no pong by the next one terminates the connection. */
  readonly heartbeatMs: number;
  /** The coordinator's key-rotation statements, oldest first (sent on hello, before anything signed). */
  readonly keyChain?: () => readonly string[];
  /** What hosts report about themselves: their own upsd readings, what they did on their own. */
  readonly hostReports?: HostReportIntake;
}

/** Receives a host's own readings and offline reports (fleet/host-reports.ts). */
export interface HostReportIntake {
  receive(
    agentId: string,
    name: string,
    message: Extract<AgentMessage, { type: 'offline-report' | 'host-reading' }>,
  ): Promise<void>;
}

/** One authenticated agent connection: parse each frame, dispatch it, keep the link alive. */
export function startAgentSession(ws: WebSocket, agentId: string, deps: SessionDeps): Promise<void> {
  // Listeners go on synchronously: an agent sends hello the moment the socket opens, and a frame
  // that arrives before its listener exists is lost. Frames wait for `ready` instead.
  let agentName = agentId;
  const log = (level: 'info' | 'warn', message: string, fields: Record<string, string | number> = {}) =>
    deps.logger[level](message, { agent: agentName, ...fields });
  const send = (message: CoordinatorMessage) => ws.send(encodeMessage(message));
  const connection = {
    agentId,
    send: (text: string) => ws.send(text),
    close: (code: number, reason: string) => ws.close(code, reason),
  };
  let alive = true;
  let greeted = false;
  let closed = false;
  const heartbeat = setInterval(() => {
    if (!alive) {
      log('warn', 'no pong: connection terminated');
      ws.terminate();
      return;
    }
    alive = false;
    ws.ping();
  }, deps.heartbeatMs);
  heartbeat.unref();

  const ready = (async () => {
    const agent = await findActiveAgent(deps.db, agentId);
    if (agent === undefined) {
      ws.close(CloseCode.Revoked, 'agent is not active');
      return false;
    }
    agentName = agent.name;
    if (closed) return false;
    deps.hub.add(connection);
    await touchAgent(deps.db, agentId, new Date(deps.clock.now()));
    log('info', 'agent connected');
    send({
      type: 'welcome',
      protocol: PROTOCOL_VERSION,
      agentId,
      name: agent.name,
      serverTime: deps.clock.now(),
    });
    return true;
  })();

  // Without a listener, a frame over maxPayload (or any socket error) would crash the process.
  ws.on('error', (error) => {
    log('warn', 'connection error', { reason: error.message });
  });
  ws.on('pong', () => {
    alive = true;
  });
  ws.on('close', (code, reason) => {
    closed = true;
    clearInterval(heartbeat);
    const current = deps.hub.remove(connection);
    log('info', 'agent disconnected', { code, reason: reason.toString() });
    // A host that reported its shutdown started and then drops its connection is confirmed down.
    if (current && greeted) {
      deps.fleet
        .agentGone(agentName)
        .catch((error: unknown) => log('warn', 'recording the disconnect failed', { reason: String(error) }));
    }
    void touchAgent(deps.db, agentId, new Date(deps.clock.now())).catch(() => undefined);
  });
  ws.on('message', (data, isBinary) => {
    alive = true;
    let message: AgentMessage;
    try {
      if (isBinary) throw new AppError('protocol', 'binary frames are not part of the protocol');
      message = parseAgentMessage(data.toString());
    } catch (error) {
      log('warn', 'bad frame: connection closed', {
        reason: error instanceof Error ? error.message : String(error),
      });
      ws.close(CloseCode.ProtocolError, 'bad frame');
      return;
    }
    ready
      .then((ok) => (ok ? handle(message) : undefined))
      .catch((error: unknown) => {
        const reason = error instanceof Error ? error.message : String(error);
        log('warn', `${message.type} refused`, { reason });
        const code = error instanceof AppError ? error.code : 'internal';
        const seq = message.type === 'event' ? eventSeqOf(message.token) : undefined;
        send({ type: 'error', code, message: reason.slice(0, 500), ...(seq === undefined ? {} : { seq }) });
      });
  });

  return ready.then(() => undefined);

  async function handle(message: AgentMessage): Promise<void> {
    switch (message.type) {
      case 'hello':
        if (message.protocol !== PROTOCOL_VERSION) {
          log('warn', 'protocol version mismatch', { theirs: message.protocol, ours: PROTOCOL_VERSION });
          ws.close(CloseCode.UnsupportedVersion, `coordinator speaks protocol ${PROTOCOL_VERSION}`);
          return;
        }
        greeted = true;
        log('info', 'hello', { version: message.version, roles: message.roles.join(',') });
        // Rotation statements first: the agent re-pins before it sees anything signed by a newer key.
        for (const token of deps.keyChain?.() ?? []) send({ type: 'rekey', token });
        await deps.fleet.agentReady(agentId, agentName);
        return;
      case 'event': {
        const event = await verifyUpsEvent(message.token, deps.agentKeys.keyOf, deps.clock.now());
        if (event.agentId !== agentId) throw new AppError('forbidden', 'event signed by another agent');
        const outcome = await deps.fleet.ingestEvent(event);
        send({
          type: 'event-ack',
          seq: event.claims.seq,
          ...(outcome === 'duplicate' ? { duplicate: true } : {}),
        });
        return;
      }
      case 'progress':
        if (!greeted) throw new AppError('protocol', 'progress before hello');
        await deps.fleet.agentProgress(agentId, message);
        return;
      case 'ack':
      case 'result':
        if (!greeted) throw new AppError('protocol', `${message.type} before hello`);
        await deps.fleet.agentReport(agentId, message);
        return;
      case 'offline-report':
      case 'host-reading':
        if (!greeted) throw new AppError('protocol', `${message.type} before hello`);
        if (deps.hostReports === undefined) log('info', `${message.type} ignored: not wired`);
        else await deps.hostReports.receive(agentId, agentName, message);
        return;
      default:
        assertNever(message, 'agent message');
    }
  }
}

/** The sequence number of a refused event (its id is `agentId:seq`), so the watcher knows which one. */
function eventSeqOf(token: string): number | undefined {
  const seq = Number(unverifiedTokenId(token)?.split(':').at(-1));
  return Number.isSafeInteger(seq) && seq >= 0 ? seq : undefined;
}

/**
 * One agent connection's protocol, whatever carries it: the Node adapter (`ws`, agent-session.ts)
 * and the edge's Durable Object (hibernatable WebSockets) both call these three steps. The state a
 * session keeps is small and plain, so the edge can store it on the socket across hibernation.
 */
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
import { bridgeOf } from '../fleet/nut-bridges.js';
import type { AgentConnection, Hub } from './hub.js';

/** Where agents open their WebSocket (authenticated before the upgrade). */
export const AGENT_WS_PATH = '/agent/v1/ws';

export interface SessionCoreDeps {
  readonly db: Db;
  readonly hub: Hub;
  readonly fleet: Fleet;
  readonly agentKeys: AgentKeys;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The coordinator's key-rotation statements, oldest first (sent on hello, before anything signed). */
  readonly keyChain?: () => readonly string[];
  /** The latest lease while valid: a host that says hello gets it at once. */
  readonly lease?: () => string | undefined;
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

/** What a session remembers between frames (JSON-serialisable). */
export interface SessionState {
  readonly agentId: string;
  name: string;
  /** Said hello with our protocol version. */
  greeted: boolean;
  /** A NUT bridge: where it said it serves NUT. */
  bridgeListen?: string;
  /** A NUT bridge that checks the accounts' addresses (`from`) at LOGIN. */
  bridgeAccountAddresses?: boolean;
}

export type Frame = { readonly text: string } | { readonly binary: true };

function logFor(deps: SessionCoreDeps, state: SessionState) {
  return (level: 'info' | 'warn', message: string, fields: Record<string, string | number> = {}) =>
    deps.logger[level](message, { agent: state.name, ...fields });
}

/**
 * The agent authenticated before the upgrade: look it up, add it to the hub, welcome it.
 * Undefined (and the connection closed) when the agent is no longer active.
 */
export async function openSession(
  deps: SessionCoreDeps,
  connection: AgentConnection,
): Promise<SessionState | undefined> {
  const agent = await findActiveAgent(deps.db, connection.agentId);
  if (agent === undefined) {
    connection.close(CloseCode.Revoked, 'agent is not active');
    return undefined;
  }
  const state: SessionState = { agentId: agent.id, name: agent.name, greeted: false };
  deps.hub.add(connection);
  await touchAgent(deps.db, agent.id, new Date(deps.clock.now()));
  logFor(deps, state)('info', 'agent connected');
  const welcome: CoordinatorMessage = {
    type: 'welcome',
    protocol: PROTOCOL_VERSION,
    agentId: agent.id,
    name: agent.name,
    serverTime: deps.clock.now(),
  };
  connection.send(encodeMessage(welcome));
  return state;
}

/** One frame from the agent. A bad frame closes the connection; a refused message is answered. */
export async function sessionFrame(
  deps: SessionCoreDeps,
  connection: AgentConnection,
  state: SessionState,
  frame: Frame,
): Promise<void> {
  const log = logFor(deps, state);
  const send = (message: CoordinatorMessage) => connection.send(encodeMessage(message));
  let message: AgentMessage;
  try {
    if (!('text' in frame)) throw new AppError('protocol', 'binary frames are not part of the protocol');
    message = parseAgentMessage(frame.text);
  } catch (error) {
    log('warn', 'bad frame: connection closed', {
      reason: error instanceof Error ? error.message : String(error),
    });
    connection.close(CloseCode.ProtocolError, 'bad frame');
    return;
  }
  try {
    await handle(message);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    log('warn', `${message.type} refused`, { reason });
    const code = error instanceof AppError ? error.code : 'internal';
    const seq = message.type === 'event' ? eventSeqOf(message.token) : undefined;
    send({ type: 'error', code, message: reason.slice(0, 500), ...(seq === undefined ? {} : { seq }) });
  }

  async function handle(message: AgentMessage): Promise<void> {
    switch (message.type) {
      case 'hello':
        if (message.protocol !== PROTOCOL_VERSION) {
          log('warn', 'protocol version mismatch', { theirs: message.protocol, ours: PROTOCOL_VERSION });
          connection.close(CloseCode.UnsupportedVersion, `coordinator speaks protocol ${PROTOCOL_VERSION}`);
          return;
        }
        state.greeted = true;
        if (message.bridge !== undefined) {
          state.bridgeListen = message.bridge.listen;
          state.bridgeAccountAddresses = message.bridge.accountAddresses === true;
        }
        log('info', 'hello', { version: message.version, roles: message.roles.join(',') });
        // Rotation statements first: the agent re-pins before it sees anything signed by a newer key.
        for (const token of deps.keyChain?.() ?? []) send({ type: 'rekey', token });
        {
          const lease = deps.lease?.();
          if (lease !== undefined) send({ type: 'lease', token: lease });
        }
        await deps.fleet.agentReady(state.agentId, state.name, bridgeOf(state));
        return;
      case 'event': {
        const event = await verifyUpsEvent(message.token, deps.agentKeys.keyOf, deps.clock.now());
        if (event.agentId !== state.agentId) throw new AppError('forbidden', 'event signed by another agent');
        const outcome = await deps.fleet.ingestEvent(event);
        send({
          type: 'event-ack',
          seq: event.claims.seq,
          ...(outcome === 'duplicate' ? { duplicate: true } : {}),
        });
        return;
      }
      case 'progress':
        if (!state.greeted) throw new AppError('protocol', 'progress before hello');
        await deps.fleet.agentProgress(state.agentId, message);
        return;
      case 'ack':
      case 'result':
        if (!state.greeted) throw new AppError('protocol', `${message.type} before hello`);
        await deps.fleet.agentReport(state.agentId, message);
        return;
      case 'offline-report':
      case 'host-reading':
        if (!state.greeted) throw new AppError('protocol', `${message.type} before hello`);
        if (deps.hostReports === undefined) log('info', `${message.type} ignored: not wired`);
        else await deps.hostReports.receive(state.agentId, state.name, message);
        return;
      default:
        assertNever(message, 'agent message');
    }
  }
}

/** The connection closed: a greeted agent that was still the current one counts as gone. */
export async function closeSession(
  deps: SessionCoreDeps,
  connection: AgentConnection,
  state: SessionState,
  code: number,
  reason: string,
): Promise<void> {
  const log = logFor(deps, state);
  const current = deps.hub.remove(connection);
  log('info', 'agent disconnected', { code, reason });
  // A host that reported its shutdown started and then drops its connection is confirmed down.
  if (current && state.greeted) {
    await deps.fleet
      .agentGone(state.name)
      .catch((error: unknown) => log('warn', 'recording the disconnect failed', { reason: String(error) }));
  }
  await touchAgent(deps.db, state.agentId, new Date(deps.clock.now())).catch(() => undefined);
}

/** The sequence number of a refused event (its id is `agentId:seq`), so the watcher knows which one. */
function eventSeqOf(token: string): number | undefined {
  const seq = Number(unverifiedTokenId(token)?.split(':').at(-1));
  return Number.isSafeInteger(seq) && seq >= 0 ? seq : undefined;
}

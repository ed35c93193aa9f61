import WebSocket, { type ClientOptions, type RawData } from 'ws';
import { type BackoffOptions, defaultBackoff, nextDelay } from '../../shared/src/backoff.js';
import type { Clock } from '../../shared/src/clock.js';
import { formatDuration } from '../../shared/src/duration.js';
import { AppError, errorMessage } from '../../shared/src/errors.js';
import type { Logger } from '../../shared/src/logger.js';
import {
  type AgentMessage,
  CloseCode,
  type CoordinatorMessage,
  closeCodeName,
  encodeMessage,
  MAX_FRAME_BYTES,
  PROTOCOL_VERSION,
  parseCoordinatorMessage,
} from '../../shared/src/protocol.js';
import type { SigningKeyPair } from '../../shared/src/signing.js';
import { signAgentAuth } from '../../shared/src/tokens.js';
import { AGENT_VERSION } from './version.js';

/**
 * How long the agent waits, after the close handshake, for the coordinator to end the TCP
 * connection (ws's `closeTimeout`, 30 s by default). A close sent from another request of an
 * edge coordinator (4409 replaced, 4403 revoked) leaves the connection open in workerd until the
 * object is evicted: the agent would learn of it only after the default 30 s.
 */
export const CLOSE_TIMEOUT_MS = 5_000;

export type LinkState = 'connecting' | 'open' | 'closed' | 'stopped';

export interface LinkOptions {
  /** The coordinator's base URL (http/https); the socket goes to `<ws(s)>/agent/v1/ws`. */
  readonly url: string;
  readonly agentId: string;
  readonly keyPair: SigningKeyPair;
  readonly onMessage: (message: CoordinatorMessage) => void;
  readonly onState?: (state: LinkState) => void;
  readonly clock: Clock;
  readonly random?: () => number;
  readonly WebSocketImpl?: typeof WebSocket;
  readonly logger: Logger;
  readonly roles?: readonly ('host' | 'watcher' | 'bridge')[];
  /** A NUT bridge says where it serves NUT in its hello. */
  readonly bridge?: { readonly listen: string; readonly accountAddresses?: boolean };
  readonly version?: string;
  /** Drop the socket when nothing (no ping, no frame) arrived for this long, ms. */
  readonly idleTimeoutMs?: number;
  readonly backoff?: BackoffOptions;
  readonly handshakeTimeoutMs?: number;
}

export interface Link {
  /** Resolves once ws has written the frame; rejects when not connected. */
  send(message: AgentMessage): Promise<void>;
  /** Stops reconnecting and closes the socket; resolves when it is closed and no timer is left. */
  close(): Promise<void>;
  readonly state: LinkState;
}

/** Close codes after which reconnecting cannot help: an admin has to act. */
const FINAL_CLOSE_CODES: ReadonlySet<number> = new Set([CloseCode.Revoked, CloseCode.UnsupportedVersion]);

export function toAgentSocketUrl(coordinatorUrl: string): string {
  const url = new URL(`${coordinatorUrl.replace(/\/+$/, '')}/agent/v1/ws`);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}

function frameText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  return Buffer.from(new Uint8Array(data)).toString('utf8');
}

export function createLink(options: LinkOptions): Link {
  const { logger, clock } = options;
  const WebSocketImpl = options.WebSocketImpl ?? WebSocket;
  const socketUrl = toAgentSocketUrl(options.url);
  const idleTimeoutMs = options.idleTimeoutMs ?? 45_000;
  let state: LinkState = 'connecting';
  let stopped = false;
  let attempt = 0;
  let socket: WebSocket | undefined;
  let socketClosed: Promise<void> = Promise.resolve();
  let reconnectTimer: NodeJS.Timeout | undefined;
  let idleTimer: NodeJS.Timeout | undefined;

  const setState = (next: LinkState): void => {
    state = next;
    options.onState?.(next);
  };

  const scheduleReconnect = (): void => {
    if (stopped) return;
    const delay = nextDelay(attempt, options.random, options.backoff ?? defaultBackoff);
    attempt += 1;
    logger.info(`reconnecting in ${formatDuration(delay)}`, { attempt });
    reconnectTimer = setTimeout(startAttempt, delay);
  };

  const startAttempt = (): void => {
    reconnectTimer = undefined;
    connect().catch((error: unknown) => {
      logger.error(`connection attempt failed: ${errorMessage(error)}`);
      scheduleReconnect();
    });
  };

  const connect = async (): Promise<void> => {
    if (stopped) return;
    setState('connecting');
    const token = await signAgentAuth(options.keyPair, options.agentId, clock.now());
    if (stopped) return;
    const wsOptions: ClientOptions & { readonly closeTimeout: number } = {
      headers: { Authorization: `Bearer ${token}` },
      maxPayload: MAX_FRAME_BYTES,
      handshakeTimeout: options.handshakeTimeoutMs ?? 15_000,
      perMessageDeflate: false,
      closeTimeout: CLOSE_TIMEOUT_MS,
    };
    const ws = new WebSocketImpl(socketUrl, wsOptions);
    socket = ws;
    let opened = false;
    let refusedStatus: number | undefined;
    let lastError: Error | undefined;
    const resetIdle = (): void => {
      clearTimeout(idleTimer);
      idleTimer = setTimeout(() => {
        logger.warn(
          `no traffic from the coordinator for ${formatDuration(idleTimeoutMs)}: dropping the connection`,
        );
        ws.terminate();
      }, idleTimeoutMs);
    };
    socketClosed = new Promise((resolve) => ws.once('close', () => resolve()));

    ws.on('unexpected-response', (_request, response) => {
      refusedStatus = response.statusCode;
      response.resume();
      ws.terminate();
    });
    ws.on('open', () => {
      opened = true;
      resetIdle();
      logger.debug(`websocket open to ${socketUrl}`);
      setState('open');
      const roles = [...(options.roles ?? ['host'])];
      const hello: AgentMessage = {
        type: 'hello',
        protocol: PROTOCOL_VERSION,
        version: options.version ?? AGENT_VERSION,
        roles,
        ...(options.bridge === undefined ? {} : { bridge: { ...options.bridge } }),
      };
      ws.send(encodeMessage(hello), (error) => {
        if (error) logger.warn(`could not send hello: ${error.message}`);
      });
    });
    ws.on('ping', resetIdle);
    ws.on('pong', resetIdle);
    ws.on('message', (data, isBinary) => {
      resetIdle();
      if (isBinary) {
        logger.warn('ignored a binary frame from the coordinator');
        return;
      }
      let message: CoordinatorMessage;
      try {
        message = parseCoordinatorMessage(frameText(data));
      } catch (error) {
        logger.warn(`ignored a bad frame from the coordinator: ${errorMessage(error)}`);
        return;
      }
      if (message.type === 'welcome') attempt = 0;
      try {
        options.onMessage(message);
      } catch (error) {
        logger.error(`handling a ${message.type} frame failed: ${errorMessage(error)}`);
      }
    });
    ws.on('error', (error) => {
      lastError = error;
    });
    ws.on('close', (code, reasonBuffer) => {
      clearTimeout(idleTimer);
      idleTimer = undefined;
      if (socket === ws) socket = undefined;
      if (stopped) return;
      const reason = reasonBuffer.toString('utf8');
      const said = `${closeCodeName(code)} (${code})${reason === '' ? '' : `: ${reason}`}`;
      if (FINAL_CLOSE_CODES.has(code)) {
        logger.error(`the coordinator closed the connection with ${said}; not reconnecting`, { code });
        stopped = true;
        setState('stopped');
        return;
      }
      if (refusedStatus !== undefined) {
        logger.warn(`the coordinator refused the connection: HTTP ${refusedStatus} at ${socketUrl}`, {
          status: refusedStatus,
        });
      } else if (!opened) {
        logger.warn(`cannot connect to ${socketUrl}: ${lastError?.message ?? said}`);
      } else {
        logger.warn(`connection to the coordinator closed: ${said}`, { code });
      }
      setState('closed');
      scheduleReconnect();
    });
  };

  startAttempt();

  return {
    get state() {
      return state;
    },
    send(message) {
      const ws = socket;
      if (ws === undefined || ws.readyState !== WebSocket.OPEN) {
        return Promise.reject(new AppError('internal', `not connected to the coordinator (${state})`));
      }
      return new Promise<void>((resolve, reject) => {
        ws.send(encodeMessage(message), (error) => (error ? reject(error) : resolve()));
      });
    },
    async close() {
      stopped = true;
      clearTimeout(reconnectTimer);
      reconnectTimer = undefined;
      const ws = socket;
      if (ws !== undefined) {
        if (ws.readyState === WebSocket.OPEN) ws.close(CloseCode.GoingAway, 'agent stopping');
        else ws.terminate();
        const forceTimer = setTimeout(() => ws.terminate(), 2_000);
        await socketClosed;
        clearTimeout(forceTimer);
      }
      clearTimeout(idleTimer);
      idleTimer = undefined;
      if (state !== 'stopped') setState('stopped');
    },
  };
}

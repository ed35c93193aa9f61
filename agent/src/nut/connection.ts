import type { Socket } from 'node:net';
import { NutConnectionError, type NutConnectionErrorReason, NutProtocolError } from './errors.js';
import { createLineFramer } from './line-framer.js';
import type { NutCommand } from './protocol.js';
import { isReplyComplete } from './replies.js';

/**
 * The socket half of the client: frames lines, keeps exactly one request in flight, times every
 * request out, sends a keep-alive when idle, and fails everything pending when the socket goes.
 */

export function formatTarget(target: { readonly host: string; readonly port: number }): string {
  return target.host.includes(':') ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`;
}

/** Resolves with the socket once connected; rejects with `NutConnectionError('connect-failed')`. */
export function connectSocket(open: () => Socket, timeoutMs: number, where: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = open();
    const timer = setTimeout(() => {
      fail(
        new NutConnectionError('connect-failed', `connecting to upsd at ${where} took over ${timeoutMs} ms`),
      );
    }, timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.off('connect', onConnect);
      socket.off('error', onError);
    };
    const fail = (error: NutConnectionError): void => {
      cleanup();
      socket.destroy();
      reject(error);
    };
    const onConnect = (): void => {
      cleanup();
      resolve(socket);
    };
    const onError = (error: Error): void => {
      fail(
        new NutConnectionError('connect-failed', `cannot connect to upsd at ${where}: ${error.message}`, {
          cause: error,
        }),
      );
    };
    if (socket.readyState === 'open') onConnect();
    else {
      socket.once('connect', onConnect);
      socket.once('error', onError);
    }
  });
}

export type ReplyParser<T> = (lines: readonly string[], command: NutCommand) => T;

/** The longest reply accepted (a 500-variable PDU's LIST VAR is ~500 lines). */
export const MAX_REPLY_LINES = 10_000;

export interface ConnectionOptions {
  readonly socket: Socket;
  readonly timeoutMs: number;
  readonly keepAliveMs: number;
  readonly keepAlive: () => NutCommand;
  readonly maxLineBytes?: number;
  readonly onClose?: (reason: NutConnectionError) => void;
}

export interface Connection {
  send<T>(command: NutCommand, parse: ReplyParser<T>): Promise<T>;
  /** The server is about to close the connection on purpose (after LOGOUT): report it as `closed`. */
  expectClose(): void;
  close(): Promise<void>;
  readonly closed: boolean;
}

interface Entry {
  readonly command: NutCommand;
  readonly lines: string[];
  readonly settle: (lines: readonly string[]) => void;
  readonly fail: (error: unknown) => void;
  timer?: NodeJS.Timeout;
}

export function createConnection(options: ConnectionOptions): Connection {
  const { socket, timeoutMs } = options;
  const framer = createLineFramer(
    options.maxLineBytes === undefined ? {} : { maxLineBytes: options.maxLineBytes },
  );
  const waiting: Entry[] = [];
  let inFlight: Entry | undefined;
  let ended: NutConnectionError | undefined;
  let closeExpected = false;
  let socketError: Error | undefined;
  const socketClosed = new Promise<void>((resolve) => socket.once('close', () => resolve()));

  const keepAliveTimer =
    options.keepAliveMs > 0 ? setTimeout(onIdle, options.keepAliveMs).unref() : undefined;

  function onIdle(): void {
    if (ended) return;
    if (inFlight || waiting.length > 0) {
      keepAliveTimer?.refresh();
      return;
    }
    // A failure here ends the connection, which callers learn through onClose.
    send(options.keepAlive(), () => undefined).catch(() => undefined);
  }

  function end(reason: NutConnectionErrorReason, message: string, cause?: unknown): void {
    if (ended) return;
    ended = new NutConnectionError(reason, message, { cause });
    clearTimeout(keepAliveTimer);
    const pending = inFlight ? [inFlight, ...waiting] : [...waiting];
    inFlight = undefined;
    waiting.length = 0;
    for (const entry of pending) {
      clearTimeout(entry.timer);
      entry.fail(new NutConnectionError(reason, message, { cause, command: entry.command.label }));
    }
    socket.destroy();
    options.onClose?.(ended);
  }

  function pump(): void {
    if (ended || inFlight) return;
    const next = waiting.shift();
    if (!next) return;
    inFlight = next;
    socket.write(`${next.command.line}\n`);
    keepAliveTimer?.refresh();
  }

  function onTimeout(entry: Entry): void {
    const error = new NutConnectionError('timeout', `no reply from upsd within ${timeoutMs} ms`, {
      command: entry.command.label,
    });
    if (entry === inFlight) {
      inFlight = undefined;
      entry.fail(error);
      // A late reply would be taken for the next request's: the connection cannot be trusted any more.
      end('timeout', `connection dropped after ${entry.command.label} timed out`);
      return;
    }
    const index = waiting.indexOf(entry);
    if (index !== -1) waiting.splice(index, 1);
    entry.fail(error);
  }

  function onLine(line: string): void {
    const entry = inFlight;
    if (!entry) {
      const unexpected = new NutProtocolError(
        'unexpected-reply',
        `unsolicited line from upsd: ${JSON.stringify(line)}`,
      );
      end('protocol', unexpected.message, unexpected);
      return;
    }
    entry.lines.push(line);
    if (entry.lines.length > MAX_REPLY_LINES) {
      // A LIST that never ends must not grow without bound until its timeout.
      const tooLarge = new NutProtocolError(
        'reply-too-large',
        `reply to ${entry.command.label} longer than ${MAX_REPLY_LINES} lines`,
      );
      end('protocol', tooLarge.message, tooLarge);
      return;
    }
    if (!isReplyComplete(entry.command, entry.lines)) return;
    inFlight = undefined;
    clearTimeout(entry.timer);
    entry.settle(entry.lines);
    pump();
  }

  socket.on('data', (chunk: Buffer) => {
    let lines: string[];
    try {
      lines = framer.push(chunk);
    } catch (error) {
      end('protocol', `connection dropped: ${error instanceof Error ? error.message : String(error)}`, error);
      return;
    }
    for (const line of lines) {
      if (ended) return;
      onLine(line);
    }
  });
  socket.on('error', (error) => {
    socketError = error;
  });
  socket.once('close', () => {
    if (closeExpected) end('closed', 'upsd closed the connection after LOGOUT');
    else
      end(
        'connection-lost',
        `upsd closed the connection${socketError ? `: ${socketError.message}` : ''}`,
        socketError,
      );
  });

  function send<T>(command: NutCommand, parse: ReplyParser<T>): Promise<T> {
    if (ended) {
      return Promise.reject(
        new NutConnectionError('closed', 'the connection to upsd is closed', {
          cause: ended,
          command: command.label,
        }),
      );
    }
    return new Promise<T>((resolve, reject) => {
      const entry: Entry = {
        command,
        lines: [],
        settle: (lines) => {
          try {
            resolve(parse(lines, command));
          } catch (error) {
            reject(error);
            if (error instanceof NutProtocolError) {
              end('protocol', `connection dropped after a bad reply to ${command.label}`, error);
            }
          }
        },
        fail: reject,
      };
      entry.timer = setTimeout(() => onTimeout(entry), timeoutMs);
      waiting.push(entry);
      pump();
    });
  }

  return {
    send,
    expectClose: () => {
      closeExpected = true;
    },
    close: async () => {
      end('closed', 'the NUT client was closed');
      await socketClosed;
    },
    get closed() {
      return ended !== undefined;
    },
  };
}

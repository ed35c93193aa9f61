import { createServer, type Socket } from 'node:net';
import { tokenize } from '../../agent/src/nut/protocol.js';
import { createWatchedList } from '../helpers/watched-list.js';
import type { Exchange } from './transcript.js';

/**
 * A real TCP server on 127.0.0.1:0 standing in for upsd: a responder decides what to write back
 * for each line, and everything received is logged so tests can assert on it (and await it).
 */

export interface FakeConnection {
  readonly id: number;
  /** Writes raw bytes (include the `\n`). Counted as one reply. */
  write(text: string): void;
  /** Closes abruptly, as a crashed upsd would. */
  destroy(): void;
  /** Closes gracefully, as upsd does after LOGOUT. */
  end(): void;
  /** Resolves when the client side is gone too. */
  readonly closed: Promise<void>;
}

export interface ReceivedLine {
  readonly connection: number;
  readonly line: string;
  /** Replies this connection had written before the line arrived. */
  readonly repliesBefore: number;
}

export type Responder = (line: string, connection: FakeConnection) => void;

export interface FakeUpsd {
  readonly host: string;
  readonly port: number;
  readonly received: readonly ReceivedLine[];
  /** The `index`-th accepted connection (0-based), once it exists. */
  connection(index: number): Promise<FakeConnection>;
  /** The first received line (past or future) matching `predicate`. */
  waitForLine(predicate: (line: ReceivedLine) => boolean): Promise<ReceivedLine>;
  close(): Promise<void>;
}

export async function startFakeUpsd(respond: Responder): Promise<FakeUpsd> {
  const received = createWatchedList<ReceivedLine>();
  const connections = createWatchedList<FakeConnection>();
  const sockets = new Set<Socket>();

  const server = createServer((socket) => {
    sockets.add(socket);
    let replies = 0;
    let buffer = '';
    const connection: FakeConnection = {
      id: connections.mark(),
      write: (text) => {
        replies += 1;
        socket.write(text);
      },
      destroy: () => socket.destroy(),
      end: () => socket.end(),
      closed: new Promise((resolve) => socket.once('close', () => resolve())),
    };
    connections.push(connection);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('latin1');
      for (let end = buffer.indexOf('\n'); end !== -1; end = buffer.indexOf('\n')) {
        const line = buffer.slice(0, end).replace(/\r$/, '');
        buffer = buffer.slice(end + 1);
        received.push({ connection: connection.id, line, repliesBefore: replies });
        respond(line, connection);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('fake upsd: no TCP address');

  return {
    host: '127.0.0.1',
    port: address.port,
    received: received.items,
    connection: (index) => connections.waitFor((_, i) => i === index, `connection ${index}`),
    waitForLine: (predicate) => received.waitFor(predicate, 'a line'),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Words of a command line, for matching `USERNAME "monsec"` with a recorded `USERNAME monsec`. */
const words = (line: string): string => JSON.stringify(tokenize(line));

/**
 * Replays recorded exchanges: each received line gets the replies of the first not-yet-used
 * exchange with the same words (then EOF if the recording closed there). Lines with no recording
 * get `ERR UNKNOWN-COMMAND` and are listed in `unmatched`.
 */
export function replay(exchanges: readonly Exchange[]): Responder & { readonly unmatched: string[] } {
  const pending = [...exchanges];
  const unmatched: string[] = [];
  const responder = (line: string, connection: FakeConnection): void => {
    const index = pending.findIndex((e) => words(e.command) === words(line));
    const exchange = index === -1 ? undefined : pending.splice(index, 1)[0];
    if (!exchange) {
      unmatched.push(line);
      connection.write('ERR UNKNOWN-COMMAND\n');
      return;
    }
    connection.write(exchange.replies.join(''));
    if (exchange.eof) connection.end();
  };
  return Object.assign(responder, { unmatched });
}

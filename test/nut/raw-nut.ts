import { connect, type Socket } from 'node:net';

/**
 * A raw NUT conversation for comparing servers byte for byte: `send` writes exactly the given bytes
 * and resolves with the next `replies` complete replies (one line, or a whole BEGIN … END LIST block),
 * each line with its terminator. It fails with what did arrive if nothing more comes within 5 s.
 */
export interface RawNut {
  send(bytes: string, replies: number): Promise<string[]>;
  /** Writes without waiting for anything. */
  write(bytes: string): void;
  /** Resolves when the server has closed the connection. */
  readonly closed: Promise<void>;
  close(): void;
}

const WAIT_MS = 5_000;

/** `localAddress`: the client's own address (any of 127/8 on Linux, to be another client). */
export async function openRawNut(port: number, host = '127.0.0.1', localAddress?: string): Promise<RawNut> {
  const socket: Socket = connect({ host, port, ...(localAddress === undefined ? {} : { localAddress }) });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  let buffer = '';
  const lines: string[] = [];
  let wake: (() => void) | undefined;
  socket.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('latin1');
    for (let end = buffer.indexOf('\n'); end >= 0; end = buffer.indexOf('\n')) {
      lines.push(buffer.slice(0, end + 1));
      buffer = buffer.slice(end + 1);
    }
    wake?.();
  });
  socket.once('close', () => wake?.());

  /** How many lines make up the first `count` complete replies, or undefined if not all are here. */
  const span = (count: number): number | undefined => {
    let at = 0;
    for (let n = 0; n < count; n++) {
      const first = lines[at];
      if (first === undefined) return undefined;
      if (!first.startsWith('BEGIN LIST')) {
        at += 1;
        continue;
      }
      const end = lines.findIndex((line, i) => i > at && line.startsWith('END LIST'));
      if (end < 0) return undefined;
      at = end + 1;
    }
    return at;
  };

  return {
    async send(bytes, replies) {
      socket.write(Buffer.from(bytes, 'latin1'));
      const deadline = Date.now() + WAIT_MS;
      for (;;) {
        const size = span(replies);
        if (size !== undefined) return lines.splice(0, size);
        const left = deadline - Date.now();
        if (left <= 0 || socket.destroyed)
          throw new Error(
            `${JSON.stringify(bytes)}: wanted ${replies} replies, got ${JSON.stringify(lines)}`,
          );
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
      }
    },
    write: (bytes) => {
      socket.write(Buffer.from(bytes, 'latin1'));
    },
    closed,
    close: () => socket.destroy(),
  };
}

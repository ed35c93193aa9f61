/**
 * A raw agent WebSocket for attack suites: the test speaks the protocol itself (any frame, valid or
 * not) and sees every frame and the close code, or the HTTP refusal of the upgrade.
 */
import WebSocket, { type RawData } from 'ws';
import { createWatchedList } from './watched-list.js';

export interface OpenSocket {
  readonly kind: 'open';
  readonly ws: WebSocket;
  /** Every frame received so far, parsed as JSON. */
  readonly frames: readonly Record<string, unknown>[];
  /** The first frame (past or future) matching `predicate`; rejects if the socket closes first. */
  frame(
    predicate: (frame: Record<string, unknown>) => boolean,
    what: string,
    from?: number,
  ): Promise<Record<string, unknown>>;
  /** The number of frames so far: a `from` for `frame` that ignores the past. */
  mark(): number;
  send(frame: unknown): void;
  /** Resolves with the close code. */
  readonly closed: Promise<number>;
}

export interface RefusedSocket {
  readonly kind: 'refused';
  readonly status: number;
  readonly contentType: string | undefined;
  readonly body: string;
}

function text(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.from(new Uint8Array(data)).toString('utf8');
}

/** Opens `<base>/agent/v1/ws` with `authorization` (or none); `autoPong: false` ignores pings. */
export function openAgentSocket(
  base: string,
  authorization?: string,
  options: { autoPong?: boolean } = {},
): Promise<OpenSocket | RefusedSocket> {
  const url = `${base.replace(/^http/, 'ws')}/agent/v1/ws`;
  const ws = new WebSocket(url, {
    headers: authorization === undefined ? {} : { authorization },
    perMessageDeflate: false,
    autoPong: options.autoPong ?? true,
  });
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  const frames = createWatchedList<Record<string, unknown>>({
    ended: closed,
    endedMessage: (what, code) => `socket closed (${String(code)}) before ${what}`,
  });
  ws.on('message', (data) => frames.push(JSON.parse(text(data)) as Record<string, unknown>));
  ws.on('error', () => undefined);
  return new Promise((resolve, reject) => {
    ws.once('unexpected-response', (_request, response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () => {
        resolve({
          kind: 'refused',
          status: response.statusCode ?? 0,
          contentType: response.headers['content-type'],
          body,
        });
        ws.terminate();
      });
    });
    ws.once('open', () =>
      resolve({
        kind: 'open',
        ws,
        frames: frames.items,
        closed,
        send: (frame) => ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame)),
        frame: (predicate, what, from) => frames.waitFor(predicate, what, from),
        mark: frames.mark,
      }),
    );
    ws.once('error', (error) => reject(error));
  });
}

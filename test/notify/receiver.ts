/**
 * A real local HTTP receiver (node:http on 127.0.0.1) standing in for every chat service: it
 * records each request and answers as the test says (or not at all, to hang). `next()` resolves
 * with the next request in arrival order, so tests await deliveries instead of sleeping.
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';

export interface ReceivedRequest {
  readonly method: string;
  /** Path and query. */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export type Answer = {
  readonly status: number;
  readonly body?: string;
  readonly headers?: Record<string, string>;
};
/** How to answer a request; 'hang' never answers (until the receiver closes). */
export type Responder = (request: ReceivedRequest) => Answer | 'hang';

export interface Receiver {
  readonly port: number;
  url(path: string): string;
  readonly requests: readonly ReceivedRequest[];
  /** The next request not yet taken by `next()`. */
  next(): Promise<ReceivedRequest>;
  respondWith(responder: Responder): void;
  close(): Promise<void>;
}

export const wechatOk: Responder = () => ({ status: 200, body: '{"errcode":0,"errmsg":"ok"}' });

export async function startReceiver(options: { port?: number; respond?: Responder } = {}): Promise<Receiver> {
  let responder: Responder = options.respond ?? (() => ({ status: 200, body: 'ok' }));
  const requests: ReceivedRequest[] = [];
  const waiters: ((request: ReceivedRequest) => void)[] = [];
  const hanging: ServerResponse[] = [];
  let taken = 0;

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request: ReceivedRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(request);
      const answer = responder(request);
      if (answer === 'hang') hanging.push(res);
      else res.writeHead(answer.status, answer.headers ?? {}).end(answer.body ?? '');
      const waiter = waiters.shift();
      if (waiter !== undefined) {
        taken++;
        waiter(request);
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('receiver has no port');
  const port = address.port;

  return {
    port,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    requests,
    next() {
      const ready = requests[taken];
      if (ready !== undefined) {
        taken++;
        return Promise.resolve(ready);
      }
      return new Promise((resolve) => waiters.push(resolve));
    },
    respondWith(next) {
      responder = next;
    },
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A TCP proxy on 127.0.0.1 that a test controls, to cut a host off from the coordinator the way a
 * dead switch would: `cut()` destroys every piped connection (both sides) and refuses new ones until
 * `restore()`.
 */
import { createConnection, createServer, type Socket } from 'node:net';

export interface TcpProxy {
  /** `http://127.0.0.1:<port>`: give it to the agent as its coordinator. */
  readonly url: string;
  readonly port: number;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const pairs = new Set<readonly [Socket, Socket]>();
  let open = true;
  const server = createServer((client) => {
    if (!open) {
      client.destroy();
      return;
    }
    const upstream = createConnection({ host: target.host, port: target.port });
    const pair = [client, upstream] as const;
    pairs.add(pair);
    const drop = (): void => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
    upstream.on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the proxy has no TCP address');
  const cutAll = (): void => {
    for (const [client, upstream] of pairs) {
      client.destroy();
      upstream.destroy();
    }
    pairs.clear();
  };
  return {
    url: `http://127.0.0.1:${address.port}`,
    port: address.port,
    cut() {
      open = false;
      cutAll();
    },
    restore() {
      open = true;
    },
    close() {
      open = false;
      cutAll();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

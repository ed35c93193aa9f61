/**
 * A TCP proxy on 127.0.0.1 that a test controls, to cut a host off from the coordinator the way a
 * dead switch would: `cut()` destroys every piped connection (both sides) and refuses new ones until
 * `restore()`. `muteUpstream()` is a one-way fault: every byte the client (an agent) sends is
 * silently dropped while what the target (the coordinator) sends is still delivered — an agent that
 * receives its orders but whose acknowledgements never arrive. `silence()` drops every byte both
 * ways and closes nothing towards the agent (no FIN, no RST, new connections hang): a link gone
 * silent, as when the site's router loses power; `unsilence()` ends it like a link coming back (the
 * dead connections reset, so the agent reconnects).
 */
import { createConnection, createServer, type Socket } from 'node:net';

export interface TcpProxy {
  /** `http://127.0.0.1:<port>`: give it to the agent as its coordinator. */
  readonly url: string;
  readonly port: number;
  /** Bytes dropped from the client side since the last `muteUpstream()`. */
  readonly droppedBytes: number;
  /** Destroys every piped connection and refuses new ones until `restore()`. */
  cut(): void;
  restore(): void;
  /** From now on, bytes from the client are dropped (the connection stays up). */
  muteUpstream(): void;
  unmuteUpstream(): void;
  /** Drops every byte both ways; closes nothing towards the client; new connections hang. */
  silence(): void;
  /** The link is back: the silenced connections are reset, new ones are piped again. */
  unsilence(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const pairs = new Set<readonly [Socket, Socket]>();
  let open = true;
  let muted = false;
  let silent = false;
  let dropped = 0;
  /** Client sockets kept dangling while silent (their upstream may be gone). */
  const dangling = new Set<Socket>();
  const server = createServer((client) => {
    if (!open) {
      client.destroy();
      return;
    }
    if (silent) {
      dangling.add(client);
      client.on('data', (chunk: Buffer) => {
        dropped += chunk.length;
      });
      client.on('error', () => client.destroy());
      client.on('close', () => dangling.delete(client));
      return;
    }
    const upstream = createConnection({ host: target.host, port: target.port });
    const pair = [client, upstream] as const;
    pairs.add(pair);
    const drop = (): void => {
      pairs.delete(pair);
      upstream.destroy();
      // A silent link tells the client nothing: it keeps a socket that will never answer.
      if (silent) {
        dangling.add(client);
        client.on('close', () => dangling.delete(client));
      } else client.destroy();
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
    upstream.on('close', drop);
    client.on('data', (chunk: Buffer) => {
      if (muted || silent) dropped += chunk.length;
      else upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!silent) client.write(chunk);
    });
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
    get droppedBytes() {
      return dropped;
    },
    cut() {
      open = false;
      cutAll();
    },
    restore() {
      open = true;
    },
    muteUpstream() {
      muted = true;
      dropped = 0;
    },
    unmuteUpstream() {
      muted = false;
    },
    silence() {
      silent = true;
      dropped = 0;
    },
    unsilence() {
      silent = false;
      for (const client of dangling) client.destroy();
      dangling.clear();
      cutAll();
    },
    close() {
      open = false;
      silent = false;
      for (const client of dangling) client.destroy();
      cutAll();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

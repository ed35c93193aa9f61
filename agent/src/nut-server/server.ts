import { createServer, type Server, type Socket } from 'node:net';
import { createSecureContext, type SecureContext, TLSSocket } from 'node:tls';
import { createCommandReader } from './command-reader.js';
import { createNutSession, type NutSession } from './session.js';
import type { NutClientView, NutServerAuth, NutServerEvent, NutServerSource } from './types.js';

/**
 * The NUT network protocol server (what upsd speaks on port 3493) over an injected source and
 * account check. It only frames: bytes → commands (`command-reader.ts`), each answered in order by
 * the connection's session (`session.ts`), STARTTLS when a certificate is given, upsd's 60 s idle
 * drop, an optional address allow-list.
 */

export interface NutServerOptions {
  readonly source: NutServerSource;
  readonly auth: NutServerAuth;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 3493 (IANA's NUT port); 0 picks a free one. */
  readonly port?: number;
  /** The upsd version claimed in VER and `server.version` (default 2.8.0). */
  readonly version?: string;
  /** PEM key and certificate: STARTTLS is offered only with them, as upsd with CERTFILE. */
  readonly tls?: { readonly key: string; readonly cert: string };
  /** Connections from an address this refuses are closed at once, before a byte is read. */
  readonly allow?: (address: string) => boolean;
  /** A client silent this long is dropped (upsd: 60 s). */
  readonly idleTimeoutMs?: number;
  readonly maxConnections?: number;
  readonly onEvent?: (event: NutServerEvent) => void;
}

export interface NutServer {
  readonly host: string;
  readonly port: number;
  /** The connected clients, as the source sees them. */
  clients(): NutClientView[];
  close(): Promise<void>;
}

export const NUT_PORT = 3493;
export const DEFAULT_NUT_VERSION = '2.8.0';
const UPSD_IDLE_MS = 60_000;
/** Pipelined commands waiting for an answer before the connection stops being read. */
const MAX_QUEUED = 64;
/** A client that stops reading its answers is dropped once this much is unsent. */
const MAX_UNSENT_BYTES = 1024 * 1024;

/** `::ffff:10.0.0.5` → `10.0.0.5`, as upsd prints a v4 client. */
export function clientAddress(socket: Socket): string {
  const address = socket.remoteAddress ?? 'unknown';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

export async function createNutServer(options: NutServerOptions): Promise<NutServer> {
  const host = options.host ?? '127.0.0.1';
  const emit = (event: NutServerEvent): void => options.onEvent?.(event);
  const secureContext: SecureContext | undefined = options.tls
    ? createSecureContext({ key: options.tls.key, cert: options.tls.cert })
    : undefined;
  const sessions = new Map<Socket, NutSession>();
  let nextId = 1;

  const server: Server = createServer((socket) => {
    const address = clientAddress(socket);
    if (options.allow && !options.allow(address)) {
      emit({ type: 'refused', address });
      socket.destroy();
      return;
    }
    serve(socket, address);
  });
  if (options.maxConnections !== undefined) server.maxConnections = options.maxConnections;

  function serve(raw: Socket, address: string): void {
    const connectionId = nextId++;
    const session = createNutSession({
      connectionId,
      address,
      source: options.source,
      auth: options.auth,
      version: options.version ?? DEFAULT_NUT_VERSION,
      tlsConfigured: secureContext !== undefined,
      clients: () => [...sessions.values()].map((s) => s.view),
      emit,
    });
    sessions.set(raw, session);
    emit({ type: 'connect', connectionId, address });
    let reader = createCommandReader();
    let transport: Socket = raw;
    let queue: Promise<void> = Promise.resolve();
    let queued = 0;
    let ending = false;
    const idle = setTimeout(() => raw.destroy(), options.idleTimeoutMs ?? UPSD_IDLE_MS);

    const write = (lines: readonly string[]): void => {
      if (lines.length === 0 || transport.destroyed) return;
      transport.write(`${lines.join('\n')}\n`);
      if (transport.writableLength > MAX_UNSENT_BYTES) raw.destroy();
    };

    function startTls(): void {
      if (!secureContext) return;
      raw.off('data', onData);
      reader = createCommandReader();
      const secure = new TLSSocket(raw, { isServer: true, secureContext });
      transport = secure;
      secure.on('data', onData);
      secure.on('secure', () => session.secured());
      secure.on('error', () => raw.destroy());
    }

    /** Bumped by STARTTLS: commands pipelined behind it came in clear text and are dropped. */
    let generation = 0;

    async function answer(words: string[], asOf: number): Promise<void> {
      if (ending || asOf !== generation) return;
      const reply = await session.handle(words);
      if (ending) return;
      write(reply.lines);
      if (reply.after === 'close') {
        ending = true;
        transport.end();
      } else if (reply.after === 'starttls') {
        generation += 1;
        startTls();
      }
    }

    function onData(chunk: Buffer): void {
      for (const words of reader.push(chunk)) {
        idle.refresh();
        queued += 1;
        if (queued > MAX_QUEUED) transport.pause();
        const asOf = generation;
        queue = queue
          .then(() => answer(words, asOf))
          .catch(() => {
            raw.destroy();
          })
          .finally(() => {
            queued -= 1;
            if (queued <= MAX_QUEUED / 4 && transport.isPaused()) transport.resume();
          });
      }
    }

    raw.on('data', onData);
    raw.on('error', () => undefined);
    raw.once('close', () => {
      clearTimeout(idle);
      ending = true;
      sessions.delete(raw);
      session.closed();
      emit({ type: 'disconnect', connectionId, address });
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? NUT_PORT, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address();
  if (bound === null || typeof bound === 'string') throw new Error('NUT server has no TCP address');

  return {
    host,
    port: bound.port,
    clients: () => [...sessions.values()].map((session) => session.view),
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sessions.keys()) socket.destroy();
      await closed;
    },
  };
}

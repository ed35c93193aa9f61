import { connect as netConnect, type Socket } from 'node:net';
import { connectSocket, createConnection, formatTarget, type ReplyParser } from './connection.js';
import { type NutConnectionError, NutProtocolError } from './errors.js';
import { type NutCommand, nutCommand } from './protocol.js';
import {
  type NutOkReply,
  type NutUps,
  parseGoodbyeReply,
  parseListCmd,
  parseListUps,
  parseListVar,
  parseOkReply,
  parseTextReply,
  parseVarReply,
} from './replies.js';
import { negotiateTls, type TlsOptions } from './starttls.js';

export interface NutClientOptions {
  readonly host: string;
  readonly port: number;
  /** Bounds the TCP connect and every request, counted from the call. Default 5 s. */
  readonly timeoutMs?: number;
  /** Send `VER` after this long without sending anything; upsd drops clients idle for 60 s. 0 = off. Default 30 s. */
  readonly keepAliveMs?: number;
  readonly maxLineBytes?: number;
  /** STARTTLS before anything else (default: off). */
  readonly tls?: TlsOptions;
  /** Opens the socket; defaults to `net.connect`. */
  readonly connect?: (target: { readonly host: string; readonly port: number }) => Socket;
  /** Called once when the connection ends, with the reason (`closed` after `close()` or `logout()`). */
  readonly onClose?: (reason: NutConnectionError) => void;
}

export interface NutClient {
  ver(): Promise<string>;
  netver(): Promise<string>;
  help(): Promise<string>;
  listUps(): Promise<NutUps[]>;
  listVar(ups: string): Promise<Record<string, string>>;
  getVar(ups: string, variable: string): Promise<string>;
  listCmd(ups: string): Promise<string[]>;
  /** USERNAME + PASSWORD only, for users without an `upsmon` role (e.g. INSTCMD rights). */
  authenticate(username: string, password: string): Promise<void>;
  /** USERNAME + PASSWORD + LOGIN, as upsmon does; needs `upsmon primary|secondary` in upsd.users. */
  login(username: string, password: string, ups: string): Promise<void>;
  /** LOGOUT, then close. */
  logout(): Promise<void>;
  instcmd(ups: string, command: string, param?: string): Promise<NutOkReply>;
  /**
   * STARTTLS in the middle of a session. Use the `tls` option instead, which negotiates TLS before
   * anything else is sent; here upsd without a certificate answers `ERR FEATURE-NOT-CONFIGURED` (a
   * NutError), and an accepted upgrade drops the connection (`NutProtocolError('unsupported')`).
   */
  starttls(): Promise<void>;
  /** Rejects whatever is pending with `NutConnectionError('closed')` and closes the socket. Idempotent. */
  close(): Promise<void>;
  readonly closed: boolean;
  /** The connection negotiated TLS (STARTTLS). */
  readonly encrypted: boolean;
}

const DEFAULT_TIMEOUT_MS = 5_000;
const DEFAULT_KEEP_ALIVE_MS = 30_000;

/** Connects to upsd. One request is in flight at a time; the rest wait in order. */
export async function createNutClient(options: NutClientOptions): Promise<NutClient> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const target = { host: options.host, port: options.port };
  const open = options.connect ?? ((t: { host: string; port: number }) => netConnect(t));
  const raw = await connectSocket(() => open(target), timeoutMs, formatTarget(target));
  raw.setNoDelay(true);
  const { socket, encrypted } = await negotiateTls(raw, {
    ...(options.tls ?? { mode: 'off' }),
    host: options.host,
    timeoutMs,
    where: formatTarget(target),
  });

  const connection = createConnection({
    socket,
    timeoutMs,
    keepAliveMs: options.keepAliveMs ?? DEFAULT_KEEP_ALIVE_MS,
    keepAlive: () => nutCommand.ver(),
    ...(options.maxLineBytes === undefined ? {} : { maxLineBytes: options.maxLineBytes }),
    ...(options.onClose === undefined ? {} : { onClose: options.onClose }),
  });
  // Formatting validates arguments; a refusal becomes a rejection, never a synchronous throw.
  const send = <T>(command: () => NutCommand, parse: ReplyParser<T>): Promise<T> => {
    try {
      return connection.send(command(), parse);
    } catch (error) {
      return Promise.reject(error);
    }
  };

  const authenticate = async (username: string, password: string, then?: NutCommand): Promise<void> => {
    // Every argument is validated before the first line goes out.
    const user = nutCommand.username(username);
    const pass = nutCommand.password(password);
    await send(() => user, parseOkReply);
    await send(() => pass, parseOkReply);
    if (then) await send(() => then, parseOkReply);
  };

  return {
    ver: () => send(() => nutCommand.ver(), parseTextReply),
    netver: () => send(() => nutCommand.netver(), parseTextReply),
    help: () => send(() => nutCommand.help(), parseTextReply),
    listUps: () => send(() => nutCommand.listUps(), parseListUps),
    listVar: (ups) =>
      send(
        () => nutCommand.listVar(ups),
        (lines, command) => parseListVar(lines, command, ups),
      ),
    getVar: (ups, variable) =>
      send(
        () => nutCommand.getVar(ups, variable),
        (lines, command) => parseVarReply(lines, command, ups, variable),
      ),
    listCmd: (ups) =>
      send(
        () => nutCommand.listCmd(ups),
        (lines, command) => parseListCmd(lines, command, ups),
      ),
    authenticate: (username, password) => authenticate(username, password),
    login: async (username, password, ups) => authenticate(username, password, nutCommand.login(ups)),
    logout: async () => {
      // upsd closes the connection right after `OK Goodbye`; that close is expected.
      await send(
        () => nutCommand.logout(),
        (lines, command) => {
          parseGoodbyeReply(lines, command);
          connection.expectClose();
        },
      );
      await connection.close();
    },
    instcmd: (ups, command, param) => send(() => nutCommand.instcmd(ups, command, param), parseOkReply),
    starttls: async () => {
      // A NutProtocolError from a parser drops the connection: upsd now expects a TLS handshake.
      await send(
        () => nutCommand.starttls(),
        (lines, command) => {
          parseOkReply(lines, command);
          throw new NutProtocolError(
            'unsupported',
            'upsd accepted STARTTLS, but this client does not implement TLS',
          );
        },
      );
    },
    close: () => connection.close(),
    get closed() {
      return connection.closed;
    },
    encrypted,
  };
}

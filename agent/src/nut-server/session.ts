import { handleGet, handleList, type QueryContext } from './queries.js';
import { err, HELP_LINE, verLine } from './replies.js';
import type { NutClientView, NutServerAuth, NutServerEvent, NutServerSource } from './types.js';

/**
 * One client connection's state and its answers, as upsd 2.8.0 gives them (server/upsd.c
 * `parse_net`/`check_command`, netuser.c, netmisc.c, netset.c, netinstcmd.c). No I/O: the server
 * feeds it commands (word lists) and writes what it returns. Nobody may SET, INSTCMD, FSD or be
 * PRIMARY here: those are refused with upsd's codes, in upsd's order of checks.
 */

export interface NutReply {
  readonly lines: readonly string[];
  /** After writing the lines: close the connection (LOGOUT) or start TLS (STARTTLS). */
  readonly after?: 'close' | 'starttls';
}

export interface NutSessionDeps {
  readonly connectionId: number;
  readonly address: string;
  readonly source: NutServerSource;
  readonly auth: NutServerAuth;
  /** upsd's version to claim in VER and server.version. */
  readonly version: string;
  /** Whether STARTTLS can be offered (a certificate is configured). */
  readonly tlsConfigured: boolean;
  /** Every connection's view (NUMLOGINS, LIST CLIENT). */
  readonly clients: () => Iterable<NutClientView>;
  readonly emit: (event: NutServerEvent) => void;
}

export interface NutSession {
  readonly view: NutClientView;
  handle(words: readonly string[]): Promise<NutReply>;
  /** TLS was negotiated after STARTTLS. */
  secured(): void;
  /** The connection is gone: a client still logged in counts as having left by disconnecting. */
  closed(): void;
}

/** Commands that need USERNAME and PASSWORD first (netcmds.h FLAG_USER). */
const NEEDS_USER = new Set(['LOGIN', 'PRIMARY', 'MASTER', 'FSD', 'SET', 'INSTCMD']);

const line = (text: string): NutReply => ({ lines: [text] });

export function createNutSession(deps: NutSessionDeps): NutSession {
  let username: string | undefined;
  let password: string | undefined;
  let loggedInTo: string | undefined;
  let tracking = false;
  let tls = false;
  let left = false;

  const view = (): NutClientView => ({
    connectionId: deps.connectionId,
    address: deps.address,
    username,
    loggedInTo,
  });
  const query = (): QueryContext => ({
    source: deps.source,
    client: view(),
    version: deps.version,
    tracking,
    clients: deps.clients,
  });
  const findUps = (name: string) => {
    const lower = name.toLowerCase();
    return deps.source.upses(view()).find((ups) => ups.name.toLowerCase() === lower);
  };

  function leave(how: 'logout' | 'disconnect'): void {
    if (left) return;
    left = true;
    if (loggedInTo !== undefined && username !== undefined) {
      deps.emit({
        type: 'logout',
        connectionId: deps.connectionId,
        address: deps.address,
        username,
        ups: loggedInTo,
        how,
      });
    }
  }

  async function login(args: readonly string[]): Promise<NutReply> {
    if (args.length !== 1) return line(err('INVALID-ARGUMENT'));
    if (loggedInTo !== undefined) return line(err('ALREADY-LOGGED-IN'));
    const ups = findUps(args[0] as string);
    if (ups === undefined) return line(err('UNKNOWN-UPS'));
    const user = username as string;
    const request = { username: user, password: password as string, ups: ups.name, address: deps.address };
    const base = { connectionId: deps.connectionId, address: deps.address, username: user, ups: ups.name };
    if (!(await deps.auth.login(request))) {
      deps.emit({ type: 'login-denied', ...base });
      return line(err('ACCESS-DENIED'));
    }
    // The connection may have gone, or logged in on a pipelined line, while the check ran.
    if (left || loggedInTo !== undefined) return line(err('ALREADY-LOGGED-IN'));
    loggedInTo = ups.name;
    deps.emit({ type: 'login', ...base });
    return line('OK');
  }

  /** PRIMARY, MASTER and FSD: the UPS must exist; then nobody is allowed. */
  function refusedForUps(args: readonly string[]): NutReply {
    if (args.length !== 1) return line(err('INVALID-ARGUMENT'));
    return line(findUps(args[0] as string) === undefined ? err('UNKNOWN-UPS') : err('ACCESS-DENIED'));
  }

  function set(args: readonly string[]): NutReply {
    if (args.length < 2) return line(err('INVALID-ARGUMENT'));
    const kind = (args[0] as string).toUpperCase();
    if (kind === 'VAR') {
      if (args.length < 4) return line(err('INVALID-ARGUMENT'));
      const ups = findUps(args[1] as string);
      if (ups === undefined) return line(err('UNKNOWN-UPS'));
      if (typeof ups.data === 'string') return line(err(ups.data));
      return line(err('ACCESS-DENIED'));
    }
    if (kind === 'TRACKING') {
      const value = (args[1] as string).toUpperCase();
      if (value !== 'ON' && value !== 'OFF') return line(err('INVALID-ARGUMENT'));
      tracking = value === 'ON';
      return line('OK');
    }
    return line(err('INVALID-ARGUMENT'));
  }

  function instcmd(args: readonly string[]): NutReply {
    if (args.length < 2) return line(err('INVALID-ARGUMENT'));
    const ups = findUps(args[0] as string);
    if (ups === undefined) return line(err('UNKNOWN-UPS'));
    if (typeof ups.data === 'string') return line(err(ups.data));
    const command = (args[1] as string).toLowerCase();
    if (!ups.data.commands.some((known) => known.toLowerCase() === command))
      return line(err('CMD-NOT-SUPPORTED'));
    return line(err('ACCESS-DENIED'));
  }

  function setOnce(kind: 'USERNAME' | 'PASSWORD', args: readonly string[]): NutReply {
    if (args.length !== 1) return line(err('INVALID-ARGUMENT'));
    if (kind === 'USERNAME') {
      if (username !== undefined) return line(err('ALREADY-SET-USERNAME'));
      username = args[0];
    } else {
      // Not checked here: upsd checks the password only at LOGIN.
      if (password !== undefined) return line(err('ALREADY-SET-PASSWORD'));
      password = args[0];
    }
    return line('OK');
  }

  async function handle(received: readonly string[]): Promise<NutReply> {
    // What the command reader gives is already printable; callers feeding words directly may not be.
    const [first, ...args] = received.map((word) => word.replace(/[^\x20-\x7f]/g, ''));
    if (first === undefined) return line(err('UNKNOWN-COMMAND'));
    const command = first.toUpperCase();
    if (NEEDS_USER.has(command)) {
      if (username === undefined) return line(err('USERNAME-REQUIRED'));
      if (password === undefined) return line(err('PASSWORD-REQUIRED'));
    }
    const bare = (text: string): NutReply => line(args.length === 0 ? text : err('INVALID-ARGUMENT'));
    switch (command) {
      case 'VER':
        return bare(verLine(deps.version));
      case 'NETVER':
      case 'PROTVER':
        return bare('1.3');
      case 'HELP':
        return bare(HELP_LINE);
      case 'STARTTLS':
        if (tls) return line(err('ALREADY-SSL-MODE'));
        if (!deps.tlsConfigured) return line(err('FEATURE-NOT-CONFIGURED'));
        return { lines: ['OK STARTTLS'], after: 'starttls' };
      case 'GET':
        return { lines: handleGet(query(), args) };
      case 'LIST':
        return { lines: handleList(query(), args) };
      case 'USERNAME':
      case 'PASSWORD':
        return setOnce(command, args);
      case 'LOGIN':
        return login(args);
      case 'LOGOUT':
        if (args.length !== 0) return line(err('INVALID-ARGUMENT'));
        leave('logout');
        return { lines: ['OK Goodbye'], after: 'close' };
      case 'PRIMARY':
      case 'MASTER':
      case 'FSD':
        return refusedForUps(args);
      case 'SET':
        return set(args);
      case 'INSTCMD':
        return instcmd(args);
      default:
        return line(err('UNKNOWN-COMMAND'));
    }
  }

  return {
    get view() {
      return view();
    },
    handle,
    secured: () => {
      tls = true;
    },
    closed: () => leave('disconnect'),
  };
}

import { NutProtocolError } from './errors.js';
import { createParseconf, type ParseconfOptions } from './parseconf.js';

/**
 * The NUT line protocol, without I/O: tokenizing (common/parseconf.c rules), quoting, and one
 * formatter per command this client sends. Replies are parsed in `replies.ts`, bytes are framed
 * into lines in `line-framer.ts`.
 */

/** The client reads replies leniently: see `tokenize`. */
const REPLY_WORDS: ParseconfOptions = { hashInQuotes: 'keep', printableOnly: false };

/**
 * Splits one line into words like upsd and upsclient do (parseconf, see `parseconf.ts`). Unlike
 * parseconf, an unbalanced quote or a dangling `\` throws instead of being tied off.
 * One deliberate leniency: a raw `#` inside quotes is kept. upsd 2.8.0 refuses that on input (the
 * connection goes silent, measured), which is why `quote()` escapes it; but 2.8.0 does not escape the
 * values it sends, so a reply like `VAR ups ups.mfr "APC #1"` is read as is rather than failing a
 * whole LIST VAR snapshot.
 */
export function tokenize(line: string): string[] {
  const parser = createParseconf(REPLY_WORDS);
  for (const ch of line) {
    if (ch === '\n') break;
    parser.push(ch);
  }
  if (parser.state === 'word-escaped' || parser.state === 'quoted-escaped')
    throw new NutProtocolError('syntax', `dangling backslash at the end of ${JSON.stringify(line)}`);
  if (parser.state === 'quoted')
    throw new NutProtocolError('syntax', `unbalanced quote in ${JSON.stringify(line)}`);
  return [...parser.finish()];
}

/** Printable ASCII only: upsd's parser drops anything else, and a newline would start a second command. */
const PRINTABLE = /^[\x20-\x7e]*$/;
/** UPS, variable and command names are sent bare, so they get a strict alphabet. */
const NAME = /^[A-Za-z0-9_.:+-]+$/;

function assertPrintable(what: string, value: string): void {
  if (!PRINTABLE.test(value)) {
    throw new NutProtocolError(
      'unsafe-argument',
      `${what} contains a control or non-ASCII character; refusing to send it to upsd`,
    );
  }
}

function name(what: string, value: string): string {
  assertPrintable(what, value);
  if (!NAME.test(value)) {
    throw new NutProtocolError('unsafe-argument', `${what} ${JSON.stringify(value)} is not a valid NUT name`);
  }
  return value;
}

/** Quotes a value for USERNAME, PASSWORD, SET or INSTCMD, escaping `"`, `\` and `#` (pconf_encode's set). */
export function quote(value: string): string {
  assertPrintable('value', value);
  return `"${escapeValue(value)}"`;
}

/** pconf_encode: `"`, `\` and `#` escaped, so that parseconf reads the value back whole. */
export function escapeValue(value: string): string {
  return value.replace(/["\\#]/g, '\\$&');
}

export type ReplyShape = 'line' | 'list';

/** A command ready to send. `line` has no terminator; `label` is safe to log (passwords redacted). */
export interface NutCommand {
  readonly line: string;
  readonly label: string;
  readonly shape: ReplyShape;
  /** The UPS the command is about, for error messages. */
  readonly ups: string | undefined;
}

function single(line: string, ups?: string, label = line): NutCommand {
  return { line, label, shape: 'line', ups };
}

function list(words: readonly string[], ups?: string): NutCommand {
  const line = `LIST ${words.join(' ')}`;
  return { line, label: line, shape: 'list', ups };
}

/** One formatter per command this client sends. Every argument is validated or quoted. */
export const nutCommand = {
  ver: (): NutCommand => single('VER'),
  netver: (): NutCommand => single('NETVER'),
  protver: (): NutCommand => single('PROTVER'),
  help: (): NutCommand => single('HELP'),
  listUps: (): NutCommand => list(['UPS']),
  listVar: (ups: string): NutCommand => list(['VAR', name('UPS name', ups)], ups),
  listCmd: (ups: string): NutCommand => list(['CMD', name('UPS name', ups)], ups),
  getVar: (ups: string, variable: string): NutCommand =>
    single(`GET VAR ${name('UPS name', ups)} ${name('variable name', variable)}`, ups),
  username: (username: string): NutCommand => single(`USERNAME ${quote(username)}`),
  password: (password: string): NutCommand =>
    single(`PASSWORD ${quote(password)}`, undefined, 'PASSWORD ***'),
  login: (ups: string): NutCommand => single(`LOGIN ${name('UPS name', ups)}`, ups),
  logout: (): NutCommand => single('LOGOUT'),
  instcmd: (ups: string, command: string, param?: string): NutCommand => {
    const base = `INSTCMD ${name('UPS name', ups)} ${name('command name', command)}`;
    return single(param === undefined ? base : `${base} ${quote(param)}`, ups);
  },
  starttls: (): NutCommand => single('STARTTLS'),
} as const;

import { readFileSync } from 'node:fs';

/**
 * Reads the transcript fixtures in test/fixtures/nut/: `C: b'…'` is what a client sent, each
 * following `S: b'…'` one reply line, `S: <EOF…>` the server closing. Values are Python bytes
 * reprs, decoded here byte for byte (latin1, so every byte maps to one char).
 */

export interface Exchange {
  /** `## A. …` heading the exchange is under. */
  readonly section: string;
  /** `--- connection N …` number (per file). */
  readonly connection: number;
  /** Exact bytes sent, newline(s) included. */
  readonly request: string;
  /** The request without its terminator (first line only, for pipelined writes). */
  readonly command: string;
  /** The `# …` remark after the request, if any. */
  readonly note: string | undefined;
  /** Each reply line exactly as received, terminator included. */
  readonly replies: readonly string[];
  /** The server closed the connection after the replies. */
  readonly eof: boolean;
}

const FIXTURES = new URL('../fixtures/nut/', import.meta.url);

export function fixturePath(name: string): URL {
  return new URL(name, FIXTURES);
}

export function readFixture(name: string): string {
  return readFileSync(fixturePath(name), 'latin1');
}

/** Decodes a Python bytes literal such as `b'VAR ups x "a \\"q\\""\n'`; returns it and the rest of the line. */
export function decodeBytesLiteral(text: string): { value: string; rest: string } {
  const quote = text[1];
  if (text[0] !== 'b' || (quote !== "'" && quote !== '"')) throw new Error(`not a bytes literal: ${text}`);
  let value = '';
  for (let i = 2; i < text.length; i++) {
    const ch = text[i];
    if (ch === quote) return { value, rest: text.slice(i + 1) };
    if (ch !== '\\') {
      value += ch;
      continue;
    }
    const next = text[++i];
    if (next === 'x') {
      value += String.fromCharCode(Number.parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      const simple: Record<string, string> = { n: '\n', r: '\r', t: '\t', '\\': '\\', "'": "'", '"': '"' };
      const decoded = next === undefined ? undefined : simple[next];
      if (decoded === undefined) throw new Error(`unsupported escape \\${next} in ${text}`);
      value += decoded;
    }
  }
  throw new Error(`unterminated bytes literal: ${text}`);
}

interface Draft {
  section: string;
  connection: number;
  request: string;
  note: string | undefined;
  replies: string[];
  eof: boolean;
}

export function parseTranscript(text: string): Exchange[] {
  const exchanges: Draft[] = [];
  let section = '';
  let connection = 0;
  for (const line of text.split('\n')) {
    const current = exchanges.at(-1);
    if (line.startsWith('## ')) section = line.slice(3).trim();
    else if (line.startsWith('--- connection ')) connection = Number.parseInt(line.slice(15), 10);
    else if (line.startsWith('C: ')) {
      const { value, rest } = decodeBytesLiteral(line.slice(3));
      const note = rest.trim().replace(/^#\s*/, '');
      exchanges.push({
        section,
        connection,
        request: value,
        note: note || undefined,
        replies: [],
        eof: false,
      });
    } else if (line.startsWith('S: <EOF')) {
      if (current) current.eof = true;
    } else if (line.startsWith('S: ')) {
      if (!current) throw new Error(`reply before any request: ${line}`);
      current.replies.push(decodeBytesLiteral(line.slice(3)).value);
    }
  }
  return exchanges.map((draft) => ({ ...draft, command: draft.request.split(/\r?\n/)[0] ?? '' }));
}

export function loadTranscript(name: string): Exchange[] {
  return parseTranscript(readFixture(name));
}

/** The recorded upsd 2.8.0 session (copied byte for byte from the nut-peer kit). */
export const RECORDED = 'upsd-2.8.0-transcript.txt';
/** Hand-written escapes, every ERR code, and broken replies. */
export const SYNTHETIC = 'synthetic-replies.txt';

/** The exchange whose request is `command` (the `nth` one, 0-based) in `section` (a prefix such as `B.`). */
export function findExchange(
  exchanges: readonly Exchange[],
  command: string,
  section = '',
  nth = 0,
): Exchange {
  const matches = exchanges.filter((e) => e.command === command && e.section.startsWith(section));
  const found = matches[nth];
  if (!found)
    throw new Error(`no exchange ${JSON.stringify(command)} #${nth} in section ${section || '(any)'}`);
  return found;
}

/** Strips the single terminator of a recorded reply line. */
export function bare(reply: string): string {
  return reply.replace(/\r?\n$/, '');
}

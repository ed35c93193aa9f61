import { NutError, NutProtocolError } from './errors.js';
import { type NutCommand, tokenize } from './protocol.js';

/** Pure parsers for upsd's replies. Each takes the complete reply (one line, or a whole LIST block). */

const ERR_LINE = /^ERR(?:\s|$)/;
const BEGIN_LIST = /^BEGIN\s+LIST(?:\s|$)/;
const END_LIST = /^END\s+LIST(?:\s|$)/;

export interface NutUps {
  readonly name: string;
  readonly description: string;
}

export interface NutOkReply {
  /** What followed `OK`, e.g. `Goodbye`, `FSD-SET`, `TRACKING <id>`; empty for a bare `OK`. */
  readonly text: string;
  /** The id from `OK TRACKING <id>` (upsd with `SET TRACKING ON`). */
  readonly tracking: string | undefined;
}

/** True once `lines` hold the whole reply to `command`: one line, or BEGIN … END of a LIST (or its ERR). */
export function isReplyComplete(command: NutCommand, lines: readonly string[]): boolean {
  const first = lines[0];
  if (first === undefined) return false;
  if (command.shape === 'line' || !BEGIN_LIST.test(first)) return true;
  const last = lines[lines.length - 1];
  return lines.length > 1 && last !== undefined && END_LIST.test(last);
}

/** `ERR <CODE> [extra]` → a NutError; any other line → undefined. */
export function toNutError(line: string, command: NutCommand): NutError | undefined {
  if (!ERR_LINE.test(line)) return undefined;
  const [, code, ...extra] = tokenize(line);
  if (code === undefined) throw unexpected(line, command);
  return new NutError(code, extra.length > 0 ? extra.join(' ') : undefined, command.label, command.ups);
}

function unexpected(line: string, command: NutCommand): NutProtocolError {
  const shown = line.length > 200 ? `${line.slice(0, 200)}…` : line;
  return new NutProtocolError(
    'unexpected-reply',
    `unexpected reply to ${command.label}: ${JSON.stringify(shown)}`,
  );
}

function onlyLine(lines: readonly string[], command: NutCommand): string {
  const [line, ...rest] = lines;
  if (line === undefined || rest.length > 0) {
    throw new NutProtocolError(
      'unexpected-reply',
      `expected one reply line to ${command.label}, got ${lines.length}`,
    );
  }
  const error = toNutError(line, command);
  if (error) throw error;
  return line;
}

const sameName = (a: string | undefined, b: string): boolean => a?.toLowerCase() === b.toLowerCase();

/** A bare text reply (VER, NETVER, PROTVER, HELP). */
export function parseTextReply(lines: readonly string[], command: NutCommand): string {
  return onlyLine(lines, command);
}

/** `OK`, `OK TRACKING <id>`, `OK Goodbye`, `OK FSD-SET`, … */
export function parseOkReply(lines: readonly string[], command: NutCommand): NutOkReply {
  const line = onlyLine(lines, command);
  const words = tokenize(line);
  if (words[0] !== 'OK') throw unexpected(line, command);
  const tracking = words[1] === 'TRACKING' && words.length === 3 ? words[2] : undefined;
  return { text: words.slice(1).join(' '), tracking };
}

/** LOGOUT: `OK Goodbye`, or `Goodbye...` from servers before 2.8.0. */
export function parseGoodbyeReply(lines: readonly string[], command: NutCommand): void {
  const line = onlyLine(lines, command);
  if (!/^(OK\b|Goodbye)/.test(line)) throw unexpected(line, command);
}

/** `VAR <ups> <var> "<value>"` for GET VAR; upsd echoes the names as sent (matched case-insensitively here). */
export function parseVarReply(
  lines: readonly string[],
  command: NutCommand,
  ups: string,
  variable: string,
): string {
  const line = onlyLine(lines, command);
  const words = tokenize(line);
  const value = words[3];
  if (words.length !== 4 || words[0] !== 'VAR' || !sameName(words[1], ups) || !sameName(words[2], variable)) {
    throw unexpected(line, command);
  }
  return value ?? '';
}

/** Checks BEGIN/END against the query and returns the tokenized lines in between. */
export function parseListReply(lines: readonly string[], command: NutCommand): string[][] {
  const first = lines[0];
  if (first === undefined) throw new NutProtocolError('unexpected-reply', `no reply to ${command.label}`);
  const error = toNutError(first, command);
  if (error) throw error;
  const query = tokenize(command.line).slice(1);
  const last = lines[lines.length - 1] ?? '';
  const begin = tokenize(first);
  if (begin[0] !== 'BEGIN' || begin[1] !== 'LIST' || !sameWords(begin.slice(2), query))
    throw unexpected(first, command);
  const end = tokenize(last);
  if (lines.length < 2 || end[0] !== 'END' || end[1] !== 'LIST' || !sameWords(end.slice(2), query)) {
    throw new NutProtocolError(
      'list-mismatch',
      `LIST reply to ${command.label} ends with ${JSON.stringify(last)}, expected "END ${command.line}"`,
    );
  }
  return lines.slice(1, -1).map((line) => tokenize(line));
}

function sameWords(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((word, i) => sameName(b[i], word));
}

/** `LIST UPS` → every UPS with its `desc`. */
export function parseListUps(lines: readonly string[], command: NutCommand): NutUps[] {
  return parseListReply(lines, command).map((row) => {
    const [kind, name, description] = row;
    if (row.length !== 3 || kind !== 'UPS' || name === undefined || description === undefined) {
      throw unexpected(row.join(' '), command);
    }
    return { name, description };
  });
}

/** `LIST VAR <ups>` → variable → value. */
export function parseListVar(
  lines: readonly string[],
  command: NutCommand,
  ups: string,
): Record<string, string> {
  const words = parseListReply(lines, command);
  return Object.fromEntries(
    words.map((row) => {
      const [kind, listedUps, variable, value] = row;
      if (row.length !== 4 || kind !== 'VAR' || !sameName(listedUps, ups) || variable === undefined) {
        throw unexpected(row.join(' '), command);
      }
      return [variable, value ?? ''];
    }),
  );
}

/** `LIST CMD <ups>` → instant command names. */
export function parseListCmd(lines: readonly string[], command: NutCommand, ups: string): string[] {
  return parseListReply(lines, command).map((row) => {
    const [kind, listedUps, name] = row;
    if (row.length !== 3 || kind !== 'CMD' || !sameName(listedUps, ups) || name === undefined) {
      throw unexpected(row.join(' '), command);
    }
    return name;
  });
}

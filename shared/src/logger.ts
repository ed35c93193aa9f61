import { type Clock, systemClock } from './clock.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Readonly<Record<string, unknown>>;

/** What every agent part logs through. Injected; nothing logs to a global. */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** Field names whose values are never printed, whatever a caller passes by mistake. */
const SECRET_FIELD = /token|secret|password|authorization|private|^key$|^d$/i;

export function isLogLevel(value: string): value is LogLevel {
  return (LEVELS as readonly string[]).includes(value);
}

function formatValue(value: unknown): string {
  if (value instanceof Error) return JSON.stringify(value.message);
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) {
    return String(value);
  }
  return JSON.stringify(value) ?? String(value);
}

/** `key=value key2="with space"`, secrets redacted. */
export function formatFields(fields: LogFields | undefined): string {
  if (fields === undefined) return '';
  const parts: string[] = [];
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    parts.push(`${key}=${SECRET_FIELD.test(key) ? '[redacted]' : formatValue(value)}`);
  }
  return parts.length === 0 ? '' : ` ${parts.join(' ')}`;
}

export interface ConsoleLoggerOptions {
  readonly name: string;
  readonly level?: LogLevel;
  readonly clock?: Clock;
  /** Where lines go; stderr (console.error, on every runtime) by default. */
  readonly write?: (line: string) => void;
}

/** One line per entry: `2026-11-23T21:55:00.123Z INFO  agent connected to ws://… as web1 key=value`. */
export function createConsoleLogger(options: ConsoleLoggerOptions): Logger {
  const minimum = RANK[options.level ?? 'info'];
  const clock = options.clock ?? systemClock;
  const write = options.write ?? ((line: string) => console.error(line.replace(/\n$/, '')));
  const log = (level: LogLevel, message: string, fields?: LogFields): void => {
    if (RANK[level] < minimum) return;
    const time = new Date(clock.now()).toISOString();
    write(`${time} ${level.toUpperCase().padEnd(5)} ${options.name} ${message}${formatFields(fields)}\n`);
  };
  return {
    debug: (message, fields) => log('debug', message, fields),
    info: (message, fields) => log('info', message, fields),
    warn: (message, fields) => log('warn', message, fields),
    error: (message, fields) => log('error', message, fields),
  };
}

export interface LogEntry {
  readonly level: LogLevel;
  readonly message: string;
  readonly fields: LogFields | undefined;
}

/** A logger that keeps its entries, for tests and for callers that show them elsewhere. */
export function createMemoryLogger(): Logger & { readonly entries: LogEntry[]; lines(): string[] } {
  const entries: LogEntry[] = [];
  const log =
    (level: LogLevel) =>
    (message: string, fields?: LogFields): void => {
      entries.push({ level, message, fields });
    };
  return {
    entries,
    lines: () => entries.map((entry) => `${entry.level} ${entry.message}${formatFields(entry.fields)}`),
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
  };
}

/** Discards everything. */
export const silentLogger: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

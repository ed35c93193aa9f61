/** A small injectable logger: one line per entry on stderr. Never pass secrets in `fields`. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Readonly<Record<string, string | number | boolean | null | undefined>>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function isLogLevel(value: string): value is LogLevel {
  return value in ORDER;
}

function formatValue(value: string | number | boolean | null): string {
  const text = String(value);
  return /[\s"=]/.test(text) ? JSON.stringify(text) : text;
}

export function formatLogLine(
  level: LogLevel,
  name: string,
  message: string,
  fields: LogFields | undefined,
  at: Date,
): string {
  const extra = Object.entries(fields ?? {})
    .filter((entry): entry is [string, string | number | boolean | null] => entry[1] !== undefined)
    .map(([key, value]) => ` ${key}=${formatValue(value)}`)
    .join('');
  return `${at.toISOString()} ${level.toUpperCase().padEnd(5)} ${name} ${message}${extra}`;
}

export function createConsoleLogger(options: {
  name: string;
  level?: LogLevel;
  write?: (line: string) => void;
  now?: () => Date;
}): Logger {
  const threshold = ORDER[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const now = options.now ?? (() => new Date());
  const log = (level: LogLevel) => (message: string, fields?: LogFields) => {
    if (ORDER[level] >= threshold) write(formatLogLine(level, options.name, message, fields, now()));
  };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

export const silentLogger: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

/**
 * A memory logger whose lines a test can await (an event, not a poll), for code that takes a
 * `Logger` in-process (a coordinator or an agent started by the test itself).
 */
import { formatFields, type Logger, type LogLevel } from '../../shared/src/logger.js';
import { createWatchedList } from './watched-list.js';

export interface WatchedLogger {
  readonly logger: Logger;
  /** Every line so far, formatted as `level message fields`. */
  lines(): readonly string[];
  /** Resolves with the first line (past or future) matching `pattern`. */
  waitFor(pattern: RegExp): Promise<string>;
}

export function createWatchedLogger(): WatchedLogger {
  const lines = createWatchedList<string>();
  const log =
    (level: LogLevel): Logger['info'] =>
    (message, fields) =>
      lines.push(`${level} ${message}${formatFields(fields)}`);
  return {
    logger: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
    lines: () => lines.items,
    waitFor: (pattern) => lines.waitFor((line) => pattern.test(line), String(pattern)),
  };
}

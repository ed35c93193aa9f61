import { describe, expect, it } from 'vitest';
import { createManualClock } from './clock.js';
import { createConsoleLogger } from './logger.js';

describe('console logger', () => {
  it('prints one line per entry with time, level, name, message and fields', () => {
    const lines: string[] = [];
    const logger = createConsoleLogger({
      name: 'agent',
      clock: createManualClock(Date.parse('2026-11-23T21:55:00.123Z')),
      write: (line) => lines.push(line),
    });
    logger.info('connected to ws://127.0.0.1/agent/v1/ws as web1', { skewMs: -12, note: 'two words' });
    logger.debug('hidden at info');
    expect(lines).toEqual([
      '2026-11-23T21:55:00.123Z INFO  agent connected to ws://127.0.0.1/agent/v1/ws as web1 skewMs=-12 note="two words"\n',
    ]);
  });

  it('never prints fields that look like secrets', () => {
    const lines: string[] = [];
    const logger = createConsoleLogger({ name: 'agent', level: 'debug', write: (line) => lines.push(line) });
    logger.warn('oops', { token: 'eyJhbGciOi', authorization: 'Bearer x', privateKey: 'd', orderId: 'o-1' });
    expect(lines[0]).toContain('token=[redacted] authorization=[redacted] privateKey=[redacted] orderId=o-1');
    expect(lines[0]).not.toContain('eyJ');
  });
});

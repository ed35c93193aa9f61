import { describe, expect, it } from 'vitest';
import type { ChannelType } from './channels.js';
import { interpretAnswer, interpretError, retryAfterMs } from './responses.js';

const NOW = Date.UTC(2025, 0, 15, 12, 0, 0);
const answer = (status: number, body: unknown = '', headers: Record<string, string> = {}) => ({
  status,
  headers: new Headers(headers),
  body: typeof body === 'string' ? body : JSON.stringify(body),
});
const interpret = (type: ChannelType, status: number, body?: unknown, headers?: Record<string, string>) =>
  interpretAnswer(type, answer(status, body, headers), NOW);

describe('WeChat Work (always HTTP 200; the errcode decides)', () => {
  it('errcode 0 is sent', () => {
    expect(interpret('wechat-work', 200, { errcode: 0, errmsg: 'ok' })).toEqual({ result: 'sent' });
  });

  it('45009 (rate limited) is retried after a minute', () => {
    expect(interpret('wechat-work', 200, { errcode: 45009, errmsg: 'api freq out of limit' })).toEqual({
      result: 'retry',
      afterMs: 60_000,
      error: 'errcode 45009: api freq out of limit',
    });
  });

  it('93000 (invalid webhook url: a wrong or deleted key) is permanent', () => {
    expect(
      interpret('wechat-work', 200, { errcode: 93000, errmsg: 'invalid webhook url, hint: [x]' }),
    ).toEqual({
      result: 'failed',
      error: 'errcode 93000: invalid webhook url, hint: [x]',
    });
  });

  it('-1 (system busy) is retried; an answer that is not WeChat JSON is retried', () => {
    expect(interpret('wechat-work', 200, { errcode: -1, errmsg: 'system busy' }).result).toBe('retry');
    expect(interpret('wechat-work', 200, '<html>proxy</html>').result).toBe('retry');
  });

  it('HTTP errors follow the generic rules', () => {
    expect(interpret('wechat-work', 502, 'bad gateway').result).toBe('retry');
    expect(interpret('wechat-work', 404, 'not found').result).toBe('failed');
  });
});

describe('Telegram', () => {
  it('{"ok":true} is sent', () => {
    expect(interpret('telegram', 200, { ok: true, result: {} })).toEqual({ result: 'sent' });
  });

  it('flood control: retry after parameters.retry_after seconds', () => {
    expect(
      interpret('telegram', 429, {
        ok: false,
        error_code: 429,
        description: 'Too Many Requests: retry after 7',
        parameters: { retry_after: 7 },
      }),
    ).toEqual({ result: 'retry', afterMs: 7_000, error: 'error 429: Too Many Requests: retry after 7' });
  });

  it('chat not found, or a bad token, is permanent', () => {
    expect(
      interpret('telegram', 400, { ok: false, error_code: 400, description: 'Bad Request: chat not found' }),
    ).toEqual({
      result: 'failed',
      error: 'error 400: Bad Request: chat not found',
    });
    expect(
      interpret('telegram', 401, { ok: false, error_code: 401, description: 'Unauthorized' }).result,
    ).toBe('failed');
  });
});

describe('Discord', () => {
  it('204 is sent', () => {
    expect(interpret('discord', 204)).toEqual({ result: 'sent' });
  });

  it('429: retry after the body retry_after (seconds, fractional)', () => {
    expect(
      interpret('discord', 429, { message: 'You are being rate limited.', retry_after: 1.5, global: false }),
    ).toMatchObject({
      result: 'retry',
      afterMs: 1_500,
    });
  });

  it('a deleted webhook (404) is permanent', () => {
    expect(interpret('discord', 404, { message: 'Unknown Webhook', code: 10015 }).result).toBe('failed');
  });
});

describe('generic HTTP rules', () => {
  it.each([
    [200, 'sent'],
    [202, 'sent'],
    [408, 'retry'],
    [429, 'retry'],
    [500, 'retry'],
    [503, 'retry'],
    [400, 'failed'],
    [401, 'failed'],
    [403, 'failed'],
    [404, 'failed'],
    [410, 'failed'],
  ])('HTTP %d → %s', (status, result) => {
    expect(interpret('webhook', status, 'x').result).toBe(result);
    expect(interpret('ntfy', status, 'x').result).toBe(result);
    expect(interpret('slack', status, 'x').result).toBe(result);
  });

  it('honours Retry-After in seconds or as a date', () => {
    expect(interpret('slack', 429, 'rate_limited', { 'retry-after': '30' })).toMatchObject({
      afterMs: 30_000,
    });
    expect(interpret('ntfy', 503, '', { 'retry-after': new Date(NOW + 90_000).toUTCString() })).toMatchObject(
      { afterMs: 90_000 },
    );
    expect(retryAfterMs('soon', NOW)).toBeUndefined();
  });

  it('says what the answer was, briefly', () => {
    expect(interpret('slack', 403, 'invalid_token')).toEqual({
      result: 'failed',
      error: 'HTTP 403: invalid_token',
    });
    const long = interpret('webhook', 500, 'e'.repeat(1000));
    expect(long.result === 'retry' && long.error.length).toBeLessThan(220);
  });
});

describe('no answer', () => {
  it('refused connections and timeouts are retried', () => {
    const refused = new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:9') });
    expect(interpretError(refused)).toEqual({
      result: 'retry',
      error: 'fetch failed: connect ECONNREFUSED 127.0.0.1:9',
    });
    expect(
      interpretError(new DOMException('The operation was aborted due to timeout', 'TimeoutError')),
    ).toEqual({
      result: 'retry',
      error: 'timed out',
    });
  });
});

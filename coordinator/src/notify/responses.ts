/**
 * What an answer means, per service: delivered, worth retrying (maybe after a given delay), or a
 * permanent failure that retrying cannot fix (a wrong key, a deleted webhook). Pure.
 *
 * What the services document, and what this relies on:
 * - WeChat Work robot: always HTTP 200 with `{"errcode":0,"errmsg":"ok"}` on success; a non-zero
 *   errcode is a failure. 45009 "api freq out of limit" is the rate limit (a robot may send 20
 *   messages a minute, WeChat.Work.ChatRobot docs); 93000 "invalid webhook url" is a wrong or deleted
 *   key (seen in e.g. wes-lin/Cloud189Checkin#175); 40058 is an oversized content; -1 "system busy".
 * - Telegram Bot API: `{"ok":false,"error_code":…,"description":…,"parameters":{"retry_after":N}}`,
 *   retry_after in seconds "in case of exceeding flood control" (ResponseParameters).
 * - Discord: 429 with a JSON body whose `retry_after` is in seconds (a float), and a Retry-After header
 *   (docs.discord.com/developers/topics/rate-limits); a webhook answers 204 without `?wait=true`.
 * - Everyone: Retry-After (seconds or an HTTP date) on 429/503; 5xx, 408 and network errors or
 *   timeouts are temporary; any other 4xx is permanent.
 */
import type { ChannelType } from './channels.js';

export type Outcome =
  | { readonly result: 'sent' }
  | { readonly result: 'retry'; readonly afterMs?: number; readonly error: string }
  | { readonly result: 'failed'; readonly error: string };

export interface HttpAnswer {
  readonly status: number;
  /** Lower-case header names. */
  readonly headers: { get(name: string): string | null };
  readonly body: string;
}

/** WeChat Work errcodes worth retrying: system busy, and the frequency limits. */
const WECHAT_RETRY = new Set([-1, 45009]);
/** After WeChat's rate limit: its window is a minute. */
const WECHAT_RATE_LIMIT_MS = 60_000;

function excerpt(body: string): string {
  const flat = body.replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat;
}

function parseJson(body: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(body);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Retry-After: delay-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function retryAfterMs(value: string | null, now: number): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.round(Number(value) * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function secondsField(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0
    ? Math.round(value * 1000)
    : undefined;
}

function retry(error: string, afterMs: number | undefined): Outcome {
  return afterMs === undefined ? { result: 'retry', error } : { result: 'retry', afterMs, error };
}

/** The generic HTTP rules, for every service after its own. */
function byStatus(answer: HttpAnswer, now: number, afterMs?: number): Outcome {
  const { status } = answer;
  if (status >= 200 && status < 300) return { result: 'sent' };
  const error = `HTTP ${status}${answer.body.trim() === '' ? '' : `: ${excerpt(answer.body)}`}`;
  if (status === 429 || status === 408 || status >= 500)
    return retry(error, afterMs ?? retryAfterMs(answer.headers.get('retry-after'), now));
  return { result: 'failed', error };
}

function wechat(answer: HttpAnswer, now: number): Outcome {
  if (answer.status !== 200) return byStatus(answer, now);
  const json = parseJson(answer.body);
  const code = json?.errcode;
  if (typeof code !== 'number') return retry(`unexpected answer: ${excerpt(answer.body)}`, undefined);
  if (code === 0) return { result: 'sent' };
  const error = `errcode ${code}: ${typeof json?.errmsg === 'string' ? excerpt(json.errmsg) : 'no errmsg'}`;
  if (WECHAT_RETRY.has(code)) return retry(error, code === -1 ? undefined : WECHAT_RATE_LIMIT_MS);
  return { result: 'failed', error };
}

function telegram(answer: HttpAnswer, now: number): Outcome {
  const json = parseJson(answer.body);
  if (json?.ok === true && answer.status >= 200 && answer.status < 300) return { result: 'sent' };
  if (json === undefined || typeof json.ok !== 'boolean') return byStatus(answer, now);
  const parameters = json.parameters as Record<string, unknown> | undefined;
  const code = typeof json.error_code === 'number' ? json.error_code : answer.status;
  const error = `error ${code}: ${typeof json.description === 'string' ? excerpt(json.description) : 'no description'}`;
  if (code === 429 || code >= 500)
    return retry(
      error,
      secondsField(parameters?.retry_after) ?? retryAfterMs(answer.headers.get('retry-after'), now),
    );
  return { result: 'failed', error };
}

function discord(answer: HttpAnswer, now: number): Outcome {
  if (answer.status === 429) return byStatus(answer, now, secondsField(parseJson(answer.body)?.retry_after));
  return byStatus(answer, now);
}

export function interpretAnswer(type: ChannelType, answer: HttpAnswer, now: number): Outcome {
  switch (type) {
    case 'wechat-work':
      return wechat(answer, now);
    case 'telegram':
      return telegram(answer, now);
    case 'discord':
      return discord(answer, now);
    case 'slack':
    case 'ntfy':
    case 'webhook':
      return byStatus(answer, now);
  }
}

/** A request that got no answer (refused, reset, DNS, timed out) is always worth another try. */
export function interpretError(error: unknown): Outcome {
  if (error instanceof Error) {
    if (error.name === 'TimeoutError' || error.name === 'AbortError') return retry('timed out', undefined);
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
    return retry(`${error.message}${cause}`, undefined);
  }
  return retry(String(error), undefined);
}

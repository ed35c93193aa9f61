/**
 * (channel settings, message) → the HTTP request each service expects. Pure (HMAC included: same
 * inputs, same bytes), so every body is tested exactly and the delivery shell only sends it.
 */
import { createHmac } from 'node:crypto';
import type { ChannelConfig } from './channels.js';
import type { Message, Severity } from './messages.js';
import { encodeHeaderText, truncateChars, truncateUtf8 } from './text.js';

export interface HttpRequest {
  readonly url: string;
  readonly method: 'POST';
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** WeChat Work robot limits, in UTF-8 bytes: text content 2048, markdown content 4096. */
export const WECHAT_TEXT_MAX_BYTES = 2048;
export const WECHAT_MARKDOWN_MAX_BYTES = 4096;
/** Discord refuses content longer than 2000 characters. */
export const DISCORD_MAX_CHARS = 2000;
/** Telegram's sendMessage text: 1-4096 characters. */
export const TELEGRAM_MAX_CHARS = 4096;
/** ntfy turns a longer body into an attachment. */
export const NTFY_MAX_BYTES = 4096;

const JSON_TYPE = { 'content-type': 'application/json; charset=utf-8' };

/** ntfy priorities: 3 default, 4 high, 5 max (urgent). */
const NTFY_PRIORITY: Readonly<Record<Severity, string>> = { info: '3', warning: '4', critical: '5' };
/** ntfy shows known tag names as emoji before the title. */
const NTFY_TAGS: Readonly<Record<Severity, string>> = {
  info: 'information_source',
  warning: 'warning',
  critical: 'rotating_light',
};

/** Slack's text is mrkdwn: &, < and > must be escaped (they start links and mentions). */
function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

export function formatRequest(
  config: ChannelConfig,
  message: Message,
  count: number,
  now: number,
): HttpRequest {
  switch (config.type) {
    case 'wechat-work': {
      const body =
        config.format === 'markdown'
          ? {
              msgtype: 'markdown',
              markdown: { content: truncateUtf8(message.markdown, WECHAT_MARKDOWN_MAX_BYTES) },
            }
          : {
              msgtype: 'text',
              text: {
                content: truncateUtf8(message.text, WECHAT_TEXT_MAX_BYTES),
                ...(config.mentionAll === true && message.severity === 'critical'
                  ? { mentioned_list: ['@all'] }
                  : {}),
              },
            };
      return { url: config.url, method: 'POST', headers: JSON_TYPE, body: JSON.stringify(body) };
    }
    case 'slack':
      return {
        url: config.url,
        method: 'POST',
        headers: JSON_TYPE,
        body: JSON.stringify({ text: slackEscape(message.text) }),
      };
    case 'discord':
      return {
        url: config.url,
        method: 'POST',
        headers: JSON_TYPE,
        // No mention in a notification ever pings anyone.
        body: JSON.stringify({
          content: truncateChars(message.text, DISCORD_MAX_CHARS),
          allowed_mentions: { parse: [] },
        }),
      };
    case 'telegram':
      return {
        url: `${trimSlash(config.baseUrl)}/bot${config.botToken}/sendMessage`,
        method: 'POST',
        headers: JSON_TYPE,
        body: JSON.stringify({
          chat_id: config.chatId,
          text: truncateChars(message.text, TELEGRAM_MAX_CHARS),
        }),
      };
    case 'ntfy':
      return {
        url: `${trimSlash(config.baseUrl)}/${config.topic}`,
        method: 'POST',
        headers: {
          'content-type': 'text/plain; charset=utf-8',
          title: encodeHeaderText(message.title),
          priority: NTFY_PRIORITY[message.severity],
          tags: NTFY_TAGS[message.severity],
          ...(config.token === undefined ? {} : { authorization: `Bearer ${config.token}` }),
        },
        body: truncateUtf8(message.text, NTFY_MAX_BYTES),
      };
    case 'webhook': {
      const body = JSON.stringify({
        kind: message.kind,
        severity: message.severity,
        title: message.title,
        text: message.text,
        ups: message.ups ?? null,
        host: message.host ?? null,
        hosts: message.hosts ?? (message.host === undefined ? [] : [message.host]),
        count,
        at: new Date(message.at).toISOString(),
      });
      const headers: Record<string, string> = { ...config.headers, ...JSON_TYPE };
      if (config.secret !== undefined) {
        const timestamp = String(Math.floor(now / 1000));
        headers['x-upsfleet-timestamp'] = timestamp;
        headers['x-upsfleet-signature'] = `sha256=${signWebhook(config.secret, timestamp, body)}`;
      }
      return { url: config.url, method: 'POST', headers, body };
    }
  }
}

/**
 * The webhook signature: hex HMAC-SHA256 over `<timestamp>.<body>`. The timestamp (Unix seconds)
 * is signed too, so a receiver can refuse replays of old deliveries.
 */
export function signWebhook(secret: string, timestamp: string, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

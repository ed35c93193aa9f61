import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type ChannelConfig, ChannelConfigSchema } from './channels.js';
import { formatRequest, signWebhook } from './formatters.js';
import type { Message } from './messages.js';
import { utf8Length } from './text.js';

const AT = Date.UTC(2025, 0, 15, 12, 0, 0);
const NOW = AT + 1_500;
const onbatt: Message = {
  kind: 'onbatt',
  severity: 'warning',
  title: 'UPS nas-ups on battery',
  text: "UPS nas-ups on battery — runtime 14 min, charge 87 %, stage 'apps' in 60 s",
  markdown: "**UPS nas-ups on battery**\nruntime 14 min · charge 87 % · stage 'apps' in 60 s",
  at: AT,
  ups: 'nas-ups',
  collapseKey: 'power:nas-ups',
};
const critical: Message = {
  ...onbatt,
  kind: 'lowbatt',
  severity: 'critical',
  title: 'UPS nas-ups battery low',
  text: 'UPS nas-ups battery low — runtime 95 s',
};
const config = (input: unknown): ChannelConfig => ChannelConfigSchema.parse(input);
const WECHAT = 'http://127.0.0.1:9/cgi-bin/webhook/send?key=k-123';

describe('WeChat Work', () => {
  it('text: {"msgtype":"text","text":{"content":…}}', () => {
    const request = formatRequest(config({ type: 'wechat-work', url: WECHAT }), onbatt, 1, NOW);
    expect(request).toEqual({
      url: WECHAT,
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: '{"msgtype":"text","text":{"content":"UPS nas-ups on battery — runtime 14 min, charge 87 %, stage \'apps\' in 60 s"}}',
    });
  });

  it('markdown: {"msgtype":"markdown","markdown":{"content":…}}', () => {
    const request = formatRequest(
      config({ type: 'wechat-work', url: WECHAT, format: 'markdown' }),
      onbatt,
      1,
      NOW,
    );
    expect(JSON.parse(request.body)).toEqual({ msgtype: 'markdown', markdown: { content: onbatt.markdown } });
  });

  it('mentions @all on critical messages only, when asked to', () => {
    const channel = config({ type: 'wechat-work', url: WECHAT, mentionAll: true });
    expect(JSON.parse(formatRequest(channel, critical, 1, NOW).body)).toEqual({
      msgtype: 'text',
      text: { content: critical.text, mentioned_list: ['@all'] },
    });
    expect(JSON.parse(formatRequest(channel, onbatt, 1, NOW).body).text.mentioned_list).toBeUndefined();
  });

  it('truncates content to 2048 (text) / 4096 (markdown) UTF-8 bytes without cutting a character', () => {
    const long: Message = { ...onbatt, text: '机房停电'.repeat(400), markdown: '机房停电'.repeat(800) };
    const text = JSON.parse(formatRequest(config({ type: 'wechat-work', url: WECHAT }), long, 1, NOW).body)
      .text.content;
    expect(utf8Length(text)).toBe(2046); // 681 characters of 3 bytes + "…" (3 bytes)
    expect(text.endsWith('…')).toBe(true);
    const markdown = JSON.parse(
      formatRequest(config({ type: 'wechat-work', url: WECHAT, format: 'markdown' }), long, 1, NOW).body,
    ).markdown.content;
    expect(utf8Length(markdown)).toBeLessThanOrEqual(4096);
    expect(utf8Length(markdown)).toBeGreaterThan(4090);
  });
});

describe('Slack, Discord, Telegram', () => {
  it('Slack: {"text":…} with &, < and > escaped', () => {
    const message = { ...onbatt, text: 'a < b & c > d' };
    expect(
      formatRequest(config({ type: 'slack', url: 'http://127.0.0.1:9/services/T/B/X' }), message, 1, NOW)
        .body,
    ).toBe('{"text":"a &lt; b &amp; c &gt; d"}');
  });

  it('Discord: {"content":…} of at most 2000 characters, mentions disabled', () => {
    const request = formatRequest(
      config({ type: 'discord', url: 'http://127.0.0.1:9/api/webhooks/1/t' }),
      onbatt,
      1,
      NOW,
    );
    expect(JSON.parse(request.body)).toEqual({ content: onbatt.text, allowed_mentions: { parse: [] } });
    const long = formatRequest(
      config({ type: 'discord', url: 'http://127.0.0.1:9/x' }),
      { ...onbatt, text: 'x'.repeat(2500) },
      1,
      NOW,
    );
    expect(JSON.parse(long.body).content).toHaveLength(2000);
  });

  it('Telegram: POST {baseUrl}/bot{token}/sendMessage {chat_id,text}', () => {
    const request = formatRequest(
      config({ type: 'telegram', botToken: '123:abc', chatId: '-100200', baseUrl: 'http://127.0.0.1:9/' }),
      onbatt,
      1,
      NOW,
    );
    expect(request.url).toBe('http://127.0.0.1:9/bot123:abc/sendMessage');
    expect(JSON.parse(request.body)).toEqual({ chat_id: '-100200', text: onbatt.text });
  });
});

describe('ntfy', () => {
  it('POSTs the text to {baseUrl}/{topic} with Title, Priority and Tags headers', () => {
    const request = formatRequest(
      config({ type: 'ntfy', topic: 'ups', baseUrl: 'http://127.0.0.1:9' }),
      critical,
      1,
      NOW,
    );
    expect(request).toEqual({
      url: 'http://127.0.0.1:9/ups',
      method: 'POST',
      headers: {
        'content-type': 'text/plain; charset=utf-8',
        title: 'UPS nas-ups battery low',
        priority: '5',
        tags: 'rotating_light',
      },
      body: critical.text,
    });
  });

  it('encodes a non-ASCII title (RFC 2047) and sends the token as Bearer', () => {
    const request = formatRequest(
      config({ type: 'ntfy', topic: 'ups', baseUrl: 'http://127.0.0.1:9', token: 'tk_x' }),
      { ...onbatt, title: 'UPS 机房 on battery' },
      1,
      NOW,
    );
    expect(request.headers.title).toBe(
      `=?UTF-8?B?${Buffer.from('UPS 机房 on battery').toString('base64')}?=`,
    );
    expect(request.headers.priority).toBe('4');
    expect(request.headers.authorization).toBe('Bearer tk_x');
  });
});

describe('webhook', () => {
  it('JSON { kind, severity, title, text, ups, host, hosts, count, at }', () => {
    const request = formatRequest(config({ type: 'webhook', url: 'http://127.0.0.1:9/in' }), onbatt, 6, NOW);
    expect(JSON.parse(request.body)).toEqual({
      kind: 'onbatt',
      severity: 'warning',
      title: onbatt.title,
      text: onbatt.text,
      ups: 'nas-ups',
      host: null,
      hosts: [],
      count: 6,
      at: '2025-01-15T12:00:00.000Z',
    });
    expect(request.headers['x-upsfleet-signature']).toBeUndefined();
  });

  it('signs timestamp and body with HMAC-SHA256, and adds the extra headers', () => {
    const secret = 'a-long-enough-secret';
    const request = formatRequest(
      config({
        type: 'webhook',
        url: 'http://127.0.0.1:9/in',
        secret,
        headers: { Authorization: 'Bearer abc' },
      }),
      onbatt,
      1,
      NOW,
    );
    const timestamp = String(Math.floor(NOW / 1000));
    expect(request.headers['x-upsfleet-timestamp']).toBe(timestamp);
    // What a receiver computes on its own:
    const expected = createHmac('sha256', secret).update(`${timestamp}.${request.body}`).digest('hex');
    expect(request.headers['x-upsfleet-signature']).toBe(`sha256=${expected}`);
    expect(signWebhook(secret, timestamp, `${request.body} `)).not.toBe(expected);
    expect(request.headers.Authorization).toBe('Bearer abc');
  });
});

import { describe, expect, it } from 'vitest';
import {
  ChannelConfigSchema,
  ChannelInputSchema,
  ChannelPatchSchema,
  parseChannelConfig,
  splitChannelInput,
} from './channels.js';

const KEY = '693a91f6-7aoc-4bc4-97a0-0ec2sifa5aaa';
const WECHAT_URL = `https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=${KEY}`;

describe('ChannelInputSchema', () => {
  it('takes a WeChat Work robot with defaults for routing and format', () => {
    expect(ChannelInputSchema.parse({ name: 'ops', type: 'wechat-work', url: WECHAT_URL })).toEqual({
      name: 'ops',
      type: 'wechat-work',
      url: WECHAT_URL,
      format: 'text',
      events: [],
      ups: [],
      hosts: [],
      enabled: true,
    });
  });

  it('fills in the public base URLs, which stay configurable', () => {
    expect(ChannelConfigSchema.parse({ type: 'ntfy', topic: 'ups-alerts' })).toEqual({
      type: 'ntfy',
      topic: 'ups-alerts',
      baseUrl: 'https://ntfy.sh',
    });
    expect(
      ChannelConfigSchema.parse({
        type: 'telegram',
        botToken: '123456:ABC-def_1',
        chatId: '-100200',
        baseUrl: 'http://127.0.0.1:8081',
      }),
    ).toMatchObject({ baseUrl: 'http://127.0.0.1:8081' });
  });

  it.each([
    [{ name: 'x', type: 'slack', url: 'ftp://example.net/hook' }, 'url'],
    [{ name: 'x', type: 'discord', url: 'javascript:alert(1)' }, 'url'],
    [{ name: 'x', type: 'slack', url: 'https://hooks.slack.com/x', colour: 'red' }, ''],
    [{ name: 'x', type: 'sms', url: 'https://example.net' }, 'type'],
    [{ name: 'x', type: 'ntfy', topic: 'a/b' }, 'topic'],
    [{ name: 'x', type: 'telegram', botToken: 'nope', chatId: '1' }, 'botToken'],
    [{ name: 'x', type: 'slack', url: 'https://h.example/x', events: ['ONBATT'] }, 'events.0'],
    [{ name: 'bad name', type: 'slack', url: 'https://h.example/x' }, 'name'],
    [
      {
        name: 'x',
        type: 'webhook',
        url: 'https://h.example/x',
        headers: { 'X-Upsfleet-Signature': 'forged' },
      },
      'headers.X-Upsfleet-Signature',
    ],
    [{ name: 'x', type: 'webhook', url: 'https://h.example/x', secret: 'short' }, 'secret'],
  ])('refuses %j (at %s)', (input, path) => {
    const result = ChannelInputSchema.safeParse(input);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.path.join('.'))).toContain(path);
  });

  it('a patch changes routing only, and unknown fields are refused', () => {
    expect(ChannelPatchSchema.parse({ enabled: false, events: ['onbatt'] })).toEqual({
      enabled: false,
      events: ['onbatt'],
    });
    expect(ChannelPatchSchema.safeParse({ url: 'https://x.example' }).success).toBe(false);
  });

  it('splits into stored columns and parses back', () => {
    const input = ChannelInputSchema.parse({ name: 'ops', type: 'ntfy', topic: 't1', events: ['onbatt'] });
    const { config, events } = splitChannelInput(input);
    expect(events).toEqual(['onbatt']);
    const { type, ...settings } = config;
    expect(parseChannelConfig('ops', type, settings)).toEqual(config);
  });
});

import { describe, expect, it } from 'vitest';
import { ChannelConfigSchema } from './channels.js';
import { describeTarget, maskChannel, maskConfig, scrub, secretsOf } from './masking.js';

const KEY = '693a91f6-7aoc-4bc4-97a0-0ec2sifa5aaa';
const WECHAT_URL = `https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=${KEY}`;

describe('masking', () => {
  it('hides the robot key in the query, keeping a hint', () => {
    const masked = maskConfig(ChannelConfigSchema.parse({ type: 'wechat-work', url: WECHAT_URL }));
    expect(masked).toMatchObject({ url: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=****5aaa' });
    expect(JSON.stringify(masked)).not.toContain(KEY);
  });

  it('hides the token at the end of Slack and Discord webhook URLs', () => {
    const slack = maskConfig({
      type: 'slack',
      url: 'https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX',
    });
    expect(slack).toEqual({ type: 'slack', url: 'https://hooks.slack.com/services/T000/B000/****XXXX' });
    const discord = maskConfig({
      type: 'discord',
      url: 'https://discord.com/api/webhooks/123/abcdefghijklmnopqrstuvwxyz',
    });
    expect(discord).toEqual({ type: 'discord', url: 'https://discord.com/api/webhooks/123/****wxyz' });
  });

  it('hides bot tokens, ntfy tokens, HMAC secrets and extra header values', () => {
    expect(
      maskConfig({
        type: 'telegram',
        botToken: '123456:ABCDEFGHIJKLMNOP',
        chatId: '42',
        baseUrl: 'https://api.telegram.org',
      }),
    ).toMatchObject({ botToken: '****MNOP', chatId: '42' });
    expect(
      maskConfig({ type: 'ntfy', topic: 't', baseUrl: 'https://ntfy.sh', token: 'tk_abcdefghijklmn' }),
    ).toMatchObject({
      token: '****klmn',
    });
    expect(
      maskConfig({
        type: 'webhook',
        url: 'https://hooks.example.net/in?token=s3cr3t-value-long',
        secret: 'a-very-long-hmac-secret',
        headers: { Authorization: 'Bearer abc' },
      }),
    ).toEqual({
      type: 'webhook',
      url: 'https://hooks.example.net/in?token=****long',
      secret: '****cret',
      headers: { Authorization: '****' },
    });
  });

  it('maskChannel shows settings, routing and health without secrets', () => {
    const at = new Date(Date.UTC(2025, 0, 15, 12));
    const view = maskChannel({
      name: 'ops',
      type: 'wechat-work',
      config: { url: WECHAT_URL, format: 'markdown' },
      events: ['onbatt'],
      ups: [],
      hosts: [],
      enabled: true,
      createdAt: at,
      updatedAt: at,
      consecutiveFailures: 3,
      lastError: 'HTTP 503',
      lastFailureAt: at,
      lastSuccessAt: null,
    });
    expect(view).toMatchObject({
      name: 'ops',
      type: 'wechat-work',
      format: 'markdown',
      events: ['onbatt'],
      health: { failing: true, consecutiveFailures: 3, lastError: 'HTTP 503', lastSuccessAt: null },
    });
    expect(JSON.stringify(view)).not.toContain(KEY);
  });

  it('scrub removes secrets from error texts; describeTarget shows only type and host', () => {
    const config = ChannelConfigSchema.parse({ type: 'wechat-work', url: WECHAT_URL });
    expect(scrub(`request to ${WECHAT_URL} failed (key ${KEY})`, secretsOf(config))).not.toContain(KEY);
    expect(describeTarget(config)).toBe('wechat-work qyapi.weixin.qq.com');
    const telegram = ChannelConfigSchema.parse({
      type: 'telegram',
      botToken: '123456:ABCDEFGHIJ',
      chatId: '1',
    });
    expect(describeTarget(telegram)).toBe('telegram api.telegram.org');
    expect(scrub('POST /bot123456:ABCDEFGHIJ/sendMessage', secretsOf(telegram))).toBe(
      'POST /bot****GHIJ/sendMessage',
    );
  });
});

/**
 * Channel definitions: zod schemas, reused by the admin API for validation and its OpenAPI
 * document (masking.ts keeps their secrets out of API output and logs). Every base URL is
 * configurable: a self-hosted ntfy, a proxy, or a test's local receiver.
 */
import { z } from 'zod';
import { NameSchema } from '../../../shared/src/protocol.js';
import { parseStored } from '../db/errors.js';
import { NOTIFICATION_KINDS } from './facts.js';

const httpUrl = (what: string) =>
  z
    .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
    .max(2048)
    .describe(what);

const WeChatWorkSchema = z.strictObject({
  type: z.literal('wechat-work').describe('WeChat Work (WeCom) group robot'),
  url: httpUrl(
    'The robot webhook URL including its key: https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…',
  ),
  format: z
    .enum(['text', 'markdown'])
    .default('text')
    .describe('`text` (plain, may mention @all) or `markdown` (formatted, cannot mention)'),
  mentionAll: z
    .boolean()
    .optional()
    .describe('Text format only: mention @all on critical messages (mentioned_list: ["@all"])'),
});

const SlackSchema = z.strictObject({
  type: z.literal('slack').describe('Slack incoming webhook'),
  url: httpUrl('The incoming webhook URL (https://hooks.slack.com/services/…)'),
});

const DiscordSchema = z.strictObject({
  type: z.literal('discord').describe('Discord webhook'),
  url: httpUrl('The webhook URL (https://discord.com/api/webhooks/ID/TOKEN)'),
});

const TelegramSchema = z.strictObject({
  type: z.literal('telegram').describe('Telegram bot'),
  botToken: z
    .string()
    .regex(/^\d+:[A-Za-z0-9_-]+$/, 'a bot token looks like 123456:ABC-DEF…')
    .max(128)
    .describe("The bot's token from @BotFather (secret)"),
  chatId: z
    .string()
    .regex(/^(-?\d+|@[A-Za-z0-9_]{5,64})$/, 'a numeric chat id or @channelname')
    .describe('The chat to write to: a numeric id (groups are negative) or @channelname'),
  baseUrl: httpUrl('The Bot API server (a local Bot API server or a proxy)').default(
    'https://api.telegram.org',
  ),
});

const NtfySchema = z.strictObject({
  type: z.literal('ntfy').describe('ntfy push notifications'),
  topic: z
    .string()
    .regex(/^[-_A-Za-z0-9]{1,64}$/, 'letters, digits, "-" and "_", at most 64')
    .describe('The topic to publish to'),
  baseUrl: httpUrl('The ntfy server (self-hosted, or https://ntfy.sh)').default('https://ntfy.sh'),
  token: z.string().min(1).max(256).optional().describe('An access token (sent as Bearer; secret)'),
});

const WebhookSchema = z.strictObject({
  type: z.literal('webhook').describe('Generic JSON webhook'),
  url: httpUrl('Where the JSON is POSTed'),
  secret: z
    .string()
    .min(16, 'use at least 16 characters')
    .max(256)
    .optional()
    .describe(
      'HMAC-SHA256 key: X-Upsfleet-Signature: sha256=<hex> over "<X-Upsfleet-Timestamp>.<body>" (secret)',
    ),
  headers: z
    .record(
      z
        .string()
        .regex(/^[A-Za-z0-9-]{1,64}$/, 'a header name')
        .refine((name) => !/^(x-upsfleet-|content-type$|content-length$|host$)/i.test(name), {
          message: 'set by upsfleet itself',
        }),
      z
        .string()
        .regex(/^[^\r\n]*$/, 'one line')
        .max(1024),
    )
    .optional()
    .describe(
      'Extra request headers, e.g. Authorization for a protected endpoint (values are masked in output)',
    ),
});

/** A channel's type-specific settings, discriminated on `type`. */
export const ChannelConfigSchema = z.discriminatedUnion('type', [
  WeChatWorkSchema,
  SlackSchema,
  DiscordSchema,
  TelegramSchema,
  NtfySchema,
  WebhookSchema,
]);
export type ChannelConfig = z.output<typeof ChannelConfigSchema>;
export type ChannelType = ChannelConfig['type'];
export const CHANNEL_TYPES = ChannelConfigSchema.options.map((option) => option.shape.type.value);

const routing = {
  name: NameSchema.describe('The channel name (letters, digits, ".", "_", "-")'),
  events: z
    .array(z.enum(NOTIFICATION_KINDS))
    .max(64)
    .default([])
    .describe('Kinds to send (onbatt, online, lowbatt, stage-fired, …); empty: every kind'),
  ups: z.array(NameSchema).max(256).default([]).describe('Only messages about these UPSes; empty: every UPS'),
  hosts: z
    .array(NameSchema)
    .max(1024)
    .default([])
    .describe('Only messages about these hosts; empty: every host'),
  enabled: z.boolean().default(true).describe('A disabled channel receives nothing'),
};

/** A channel as the admin API takes it: name, type and settings, routing (NOTIFYFLAG per channel). */
export const ChannelInputSchema = z.discriminatedUnion('type', [
  WeChatWorkSchema.extend(routing),
  SlackSchema.extend(routing),
  DiscordSchema.extend(routing),
  TelegramSchema.extend(routing),
  NtfySchema.extend(routing),
  WebhookSchema.extend(routing),
]);
export type ChannelInput = z.output<typeof ChannelInputSchema>;

/** A partial change of routing or state; settings change by replacing the channel. */
export const ChannelPatchSchema = z.strictObject({
  events: routing.events.unwrap().optional().describe('Kinds to send; empty: every kind'),
  ups: routing.ups.unwrap().optional().describe('Only messages about these UPSes; empty: every UPS'),
  hosts: routing.hosts.unwrap().optional().describe('Only messages about these hosts; empty: every host'),
  enabled: z.boolean().optional().describe('A disabled channel receives nothing'),
});
export type ChannelPatch = z.output<typeof ChannelPatchSchema>;

/** Splits API input into the stored parts: the config column holds the type-specific settings. */
export function splitChannelInput(input: ChannelInput): {
  name: string;
  config: ChannelConfig;
  events: string[];
  ups: string[];
  hosts: string[];
  enabled: boolean;
} {
  const { name, events, ups, hosts, enabled, ...config } = input;
  return { name, config, events, ups, hosts, enabled };
}

/** The stored settings (type column + config column) as a typed config; throws on a corrupt row. */
/** A stored channel's settings, checked; StoredDataError when this version cannot read them. */
export function parseChannelConfig(name: string, type: string, config: object): ChannelConfig {
  return parseStored(ChannelConfigSchema, { ...config, type }, `The settings of channel ${name}`);
}

/**
 * Secrets (a robot key in a URL query, a token at the end of a webhook path, a bot token, an HMAC
 * secret, extra header values) never leave the API unmasked and never reach a log or a stored error.
 */
import { type ChannelConfig, parseChannelConfig } from './channels.js';

/** A channel failing this many deliveries in a row is reported as failing (status, metrics). */
export const FAILING_AFTER = 3;

/** Hides all but the last 4 characters of long secrets, and all of short ones. */
export function maskSecret(secret: string): string {
  return secret.length >= 12 ? `****${secret.slice(-4)}` : '****';
}

const SECRET_QUERY = /key|token|secret|sig|auth|pass|code/i;

function maskUrl(raw: string, maskLastSegment: boolean): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return '****';
  }
  if (url.password !== '') url.password = '****';
  for (const [name, value] of [...url.searchParams]) {
    if (SECRET_QUERY.test(name)) url.searchParams.set(name, maskSecret(value));
  }
  if (maskLastSegment) {
    const segments = url.pathname.split('/');
    const last = segments.length - 1;
    if (last > 0 && segments[last] !== '') segments[last] = maskSecret(segments[last] ?? '');
    url.pathname = segments.join('/');
  }
  return url.toString();
}

/** The settings with every secret masked: a robot key, a webhook token in the path, a bot token, … */
export function maskConfig(config: ChannelConfig): ChannelConfig {
  switch (config.type) {
    case 'wechat-work':
    case 'webhook': {
      const masked = { ...config, url: maskUrl(config.url, false) };
      if (masked.type === 'webhook') {
        if (masked.secret !== undefined) masked.secret = maskSecret(masked.secret);
        if (masked.headers !== undefined)
          masked.headers = Object.fromEntries(
            Object.entries(masked.headers).map(([name, value]) => [name, maskSecret(value)]),
          );
      }
      return masked;
    }
    // Slack and Discord webhook URLs end in their secret token.
    case 'slack':
    case 'discord':
      return { ...config, url: maskUrl(config.url, true) };
    case 'telegram':
      return { ...config, botToken: maskSecret(config.botToken), baseUrl: maskUrl(config.baseUrl, false) };
    case 'ntfy':
      return {
        ...config,
        baseUrl: maskUrl(config.baseUrl, false),
        ...(config.token === undefined ? {} : { token: maskSecret(config.token) }),
      };
  }
}

/** Every secret string in the settings, to scrub from error texts before they are logged or stored. */
export function secretsOf(config: ChannelConfig): string[] {
  const secrets: string[] = [];
  const fromUrl = (raw: string, lastSegment: boolean) => {
    secrets.push(raw);
    try {
      const url = new URL(raw);
      if (url.password !== '') secrets.push(url.password);
      for (const [name, value] of url.searchParams) if (SECRET_QUERY.test(name)) secrets.push(value);
      const last = url.pathname.split('/').pop();
      if (lastSegment && last !== undefined && last !== '') secrets.push(last);
    } catch {
      // Not a URL: the raw string is already listed.
    }
  };
  switch (config.type) {
    case 'wechat-work':
      fromUrl(config.url, false);
      break;
    case 'slack':
    case 'discord':
      fromUrl(config.url, true);
      break;
    case 'telegram':
      secrets.push(config.botToken);
      break;
    case 'ntfy':
      if (config.token !== undefined) secrets.push(config.token);
      break;
    case 'webhook':
      fromUrl(config.url, false);
      if (config.secret !== undefined) secrets.push(config.secret);
      secrets.push(...Object.values(config.headers ?? {}));
      break;
  }
  return secrets.filter((secret) => secret.length >= 4).sort((a, b) => b.length - a.length);
}

/** Replaces every secret of the channel in `text` (longest first, so a URL goes before its key). */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join(maskSecret(secret));
  return out;
}

/** Where a channel sends to, safe for logs: its type and host, never a path or query. */
export function describeTarget(config: ChannelConfig): string {
  const raw = 'url' in config ? config.url : config.baseUrl;
  try {
    return `${config.type} ${new URL(raw).host}`;
  } catch {
    return config.type;
  }
}

/** What the API shows of a stored channel. */
export interface ChannelRowLike {
  readonly name: string;
  readonly type: string;
  readonly config: object;
  readonly events: readonly string[];
  readonly ups: readonly string[];
  readonly hosts: readonly string[];
  readonly enabled: boolean;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly consecutiveFailures: number;
  readonly lastError: string | null;
  readonly lastFailureAt: Date | null;
  readonly lastSuccessAt: Date | null;
}

/** A stored channel for API output: its settings masked, its delivery health alongside. */
export function maskChannel(row: ChannelRowLike) {
  return {
    name: row.name,
    ...maskConfig(parseChannelConfig(row.name, row.type, row.config)),
    events: [...row.events],
    ups: [...row.ups],
    hosts: [...row.hosts],
    enabled: row.enabled,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    health: {
      failing: row.consecutiveFailures >= FAILING_AFTER,
      consecutiveFailures: row.consecutiveFailures,
      lastError: row.lastError,
      lastFailureAt: row.lastFailureAt?.toISOString() ?? null,
      lastSuccessAt: row.lastSuccessAt?.toISOString() ?? null,
    },
  };
}
export type ChannelView = ReturnType<typeof maskChannel>;

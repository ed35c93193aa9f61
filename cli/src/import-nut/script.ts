/**
 * A NOTIFYCMD or CMDSCRIPT shell script, read for two things: the webhooks it posts to (→ channels)
 * and the `case` branches it runs for upssched's timers (does a branch shut the machine down?).
 * Not a shell: simple `VAR=value` assignments are expanded; anything cleverer is listed, not guessed.
 */
import type { Origin } from './config-lines.js';

export interface Branch {
  readonly names: readonly string[];
  readonly shutsDown: boolean;
  readonly origin: Origin;
}

export type ChannelDraft =
  | { readonly type: 'wechat-work'; readonly url: string; readonly format: 'text' | 'markdown' }
  | { readonly type: 'slack' | 'discord'; readonly url: string }
  | { readonly type: 'telegram'; readonly botToken: string; readonly chatId?: string }
  | { readonly type: 'ntfy'; readonly topic: string; readonly baseUrl: string };

export interface ScriptScan {
  readonly branches: readonly Branch[];
  readonly channels: readonly { readonly channel: ChannelDraft; readonly origin: Origin }[];
  /** URLs that are not a known chat service (DingTalk, Feishu, a home-made endpoint…). */
  readonly unknownUrls: readonly Origin[];
}

const SHUTDOWN = /\b(shutdown|poweroff|halt|init\s+0|upsmon\s+-c\s+fsd|systemctl\s+(poweroff|halt))\b/;

function unquote(value: string): string {
  const v = value.trim();
  if ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'"))) return v.slice(1, -1);
  return v.split(/\s+/)[0] ?? '';
}

function expand(text: string, vars: ReadonlyMap<string, string>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (whole, a, b) => {
    return vars.get(a ?? b) ?? whole;
  });
}

function classify(url: string, script: string): ChannelDraft | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  const host = parsed.hostname;
  if (
    host === 'qyapi.weixin.qq.com' &&
    parsed.pathname === '/cgi-bin/webhook/send' &&
    parsed.searchParams.get('key')
  )
    return {
      type: 'wechat-work',
      url,
      format: /msgtype\\?["']?\s*:\s*\\?["']markdown/.test(script) ? 'markdown' : 'text',
    };
  if (host === 'hooks.slack.com') return { type: 'slack', url };
  if ((host === 'discord.com' || host === 'discordapp.com') && parsed.pathname.startsWith('/api/webhooks/'))
    return { type: 'discord', url };
  const bot = /^\/bot(\d+:[A-Za-z0-9_-]+)\//.exec(parsed.pathname);
  if (host === 'api.telegram.org' && bot?.[1] !== undefined) {
    const chat =
      parsed.searchParams.get('chat_id') ?? /chat_id["']?\s*[=:]\s*["']?(-?\d+|@\w+)/.exec(script)?.[1];
    return {
      type: 'telegram',
      botToken: bot[1],
      ...(chat === undefined || chat === null ? {} : { chatId: chat }),
    };
  }
  if (host === 'ntfy.sh' || (/^\/[-_A-Za-z0-9]{1,64}$/.test(parsed.pathname) && /ntfy/.test(host))) {
    const topic = parsed.pathname.slice(1);
    if (/^[-_A-Za-z0-9]{1,64}$/.test(topic)) return { type: 'ntfy', topic, baseUrl: parsed.origin };
  }
  return undefined;
}

export function scanScript(file: string, text: string): ScriptScan {
  const lines = text.split(/\r?\n/);
  const vars = new Map<string, string>();
  const branches: Branch[] = [];
  const channels: { channel: ChannelDraft; origin: Origin }[] = [];
  const unknownUrls: Origin[] = [];
  const seen = new Set<string>();
  let open: { names: string[]; body: string[]; origin: Origin } | undefined;

  lines.forEach((raw, index) => {
    const origin = { file, line: index + 1, text: raw.trim() };
    const code = raw.replace(/(^|\s)#.*$/, '');
    const assignment = /^\s*(?:export\s+|local\s+|readonly\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(code);
    if (assignment?.[1] !== undefined && assignment[2] !== undefined)
      vars.set(assignment[1], expand(unquote(assignment[2]), vars));

    const label = /^\s*\(?\s*([A-Za-z0-9_.*-]+(?:\s*\|\s*[A-Za-z0-9_.*-]+)*)\s*\)(.*)$/.exec(code);
    if (open === undefined && label?.[1] !== undefined && !/\$\(/.test(code)) {
      open = { names: label[1].split('|').map((n) => n.trim()), body: [label[2] ?? ''], origin };
    } else if (open !== undefined) {
      open.body.push(code);
    }
    if (open !== undefined && code.includes(';;')) {
      branches.push({
        names: open.names,
        shutsDown: SHUTDOWN.test(open.body.join('\n')),
        origin: open.origin,
      });
      open = undefined;
    }

    for (const match of expand(code, vars).matchAll(/https?:\/\/[^\s"'`\\)]+/g)) {
      const url = match[0];
      if (seen.has(url)) continue;
      seen.add(url);
      const channel = classify(url, text);
      if (channel === undefined) unknownUrls.push(origin);
      else channels.push({ channel, origin });
    }
  });
  return { branches, channels, unknownUrls };
}

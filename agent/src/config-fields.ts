import { z } from 'zod';
import { isDuration, parseDuration } from '../../shared/src/duration.js';

/** The field schemas of the agent config (config.ts puts them together and reports their issues). */

const ARGV_HINT = 'write it as an argv list, not a shell string: shutdown: ["/sbin/poweroff"]';

/** zod's message for a missing key is "expected string, received undefined"; say what is needed instead. */
export const required =
  (what: string) =>
  (issue: { input?: unknown }): string =>
    issue.input === undefined ? `required: ${what}` : `must be ${what}`;

export const CoordinatorUrl = z.string({ error: required('the coordinator URL') }).refine((text) => {
  try {
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.search === '' && url.hash === '';
  } catch {
    return false;
  }
}, 'must be an http:// or https:// URL without query or fragment, like https://ups.example.net');

export const Duration = z
  .string({ error: 'must be a duration like 90s, 5m or 1h' })
  .refine(isDuration, 'must be a duration like 90s, 5m or 1h')
  .transform((text) => parseDuration(text));

export const Argv = z
  .array(z.string().min(1, 'an argv entry must not be empty'), {
    error: (issue) =>
      typeof issue.input === 'string'
        ? ARGV_HINT
        : required('the shutdown command as a list of strings')(issue),
  })
  .min(1, 'must name at least the program to run');

/** `host:port` of upsd; the port defaults to NUT's 3493. IPv6 as `[::1]:3493`. */
export const UpsdAddress = z
  .string({ error: required('the upsd address as host:port') })
  .transform((text, ctx) => {
    const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+))(?::(\d{1,5}))?$/.exec(text.trim());
    const host = match?.[1] ?? match?.[2];
    const port = match?.[3] === undefined ? 3493 : Number(match[3]);
    if (host === undefined || port < 1 || port > 65535) {
      ctx.addIssue({ code: 'custom', message: 'must be host:port, like 192.0.2.7:3493 or nas.local' });
      return z.NEVER;
    }
    return { host, port };
  });

/** NUT UPS, variable and user names as upsd.conf/ups.conf allow them. */
export const NutName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/, 'letters, digits, ".", "_", "-" and "@"');

/** `upsfleet notify [list | apply FILE | remove NAME | test NAME]`: notification channels. */
import { z } from 'zod';
import {
  ChannelRemovedSchema,
  ChannelTestSchema,
  ChannelViewSchema,
  ListOf,
} from '../../shared/src/admin-api.js';
import { formatTable } from '../../shared/src/text-table.js';
import { ago, type CliContext, str } from './cli-context.js';
import { readDocument } from './read-document.js';
import { UsageError } from './usage-error.js';

/** A channel in a file must at least be named: the name is its address in the API. */
const NamedSchema = z.looseObject({ name: z.string().min(1) });

const NOTIFY_USAGE = 'usage: upsfleet notify [list | apply FILE | remove NAME | test NAME]';
const CHANNELS = '/api/v1/notifications/channels';

export async function notifyCommand(ctx: CliContext, sub: string | undefined, arg: string | undefined) {
  if (sub === undefined || sub === 'list') {
    const { items } = await ctx.client.get(CHANNELS, ListOf(ChannelViewSchema));
    ctx.out(items, () =>
      items.length === 0
        ? 'No notification channels. Add one with: upsfleet notify apply channel.yaml'
        : formatTable(
            ['NAME', 'TYPE', 'EVENTS', 'UPS', 'HOSTS', 'ENABLED', 'HEALTH', 'LAST SENT'],
            items.map((c) => {
              const { health } = c;
              const all = (v: readonly string[]) => (v.length > 0 ? v.join(',') : 'all');
              return [
                c.name,
                c.type,
                all(c.events),
                all(c.ups),
                all(c.hosts),
                c.enabled ? 'yes' : 'no',
                health.failing ? `FAILING (${health.consecutiveFailures}): ${str(health.lastError)}` : 'ok',
                ago(health.lastSuccessAt, ctx.now),
              ];
            }),
          ),
    );
    return 0;
  }
  if (sub === 'apply' && arg !== undefined) {
    const parsed = await readDocument(arg);
    const channels = Array.isArray(parsed) ? parsed : [parsed];
    const applied: z.output<typeof ChannelViewSchema>[] = [];
    for (const channel of channels) {
      const named = NamedSchema.safeParse(channel);
      if (!named.success) throw new UsageError(`${arg}: every channel needs a "name"`);
      const path = `${CHANNELS}/${encodeURIComponent(named.data.name)}`;
      applied.push(await ctx.client.put(path, ChannelViewSchema, channel));
    }
    ctx.out(applied, () => applied.map((c) => `Channel "${c.name}" (${c.type}) saved.`).join('\n'));
    return 0;
  }
  if (sub === 'remove' && arg !== undefined) {
    const removed = await ctx.client.delete(`${CHANNELS}/${encodeURIComponent(arg)}`, ChannelRemovedSchema);
    ctx.out(removed, () => `Channel "${arg}" removed.`);
    return 0;
  }
  if (sub === 'test' && arg !== undefined) {
    const result = await ctx.client.post(
      `${CHANNELS}/${encodeURIComponent(arg)}/test`,
      ChannelTestSchema,
      {},
    );
    ctx.out(result, () =>
      result.ok
        ? `Test message delivered to "${arg}"${result.status === undefined ? '' : ` (HTTP ${result.status})`}.`
        : `Test message to "${arg}" FAILED: ${str(result.error)}`,
    );
    return result.ok ? 0 : 1;
  }
  throw new UsageError(NOTIFY_USAGE);
}

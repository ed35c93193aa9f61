/** `upsfleet notify [list | apply FILE | remove NAME | test NAME]`: notification channels. */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { type CliContext, type Item, str } from './cli-context.js';
import { ago, formatTable } from './table.js';
import { UsageError } from './usage-error.js';

const NOTIFY_USAGE = 'usage: upsfleet notify [list | apply FILE | remove NAME | test NAME]';
const CHANNELS = '/api/v1/notifications/channels';

export async function notifyCommand(ctx: CliContext, sub: string | undefined, arg: string | undefined) {
  if (sub === undefined || sub === 'list') {
    const { items } = await ctx.client.get<{ items: Item[] }>(CHANNELS);
    ctx.out(items, () =>
      items.length === 0
        ? 'No notification channels. Add one with: upsfleet notify apply channel.yaml'
        : formatTable(
            ['NAME', 'TYPE', 'EVENTS', 'UPS', 'HOSTS', 'ENABLED', 'HEALTH', 'LAST SENT'],
            items.map((c) => {
              const health = (c.health ?? {}) as Item;
              const all = (v: unknown) => (Array.isArray(v) && v.length > 0 ? v.join(',') : 'all');
              return [
                str(c.name),
                str(c.type),
                all(c.events),
                all(c.ups),
                all(c.hosts),
                c.enabled === false ? 'no' : 'yes',
                health.failing
                  ? `FAILING (${str(health.consecutiveFailures)}): ${str(health.lastError)}`
                  : 'ok',
                ago(health.lastSuccessAt as string | null, ctx.now),
              ];
            }),
          ),
    );
    return 0;
  }
  if (sub === 'apply' && arg !== undefined) {
    const parsed: unknown = parseYaml(await readFile(arg, 'utf8'));
    const channels = Array.isArray(parsed) ? parsed : [parsed];
    const applied: Item[] = [];
    for (const channel of channels) {
      const name = (channel as Item | null)?.name;
      if (typeof name !== 'string') throw new UsageError(`${arg}: every channel needs a "name"`);
      applied.push(await ctx.client.put<Item>(`${CHANNELS}/${encodeURIComponent(name)}`, channel));
    }
    ctx.out(applied, () => applied.map((c) => `Channel "${str(c.name)}" (${str(c.type)}) saved.`).join('\n'));
    return 0;
  }
  if (sub === 'remove' && arg !== undefined) {
    const removed = await ctx.client.delete<Item>(`${CHANNELS}/${encodeURIComponent(arg)}`);
    ctx.out(removed, () => `Channel "${arg}" removed.`);
    return 0;
  }
  if (sub === 'test' && arg !== undefined) {
    const result = await ctx.client.post<Item>(`${CHANNELS}/${encodeURIComponent(arg)}/test`, {});
    ctx.out(result, () =>
      result.ok
        ? `Test message delivered to "${arg}"${result.status ? ` (HTTP ${str(result.status)})` : ''}.`
        : `Test message to "${arg}" FAILED: ${str(result.error)}`,
    );
    return result.ok ? 0 : 1;
  }
  throw new UsageError(NOTIFY_USAGE);
}

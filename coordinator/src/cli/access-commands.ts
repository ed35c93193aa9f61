/** `upsfleet tokens [create NAME --scopes … [--expires 90d] | revoke NAME]`. */
import { type CliContext, type Item, list, str } from './cli-context.js';
import { ago, formatTable } from './table.js';
import { UsageError } from './usage-error.js';

const TOKENS_USAGE =
  'usage: upsfleet tokens [create NAME --scopes read,write,admin [--expires 90d] | revoke NAME]';

export async function tokensCommand(
  ctx: CliContext,
  sub: string | undefined,
  name: string | undefined,
  flags: { scopes?: string | undefined; expires?: string | undefined },
): Promise<number> {
  if (sub === undefined || sub === 'list') {
    const { items } = await ctx.client.get<{ items: Item[] }>('/api/v1/tokens');
    ctx.out(items, () =>
      formatTable(
        ['NAME', 'SCOPES', 'CREATED BY', 'EXPIRES', 'LAST USED', 'STATE'],
        items.map((t) => [
          str(t.name),
          (t.scopes as string[]).join(','),
          str(t.createdBy),
          str(t.expiresAt),
          ago(t.lastUsedAt as string | null, ctx.now),
          t.revokedAt
            ? 'revoked'
            : t.expiresAt && Date.parse(String(t.expiresAt)) <= ctx.now
              ? 'expired'
              : 'active',
        ]),
      ),
    );
    return 0;
  }
  if (sub === 'create' && name !== undefined) {
    const scopes = list(flags.scopes);
    if (scopes === undefined || scopes.length === 0)
      throw new UsageError(`${TOKENS_USAGE}\n  --scopes is required`);
    const created = await ctx.client.post<Item>('/api/v1/tokens', {
      name,
      scopes,
      ...(flags.expires === undefined ? {} : { expiresIn: flags.expires }),
    });
    ctx.out(
      created,
      () =>
        `Token "${name}" (${scopes.join(', ')}${created.expiresAt ? `, expires ${str(created.expiresAt)}` : ''}). It is shown this once:\n\n  ${str(created.token)}\n`,
    );
    return 0;
  }
  if (sub === 'revoke' && name !== undefined) {
    const revoked = await ctx.client.delete<Item>(`/api/v1/tokens/${encodeURIComponent(name)}`);
    ctx.out(revoked, () => `Token "${name}" revoked: it is refused from now on.`);
    return 0;
  }
  throw new UsageError(TOKENS_USAGE);
}

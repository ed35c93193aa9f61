/** `upsfleet tokens [create NAME --scopes … [--expires 90d] | revoke NAME]`. */
import { ListOf, TokenCreatedSchema, TokenRevokedSchema, TokenSchema } from '../../shared/src/admin-api.js';
import { formatTable } from '../../shared/src/text-table.js';
import { ago, type CliContext, list, str } from './cli-context.js';
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
    const { items } = await ctx.client.get('/api/v1/tokens', ListOf(TokenSchema));
    ctx.out(items, () =>
      formatTable(
        ['NAME', 'SCOPES', 'CREATED BY', 'EXPIRES', 'LAST USED', 'STATE'],
        items.map((t) => [
          t.name,
          t.scopes.join(','),
          str(t.createdBy),
          str(t.expiresAt),
          ago(t.lastUsedAt, ctx.now),
          t.revokedAt !== null
            ? 'revoked'
            : t.expiresAt !== null && Date.parse(t.expiresAt) <= ctx.now
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
    const created = await ctx.client.post('/api/v1/tokens', TokenCreatedSchema, {
      name,
      scopes,
      ...(flags.expires === undefined ? {} : { expiresIn: flags.expires }),
    });
    ctx.out(
      created,
      () =>
        `Token "${name}" (${scopes.join(', ')}${created.expiresAt === null ? '' : `, expires ${created.expiresAt}`}). It is shown this once:\n\n  ${created.token}\n`,
    );
    return 0;
  }
  if (sub === 'revoke' && name !== undefined) {
    const revoked = await ctx.client.delete(`/api/v1/tokens/${encodeURIComponent(name)}`, TokenRevokedSchema);
    ctx.out(revoked, () => `Token "${name}" revoked: it is refused from now on.`);
    return 0;
  }
  throw new UsageError(TOKENS_USAGE);
}

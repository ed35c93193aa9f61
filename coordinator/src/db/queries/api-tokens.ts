import { and, eq, isNull } from 'drizzle-orm';
import type { Db } from '../client.js';
import { apiTokens } from '../schema.js';

export type Scope = 'read' | 'write' | 'admin';

export interface ApiToken {
  readonly id: string;
  readonly name: string;
  readonly scopes: readonly Scope[];
}

export async function findApiTokenByHash(db: Db, tokenHash: string): Promise<ApiToken | undefined> {
  const [row] = await db
    .select({ id: apiTokens.id, name: apiTokens.name, scopes: apiTokens.scopes })
    .from(apiTokens)
    .where(and(eq(apiTokens.tokenHash, tokenHash), isNull(apiTokens.revokedAt)));
  return row === undefined ? undefined : { ...row, scopes: row.scopes.filter(isScope) };
}

function isScope(value: string): value is Scope {
  return value === 'read' || value === 'write' || value === 'admin';
}

export async function hasApiToken(db: Db, name: string): Promise<boolean> {
  const [row] = await db.select({ id: apiTokens.id }).from(apiTokens).where(eq(apiTokens.name, name));
  return row !== undefined;
}

/** Creates or replaces the token called `name` (used for the bootstrap admin token). */
export async function putApiToken(
  db: Db,
  name: string,
  tokenHash: string,
  scopes: readonly Scope[],
): Promise<void> {
  await db
    .insert(apiTokens)
    .values({ name, tokenHash, scopes: [...scopes] })
    .onConflictDoUpdate({ target: apiTokens.name, set: { tokenHash, scopes: [...scopes], revokedAt: null } });
}

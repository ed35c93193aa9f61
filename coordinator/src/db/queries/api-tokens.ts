import { and, asc, eq, gt, isNull, lt, or, sql } from 'drizzle-orm';
import type { Db } from '../client.js';
import { isUniqueViolation } from '../errors.js';
import { apiTokens } from '../schema.js';

export const SCOPES = ['read', 'write', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export interface ApiToken {
  readonly id: string;
  readonly name: string;
  readonly scopes: readonly Scope[];
  /** When it stops working (null: never); the dashboard's cookie ends then too. */
  readonly expiresAt?: Date | null;
}

export interface ApiTokenInfo extends ApiToken {
  readonly createdAt: Date;
  readonly createdBy: string | null;
  readonly expiresAt: Date | null;
  readonly lastUsedAt: Date | null;
  readonly revokedAt: Date | null;
}

function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}

const usable = (now: Date) =>
  and(isNull(apiTokens.revokedAt), or(isNull(apiTokens.expiresAt), gt(apiTokens.expiresAt, now)));

/** The token with this hash, when it is neither revoked nor expired. */
export async function findApiTokenByHash(
  db: Db,
  tokenHash: string,
  now: Date,
): Promise<ApiToken | undefined> {
  const [row] = await db
    .select({
      id: apiTokens.id,
      name: apiTokens.name,
      scopes: apiTokens.scopes,
      expiresAt: apiTokens.expiresAt,
    })
    .from(apiTokens)
    .where(and(eq(apiTokens.tokenHash, tokenHash), usable(now)));
  return row === undefined ? undefined : { ...row, scopes: row.scopes.filter(isScope) };
}

/** Records use, at most once a minute per token (a busy script must not write on every call). */
export async function touchApiToken(db: Db, id: string, now: Date): Promise<void> {
  await db
    .update(apiTokens)
    .set({ lastUsedAt: now })
    .where(
      and(
        eq(apiTokens.id, id),
        or(isNull(apiTokens.lastUsedAt), lt(apiTokens.lastUsedAt, new Date(now.getTime() - 60_000))),
      ),
    );
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
    .values({ name, tokenHash, scopes: [...scopes], createdBy: 'bootstrap' })
    .onConflictDoUpdate({
      target: apiTokens.name,
      set: { tokenHash, scopes: [...scopes], revokedAt: null, expiresAt: null },
    });
}

/** A new named token; undefined when the name is taken (also by a revoked token: names stay unique). */
export async function createApiToken(
  db: Db,
  token: {
    name: string;
    tokenHash: string;
    scopes: readonly Scope[];
    createdBy: string;
    expiresAt: Date | null;
  },
): Promise<ApiTokenInfo | undefined> {
  try {
    const [row] = await db
      .insert(apiTokens)
      .values({ ...token, scopes: [...token.scopes] })
      .returning();
    return row === undefined ? undefined : info(row);
  } catch (error) {
    if (isUniqueViolation(error)) return undefined;
    throw error;
  }
}

function info(row: typeof apiTokens.$inferSelect): ApiTokenInfo {
  return {
    id: row.id,
    name: row.name,
    scopes: row.scopes.filter(isScope),
    createdAt: row.createdAt,
    createdBy: row.createdBy,
    expiresAt: row.expiresAt,
    lastUsedAt: row.lastUsedAt,
    revokedAt: row.revokedAt,
  };
}

export async function listApiTokens(db: Db): Promise<ApiTokenInfo[]> {
  const rows = await db.select().from(apiTokens).orderBy(asc(apiTokens.createdAt), asc(apiTokens.name));
  return rows.map(info);
}

/** Revokes a token unless it is the last usable admin token; returns what happened. */
export function revokeApiToken(
  db: Db,
  name: string,
  now: Date,
): Promise<'revoked' | 'not-found' | 'last-admin'> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .select()
      .from(apiTokens)
      .where(and(eq(apiTokens.name, name), usable(now)))
      .for('update');
    if (row === undefined) return 'not-found';
    if (row.scopes.includes('admin')) {
      const [others] = await tx
        .select({ count: sql<number>`count(*)::int` })
        .from(apiTokens)
        .where(and(usable(now), sql`'admin' = any(${apiTokens.scopes})`, sql`${apiTokens.id} <> ${row.id}`));
      if ((others?.count ?? 0) === 0) return 'last-admin';
    }
    await tx.update(apiTokens).set({ revokedAt: now }).where(eq(apiTokens.id, row.id));
    return 'revoked';
  });
}

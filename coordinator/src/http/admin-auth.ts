import type { MiddlewareHandler } from 'hono';
import { ForbiddenError, UnauthorizedError } from '../../../shared/src/errors.js';
import type { Db } from '../db/client.js';
import { type ApiToken, findApiTokenByHash, type Scope } from '../db/queries/api-tokens.js';
import { hashSecret } from '../secrets.js';

export type AdminEnv = { Variables: { principal: ApiToken } };

export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}

/** Admin API authentication: a bearer token whose hash is stored, with the scope the route needs. */
export function requireToken(db: Db, scope: Scope): MiddlewareHandler<AdminEnv> {
  return async (c, next) => {
    const token = bearerToken(c.req.header('authorization'));
    if (token === undefined) throw new UnauthorizedError('missing bearer token (Authorization: Bearer …)');
    const principal = await findApiTokenByHash(db, hashSecret(token));
    if (principal === undefined) throw new UnauthorizedError('unknown or revoked token');
    const allowed =
      principal.scopes.includes('admin') ||
      principal.scopes.includes(scope) ||
      (scope === 'read' && principal.scopes.includes('write'));
    if (!allowed) throw new ForbiddenError(`token "${principal.name}" lacks the ${scope} scope`);
    c.set('principal', principal);
    await next();
  };
}

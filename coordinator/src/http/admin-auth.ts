/**
 * Admin API authentication and the audit trail. A bearer token is looked up by its hash and must
 * carry the scope the operation needs (admin ⊃ write ⊃ read). Failed attempts are throttled per
 * client address. Every operation that changes something is recorded: who, what, when, outcome.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import type { AuthThrottle } from '../../../shared/src/auth-throttle.js';
import type { Clock } from '../../../shared/src/clock.js';
import { ForbiddenError, TooManyRequestsError, UnauthorizedError } from '../../../shared/src/errors.js';
import type { Logger } from '../../../shared/src/logger.js';
import type { Db } from '../db/client.js';
import { type ApiToken, findApiTokenByHash, type Scope, touchApiToken } from '../db/queries/api-tokens.js';
import { recordAudit } from '../db/queries/audit.js';
import { hashSecret } from '../secrets.js';
import type { OperationSpec } from './operation.js';

export type AdminEnv = { Variables: { principal: ApiToken; auditTarget: string | undefined } };

export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}

/** The dashboard's sign-in cookie: the API token itself, HttpOnly and SameSite=Strict (see README). */
export const SESSION_COOKIE = 'upsfleet_session';

/**
 * True when a browser says the request comes from a page of this coordinator: `Sec-Fetch-Site:
 * same-origin`, or else an `Origin` whose host is this request's host. A request with neither is
 * not trusted with the cookie (every browser sends one of them on a POST).
 */
export function isSameOrigin(c: Context): boolean {
  const site = c.req.header('sec-fetch-site');
  if (site !== undefined) return site === 'same-origin';
  const origin = c.req.header('origin');
  if (origin === undefined) return false;
  try {
    return new URL(origin).host === new URL(c.req.url).host;
  } catch {
    return false;
  }
}

/**
 * The token of a request: the bearer header, or else the dashboard's cookie. A change made with
 * the cookie must come from the dashboard itself (no cross-site request can act with it).
 */
function requestToken(c: Context): { token: string | undefined; refusal?: Error } {
  const bearer = bearerToken(c.req.header('authorization'));
  if (bearer !== undefined) return { token: bearer };
  const cookie = getCookie(c, SESSION_COOKIE);
  if (cookie === undefined || cookie === '') return { token: undefined };
  if (c.req.method !== 'GET' && c.req.method !== 'HEAD' && !isSameOrigin(c))
    return {
      token: undefined,
      refusal: new ForbiddenError(
        'cross-site request refused: a change needs the dashboard page itself, or a bearer token',
      ),
    };
  return { token: cookie };
}

/** The client's address as the socket saw it (no proxy headers are trusted). */
export function remoteAddress(c: Context): string {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  return env?.incoming?.socket?.remoteAddress ?? 'local';
}

export function hasScope(principal: ApiToken, scope: Scope): boolean {
  return (
    principal.scopes.includes('admin') ||
    principal.scopes.includes(scope) ||
    (scope === 'read' && principal.scopes.includes('write'))
  );
}

export interface AdminAuthDeps {
  readonly db: Db;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly throttle: AuthThrottle;
  /** Told of every refused token (metrics). */
  readonly onFailure?: () => void;
}

/** Checks the bearer token and its scope; sets `principal`. */
export function requireToken(deps: AdminAuthDeps, scope: Scope): MiddlewareHandler<AdminEnv> {
  return async (c, next) => {
    const address = remoteAddress(c);
    const wait = deps.throttle.blockedFor(address);
    if (wait !== undefined)
      throw new TooManyRequestsError(
        `too many failed authentication attempts from ${address}: try again in ${Math.ceil(wait / 1000)} s`,
        wait / 1000,
      );
    const fail = (error: Error): never => {
      deps.throttle.failed(address);
      deps.onFailure?.();
      deps.logger.warn('admin authentication failed', { remote: address, reason: error.message });
      throw error;
    };
    const { token, refusal } = requestToken(c);
    if (refusal !== undefined) throw refusal;
    if (token === undefined)
      return fail(new UnauthorizedError('missing bearer token: send "Authorization: Bearer <token>"'));
    const now = new Date(deps.clock.now());
    const principal = await findApiTokenByHash(deps.db, hashSecret(token), now);
    if (principal === undefined) return fail(new UnauthorizedError('unknown, expired or revoked token'));
    deps.throttle.succeeded(address);
    if (!hasScope(principal, scope))
      throw new ForbiddenError(
        `token "${principal.name}" has scopes [${principal.scopes.join(', ')}]; this operation needs "${scope}"`,
      );
    c.set('principal', principal);
    await touchApiToken(deps.db, principal.id, now);
    await next();
  };
}

/** Records the operation in the audit log once it has been answered (refusals included). */
export function auditTrail(deps: AdminAuthDeps, spec: OperationSpec): MiddlewareHandler<AdminEnv> {
  return async (c, next) => {
    await next();
    const principal = c.get('principal');
    const params = c.req.param() as Record<string, string | undefined>;
    const target = c.get('auditTarget') ?? params.name ?? params.id;
    try {
      await recordAudit(deps.db, {
        at: new Date(deps.clock.now()),
        actor: principal.name,
        action: spec.operationId,
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        target: target ?? null,
        remote: remoteAddress(c),
      });
    } catch (error) {
      // The change itself is done; a lost audit line is logged loudly rather than reported as a failure.
      deps.logger.error('audit log write failed', { action: spec.operationId, error: String(error) });
    }
  };
}

/** The middlewares of an admin operation: authentication, then the audit trail for changes. */
export function adminGuard(deps: AdminAuthDeps) {
  return (spec: OperationSpec): MiddlewareHandler<AdminEnv>[] => {
    if (spec.access === 'public' || spec.access === 'agent') return [];
    const auth = requireToken(deps, spec.access);
    return spec.method === 'get' ? [auth] : [auth, auditTrail(deps, spec)];
  };
}

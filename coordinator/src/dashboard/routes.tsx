/**
 * The dashboard at `/`: sign-in with an API token (kept in an HttpOnly, SameSite=Strict cookie),
 * the page rendered on the server, its sections re-rendered alone when the live stream says
 * something changed, and its two assets. Web-standard only: the same routes run on the edge.
 */
import { type Context, Hono } from 'hono';
import { compress } from 'hono/compress';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { z } from 'zod';
import { findApiTokenByHash } from '../db/queries/api-tokens.js';
import {
  type AdminAuthDeps,
  type AdminEnv,
  adminGuard,
  hasScope,
  isSameOrigin,
  remoteAddress,
  SESSION_COOKIE,
} from '../http/admin-auth.js';
import { type Catalog, mountOperations, operationsFor } from '../http/operation.js';
import { hashSecret } from '../secrets.js';
import { DASHBOARD_CSS, DASHBOARD_JS, DASHBOARD_VERSION } from './assets.generated.js';
import { loadDashboard, type ViewDeps } from './view-model.js';
import { DashboardPage, SECTIONS, Section, type SectionName, SignInPage } from './views/page.js';

const ASSETS = {
  css: `/assets/dashboard-${DASHBOARD_VERSION}.css`,
  js: `/assets/dashboard-${DASHBOARD_VERSION}.js`,
};

/** No cookie outlives this, whatever the token's own expiry. */
const COOKIE_MAX_AGE_S = 30 * 86_400;

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

function html(c: Context, body: string | Promise<string>, status: 200 | 401 | 403 | 429 = 200) {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.header(name, value);
  return c.html(
    typeof body === 'string' ? `<!doctype html>${body}` : body.then((text) => `<!doctype html>${text}`),
    status,
  );
}

export interface DashboardDeps extends ViewDeps {
  readonly auth: AdminAuthDeps;
}

const dashboardOperation = operationsFor<AdminEnv>();

export function mountDashboard(deps: DashboardDeps, catalog: Catalog): Hono<AdminEnv> {
  const { auth } = deps;
  const app = new Hono<AdminEnv>();
  app.use(compress());

  const signIn = (c: Context, message?: string, status: 200 | 401 | 403 | 429 = 200) =>
    html(c, (<SignInPage assets={ASSETS} message={message} />).toString(), status);

  const operations = [
    dashboardOperation(
      {
        method: 'get',
        path: '/',
        operationId: 'dashboard.page',
        tag: 'dashboard',
        access: 'public',
        summary: 'The dashboard (HTML), or its sign-in page',
        description: 'Signed in with an API token: the token is kept in an HttpOnly, SameSite=Strict cookie.',
        responses: {
          200: { description: 'The dashboard, or the sign-in page', contentType: 'text/html' },
          401: {
            description: 'The sign-in page, saying the token kept from before is no longer valid',
            contentType: 'text/html',
          },
        },
      },
      async (c) => {
        const token = getCookie(c, SESSION_COOKIE);
        if (token === undefined || token === '') return signIn(c);
        const principal = await findApiTokenByHash(auth.db, hashSecret(token), new Date(auth.clock.now()));
        if (principal === undefined) {
          deleteCookie(c, SESSION_COOKIE, { path: '/' });
          return signIn(c, 'Your token is no longer valid (expired or revoked): sign in again.', 401);
        }
        const view = await loadDashboard(deps, {
          name: principal.name,
          canWrite: hasScope(principal, 'write'),
        });
        return html(c, (<DashboardPage view={view} assets={ASSETS} />).toString());
      },
    ),
    dashboardOperation(
      {
        method: 'post',
        path: '/sign-in',
        operationId: 'dashboard.signIn',
        tag: 'dashboard',
        access: 'public',
        summary: 'Sign in to the dashboard with an API token (HTML form: token=…)',
        responses: {
          303: { description: 'Signed in: the cookie is set, on to /' },
          401: {
            description: 'Unknown, expired or revoked token: the sign-in page says so',
            contentType: 'text/html',
          },
          403: { description: 'Not sent from this coordinator’s own page', contentType: 'text/html' },
          429: { description: 'Too many failed attempts from this address', contentType: 'text/html' },
        },
      },
      async (c) => {
        if (!isSameOrigin(c)) return signIn(c, 'Sign in from this page.', 403);
        const address = remoteAddress(c);
        const wait = auth.throttle.blockedFor(address);
        if (wait !== undefined)
          return signIn(c, `Too many failed attempts: try again in ${Math.ceil(wait / 1000)} s.`, 429);
        const form = await c.req.parseBody();
        const token = typeof form.token === 'string' ? form.token.trim() : '';
        const principal =
          token === ''
            ? undefined
            : await findApiTokenByHash(auth.db, hashSecret(token), new Date(auth.clock.now()));
        if (principal === undefined) {
          auth.throttle.failed(address);
          auth.onFailure?.();
          auth.logger.warn('dashboard sign-in refused', { remote: address });
          return signIn(c, 'That token is unknown, expired or revoked.', 401);
        }
        auth.throttle.succeeded(address);
        const untilExpiry =
          principal.expiresAt === null || principal.expiresAt === undefined
            ? COOKIE_MAX_AGE_S
            : Math.floor((principal.expiresAt.getTime() - auth.clock.now()) / 1000);
        setCookie(c, SESSION_COOKIE, token, {
          path: '/',
          httpOnly: true,
          sameSite: 'Strict',
          secure: new URL(c.req.url).protocol === 'https:',
          maxAge: Math.max(1, Math.min(COOKIE_MAX_AGE_S, untilExpiry)),
        });
        auth.logger.info('dashboard sign-in', { as: principal.name, remote: address });
        return c.redirect('/', 303);
      },
    ),
    dashboardOperation(
      {
        method: 'post',
        path: '/sign-out',
        operationId: 'dashboard.signOut',
        tag: 'dashboard',
        access: 'public',
        summary: 'Sign out of the dashboard (the cookie is removed)',
        responses: { 303: { description: 'Signed out, on to /' } },
      },
      (c) => {
        if (isSameOrigin(c)) deleteCookie(c, SESSION_COOKIE, { path: '/' });
        return c.redirect('/', 303);
      },
    ),
    dashboardOperation(
      {
        method: 'get',
        path: '/dashboard/sections',
        operationId: 'dashboard.sections',
        tag: 'dashboard',
        access: 'read',
        summary: 'Sections of the dashboard, rendered alone (HTML), for live updates',
        query: z.strictObject({
          only: z
            .string()
            .regex(
              new RegExp(`^(${SECTIONS.join('|')})(,(${SECTIONS.join('|')}))*$`),
              `a comma-separated list of ${SECTIONS.join(', ')}`,
            )
            .describe('Which sections'),
        }),
        responses: { 200: { description: 'The sections', contentType: 'text/html' } },
      },
      async (c, { query }) => {
        const principal = c.get('principal');
        const view = await loadDashboard(deps, {
          name: principal.name,
          canWrite: hasScope(principal, 'write'),
        });
        const names = [...new Set(query.only.split(','))] as SectionName[];
        return html(c, names.map((name) => (<Section name={name} view={view} />).toString()).join(''));
      },
    ),
    dashboardOperation(
      {
        method: 'get',
        path: '/assets/:file',
        operationId: 'dashboard.asset',
        tag: 'dashboard',
        access: 'public',
        summary: "The dashboard's script and style sheet (served by the coordinator: no CDN)",
        params: z.strictObject({
          file: z.string().regex(/^dashboard-[0-9a-f]+\.(js|css)$/, 'an asset name'),
        }),
        responses: {
          200: { description: 'The asset', contentType: 'text/javascript' },
          404: { description: 'No such asset' },
        },
      },
      (c, { params }) => {
        const [js, css] = [ASSETS.js.slice(8), ASSETS.css.slice(8)];
        if (params.file !== js && params.file !== css) return c.text('no such asset', 404);
        c.header('cache-control', 'public, max-age=31536000, immutable');
        c.header('x-content-type-options', 'nosniff');
        return params.file === js
          ? c.body(DASHBOARD_JS, 200, { 'content-type': 'text/javascript; charset=utf-8' })
          : c.body(DASHBOARD_CSS, 200, { 'content-type': 'text/css; charset=utf-8' });
      },
    ),
  ];
  return mountOperations(app, '', operations, catalog, adminGuard(auth));
}

import { type Env, Hono, type MiddlewareHandler } from 'hono';
import { type AuthThrottle, createAuthThrottle } from '../../../shared/src/auth-throttle.js';
import type { Clock } from '../../../shared/src/clock.js';
import { NotFoundError } from '../../../shared/src/errors.js';
import type { Logger } from '../../../shared/src/logger.js';
import type { ReplayGuard } from '../../../shared/src/signing.js';
import { mountDashboard } from '../dashboard/routes.js';
import type { Db } from '../db/client.js';
import type { AgentKeys } from '../fleet/agent-keys.js';
import type { KeyRing } from '../fleet/coordinator-key.js';
import type { Fleet } from '../fleet/fleet.js';
import type { HostReports } from '../fleet/host-reports.js';
import { createLiveFeed, type LiveFeed } from '../live/live-feed.js';
import type { Hub } from '../ws/hub.js';
import { AGENT_WS_PATH } from '../ws/session-core.js';
import { type AdminEnv, requireToken } from './admin-auth.js';
import { renderApiReference } from './api-reference.js';
import { buildOpenApiDocument } from './openapi-document.js';
import { type Catalog, mountOperations, type Operation, operationsFor } from './operation.js';
import { createErrorHandler } from './problem.js';
import type { ChannelHealth } from './routes/admin/fleet-ops.js';
import { mountAdminApi } from './routes/admin/index.js';
import { mountAgentApi } from './routes/agent-api.js';
import { healthOperations } from './routes/health.js';

export const API_VERSION = '1.0.0';

export interface AppDeps {
  readonly db: Db;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly signingKey: KeyRing;
  readonly agentKeys: AgentKeys;
  readonly fleet: Fleet;
  readonly hub: Hub;
  readonly replayGuard: ReplayGuard;
  /** What hosts read from their own upsd, for `/api/v1/hosts`. */
  readonly hostReports?: Pick<HostReports, 'sees'>;
  readonly throttle?: AuthThrottle;
  /** The live stream's feed (told of changes by the fleet); one reading the database is made when absent. */
  readonly live?: LiveFeed;
  /** Notification channels' health, for `/api/v1/status`. */
  readonly channelHealth?: () => Promise<ChannelHealth[]>;
  /** More admin operations (notification channels). */
  readonly adminOperations?: readonly Operation<AdminEnv>[];
  /** Told of refused admin tokens (metrics). */
  readonly onAuthFailure?: () => void;
  /** Mounts `/metrics`; gets the read-scope check to put in front of it (or not, when metrics are public). */
  readonly metrics?: (readScope: MiddlewareHandler) => { app: Hono; public: boolean };
}

const WEBSOCKET_DOC = {
  [AGENT_WS_PATH]: {
    get: {
      operationId: 'agent.connect',
      summary: 'The agent WebSocket (upgrade)',
      description:
        "An agent's outbound connection: authenticated before the upgrade by an agent token signed with its key " +
        '(`Authorization: Bearer`), then JSON frames: hello, events, acks, results and progress up; ' +
        'welcome, orders, briefings and key statements down (shared/src/protocol.ts).',
      tags: ['agent'],
      security: [],
      responses: {
        '101': { description: 'Switching protocols' },
        default: { $ref: '#/components/responses/Problem' },
      },
    },
  },
};

/** The HTTP application: Web-standard Request/Response only, so it runs in memory in tests. */
export function createApp(deps: AppDeps) {
  const catalog: Catalog = [];
  const auth = {
    db: deps.db,
    clock: deps.clock,
    logger: deps.logger,
    throttle: deps.throttle ?? createAuthThrottle({ clock: deps.clock }),
    ...(deps.onAuthFailure === undefined ? {} : { onFailure: deps.onAuthFailure }),
  };
  const docs = operationsFor<Env>();
  let document: Record<string, unknown> | undefined;
  const openApi = () => {
    document ??= buildOpenApiDocument(catalog, { version: API_VERSION, extraPaths: WEBSOCKET_DOC });
    return document;
  };
  const live =
    deps.live ??
    createLiveFeed({ db: deps.db, isConnected: (id) => deps.hub.isConnected(id), logger: deps.logger });
  const app = new Hono();
  mountOperations(app, '', healthOperations(deps.db), catalog);
  mountOperations(
    app,
    '',
    [
      docs(
        {
          method: 'get',
          path: '/openapi.json',
          operationId: 'docs.openapi',
          tag: 'docs',
          access: 'public',
          summary: 'This OpenAPI 3.1 document',
          responses: { 200: { description: 'The document', contentType: 'application/json' } },
        },
        (c) => c.json(openApi()),
      ),
      docs(
        {
          method: 'get',
          path: '/docs',
          operationId: 'docs.reference',
          tag: 'docs',
          access: 'public',
          summary: 'The API reference page, rendered from the OpenAPI document',
          responses: { 200: { description: 'HTML', contentType: 'text/html' } },
        },
        (c) => c.html(renderApiReference(openApi())),
      ),
    ],
    catalog,
  );
  if (deps.metrics !== undefined) {
    const metrics = deps.metrics(requireToken(auth, 'read') as unknown as MiddlewareHandler);
    app.route('/', metrics.app);
    catalog.push({
      prefix: '',
      spec: {
        method: 'get',
        path: '/metrics',
        operationId: 'metrics.scrape',
        tag: 'metrics',
        access: metrics.public ? 'public' : 'read',
        summary: 'Prometheus metrics (text exposition format 0.0.4)',
        description:
          'UPS variables and status flags, agents connected, runs and stages, order latencies, event intake, notification outcomes.',
        responses: { 200: { description: 'Metrics', contentType: 'text/plain; version=0.0.4' } },
      },
    });
  }
  app.route('/agent/v1', mountAgentApi(deps, catalog));
  app.route(
    '/api/v1',
    mountAdminApi(
      {
        ...deps,
        auth,
        live,
        channelHealth: deps.channelHealth ?? (async () => []),
        ...(deps.adminOperations === undefined ? {} : { extraOperations: deps.adminOperations }),
      },
      catalog,
    ),
  );
  app.route(
    '/',
    mountDashboard(
      {
        db: deps.db,
        clock: deps.clock,
        auth,
        policy: () => deps.fleet.policy,
        isConnected: (id) => deps.hub.isConnected(id),
        channelHealth: deps.channelHealth ?? (async () => []),
        ...(deps.hostReports === undefined ? {} : { sees: (name: string) => deps.hostReports?.sees(name) }),
      },
      catalog,
    ),
  );
  return app
    .notFound((c) => {
      throw new NotFoundError(`no route for ${c.req.method} ${c.req.path}: see /docs`);
    })
    .onError(createErrorHandler(deps.logger));
}

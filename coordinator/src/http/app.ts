import { Hono } from 'hono';
import type { Clock } from '../../../shared/src/clock.js';
import { NotFoundError } from '../../../shared/src/errors.js';
import type { Logger } from '../../../shared/src/logger.js';
import type { ReplayGuard } from '../../../shared/src/signing.js';
import type { Db } from '../db/client.js';
import type { AgentKeys } from '../fleet/agent-keys.js';
import type { KeyRing } from '../fleet/coordinator-key.js';
import type { Fleet } from '../fleet/fleet.js';
import type { Hub } from '../ws/hub.js';
import { createErrorHandler } from './problem.js';
import { adminApiRoutes } from './routes/admin-api.js';
import { agentApiRoutes } from './routes/agent-api.js';
import { healthRoutes } from './routes/health.js';

export interface AppDeps {
  readonly db: Db;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly signingKey: KeyRing;
  readonly agentKeys: AgentKeys;
  readonly fleet: Fleet;
  readonly hub: Hub;
  readonly replayGuard: ReplayGuard;
}

/** The HTTP application: Web-standard Request/Response only, so it runs in memory in tests. */
export function createApp(deps: AppDeps) {
  return new Hono()
    .route('/', healthRoutes(deps.db))
    .route('/agent/v1', agentApiRoutes(deps))
    .route('/api/v1', adminApiRoutes(deps))
    .notFound((c) => {
      throw new NotFoundError(`no route for ${c.req.method} ${c.req.path}`);
    })
    .onError(createErrorHandler(deps.logger));
}

import { Hono, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { AppError } from '../../../../../shared/src/errors.js';
import type { LiveFeed } from '../../../live/live-feed.js';
import { type AdminAuthDeps, type AdminEnv, adminGuard } from '../../admin-auth.js';
import { type Catalog, mountOperations, type Operation } from '../../operation.js';
import type { AdminDeps } from './deps.js';
import { type ChannelHealth, fleetOperations } from './fleet-ops.js';
import { historyOperations } from './history-ops.js';
import { nutOperations } from './nut-ops.js';
import { policyOperations } from './policy-ops.js';
import { streamOperations } from './stream-ops.js';
import { tokenOperations } from './token-ops.js';

/** Request bodies above this are refused before they are read (413); a policy of 1,000 hosts is ~200 KiB. */
export const ADMIN_BODY_LIMIT = 1024 * 1024;

const limit: MiddlewareHandler = bodyLimit({
  maxSize: ADMIN_BODY_LIMIT,
  onError: () => {
    throw new AppError('payload_too_large', `request body over ${ADMIN_BODY_LIMIT} bytes (1 MiB)`);
  },
});

export interface AdminApiDeps extends AdminDeps {
  readonly auth: AdminAuthDeps;
  readonly channelHealth: () => Promise<ChannelHealth[]>;
  readonly live: LiveFeed;
  /** More operations (notification channels), mounted the same way. */
  readonly extraOperations?: readonly Operation<AdminEnv>[];
}

/** `/api/v1`: the admin API (bearer tokens with scopes, audited changes). */
export function mountAdminApi(deps: AdminApiDeps, catalog: Catalog): Hono<AdminEnv> {
  const operations = [
    ...fleetOperations(deps),
    ...nutOperations(deps),
    ...policyOperations(deps),
    ...historyOperations(deps),
    ...tokenOperations(deps),
    ...streamOperations(deps),
    ...(deps.extraOperations ?? []),
  ];
  return mountOperations(
    new Hono<AdminEnv>().use(limit),
    '/api/v1',
    operations,
    catalog,
    adminGuard(deps.auth),
  );
}

import type { Clock } from '../../../../../shared/src/clock.js';
import type { Logger } from '../../../../../shared/src/logger.js';
import type { Db } from '../../../db/client.js';
import type { AgentKeys } from '../../../fleet/agent-keys.js';
import type { KeyRing } from '../../../fleet/coordinator-key.js';
import type { Fleet } from '../../../fleet/fleet.js';
import type { HostReports } from '../../../fleet/host-reports.js';
import type { Hub } from '../../../ws/hub.js';

/** What the admin operations work with. */
export interface AdminDeps {
  readonly db: Db;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly signingKey: KeyRing;
  readonly agentKeys: AgentKeys;
  readonly fleet: Fleet;
  readonly hub: Hub;
  /** What hosts read from their own upsd; `/hosts` shows it when present. */
  readonly hostReports?: Pick<HostReports, 'sees'>;
}

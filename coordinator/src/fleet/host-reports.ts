/**
 * What hosts tell about themselves: their own upsd readings (kept in memory, shown by status,
 * `upsfleet hosts` and the API as "web1 sees nas-ups OB, 3 s ago"), and reports of what they did on
 * their own, recorded in the run's timeline and then acknowledged so the host may forget them.
 */
import type { Clock } from '../../../shared/src/clock.js';
import type { Logger } from '../../../shared/src/logger.js';
import type { AgentMessage } from '../../../shared/src/protocol.js';
import type { Hub } from '../ws/hub.js';
import type { OfflineReport } from './offline-reports.js';

type HostReadingFrame = Extract<AgentMessage, { type: 'host-reading' }>;

export interface HostSees {
  readonly readings: HostReadingFrame['readings'];
  readonly warnings: readonly string[];
  /** When the coordinator received it (its clock). */
  readonly receivedAt: number;
  /** The host's clock minus the coordinator's when it arrived, to age the readings fairly. */
  readonly skewMs: number;
}

export interface HostReports {
  receive(agentId: string, name: string, message: HostReadingFrame | OfflineReport): Promise<void>;
  /** What each host reads itself, by host name. */
  sees(name: string): HostSees | undefined;
}

export function createHostReports(deps: {
  readonly hub: Pick<Hub, 'send'>;
  readonly offlineReport: (name: string, report: OfflineReport) => Promise<void>;
  readonly clock: Clock;
  readonly logger: Logger;
}): HostReports {
  const seen = new Map<string, HostSees>();
  return {
    async receive(agentId, name, message) {
      if (message.type === 'offline-report') {
        await deps.offlineReport(name, message);
        deps.hub.send(agentId, { type: 'offline-ack', id: message.id });
        return;
      }
      const now = deps.clock.now();
      const newest = Math.max(0, ...message.readings.map((reading) => reading.at));
      const before = seen.get(name);
      for (const warning of message.warnings)
        if (!before?.warnings.includes(warning)) deps.logger.warn(`${name}: ${warning}`);
      seen.set(name, {
        readings: message.readings,
        warnings: message.warnings,
        receivedAt: now,
        skewMs: newest === 0 ? 0 : Math.max(0, newest - now),
      });
    },
    sees: (name) => seen.get(name),
  };
}

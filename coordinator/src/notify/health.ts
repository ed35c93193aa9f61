/** Each channel's delivery health and outbox counts, for `upsfleet status` and /metrics. */
import type { Db } from '../db/client.js';
import { listChannels, outboxStats } from '../db/queries/notifications.js';
import { FAILING_AFTER } from './masking.js';

export interface ChannelHealth {
  readonly name: string;
  readonly type: string;
  readonly enabled: boolean;
  /** FAILING_AFTER or more deliveries failed in a row. */
  readonly failing: boolean;
  readonly consecutiveFailures: number;
  readonly lastError: string | null;
  readonly lastFailureAt: Date | null;
  readonly lastSuccessAt: Date | null;
  readonly outbox: { readonly pending: number; readonly sent: number; readonly failed: number };
}

export async function readChannelHealth(db: Db): Promise<ChannelHealth[]> {
  const rows = await listChannels(db);
  const stats = await outboxStats(db);
  return rows.map((row) => {
    const count = (state: 'pending' | 'sent' | 'failed') =>
      stats.find((stat) => stat.channel === row.name && stat.state === state)?.messages ?? 0;
    return {
      name: row.name,
      type: row.type,
      enabled: row.enabled,
      failing: row.consecutiveFailures >= FAILING_AFTER,
      consecutiveFailures: row.consecutiveFailures,
      lastError: row.lastError,
      lastFailureAt: row.lastFailureAt,
      lastSuccessAt: row.lastSuccessAt,
      outbox: { pending: count('pending'), sent: count('sent'), failed: count('failed') },
    };
  });
}

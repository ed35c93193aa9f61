/**
 * Each channel's health as `/api/v1/status` and createMetrics read it, over the channels and their
 * outbox (notify/health.ts); both runtimes pass this one.
 */
import type { Db } from '../db/client.js';
import type { ChannelHealth } from '../http/routes/admin/fleet-ops.js';
import { readChannelHealth } from '../notify/health.js';

export async function readStatusChannelHealth(db: Db): Promise<ChannelHealth[]> {
  return (await readChannelHealth(db)).map((channel) => ({
    name: channel.name,
    failing: channel.failing,
    consecutiveFailures: channel.consecutiveFailures,
    pending: channel.outbox.pending,
    lastError: channel.lastError,
  }));
}

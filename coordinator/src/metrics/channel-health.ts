/** `readChannelHealth` for createMetrics, over the channels and their outbox (notify/health.ts). */
import type { Db } from '../db/client.js';
import { readChannelHealth } from '../notify/health.js';
import type { ChannelHealth } from './create-metrics.js';

export async function readMetricsChannelHealth(db: Db): Promise<ChannelHealth[]> {
  return (await readChannelHealth(db)).map((channel) => ({
    name: channel.name,
    failing: channel.failing,
    consecutiveFailures: channel.consecutiveFailures,
    pending: channel.outbox.pending,
  }));
}

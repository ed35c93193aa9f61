/**
 * The process metrics (CPU, memory, event loop, …) under the upsfleet_ prefix: Node only, added by
 * the Node coordinator to its registry. At the edge there is no process of ours to describe.
 */
import { collectDefaultMetrics } from 'prom-client';
import type { Registry } from './prom.js';

export function addProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry, prefix: 'upsfleet_' });
}

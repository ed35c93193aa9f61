// A file the boundary check must flag (runtime-boundary.test.ts); never imported by real code.
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { collectDefaultMetrics } from 'prom-client';
import Gauge from 'prom-client/lib/gauge.js';
import { WebSocket } from 'ws';

export function nodeTied(request: IncomingMessage): string {
  const timer: NodeJS.Timeout = setTimeout(() => new WebSocket('ws://127.0.0.1:1'), 1);
  timer.unref();
  collectDefaultMetrics();
  void Gauge;
  return (
    createHash('sha256')
      .update(Buffer.from(request.url ?? ''))
      .digest('hex') + process.pid
  );
}

// A file the boundary check must flag (runtime-boundary.test.ts); never imported by real code.
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { WebSocket } from 'ws';

export function nodeTied(request: IncomingMessage): string {
  const timer: NodeJS.Timeout = setTimeout(() => new WebSocket('ws://127.0.0.1:1'), 1);
  timer.unref();
  return (
    createHash('sha256')
      .update(Buffer.from(request.url ?? ''))
      .digest('hex') + process.pid
  );
}

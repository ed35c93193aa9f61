import { sql } from 'drizzle-orm';
import type { Env } from 'hono';
import { z } from 'zod';
import type { Db } from '../../db/client.js';
import { operationsFor } from '../operation.js';

const publicOperation = operationsFor<Env>();

export function healthOperations(db: Db) {
  return [
    publicOperation(
      {
        method: 'get',
        path: '/healthz',
        operationId: 'health.live',
        tag: 'health',
        access: 'public',
        summary: 'Liveness: the process answers',
        responses: { 200: { description: 'Alive', schema: z.object({ status: z.literal('ok') }) } },
      },
      (c) => c.json({ status: 'ok' as const }),
    ),
    publicOperation(
      {
        method: 'get',
        path: '/readyz',
        operationId: 'health.ready',
        tag: 'health',
        access: 'public',
        summary: 'Readiness: the database answers',
        responses: {
          200: { description: 'Ready', schema: z.object({ status: z.literal('ready') }) },
          503: {
            description: 'The database is unreachable',
            schema: z.object({ status: z.literal('not ready'), reason: z.string() }),
          },
        },
      },
      async (c) => {
        try {
          await db.execute(sql`select 1`);
          return c.json({ status: 'ready' as const });
        } catch {
          return c.json({ status: 'not ready' as const, reason: 'database unreachable' }, 503);
        }
      },
    ),
  ];
}

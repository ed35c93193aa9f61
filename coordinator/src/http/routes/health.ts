import { sql } from 'drizzle-orm';
import { Hono } from 'hono';
import type { Db } from '../../db/client.js';

export function healthRoutes(db: Db) {
  return new Hono()
    .get('/healthz', (c) => c.json({ status: 'ok' }))
    .get('/readyz', async (c) => {
      try {
        await db.execute(sql`select 1`);
        return c.json({ status: 'ready' });
      } catch {
        return c.json({ status: 'not ready', reason: 'database unreachable' }, 503);
      }
    });
}

/**
 * `GET /metrics` in the Prometheus text format. Whether it needs a token is the caller's choice:
 * `auth` is the read-scope check, or undefined when metrics are public (a scraper on a trusted network).
 */
import { type Env, Hono, type MiddlewareHandler } from 'hono';
import type { Metrics } from '../../metrics/create-metrics.js';

export interface MetricsRoutesDeps<E extends Env> {
  readonly metrics: Pick<Metrics, 'registry'>;
  readonly auth: MiddlewareHandler<E> | undefined;
}

export function metricsRoutes<E extends Env>({ metrics, auth }: MetricsRoutesDeps<E>) {
  const app = new Hono<E>();
  if (auth !== undefined) app.use('/metrics', auth);
  return app.get('/metrics', async (c) => {
    const text = await metrics.registry.metrics();
    return c.body(text, 200, {
      'content-type': metrics.registry.contentType,
      'cache-control': 'no-store',
    });
  });
}

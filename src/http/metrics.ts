// GET /metrics: the Prometheus exposition of src/metrics.ts.

import { Hono } from 'hono';
import type { Metrics } from '../metrics.js';

export function metricsRoutes(metrics: Metrics): Hono {
  const app = new Hono();
  app.get('/metrics', async (c) => {
    const { body, contentType } = await metrics.render();
    return c.body(body, 200, { 'content-type': contentType });
  });
  return app;
}

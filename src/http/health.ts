// Liveness and readiness. /livez answers from the event loop alone (it proves the loop is not
// blocked); /readyz is ready only when every enabled executor is warm, and says why not otherwise.

import { Hono } from 'hono';
import type { Orchestrator } from '../orchestrator/orchestrator.js';

export function healthRoutes(orchestrator: Orchestrator): Hono {
  const app = new Hono();
  app.get('/livez', (c) => c.text('ok'));
  app.get('/readyz', (c) => {
    const readiness = orchestrator.readiness();
    return c.json(readiness, readiness.ready ? 200 : 503);
  });
  return app;
}

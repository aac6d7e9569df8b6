// The HTTP application: routes mounted on one hono app. It never listens (main.ts does), so tests
// can also call app.request() directly.

import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Config } from './config.js';
import { ServiceError } from './errors.js';
import { healthRoutes } from './http/health.js';
import { nativeRoutes } from './http/native.js';
import { problem, problemResponse } from './http/problem.js';
import { wikifunctionsRoutes } from './http/wikifunctions.js';
import type { Logger } from './logger.js';
import type { Orchestrator } from './orchestrator/orchestrator.js';

export interface AppDependencies {
  readonly config: Config;
  readonly orchestrator: Orchestrator;
  readonly log: Logger;
}

export function createApp({ config, orchestrator, log }: AppDependencies): Hono {
  const app = new Hono();
  const limit = config.global.POLYEVAL_BODY_LIMIT_BYTES;

  // hono's own cap, in front of the byte-counting reader each route uses (two independent caps:
  // bodyLimit had bypass CVEs before 4.9.7 / 4.12.x).
  app.use(
    '*',
    bodyLimit({
      maxSize: limit,
      onError: () => {
        throw problem('body-too-large', `The request body is larger than ${limit} bytes`, {
          limitBytes: limit,
        });
      },
    }),
  );

  app.route('/', healthRoutes(orchestrator));
  app.route('/', nativeRoutes(orchestrator, { bodyLimit: limit }));
  app.route('/', wikifunctionsRoutes(orchestrator, { bodyLimit: limit, log }));

  app.notFound((c) =>
    problemResponse(problem('not-found', `No route for ${c.req.method} ${c.req.path}`), c.req.path),
  );
  app.onError((error, c) => {
    if (error instanceof ServiceError) return problemResponse(error, c.req.path);
    log.error('Request failed', { path: c.req.path, error: error.message, stack: error.stack });
    return problemResponse(
      new ServiceError('internal', 'The service failed to handle the request'),
      c.req.path,
    );
  });
  return app;
}

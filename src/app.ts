// The HTTP application: routers mounted on one hono app. It never listens (src/http/server.ts
// does), so tests can also call app.request() directly. Every router is mounted in one place,
// `mounts` below, together with the OpenAPI description of its paths: the document at
// /openapi.json is built from that list, and a test checks it against the routes registered.

import { Hono } from 'hono';
import type { Config } from './config.js';
import { ServiceError } from './errors.js';
import { authentication } from './http/auth.js';
import { languageExample } from './http/examples.js';
import { healthRoutes } from './http/health.js';
import { metricsRoutes } from './http/metrics.js';
import { nativeRoutes } from './http/native.js';
import {
  buildOpenApiDocument,
  docsPaths,
  docsUiPaths,
  healthPaths,
  metricsPaths,
  nativePaths,
  openApiRoutes,
  type PathsDoc,
  wikifunctionsPaths,
} from './http/openapi.js';
import { playgroundPaths, playgroundRoutes } from './http/playground.js';
import { problem, problemResponse } from './http/problem.js';
import { recordCall, requestContext } from './http/request-context.js';
import { wikifunctionsRoutes } from './http/wikifunctions.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import type { Orchestrator } from './orchestrator/orchestrator.js';
import { Reentrance } from './wikifunctions/reentrance.js';
import type { SocketPairing } from './wikifunctions/socket-pairing.js';

export interface AppDependencies {
  readonly config: Config;
  readonly orchestrator: Orchestrator;
  readonly log: Logger;
  /** Prometheus metrics; /metrics is served only when given. */
  readonly metrics?: Metrics;
  /** Reported in the OpenAPI document. */
  readonly version?: string;
  /** The Wikifunctions orchestrator's websockets (src/http/wikifunctions-socket.ts accepts them). */
  readonly sockets?: SocketPairing;
}

/** A router and the OpenAPI description of exactly the routes it registers. */
export interface Mount {
  readonly routes: Hono;
  readonly openapi: PathsDoc;
}

/** The methods each registered path takes (GET implies HEAD), by matching the route patterns. */
function allowedMethods(app: Hono): (path: string) => string[] {
  const patterns = app.routes
    .filter((r) => r.method !== 'ALL')
    .map((r) => ({
      method: r.method,
      // Hono patterns: ":name" is one segment, "*" anything.
      regex: new RegExp(
        `^${r.path
          .split('/')
          .map((segment) =>
            segment.startsWith(':')
              ? '[^/]+'
              : segment === '*'
                ? '.*'
                : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
          )
          .join('/')}$`,
      ),
    }));
  return (path) => {
    const methods = new Set(patterns.filter((p) => p.regex.test(path)).map((p) => p.method));
    if (methods.has('GET')) methods.add('HEAD');
    return [...methods].sort();
  };
}

export function createApp(deps: AppDependencies): Hono {
  const { config, orchestrator, log, metrics } = deps;
  const app = new Hono();
  const limit = config.global.POLYEVAL_BODY_LIMIT_BYTES;
  const ui = config.global.POLYEVAL_PLAYGROUND === 'on';

  // Request id, the one log line per call, HTTP metrics; the call itself is learned from the
  // orchestrator's call events (whatever the wire format).
  app.use('*', requestContext({ log, ...(metrics === undefined ? {} : { metrics }) }));
  // Optional bearer tokens (src/http/auth.ts): off unless POLYEVAL_AUTH_TOKENS(_FILE) is set.
  const auth = authentication(config.global);
  if (auth !== undefined) app.use('*', auth);
  orchestrator.onCall(recordCall(log));

  // Every router, once. To add one: append { routes, openapi } here.
  const mounts: Mount[] = [
    { routes: healthRoutes(orchestrator), openapi: healthPaths },
    {
      routes: nativeRoutes(orchestrator, {
        bodyLimit: limit,
        moduleBodyLimit: config.global.POLYEVAL_MODULE_BODY_LIMIT_BYTES,
      }),
      openapi: nativePaths(config),
    },
    {
      routes: wikifunctionsRoutes(orchestrator, {
        bodyLimit: limit,
        log,
        remainingTime: config.global.POLYEVAL_WIKIFUNCTIONS_REMAINING_TIME,
        reentrance: new Reentrance({
          orchestratorUrl: config.global.POLYEVAL_WIKIFUNCTIONS_ORCHESTRATOR_URL,
          mode: config.global.POLYEVAL_WIKIFUNCTIONS_REENTRANCE,
          transport: config.global.POLYEVAL_WIKIFUNCTIONS_CALL_TRANSPORT,
          ...(deps.sockets === undefined ? {} : { sockets: deps.sockets }),
        }),
      }),
      openapi: wikifunctionsPaths,
    },
    ...(metrics === undefined ? [] : [{ routes: metricsRoutes(metrics), openapi: metricsPaths }]),
    ...(ui ? [{ routes: playgroundRoutes(orchestrator), openapi: playgroundPaths }] : []),
  ];
  const docs: Mount = {
    routes: openApiRoutes(
      () =>
        buildOpenApiDocument({
          config,
          paths: [...mounts, docs].map((m) => m.openapi),
          languages: orchestrator.info(),
          version: deps.version ?? '0.0.0',
          authentication: auth !== undefined,
          examples: orchestrator.manifests().flatMap((m) => {
            const example = languageExample(m);
            if (example === undefined) return [];
            const name = m.codecs.includes('zobject') ? m.wikifunctions?.names[0] : undefined;
            return [
              { language: m.id, ...example, ...(name === undefined ? {} : { wikifunctionsName: name }) },
            ];
          }),
        }),
      { ui },
    ),
    openapi: ui ? { ...docsPaths, ...docsUiPaths } : docsPaths,
  };
  for (const mount of [...mounts, docs]) app.route('/', mount.routes);

  // A known path asked with a method it does not take is 405 with Allow, not 404.
  const allowed = allowedMethods(app);
  app.notFound((c) => {
    const allow = allowed(c.req.path);
    // A route that takes this method and found nothing (an unknown asset) is a plain 404.
    if (allow.length > 0 && !allow.includes(c.req.method)) {
      const response = problemResponse(
        problem(
          'method-not-allowed',
          `${c.req.path} does not take ${c.req.method}; it takes ${allow.join(', ')}`,
          {
            allow,
          },
        ),
        c.req.path,
      );
      response.headers.set('allow', allow.join(', '));
      return response;
    }
    return problemResponse(problem('not-found', `No route for ${c.req.method} ${c.req.path}`), c.req.path);
  });
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

// Per-request context: a request id (the caller's X-Request-Id when it is sane, else a new UUID),
// echoed in the answer; the request's scope (src/request-scope.ts), which routes hand to the
// orchestrator with each call (callContext), so that the call is learned from the orchestrator's
// call events whatever the wire format; and,
// when the answer is done, one log line per call (language, outcome code, duration; never the
// guest's code or arguments at info level) and the HTTP metrics.

import { randomUUID } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import { type Logger, truncateForLog } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { CallEvent, EvaluateInput } from '../orchestrator/orchestrator.js';
import type { RequestScope } from '../request-scope.js';
import { clientSignal } from './incoming.js';

const SCOPE_KEY = 'polyevalRequestScope';

/** The scope of the request being handled (set by requestContext), to pass to the orchestrator. */
export function requestScopeOf(c: Context): RequestScope | undefined {
  return c.get(SCOPE_KEY as never) as RequestScope | undefined;
}

/**
 * What a route hands the orchestrator with a call besides the call itself: a signal aborted when
 * the client goes away, and the request's scope (absent outside a request context).
 */
export function callContext(c: Context): { signal: AbortSignal; scope?: RequestScope } {
  const scope = requestScopeOf(c);
  return { signal: clientSignal(c), ...(scope === undefined ? {} : { scope }) };
}

const SANE_ID = /^[\w.:@/+=-]{1,128}$/;

/** Call listener: remembers the call on the request that made it (see Orchestrator.onCall). */
export function recordCall(log: Logger): (event: CallEvent, input: EvaluateInput) => void {
  return (event, input) => {
    const state = input.scope;
    if (state !== undefined) state.call = event;
    if (log.enabled?.('debug') ?? false) {
      log.debug('Call input', {
        reqId: state?.id,
        language: event.language,
        function: input.function,
        ...(event.error === undefined ? {} : { error: truncateForLog(event.error.message, 500) }),
        ...(input.code === undefined ? {} : { code: truncateForLog(input.code) }),
        args: truncateForLog(JSON.stringify(input.args, (_k, v) => (typeof v === 'bigint' ? String(v) : v))),
      });
    }
  };
}

function routeOf(c: Parameters<MiddlewareHandler>[0]): string {
  const routes = matchedRoutes(c);
  for (let i = routes.length - 1; i >= 0; i--) {
    const route = routes[i]!;
    if (route.method !== 'ALL') return route.path;
  }
  return 'unmatched';
}

export function requestContext(options: { log: Logger; metrics?: Metrics }): MiddlewareHandler {
  const { log, metrics } = options;
  return async (c, next) => {
    const asked = c.req.header('x-request-id');
    const state: RequestScope = {
      id: asked !== undefined && SANE_ID.test(asked) ? asked : randomUUID(),
      call: undefined,
    };
    const started = performance.now();
    c.set(SCOPE_KEY as never, state as never);
    await next();
    c.res.headers.set('x-request-id', state.id);
    const ms = performance.now() - started;
    const status = c.res.status;
    const route = routeOf(c);
    const method = c.req.method;
    // The log line (a write to stdout) and the metrics are not the caller's business: they are done
    // once the answer has been handed to Node, off the request's critical path.
    setImmediate(() => report(method, route, status, ms, state.call, state.id));
  };

  function report(
    method: string,
    route: string,
    status: number,
    ms: number,
    call: CallEvent | undefined,
    reqId: string,
  ): void {
    metrics?.observeRequest(method, route, status, ms / 1000);
    if (call !== undefined) metrics?.observeCall(call);
    const fields = {
      reqId,
      method,
      route,
      status,
      ms: Math.round(ms * 100) / 100,
      ...(call === undefined
        ? {}
        : {
            language: call.language,
            outcome: call.outcome,
            queueMs: Math.round(call.queueMs * 100) / 100,
            ...(call.stats === undefined ? {} : { sandboxMs: Math.round(call.stats.durationMs * 100) / 100 }),
            ...(call.remote ? { remote: true } : {}),
            // The guest's error message can carry its arguments (throw new Error(arg)): only its
            // type is logged at info.
            ...(call.error?.type === undefined ? {} : { errorType: call.error.type }),
          }),
    };
    if (call !== undefined) log.info('Call', fields);
    // 503 is the service saying "not now" (starting, overloaded, shutting down), not a failure.
    else if (status >= 500 && status !== 503) log.warn('Request failed', fields);
    else log.debug('Request', fields);
  }
}

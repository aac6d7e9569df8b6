// The Wikifunctions-compatible evaluator API, as the Wikifunctions orchestrator calls it:
//   POST /:domain/v1/evaluate/   a function call (JSON or Avro), answered with a Z22 envelope
//   GET  /_info                  name and version of the service
// The domain segment is ignored (callers use /1/v1/evaluate/). Evaluation outcomes, failed ones
// included, are HTTP 200; see src/wikifunctions/evaluate.ts for the few exceptions.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Context, Hono } from 'hono';
import type { Logger } from '../logger.js';
import type { Orchestrator } from '../orchestrator/orchestrator.js';
import { projectRoot } from '../paths.js';
import {
  evaluateWikifunctions,
  type RemainingTimePolicy,
  type WikifunctionsBackend,
} from '../wikifunctions/evaluate.js';
import type { Reentrance } from '../wikifunctions/reentrance.js';
import { originOf } from '../wikifunctions/socket-pairing.js';
import { decodeWikifunctionsBody } from './body-parser.js';
import { readBody, remoteAddress } from './incoming.js';
import { callContext } from './request-context.js';

export interface WikifunctionsRouteOptions {
  /**
   * Bytes a request body may have, counted while reading (413 problem+json beyond), behind the
   * server's Content-Length check, as the native routes have.
   */
  readonly bodyLimit?: number;
  /** Where our own failures are reported (guest failures are results, not log lines). */
  readonly log?: Logger;
  /** Reported as evaluationHostname; defaults to the machine's host name. */
  readonly hostname?: string;
  /** What a request's remainingTime does (POLYEVAL_WIKIFUNCTIONS_REMAINING_TIME; default ignore). */
  readonly remainingTime?: RemainingTimePolicy;
  /** Calls guests make back to the orchestrator (one instance for the service). */
  readonly reentrance?: Reentrance;
}

function packageInfo(): { name: string; version: string } {
  try {
    const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('package.json', projectRoot)), 'utf8')) as {
      name?: string;
      version?: string;
    };
    return { name: pkg.name ?? 'polyeval', version: pkg.version ?? '0.0.0' };
  } catch {
    return { name: 'polyeval', version: '0.0.0' };
  }
}

export function wikifunctionsRoutes(
  orchestrator: Orchestrator | WikifunctionsBackend,
  options: WikifunctionsRouteOptions = {},
): Hono {
  const app = new Hono();
  const info = packageInfo();

  const evaluate = async (c: Context): Promise<Response> => {
    const body = await readBody(c, options.bodyLimit ?? Number.POSITIVE_INFINITY);
    const response = await evaluateWikifunctions(orchestrator, body, c.req.header('content-type'), {
      ...callContext(c),
      decode: decodeWikifunctionsBody,
      ...(options.hostname === undefined ? {} : { hostname: options.hostname }),
      ...(options.remainingTime === undefined ? {} : { remainingTime: options.remainingTime }),
      ...(options.reentrance === undefined ? {} : { reentrance: options.reentrance }),
      origin: originOf(remoteAddress(c)),
      onInternalError: (error) =>
        options.log?.error('Wikifunctions evaluation failed', {
          error: error instanceof Error ? (error.stack ?? error.message) : String(error),
        }),
    });
    return new Response(response.body, { status: response.status, headers: response.headers });
  };

  app.post('/:domain/v1/evaluate/', evaluate);
  app.post('/:domain/v1/evaluate', evaluate);
  app.get('/_info', (c) =>
    c.json({
      name: info.name,
      version: info.version,
      description: 'Wikifunctions-compatible function evaluator',
      home: '/',
    }),
  );
  return app;
}

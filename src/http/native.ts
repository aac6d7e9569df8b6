// The native v1 API: POST /v1/evaluate, POST /v1/modules, GET /v1/languages. Documented in
// src/http/openapi.ts (schemas from ./schemas.ts).

import { Hono } from 'hono';
import { safeName } from '../executor/echo.js';
import {
  JsonLimitError,
  type JsonValue,
  jsonDepth,
  REQUEST_BOUNDS,
  stringifyJson,
} from '../executor/json-value.js';
import type { Orchestrator } from '../orchestrator/orchestrator.js';
import { parseJsonBody } from './body-parser.js';
import { readBody } from './incoming.js';
import { problem } from './problem.js';
import { callContext, requestScopeOf } from './request-context.js';
import { deployRequestSchema, evaluateRequestSchema, invalidRequest, MAX_ARGS_DEPTH } from './schemas.js';

function json(body: unknown, status = 200): Response {
  return new Response(stringifyJson(body), { status, headers: { 'content-type': 'application/json' } });
}

async function readJson(c: Parameters<typeof readBody>[0], bodyLimit: number): Promise<unknown> {
  const type = c.req.header('content-type') ?? 'application/json';
  if (!/^application\/(?:[\w.+-]+\+)?json\b/i.test(type)) {
    throw problem('unsupported-media-type', `Expected an application/json body, got "${safeName(type)}"`);
  }
  const body = await readBody(c, bodyLimit);
  try {
    // Bounded (see JsonBounds), and off the HTTP thread when large (see body-parser.ts).
    return await parseJsonBody(body);
  } catch (error) {
    if (error instanceof JsonLimitError) {
      throw problem('invalid-request', `Cannot parse the body: ${error.message}`, { bounds: REQUEST_BOUNDS });
    }
    if (!(error instanceof SyntaxError)) throw error;
    throw problem('invalid-request', `The body is not valid JSON: ${error.message}`);
  }
}

export function nativeRoutes(
  orchestrator: Orchestrator,
  options: { bodyLimit: number; moduleBodyLimit?: number },
): Hono {
  const app = new Hono();

  app.post('/v1/evaluate', async (c) => {
    const body = await readJson(c, options.bodyLimit);
    const parsed = evaluateRequestSchema.safeParse(body);
    if (!parsed.success) throw invalidRequest(parsed.error);
    const request = parsed.data;
    if (jsonDepth(request.args, MAX_ARGS_DEPTH) > MAX_ARGS_DEPTH) {
      throw problem(
        'invalid-request',
        `Invalid request: args are nested deeper than ${MAX_ARGS_DEPTH} levels`,
      );
    }
    const result = await orchestrator.evaluate({
      language: request.language,
      function: request.function,
      args: request.args as JsonValue[],
      ...callContext(c),
      ...(request.code === undefined ? {} : { code: request.code }),
      ...(request.module === undefined ? {} : { module: request.module }),
      ...(request.limits === undefined ? {} : { limits: request.limits }),
      ...(request.codec === undefined ? {} : { codec: request.codec }),
    });
    return json(result);
  });

  app.post('/v1/modules', async (c) => {
    let request: { language: string; code: string };
    if (/^application\/wasm\b/i.test(c.req.header('content-type') ?? '')) {
      // A binary upload (for modules too large as base64 in JSON: 12 MB is 16 MB as base64): the
      // language comes in the query, the body is the module itself, under its own limit. The
      // executor contract takes base64 text; encoding 32 MiB takes ~20 ms here (native).
      const language = c.req.query('language');
      if (language === undefined || language === '' || language.length > 100) {
        throw problem('invalid-request', 'A binary module upload needs ?language=<id> in the URL');
      }
      const bytes = await readBody(c, Math.max(options.bodyLimit, options.moduleBodyLimit ?? 0));
      request = {
        language,
        code: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64'),
      };
    } else {
      const body = await readJson(c, options.bodyLimit);
      const parsed = deployRequestSchema.safeParse(body);
      if (!parsed.success) throw invalidRequest(parsed.error);
      request = parsed.data;
    }
    const deployed = await orchestrator.deploy(request.language, request.code, requestScopeOf(c));
    if ('error' in deployed) return json({ ok: false, error: deployed.error }, 422);
    return json(
      {
        ok: true,
        id: deployed.id,
        language: orchestrator.resolve(request.language)?.id,
        ...deployed.details,
      },
      201,
    );
  });

  app.get('/v1/languages', (c) => c.json({ languages: orchestrator.info() }));

  return app;
}

// The OpenAPI 3.1 document (GET /openapi.json) and its docs UI (GET /docs). Request and answer
// bodies are the zod schemas of ./schemas.ts turned into JSON Schema 2020-12 by zod 4's own
// z.toJSONSchema (OpenAPI 3.1's dialect), so validation and documentation cannot drift apart.
// Each router mounted in app.ts brings the description of its own paths (a `PathsDoc`), and
// test/unit/openapi.test.ts checks that the documented operations are exactly the routes
// registered. Limits (body size, each language's defaults and ceilings) and the closed catalogues
// of error codes are written into the document from the running configuration.
//
// The UI is Swagger UI from the swagger-ui-dist package, served from node_modules (no CDN): 13 MB
// and no runtime dependencies, where Scalar's npm package pulls ~290 MB of dependencies into the
// production image (its browser bundle alone would do, but is only shipped inside that package).

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Hono } from 'hono';
import { z } from 'zod';
import type { Config } from '../config.js';
import { PROBLEMS, type ProblemType } from '../errors.js';
import type { LanguageInfo } from '../orchestrator/orchestrator.js';
import type { LanguageExample } from './examples.js';
import { apiSchemas, OPERATION_PROBLEMS } from './schemas.js';

/** OpenAPI path items keyed by OpenAPI path (`/{param}` style), then by lower-case method. */
export type PathsDoc = Record<string, Record<string, Record<string, unknown>>>;

const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });
const json = (schema: object, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

/** What each problem's `detail` says, for the answer examples. */
const PROBLEM_DETAILS: Record<ProblemType, string> = {
  'invalid-request': 'Invalid request: args: Invalid input: expected array, received string',
  unauthorized: 'This route needs a bearer token: send "Authorization: Bearer <token>"',
  'unknown-language': 'Unknown or disabled language "cobol"; enabled: …',
  'unknown-module': 'No deployed module has the id "sha256-…"',
  'not-found': 'No route for GET /v2/evaluate',
  'method-not-allowed': '/v1/evaluate does not take GET; it takes POST',
  'body-too-large': 'The request body is larger than 8388608 bytes',
  'unsupported-media-type': 'Expected an application/json body, got "text/plain"',
  overloaded: 'Language "…" is at capacity: 64 calls are already waiting',
  'language-unavailable': 'Language "…" is unavailable: it failed to start: …',
  'shutting-down': 'The service is shutting down',
  'upstream-failed': 'Cannot reach a remote evaluator for "…"',
  internal: 'The service failed to handle the request',
};

/** Problem answers grouped by status, each listing the problem types it can carry. */
function problemResponses(types: readonly ProblemType[]): Record<string, unknown> {
  const byStatus = new Map<number, ProblemType[]>();
  for (const type of types) {
    const status = PROBLEMS[type].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), type]);
  }
  const out: Record<string, unknown> = {};
  for (const [status, list] of [...byStatus].sort((a, b) => a[0] - b[0])) {
    out[String(status)] = {
      description: list.map((t) => `\`${t}\`: ${PROBLEMS[t].title}`).join('; '),
      ...(status === 503
        ? { headers: { 'Retry-After': { description: 'Seconds to wait', schema: { type: 'integer' } } } }
        : {}),
      content: {
        'application/problem+json': {
          schema: ref('Problem'),
          examples: Object.fromEntries(
            list.map((t) => [
              t,
              {
                summary: PROBLEMS[t].title,
                value: {
                  type: `https://polyeval.dev/problems/${t}`,
                  title: PROBLEMS[t].title,
                  status,
                  detail: PROBLEM_DETAILS[t],
                },
              },
            ]),
          ),
        },
      },
      'x-problem-types': list,
    };
  }
  return out;
}

export function nativePaths(config: Config): PathsDoc {
  const bodyLimit = config.global.POLYEVAL_BODY_LIMIT_BYTES;
  const body = (id: string) => ({
    required: true,
    description: `At most ${bodyLimit} bytes (POLYEVAL_BODY_LIMIT_BYTES); larger bodies get 413.`,
    content: { 'application/json': { schema: ref(id) } },
  });
  return {
    '/v1/evaluate': {
      post: {
        operationId: 'evaluate',
        tags: ['Evaluate'],
        summary: 'Run one function call in a fresh sandbox',
        description:
          'Runs `function(...args)` from `code` (or a deployed `module`) under the effective limits: ' +
          "the request's own (clamped to the ceiling) or the language defaults. Guest failures are " +
          '200 with `ok: false`; bad requests and our own failures are problem+json. A client that ' +
          'disconnects cancels its call. Optional `X-Request-Id` is echoed and logged.',
        parameters: [{ $ref: '#/components/parameters/RequestId' }],
        requestBody: body('EvaluateRequest'),
        responses: {
          '200': json(ref('EvaluateResult'), 'The call ran (its outcome may be a guest failure).'),
          ...problemResponses(OPERATION_PROBLEMS.evaluate!),
        },
      },
    },
    '/v1/modules': {
      post: {
        operationId: 'deploy',
        tags: ['Evaluate'],
        summary: 'Deploy a module once, call it many times',
        description:
          'For languages whose `deploy` is true in GET /v1/languages. A binary module may be sent as it is: ' +
          '`Content-Type: application/wasm`, the language in the query (`?language=<id>`), at most ' +
          `${config.global.POLYEVAL_MODULE_BODY_LIMIT_BYTES} bytes (POLYEVAL_MODULE_BODY_LIMIT_BYTES).`,
        parameters: [
          {
            name: 'language',
            in: 'query',
            required: false,
            description: 'The language, for a binary (`application/wasm`) upload only.',
            schema: { type: 'string' },
          },
        ],
        requestBody: {
          ...body('DeployRequest'),
          content: {
            ...body('DeployRequest').content,
            'application/wasm': { schema: { type: 'string', format: 'binary' } },
          },
        },
        responses: {
          '201': json(ref('Deployment'), 'Deployed; call it with `module: id`.'),
          '422': json(ref('DeploymentFailure'), 'The module does not compile.'),
          ...problemResponses(OPERATION_PROBLEMS.deploy!),
        },
      },
    },
    '/v1/languages': {
      get: {
        operationId: 'languages',
        tags: ['Discovery'],
        summary: 'Enabled languages with engines, limits (defaults and ceilings) and pools',
        responses: { '200': json(ref('Languages'), 'Every enabled language.') },
      },
    },
  };
}

export const healthPaths: PathsDoc = {
  '/livez': {
    get: {
      operationId: 'livez',
      tags: ['Operations'],
      summary: 'Liveness: 200 while the event loop answers',
      responses: {
        '200': {
          description: 'Alive.',
          content: { 'text/plain': { schema: { type: 'string', const: 'ok' } } },
        },
      },
    },
  },
  '/readyz': {
    get: {
      operationId: 'readyz',
      tags: ['Operations'],
      summary: 'Readiness: 200 once every local language is warm; 503 while starting or shutting down',
      responses: {
        '200': json(ref('Readiness'), 'Ready.'),
        '503': json(ref('Readiness'), 'Not ready (starting, failed to start, or shutting down).'),
      },
    },
  },
};

export const metricsPaths: PathsDoc = {
  '/metrics': {
    get: {
      operationId: 'metrics',
      tags: ['Operations'],
      summary: 'Prometheus metrics (calls by language and outcome, latencies, queues, pools, sandboxes)',
      responses: {
        '200': {
          description: 'Prometheus text exposition format 0.0.4.',
          content: { 'text/plain': { schema: { type: 'string' } } },
        },
      },
    },
  },
};

export const docsPaths: PathsDoc = {
  '/openapi.json': {
    get: {
      operationId: 'openapi',
      tags: ['Documentation'],
      summary: 'This document',
      responses: { '200': json({ type: 'object' }, 'OpenAPI 3.1 document.') },
    },
  },
};

export const docsUiPaths: PathsDoc = {
  '/docs': {
    get: {
      operationId: 'docs',
      tags: ['Documentation'],
      summary: 'API documentation UI (Swagger UI, served locally)',
      responses: { '200': { description: 'HTML page.', content: { 'text/html': {} } } },
    },
  },
  '/docs/assets/{file}': {
    get: {
      operationId: 'docsAsset',
      tags: ['Documentation'],
      summary: 'Static files of the documentation UI',
      parameters: [{ name: 'file', in: 'path', required: true, schema: { type: 'string' } }],
      responses: { '200': { description: 'The file.' }, '404': { description: 'No such file.' } },
    },
  },
};

/** The Wikifunctions-compatible routes of src/http/wikifunctions.ts, for the app that mounts them. */
export const wikifunctionsPaths: PathsDoc = (() => {
  const evaluate = {
    tags: ['Wikifunctions'],
    summary: 'Wikifunctions evaluator API: a function call (JSON or Avro) answered with a Z22 envelope',
    parameters: [
      { name: 'domain', in: 'path', required: true, schema: { type: 'string' }, description: 'Ignored.' },
    ],
    requestBody: {
      required: true,
      content: {
        'application/json': { schema: { type: 'object' } },
        'application/octet-stream': { schema: { type: 'string', format: 'binary' } },
      },
    },
    responses: {
      '200': json({ type: 'object' }, 'A Z22 envelope (evaluation failures included).'),
      '500': json({ type: 'object' }, 'A Z22 envelope carrying our own failure.'),
      '503': {
        ...json({ type: 'object' }, 'A Z22 envelope: the queue is full or the service is shutting down.'),
        headers: { 'Retry-After': { schema: { type: 'integer' }, description: 'Seconds to wait.' } },
      },
      ...problemResponses(['body-too-large']),
    },
  };
  return {
    '/{domain}/v1/evaluate/': { post: { operationId: 'wikifunctionsEvaluate', ...evaluate } },
    '/{domain}/v1/evaluate': { post: { operationId: 'wikifunctionsEvaluateNoSlash', ...evaluate } },
    '/_info': {
      get: {
        operationId: 'wikifunctionsInfo',
        tags: ['Wikifunctions'],
        summary: 'Name and version of the service',
        responses: { '200': json({ type: 'object' }, 'Service information.') },
      },
    },
  };
})();

/** JSON Schema 2020-12 of every registered zod schema, as OpenAPI components. */
function componentSchemas(): Record<string, unknown> {
  const { schemas } = z.toJSONSchema(apiSchemas, {
    target: 'draft-2020-12',
    io: 'input',
    unrepresentable: 'any',
    uri: (id) => `#/components/schemas/${id}`,
  });
  const out: Record<string, unknown> = {};
  for (const [id, schema] of Object.entries(schemas)) {
    const { $schema: _s, $id: _i, ...rest } = schema as Record<string, unknown>;
    out[id] = rest;
  }
  return out;
}

function limitsTable(languages: readonly LanguageInfo[]): string {
  if (languages.length === 0) return '';
  const rows = languages.map((l) => {
    const d = l.limits.defaults;
    const c = l.limits.ceilings;
    return `| \`${l.id}\` | ${l.aliases.map((a) => `\`${a}\``).join(', ')} | ${d.timeoutMs} / ${c.timeoutMs} | ${d.memoryMb} / ${c.memoryMb} | ${d.outputBytes} / ${c.outputBytes} | ${l.pool.capacity} / ${l.pool.queueMax} |`;
  });
  return [
    '',
    '### Languages and limits on this server (default / ceiling)',
    '',
    '| language | aliases | timeoutMs | memoryMb | outputBytes | slots / queue |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

export interface DocumentOptions {
  readonly config: Config;
  readonly paths: readonly PathsDoc[];
  readonly languages: readonly LanguageInfo[];
  readonly version: string;
  /** Whether bearer tokens are required (the document then declares the scheme for Swagger's Authorize). */
  readonly authentication?: boolean;
  /** A worked example per language (src/http/examples.ts), for the request and answer examples. */
  readonly examples?: readonly ({
    readonly language: string;
    /** The Wikifunctions name that routes to the language, when it serves Wikifunctions. */
    readonly wikifunctionsName?: string;
  } & LanguageExample)[];
}

type Example = { summary: string; value: unknown };

/** Sets `examples` on one media type of an operation's request body or answer, when both exist. */
function setExamples(
  paths: PathsDoc,
  path: string,
  where: 'request' | string,
  examples: Record<string, Example>,
  mediaType = 'application/json',
): void {
  const operation = paths[path]?.post ?? paths[path]?.get;
  if (operation === undefined || Object.keys(examples).length === 0) return;
  const holder = (
    where === 'request' ? operation.requestBody : (operation.responses as Record<string, unknown>)?.[where]
  ) as { content?: Record<string, Record<string, unknown>> } | undefined;
  const media = holder?.content?.[mediaType];
  if (media !== undefined) media.examples = { ...examples, ...(media.examples as object | undefined) };
}

/**
 * Request and answer examples of the native API, one per language (the first is what Swagger UI's
 * "Try it out" sends as it comes). Each request example has an answer example of the same name
 * under the status it gets; test/e2e/openapi-examples.test.ts sends every one to a real server and
 * checks the documented answer.
 */
function addExamples(paths: PathsDoc, options: DocumentOptions): void {
  const examples = options.examples ?? [];
  const info = new Map(options.languages.map((l) => [l.id, l]));
  const requests: Record<string, Example> = {};
  const ok: Record<string, Example> = {};
  const problems400: Record<string, Example> = {};
  for (const e of examples) {
    const language = info.get(e.language);
    if (language === undefined) continue;
    requests[e.language] = {
      summary: `${language.displayName}: ${e.function}(${e.args.join(', ')})`,
      value: { language: e.language, code: e.code, function: e.function, args: e.args },
    };
    ok[e.language] = {
      summary: `${language.displayName}: the value, output and measures`,
      value: {
        ok: true,
        value: e.value,
        stdout: '',
        stderr: '',
        stats: { durationMs: 0.412, cpuMs: 0.387, memoryBytes: 16_777_216 },
        language: e.language,
        limits: language.limits.defaults,
      },
    };
  }
  const first = examples.find((e) => info.has(e.language));
  if (first !== undefined) {
    const limits = { timeoutMs: Math.min(1000, info.get(first.language)!.limits.ceilings.timeoutMs) };
    requests[`${first.language}-limits`] = {
      summary: `With a limit of its own: ${limits.timeoutMs} ms`,
      value: {
        language: first.language,
        code: first.code,
        function: first.function,
        args: first.args,
        limits,
      },
    };
    const base = ok[first.language]!.value as Record<string, unknown>;
    ok[`${first.language}-limits`] = {
      summary: 'The limits the call ran with',
      value: { ...base, limits: { ...(base.limits as object), ...limits } },
    };
    requests.invalid = {
      summary: 'Invalid: args is not an array (answered 400, one entry per field)',
      value: { language: first.language, code: first.code, function: first.function, args: '2, 3' },
    };
    problems400.invalid = {
      summary: 'The invalid field, named',
      value: {
        type: 'https://polyeval.dev/problems/invalid-request',
        title: 'The request is not valid',
        status: 400,
        detail: 'Invalid request: args: Invalid input: expected array, received string',
        instance: '/v1/evaluate',
        errors: [{ pointer: '/args', message: 'Invalid input: expected array, received string' }],
      },
    };
  }
  setExamples(paths, '/v1/evaluate', 'request', requests);
  setExamples(paths, '/v1/evaluate', '200', ok);
  setExamples(paths, '/v1/evaluate', '400', problems400, 'application/problem+json');
  const deployable = examples.filter((e) => info.get(e.language)?.deploy === true);
  setExamples(
    paths,
    '/v1/modules',
    'request',
    Object.fromEntries(
      deployable.map((e) => [
        e.language,
        { summary: `Deploy a ${e.language} module`, value: { language: e.language, code: e.code } },
      ]),
    ),
  );
  setExamples(
    paths,
    '/v1/modules',
    '201',
    Object.fromEntries(
      deployable.map((e) => [
        e.language,
        {
          summary: 'Deployed: call it with module: id',
          value: { ok: true, id: 'sha256-…', language: e.language },
        },
      ]),
    ),
  );
  // Wikifunctions: the flat request form, natural numbers (Z13518) in and out.
  const natural = (n: number) => ({ Z1K1: 'Z13518', Z13518K1: String(n) });
  const wikifunctions = examples.filter((e) => e.wikifunctionsName !== undefined && info.has(e.language));
  for (const path of ['/{domain}/v1/evaluate/', '/{domain}/v1/evaluate']) {
    setExamples(
      paths,
      path,
      'request',
      Object.fromEntries(
        wikifunctions.map((e) => [
          e.language,
          {
            summary: `${info.get(e.language)!.displayName}: ${e.function}(${e.args.join(', ')}) on natural numbers`,
            value: {
              codingLanguage: e.wikifunctionsName,
              codeString: e.code,
              functionName: e.function,
              functionArguments: Object.fromEntries(
                e.args.map((a, i) => [`${e.function}K${i + 1}`, natural(a)]),
              ),
            },
          },
        ]),
      ),
    );
    setExamples(
      paths,
      path,
      '200',
      Object.fromEntries(
        wikifunctions.map((e) => [
          e.language,
          {
            summary:
              'A Z22 envelope: the value in Z22K1 (Z22K2, the metadata map of times and host, abbreviated)',
            value: {
              Z1K1: { Z1K1: 'Z9', Z9K1: 'Z22' },
              Z22K1: {
                Z1K1: { Z1K1: 'Z9', Z9K1: 'Z13518' },
                Z13518K1: { Z1K1: 'Z6', Z6K1: String(e.value) },
              },
              Z22K2: '…',
            },
          },
        ]),
      ),
    );
  }
  setExamples(paths, '/v1/languages', '200', {
    server: { summary: 'The languages of this server', value: { languages: options.languages } },
  });
}

export function buildOpenApiDocument(options: DocumentOptions): Record<string, unknown> {
  const g = options.config.global;
  const paths: PathsDoc = {};
  for (const doc of options.paths) {
    for (const [path, item] of Object.entries(doc)) paths[path] = { ...paths[path], ...item };
  }
  // Copies: the examples are set on this document's objects, not on the shared path docs.
  const document = structuredClone(paths);
  addExamples(document, options);
  return {
    openapi: '3.1.0',
    info: {
      title: 'Polyeval',
      version: options.version,
      summary: 'Run untrusted functions, each call in a fresh sandbox under hard limits.',
      description: [
        'POST the code, the function name and its arguments; each call runs in a sandbox that has never',
        'run anything else, under wall-time, memory and output limits enforced from outside the guest.',
        '',
        '**Limits** are a default plus a ceiling: a request may lower a limit; a value above the ceiling',
        'is clamped to it, and the answer says which limits applied.',
        '',
        `**Server limits**: request bodies up to ${g.POLYEVAL_BODY_LIMIT_BYTES} bytes (413 beyond), headers`,
        `up to ${g.POLYEVAL_MAX_HEADER_BYTES} bytes (431), ${g.POLYEVAL_HEADERS_TIMEOUT_MS} ms to send the headers`,
        `and ${g.POLYEVAL_REQUEST_TIMEOUT_MS} ms the whole request (408), ${g.POLYEVAL_MAX_CONNECTIONS} connections`,
        `at once; per language at most ${g.POLYEVAL_QUEUE_MAX} calls wait (by default) and none longer than`,
        `${g.POLYEVAL_QUEUE_TIMEOUT_MS} ms, beyond which the answer is 503 with Retry-After.`,
        '',
        '**Errors**: guest failures carry one code of a closed catalogue (`GuestError.code`); bad requests',
        'and our failures are RFC 9457 problems (`Problem.type`). Both lists are in docs/errors.md.',
        limitsTable(options.languages),
      ].join('\n'),
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    servers: [{ url: '/' }],
    tags: [
      { name: 'Evaluate', description: 'Run functions.' },
      { name: 'Discovery', description: 'What this server runs.' },
      { name: 'Operations', description: 'Health and metrics.' },
      { name: 'Documentation', description: 'This document and its UI.' },
      { name: 'Playground', description: 'A page to try languages in a browser.' },
      { name: 'Wikifunctions', description: 'The Wikifunctions evaluator API.' },
    ],
    paths: document,
    ...(options.authentication === true ? { security: [{ bearer: [] }] } : {}),
    components: {
      ...(options.authentication === true
        ? {
            securitySchemes: {
              bearer: {
                type: 'http',
                scheme: 'bearer',
                description:
                  'A token of POLYEVAL_AUTH_TOKENS (or its file). /livez, /readyz and the static pages need none; /metrics needs one unless POLYEVAL_AUTH_METRICS=off.',
              },
            },
          }
        : {}),
      schemas: componentSchemas(),
      parameters: {
        RequestId: {
          name: 'X-Request-Id',
          in: 'header',
          required: false,
          description:
            'Correlation id (1–128 of `A-Za-z0-9_.:@/+=-`), echoed in the answer; one is made up when absent.',
          schema: { type: 'string', pattern: '^[\\w.:@/+=-]{1,128}$' },
        },
      },
    },
    'x-polyeval-limits': {
      bodyLimitBytes: g.POLYEVAL_BODY_LIMIT_BYTES,
      maxHeaderBytes: g.POLYEVAL_MAX_HEADER_BYTES,
      headersTimeoutMs: g.POLYEVAL_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: g.POLYEVAL_REQUEST_TIMEOUT_MS,
      maxConnections: g.POLYEVAL_MAX_CONNECTIONS,
      queueTimeoutMs: g.POLYEVAL_QUEUE_TIMEOUT_MS,
      languages: Object.fromEntries(
        options.languages.map((l) => [
          l.id,
          { ...l.limits, slots: l.pool.capacity, queueMax: l.pool.queueMax },
        ]),
      ),
    },
  };
}

// ---- Routes -----------------------------------------------------------------------------------

const require = createRequire(import.meta.url);
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

/** Content-Security-Policy for our pages: nothing but this origin (Swagger UI sets inline styles). */
export const PAGE_CSP =
  "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

const DOCS_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Polyeval API</title>
<link rel="icon" href="/docs/assets/favicon-32x32.png">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/init.js"></script>
</body>
</html>
`;

// validatorUrl: null keeps Swagger UI from calling its public validator.
const DOCS_INIT = `window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  validatorUrl: null,
  tryItOutEnabled: true,
  presets: [SwaggerUIBundle.presets.apis],
});
`;

export function openApiRoutes(document: () => Record<string, unknown>, options: { ui: boolean }): Hono {
  const app = new Hono();
  let cached: string | undefined;
  app.get('/openapi.json', (c) => {
    cached ??= JSON.stringify(document());
    return c.body(cached, 200, { 'content-type': 'application/json; charset=utf-8' });
  });
  if (!options.ui) return app;
  const dir = dirname(require.resolve('swagger-ui-dist/package.json'));
  const files = new Map<string, Buffer>();
  app.get('/docs', (c) => c.html(DOCS_HTML, 200, { 'content-security-policy': PAGE_CSP }));
  app.get('/docs/assets/:file', (c) => {
    const name = c.req.param('file');
    if (name === 'init.js') {
      return c.body(DOCS_INIT, 200, { 'content-type': 'text/javascript; charset=utf-8' });
    }
    // hasOwn: "constructor", "__proto__"... are not assets (they would reach readFileSync).
    const type = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
    if (type === undefined) return c.notFound();
    let bytes = files.get(name);
    if (bytes === undefined) {
      bytes = readFileSync(join(dir, name));
      files.set(name, bytes);
    }
    return c.body(new Uint8Array(bytes), 200, {
      'content-type': type,
      'cache-control': 'public, max-age=86400',
    });
  });
  return app;
}

// Property-based fuzzing of the HTTP API through the real server (every language enabled): random
// and malformed requests on every route — structured evaluate requests with random fields, random
// JSON, random bytes, truncated and mutated bodies, Avro bodies, odd methods, content types and
// paths. Properties: no 5xx other than 503, every request answered (no hang), and afterwards the
// server still serves an honest call in every language. Bounded (a few hundred requests); fast-check
// prints the seed of a failure and FUZZ_SEED=<seed> replays it.

import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { HONEST_CALLS } from '../helpers/calls.js';
import { type RunningServer, startServer } from '../helpers/server.js';
import { httpCall, LANGUAGES } from '../security/harness.js';
import { avroBody, edits, fuzzOptions, mutate, zobject } from './arbitraries.js';

let server: RunningServer;

beforeAll(async () => {
  server = await startServer({ POLYEVAL_LANGUAGES: LANGUAGES.join(','), POLYEVAL_POOL_SIZE: '2' });
});
afterAll(async () => {
  await server?.close();
});

/** Code that ends at once in each language (valid or not): the fuzz is about the API, not the guests. */
const SNIPPETS = [
  'function main() { return 1 }',
  'function main(a, b) { return [a, b] }',
  'function main() { throw new Error("x") }',
  'function main( {',
  'function main() return 1 end',
  'def main():\n    return 1\n',
  'def main(:\n',
  '(module (func (export "main") (result i32) (i32.const 1)))',
  '(module',
  'AGFzbQEAAAA=',
  '',
];

const language = fc.oneof(
  fc.constantFrom(
    'javascript',
    'js',
    'lua',
    'wasm',
    'wat',
    'python',
    'py',
    'JavaScript',
    'nope',
    '',
    '__proto__',
  ),
  fc.string({ maxLength: 10 }),
);

const limits = fc.dictionary(
  fc.oneof(fc.constantFrom('timeoutMs', 'memoryMb', 'outputBytes'), fc.string({ maxLength: 4 })),
  fc.oneof(
    fc.integer({ min: -5, max: 3000 }),
    fc.constantFrom(0, 2 ** 53 - 1, 1e12, 0.5, -0),
    fc.string({ maxLength: 3 }),
    fc.constant(null),
  ),
  { maxKeys: 3 },
);

const evaluateRequest = fc.record(
  {
    language,
    code: fc.oneof(fc.constantFrom(...SNIPPETS), fc.string({ maxLength: 40 })),
    module: fc.oneof(fc.stringMatching(/^[0-9a-f]{64}$/), fc.string({ maxLength: 8 })),
    function: fc.oneof(
      fc.constantFrom('main', 'add', '', 'constructor', '__proto__'),
      fc.string({ maxLength: 8 }),
    ),
    args: fc.oneof(fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 4 }), fc.jsonValue({ maxDepth: 2 })),
    limits: fc.oneof(limits, fc.jsonValue({ maxDepth: 1 })),
    codec: fc.oneof(fc.constantFrom('json', 'zobject', 'nope'), fc.string({ maxLength: 5 })),
    extra: fc.jsonValue({ maxDepth: 1 }),
  },
  { requiredKeys: ['language'] },
);

const VALID: readonly [string, string][] = [
  ['javascript', 'function main(...a) { return a }'],
  ['javascript', 'async function main(a) { return { a } }'],
  ['lua', 'function main(...) return {...} end'],
  ['lua', 'function main(a) return a end'],
  ['wasm', '(module (func (export "main") (param i32) (result i32) (local.get 0)))'],
  ['wasm', '(module (func (export "main") (result i32) (i32.const 1)))'],
  ['python', 'def main(*a):\n    return list(a)\n'],
];

/** Requests that are mostly valid, so that many reach a sandbox. */
const plausibleRequest = fc
  .record(
    {
      pair: fc.constantFrom(...VALID),
      function: fc.constantFrom('main', 'main', 'main', 'add'),
      args: fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }),
      limits: fc.record(
        {
          timeoutMs: fc.integer({ min: 1, max: 3000 }),
          memoryMb: fc.integer({ min: 1, max: 2048 }),
          outputBytes: fc.integer({ min: 1, max: 10_000_000 }),
        },
        { requiredKeys: [] },
      ),
    },
    { requiredKeys: ['pair', 'function'] },
  )
  .map(({ pair, ...rest }) => ({ language: pair[0], code: pair[1], ...rest }));

const flatWikifunctions = fc.record(
  {
    codingLanguage: language,
    codeString: fc.oneof(
      fc.constantFrom(...SNIPPETS, 'function f(a) { return a }'),
      fc.string({ maxLength: 20 }),
    ),
    functionName: fc.oneof(fc.constantFrom('f', 'main', 'Z1000'), fc.string({ maxLength: 6 })),
    functionArguments: fc.dictionary(fc.constantFrom('K1', 'K2', 'f', 'Z1000K1'), zobject, { maxKeys: 3 }),
    remainingTime: fc.oneof(fc.double({ min: -1, max: 2 }), fc.constantFrom(1e308, 0)),
  },
  { requiredKeys: [] },
);

const text = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value) ?? 'null');

const mutated = (bodies: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> =>
  fc.tuple(bodies, edits, fc.option(fc.nat(), { nil: null })).map(([b, e, c]) => mutate(b, e, c));

const chaosBody = fc.oneof(
  zobject.map(text),
  fc.jsonValue().map(text),
  fc.uint8Array({ maxLength: 200 }),
  avroBody,
);

const API = ['/v1/evaluate', '/v1/modules', '/1/v1/evaluate/', '/wikifunctions.org/v1/evaluate'];
const OTHER = [
  '/v1/languages',
  '/livez',
  '/readyz',
  '/metrics',
  '/openapi.json',
  '/_info',
  '/docs',
  '/playground',
  '/',
];

const assetPath = fc
  .tuple(
    fc.constantFrom(
      '/docs/assets/',
      '/playground/assets/',
      '/playground/examples/',
      '/v1/',
      '/x/v1/evaluate/',
    ),
    fc.oneof(
      fc.constantFrom(
        'constructor',
        '__proto__',
        'toString',
        '..%2F..%2Fpackage.json',
        'swagger-ui.css',
        '%00',
      ),
      fc.string({ maxLength: 8 }).map(encodeURIComponent),
    ),
  )
  .map(([a, b]) => a + b);

const contentType = fc.option(
  fc.oneof(
    fc.constantFrom(
      'application/json',
      'application/json; charset=utf-8',
      'application/octet-stream',
      'avro/binary',
      'text/plain',
      'application/problem+json',
      'application/x-www-form-urlencoded',
    ),
    fc.string({ maxLength: 12 }).filter((s) => /^[\x21-\x7e ]*$/.test(s)),
  ),
  { nil: undefined },
);

const requestId = fc.option(
  fc.string({ maxLength: 20 }).filter((s) => /^[\x21-\x7e]*$/.test(s)),
  { nil: undefined },
);

interface FuzzRequest {
  readonly method: string;
  readonly path: string;
  readonly contentType: string | undefined;
  readonly body: Uint8Array;
  readonly requestId: string | undefined;
}

const json = 'application/json';
const make = (
  method: fc.Arbitrary<string>,
  path: fc.Arbitrary<string>,
  body: fc.Arbitrary<Uint8Array>,
  type: fc.Arbitrary<string | undefined>,
): fc.Arbitrary<FuzzRequest> => fc.record({ method, path, contentType: type, body, requestId });

/** Five kinds of traffic: native calls, Wikifunctions calls (JSON and Avro), deployments, other routes, chaos. */
const request = fc.oneof(
  {
    weight: 4,
    arbitrary: make(
      fc.constant('POST'),
      fc.constant('/v1/evaluate'),
      fc.oneof(plausibleRequest.map(text), evaluateRequest.map(text), mutated(plausibleRequest.map(text))),
      fc.oneof({ weight: 5, arbitrary: fc.constant(json) }, contentType),
    ),
  },
  {
    weight: 3,
    arbitrary: make(
      fc.constant('POST'),
      fc.constantFrom('/1/v1/evaluate/', '/wikifunctions.org/v1/evaluate'),
      fc.oneof(
        flatWikifunctions.map(text),
        zobject.map(text),
        mutated(flatWikifunctions.map(text)),
        avroBody,
      ),
      fc.oneof(fc.constantFrom(json, 'application/octet-stream'), contentType),
    ),
  },
  {
    weight: 1,
    arbitrary: make(
      fc.constant('POST'),
      fc.constant('/v1/modules'),
      fc.oneof(
        plausibleRequest.map(({ language, code }) => text({ language, code })),
        evaluateRequest.map(text),
      ),
      fc.oneof({ weight: 3, arbitrary: fc.constant(json) }, contentType),
    ),
  },
  {
    weight: 2,
    arbitrary: make(
      fc.oneof({ weight: 4, arbitrary: fc.constant('GET') }, fc.constantFrom('HEAD', 'OPTIONS', 'DELETE')),
      fc.oneof(fc.constantFrom(...OTHER), assetPath),
      chaosBody,
      contentType,
    ),
  },
  {
    weight: 2,
    arbitrary: make(
      fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'),
      fc.oneof(fc.constantFrom(...API, ...OTHER), assetPath),
      chaosBody,
      contentType,
    ),
  },
);

it('answers every random or malformed request without a 5xx other than 503, and keeps serving', {
  timeout: 180_000,
}, async () => {
  await fc.assert(
    fc.asyncProperty(request, async (r) => {
      const withBody = r.method !== 'GET' && r.method !== 'HEAD';
      const answer = await httpCall(server.url, r.method, r.path, {
        timeoutMs: 20_000,
        headers: {
          ...(r.contentType === undefined ? {} : { 'content-type': r.contentType }),
          ...(r.requestId === undefined ? {} : { 'x-request-id': r.requestId }),
        },
        ...(withBody ? { body: r.body } : {}),
      });
      expect(
        answer.status,
        `${r.method} ${r.path} → ${answer.status} ${answer.text.slice(0, 300)}`,
      ).toBeGreaterThan(0);
      if (answer.status >= 500) {
        expect(answer.status, `${r.method} ${r.path} → ${answer.text.slice(0, 300)}`).toBe(503);
      }
    }),
    fuzzOptions(300),
  );
  expect(server.process.exitCode).toBeNull();
  for (const language of LANGUAGES) {
    const { code, fn } = HONEST_CALLS[language];
    const answer = await httpCall(server.url, 'POST', '/v1/evaluate', {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ language, code, function: fn, args: [2, 3] }),
    });
    expect(answer.body, language).toMatchObject({ ok: true, value: 5 });
  }
});

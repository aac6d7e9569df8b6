// The OpenAPI document (GET /openapi.json) against the app: every route registered is documented
// and every documented operation is registered; every schema reference resolves; the closed
// catalogues of error codes and the limits are in it.

import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { GUEST_ERROR_CODES, PROBLEMS } from '../../src/errors.js';
import { createLogger } from '../../src/logger.js';
import { createMetrics } from '../../src/metrics.js';
import type { LanguageInfo, Orchestrator } from '../../src/orchestrator/orchestrator.js';

const language: LanguageInfo = {
  id: 'demo',
  displayName: 'Demo',
  aliases: ['dm'],
  engine: { name: 'Demo engine', version: '1.0' },
  limits: {
    defaults: { timeoutMs: 1000, memoryMb: 32, outputBytes: 1024 },
    ceilings: { timeoutMs: 9000, memoryMb: 64, outputBytes: 4096 },
    floors: { timeoutMs: 1, memoryMb: 16, outputBytes: 1 },
  },
  pool: { capacity: 2, queueMax: 8, inFlight: 0, queued: 0 },
  codecs: ['json'],
  deploy: false,
  ready: true,
  details: {},
};

/** Just what the app needs of an orchestrator, without engines. */
const stubOrchestrator = {
  onCall: () => () => {},
  info: () => [language],
  readiness: () => ({ ready: true, languages: { demo: { ready: true, details: {} } } }),
  manifests: () => [],
  resolve: () => undefined,
} as unknown as Orchestrator;

function makeApp(env: Record<string, string> = {}) {
  const config = loadConfig(env);
  const log = createLogger('silent');
  const metrics = createMetrics(stubOrchestrator);
  return createApp({ config, orchestrator: stubOrchestrator, log, metrics, version: '9.9.9' });
}

async function documentOf(app: ReturnType<typeof makeApp>): Promise<any> {
  const response = await app.request('/openapi.json');
  expect(response.status).toBe(200);
  return response.json();
}

function registered(app: ReturnType<typeof makeApp>): string[] {
  const routes = app.routes
    .filter((r) => r.method !== 'ALL')
    .map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`);
  return [...new Set(routes)].sort();
}

function documented(doc: any): string[] {
  return Object.entries(doc.paths as Record<string, Record<string, unknown>>)
    .flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`))
    .sort();
}

describe('GET /openapi.json', () => {
  it('documents exactly the routes the app registers', async () => {
    const app = makeApp();
    expect(documented(await documentOf(app))).toEqual(registered(app));
  });

  it('still does with the playground, docs UI and metrics switched off', async () => {
    const config = loadConfig({ POLYEVAL_PLAYGROUND: 'off' });
    const app = createApp({ config, orchestrator: stubOrchestrator, log: createLogger('silent') });
    const doc = await documentOf(app);
    expect(documented(doc)).toEqual(registered(app));
    expect(doc.paths['/metrics']).toBeUndefined();
    expect(doc.paths['/docs']).toBeUndefined();
  });

  it('is OpenAPI 3.1 whose every $ref resolves', async () => {
    const doc = await documentOf(makeApp());
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.version).toBe('9.9.9');
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
    expect(refs.length).toBeGreaterThan(5);
    for (const ref of refs) {
      const pointer = ref.slice(8, -1).replace(/^#\//, '').split('/');
      let node: any = doc;
      for (const part of pointer) node = node?.[part];
      expect(node, ref).toBeDefined();
    }
  });

  it('carries the request and answer schemas generated from zod', async () => {
    const doc = await documentOf(makeApp());
    const request = doc.components.schemas.EvaluateRequest;
    expect(request.required).toEqual(['language']);
    expect(request.additionalProperties).toBe(false);
    expect(request.properties.function.default).toBe('main');
    expect(doc.paths['/v1/evaluate'].post.requestBody.content['application/json'].schema.$ref).toBe(
      '#/components/schemas/EvaluateRequest',
    );
    expect(doc.components.schemas.EvaluateResult.oneOf).toHaveLength(2);
  });

  it('lists every guest error code and every problem type', async () => {
    const doc = await documentOf(makeApp());
    expect(doc.components.schemas.GuestError.properties.code.enum).toEqual(GUEST_ERROR_CODES);
    const described = doc.components.schemas.Problem.properties.type.description as string;
    for (const type of Object.keys(PROBLEMS)) expect(described).toContain(`\`${type}\``);
    const evaluate = doc.paths['/v1/evaluate'].post.responses;
    expect(evaluate['503']['x-problem-types']).toEqual([
      'overloaded',
      'language-unavailable',
      'shutting-down',
    ]);
    expect(evaluate['503'].headers['Retry-After']).toBeDefined();
    expect(evaluate['413']['x-problem-types']).toEqual(['body-too-large']);
  });

  it('states the limits: body size, server limits, and each language default and ceiling', async () => {
    const doc = await documentOf(makeApp({ POLYEVAL_BODY_LIMIT_BYTES: '12345' }));
    expect(doc.paths['/v1/evaluate'].post.requestBody.description).toContain('12345 bytes');
    expect(doc['x-polyeval-limits'].bodyLimitBytes).toBe(12345);
    expect(doc['x-polyeval-limits'].languages.demo.ceilings.timeoutMs).toBe(9000);
    expect(doc.info.description).toContain('| `demo` | `dm` | 1000 / 9000 | 32 / 64 | 1024 / 4096 | 2 / 8 |');
  });

  it('serves the docs UI and its assets from this origin', async () => {
    const app = makeApp();
    const page = await app.request('/docs');
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    for (const src of html.matchAll(/(?:src|href)="([^"]+)"/g)) {
      expect(src[1]!.startsWith('/'), src[1]).toBe(true);
      expect((await app.request(src[1]!)).status, src[1]).toBe(200);
    }
    expect((await app.request('/docs/assets/../../package.json')).status).toBe(404);
  });
});

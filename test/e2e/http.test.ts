// The HTTP surface of the real server: bad requests get typed problem+json answers, overload gets
// 503 with Retry-After (never a crash), and discovery/health endpoints say what is running.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson, type RunningServer, startServer } from '../helpers/server.js';

let server: RunningServer;

beforeAll(async () => {
  server = await startServer({
    POLYEVAL_LANGUAGES: 'javascript',
    POLYEVAL_POOL_SIZE: '1',
    POLYEVAL_QUEUE_MAX: '2',
    POLYEVAL_BODY_LIMIT_BYTES: '65536',
  });
});
afterAll(async () => {
  await server?.close();
});

const evaluateUrl = () => `${server.url}/v1/evaluate`;

function expectProblem(
  result: { status: number; headers: Headers; body: any },
  status: number,
  type: string,
): void {
  expect(result.status).toBe(status);
  expect(result.headers.get('content-type')).toContain('application/problem+json');
  expect(result.body.type).toContain(type);
  expect(typeof result.body.detail).toBe('string');
}

describe('bad requests', () => {
  it('names the invalid field', async () => {
    const r = await postJson(evaluateUrl(), { language: 'javascript', code: 'x', args: 'not-an-array' });
    expectProblem(r, 400, 'invalid-request');
    expect(r.body.detail).toContain('args');
  });

  it('refuses unknown fields and a request with neither code nor module', async () => {
    expectProblem(
      await postJson(evaluateUrl(), { language: 'javascript', code: 'x', extra: 1 }),
      400,
      'invalid-request',
    );
    expectProblem(await postJson(evaluateUrl(), { language: 'javascript' }), 400, 'invalid-request');
  });

  it('refuses malformed JSON', async () => {
    expectProblem(await postJson(evaluateUrl(), '{"language": "javascript",'), 400, 'invalid-request');
  });

  it('refuses an unknown language, listing the enabled ones', async () => {
    const r = await postJson(evaluateUrl(), { language: 'cobol', code: 'x' });
    expectProblem(r, 400, 'unknown-language');
    expect(r.body.detail).toContain('javascript');
  });

  it('refuses a body over the limit, with or without Content-Length', async () => {
    const big = JSON.stringify({ language: 'javascript', code: `// ${'x'.repeat(70_000)}` });
    const declared = await postJson(evaluateUrl(), big);
    expectProblem(declared, 413, 'body-too-large');
    // Refused from the Content-Length before the app sees it: still the same problem fields.
    expect(declared.body.instance).toBe('/v1/evaluate');
    expect(declared.body.limitBytes).toBe(65536);
    const chunked = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(big));
        controller.close();
      },
    });
    const response = await fetch(evaluateUrl(), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: chunked,
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(413);
    const body = (await response.json()) as { instance?: string };
    expect(body.instance).toBe('/v1/evaluate');
  });

  it('gives one entry per invalid field, each with a JSON Pointer', async () => {
    const r = await postJson(evaluateUrl(), {
      language: 'javascript',
      code: 'x',
      args: 'not-an-array',
      limits: { timeoutMs: -1, memoryMb: 'lots' },
    });
    expectProblem(r, 400, 'invalid-request');
    const pointers = (r.body.errors as { pointer: string; message: string }[]).map((e) => e.pointer).sort();
    expect(pointers).toEqual(['/args', '/limits/memoryMb', '/limits/timeoutMs']);
    for (const error of r.body.errors) expect(error.message.length).toBeGreaterThan(0);
  });

  it('answers a known path asked with the wrong method 405 with Allow', async () => {
    for (const [method, path, allow] of [
      ['GET', '/v1/evaluate', 'POST'],
      ['PUT', '/v1/modules', 'POST'],
      ['DELETE', '/v1/languages', 'GET, HEAD'],
      ['POST', '/readyz', 'GET, HEAD'],
    ] as const) {
      const response = await fetch(`${server.url}${path}`, { method });
      expect(response.status, `${method} ${path}`).toBe(405);
      expect(response.headers.get('allow')).toBe(allow);
      expect(response.headers.get('content-type')).toContain('problem+json');
      const body = (await response.json()) as { type: string; instance: string };
      expect(body.type).toContain('method-not-allowed');
      expect(body.instance).toBe(path);
    }
  });

  it('refuses args nested too deeply (a JSON bomb)', async () => {
    const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
    const r = await postJson(evaluateUrl(), `{"language":"javascript","code":"x","args":${deep}}`);
    expectProblem(r, 400, 'invalid-request');
  });

  it('refuses a non-JSON content type', async () => {
    const r = await postJson(evaluateUrl(), '{}', { headers: { 'content-type': 'text/plain' } });
    expectProblem(r, 415, 'unsupported-media-type');
  });

  it('answers unknown routes with a problem', async () => {
    const response = await fetch(`${server.url}/v2/nothing`);
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toContain('problem+json');
  });
});

describe('discovery and health', () => {
  it('lists languages with engine, version and effective limits', async () => {
    const body = (await fetch(`${server.url}/v1/languages`).then((r) => r.json())) as any;
    const js = body.languages.find((l: { id: string }) => l.id === 'javascript');
    expect(js.aliases).toContain('js');
    expect(js.engine.name).toBe('QuickJS');
    expect(js.engine.version).toMatch(/QuickJS/);
    expect(js.engine.packageVersion).toMatch(/^\d+\.\d+\.\d+/);
    expect(js.limits.defaults.timeoutMs).toBeLessThanOrEqual(js.limits.ceilings.timeoutMs);
    expect(js.ready).toBe(true);
  });

  it('is live and ready', async () => {
    expect((await fetch(`${server.url}/livez`)).status).toBe(200);
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(((await ready.json()) as any).languages.javascript.ready).toBe(true);
  });
});

describe('overload', () => {
  it('answers a flood beyond the queue with 503 and Retry-After, then keeps serving', async () => {
    // One slot and a queue of two: of twelve spinning calls, at most three are admitted. Each spins
    // for 2 s, so all twelve arrive while the first three still hold the slot and the queue, even on
    // a loaded machine.
    const flood = Array.from({ length: 12 }, () =>
      postJson(evaluateUrl(), {
        language: 'javascript',
        code: 'function main() { for (;;) {} }',
        limits: { timeoutMs: 2000 },
      }),
    );
    const results = await Promise.all(flood);
    const refused = results.filter((r) => r.status === 503);
    const served = results.filter((r) => r.status === 200);
    expect(refused.length).toBeGreaterThanOrEqual(9);
    expect(served.length + refused.length).toBe(12);
    for (const r of refused) {
      expect(r.headers.get('retry-after')).toBe('1');
      expect(r.body.type).toContain('overloaded');
    }
    for (const r of served) expect(r.body.error.code).toBe('TIMEOUT');
    const after = await postJson(evaluateUrl(), {
      language: 'javascript',
      code: 'function main() { return 7 }',
    });
    expect(after.body).toMatchObject({ ok: true, value: 7 });
  });
});

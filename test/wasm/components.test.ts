// WebAssembly components through the real server (node dist/src/main.js): deploy once with
// POST /v1/modules or send inline, typed exports, the string `run` convention, the limits and the
// refusals. Small components are fixtures of the project (test/fixtures/components/PROVENANCE.md);
// the ~12 MB StarlingMonkey ones are read from ../shared/components when that folder exists.

import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson, type RunningServer, startServer } from '../helpers/server.js';

const FIXTURES = new URL('../fixtures/components/', import.meta.url);
const SHARED = new URL('../../../shared/components/', import.meta.url);
const fixture = (name: string): string => readFileSync(new URL(name, FIXTURES)).toString('base64');

let server: RunningServer;

beforeAll(async () => {
  server = await startServer({
    POLYEVAL_LANGUAGES: 'wasm',
    POLYEVAL_POOL_SIZE: '2',
    POLYEVAL_BODY_LIMIT_BYTES: String(24 * 2 ** 20),
  });
}, 60_000);

afterAll(async () => {
  await server?.close();
});

function post(path: string, body: Record<string, unknown>): Promise<{ status: number; body: any }> {
  return postJson(`${server.url}${path}`, body, {}, { exact: true });
}

describe('components over HTTP', () => {
  it('deploys add.wasm once and calls its s64 export exactly, beyond 2^53 too', async () => {
    const deployed = await post('/v1/modules', { language: 'wasm', code: fixture('add.wasm') });
    expect(deployed.status).toBe(201);
    expect(deployed.body.id).toBe('186a269d9b8d26aa0f789ab348eeab65039a6a4b951ed5bba88a6dfae3b0f0f6');
    expect(deployed.body.details.functions).toEqual({ add: '(a: s64, b: s64) -> s64' });
    const call = (args: unknown[]) =>
      post('/v1/evaluate', { language: 'wasm', module: deployed.body.id, function: 'add', args });
    expect((await call([40, 2])).body).toMatchObject({ ok: true, value: 42 });
    expect((await call([-5, 3])).body).toMatchObject({ ok: true, value: -2 });
    expect((await call([9007199254740993n, 1])).body.value).toBe(9007199254740994n);
  }, 60_000);

  it('refuses s64 arguments out of range instead of wrapping them', async () => {
    const r = await post('/v1/evaluate', {
      language: 'wasm',
      code: fixture('add.wasm'),
      function: 'add',
      args: [2 ** 63, 0],
    });
    expect(r.body.ok).toBe(false);
    expect(r.body.error.code).toBe('INVALID_ARGUMENT');
    expect(r.body.error.message).toMatch(/s64/);
  }, 60_000);

  it('calls the string run export of a componentize-qjs component', async () => {
    const r = await post('/v1/evaluate', {
      language: 'wasm',
      code: fixture('hello-qjs.wasm'),
      function: 'run',
      args: ['héllo wörld 🌍'],
    });
    expect(r.body).toMatchObject({ ok: true, value: '🌍 DLRÖW OLLÉH' });
  }, 60_000);
});

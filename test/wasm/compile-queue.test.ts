// The raw-module compile queue is bounded (POLYEVAL_WASM_COMPILE_QUEUE), as the components'
// transpile queue is: a flood of distinct deployments, each slow to compile, gets 503 overloaded
// with Retry-After beyond the queue at once, instead of holding memory without bound and making
// every later compile wait behind it; those admitted compile, and the language keeps serving.
// Real server, real compile worker, real binaryen.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson, type RunningServer, startServer } from '../helpers/server.js';
import { watBase64 } from './helpers.js';
import { slowToOptimize } from './modules.js';

let server: RunningServer;

beforeAll(async () => {
  server = await startServer({
    POLYEVAL_LANGUAGES: 'wasm',
    POLYEVAL_WASM_COMPILE_QUEUE: '2',
    POLYEVAL_WASM_OPTIMIZE: 'O2',
    POLYEVAL_WASM_COMPILE_TIMEOUT_MS: '20000',
    POLYEVAL_WASM_COMPILE_IDLE_MS: '1000',
  });
});
afterAll(() => server?.close());

describe('the raw-module compile queue', () => {
  it('admits the running job and COMPILE_QUEUE more; the rest get 503 overloaded at once; the language keeps serving', async () => {
    const started = performance.now();
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        postJson(`${server.url}/v1/modules`, { language: 'wasm', code: slowToOptimize(1500, i) }).then(
          (r) => ({
            ...r,
            ms: performance.now() - started,
          }),
        ),
      ),
    );
    const refused = answers.filter((a) => a.status === 503);
    const deployed = answers.filter((a) => a.status === 201);
    expect(deployed.length + refused.length, JSON.stringify(answers.map((a) => a.status))).toBe(8);
    // One running and two waiting: at least 3 admitted; the rest refused (the first of the flood may
    // already have finished when the last arrives, so a few more may be admitted on a fast machine).
    expect(deployed.length).toBeGreaterThanOrEqual(3);
    expect(refused.length).toBeGreaterThanOrEqual(1);
    for (const r of refused) {
      expect(JSON.stringify(r.body)).toMatch(
        /compilations? (is|are) already waiting \(the most allowed is 2\)/,
      );
      expect(r.headers.get('retry-after')).toBe('2');
    }
    // Refused at once, not after waiting behind the admitted ones.
    const slowestDeploy = Math.max(...deployed.map((a) => a.ms));
    for (const r of refused) expect(r.ms).toBeLessThan(slowestDeploy);
    const binary = await watBase64(
      '(module (func (export "main") (param i32) (result i32) local.get 0 i32.const 1 i32.add))',
    );
    const next = await postJson(`${server.url}/v1/evaluate`, { language: 'wasm', code: binary, args: [41] });
    expect(next.body).toMatchObject({ ok: true, value: 42 });
    const info = (await fetch(`${server.url}/v1/languages`).then((r) => r.json())) as {
      languages: Array<{ id: string; details: { compiler: { refused: number } } }>;
    };
    expect(info.languages.find((l) => l.id === 'wasm')!.details.compiler.refused).toBe(refused.length);
  });

  it('stops the idle compile worker after COMPILE_IDLE_MS, and starts one again for the next compile', async () => {
    const compiler = async () =>
      (
        (await fetch(`${server.url}/v1/languages`).then((r) => r.json())) as {
          languages: Array<{ id: string; details: { compiler: { idleStops: number; compiled: number } } }>;
        }
      ).languages.find((l) => l.id === 'wasm')!.details.compiler;
    const before = await compiler();
    await expect
      .poll(async () => (await compiler()).idleStops, { timeout: 15_000 })
      .toBeGreaterThan(before.idleStops);
    // A text module not compiled before: a new worker, wabt loaded again.
    const next = await postJson(`${server.url}/v1/evaluate`, {
      language: 'wasm',
      code: '(module (func (export "main") (param i32) (result i32) local.get 0 i32.const 2 i32.mul))',
      args: [21],
    });
    expect(next.body).toMatchObject({ ok: true, value: 42 });
    expect((await compiler()).compiled).toBeGreaterThan(before.compiled);
  });
});

// The worker pool keeps WARM threads alive while idle (default 1) and starts a parked slot for a
// call that finds no idle thread (SPAWN_AFTER_MS, default 0); a thread beyond WARM idle for
// IDLE_RETIRE_MS is stopped again. Shown on JavaScript (the pool is the same for Lua and WebAssembly): at idle one
// thread; a quick call sent while a slow one runs is not held behind it; the extra thread is
// retired. Real server, real QuickJS threads.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson, type RunningServer, startServer } from '../helpers/server.js';

let server: RunningServer;

beforeAll(async () => {
  server = await startServer({
    POLYEVAL_LANGUAGES: 'javascript',
    POLYEVAL_POOL_SIZE: '2',
    POLYEVAL_JAVASCRIPT_IDLE_RETIRE_MS: '1000',
  });
});
afterAll(() => server?.close());

async function pool(): Promise<{ workers: number; parked: number; retired: number; spawned: number }> {
  const body = (await fetch(`${server.url}/v1/languages`).then((r) => r.json())) as {
    languages: {
      id: string;
      details: { workers: number; parked: number; retired: number; spawned: number };
    }[];
  };
  const d = body.languages.find((l) => l.id === 'javascript')!.details;
  return { workers: d.workers, parked: d.parked, retired: d.retired, spawned: d.spawned };
}

describe('a lazy worker pool', () => {
  it('one thread at idle; a quick call behind a slow one gets a thread of its own; the extra one retires', async () => {
    expect(await pool()).toMatchObject({ workers: 1, parked: 1 });
    let slowDone = false;
    const slow = postJson(`${server.url}/v1/evaluate`, {
      language: 'javascript',
      code: 'function f() { const end = Date.now() + 1500; while (Date.now() < end) {} return "slow"; }',
      function: 'f',
      limits: { timeoutMs: 5000 },
    }).then((r) => {
      slowDone = true;
      return r;
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const quick = await postJson(`${server.url}/v1/evaluate`, {
      language: 'javascript',
      code: 'function f() { return "quick"; }',
      function: 'f',
    });
    expect(quick.body).toMatchObject({ ok: true, value: 'quick' });
    expect(slowDone).toBe(false);
    expect((await pool()).workers).toBe(2);
    expect((await slow).body).toMatchObject({ ok: true, value: 'slow' });
    await expect.poll(async () => (await pool()).retired, { timeout: 15_000 }).toBeGreaterThanOrEqual(1);
    expect(await pool()).toMatchObject({ workers: 1, parked: 1 });
    // And a call after the retirement is served as before.
    const again = await postJson(`${server.url}/v1/evaluate`, {
      language: 'javascript',
      code: 'function f(a, b) { return a + b; }',
      function: 'f',
      args: [40, 2],
    });
    expect(again.body).toMatchObject({ ok: true, value: 42 });
  });
});

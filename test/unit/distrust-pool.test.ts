// The worker pool (JavaScript, WebAssembly, Lua) distrusts its workers: a worker whose guest reached
// its JavaScript and forges protocol messages (a second ready, a done with a wrong or missing id,
// a duplicate done, output after done, restored before done, an unknown kind, a malformed or
// oversized message) is killed at once, only the call it was serving fails (SANDBOX_CRASH naming a
// protocol violation), the event is logged and counted in /metrics, and the next honest call runs
// in a never-used sandbox. Real pool, real worker threads: the worker is a test-only hostile runner
// (test/fixtures/hostile/pool-worker.ts) built on the real serveWorker().
// Regression of issue 13: a forged "ready" put the busy slot back on the idle list and the next
// tenant's call ran in the attacker's worker.

import { Worker } from 'node:worker_threads';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Call, ExecutionResult } from '../../src/executor/contract.js';
import { WorkerPool } from '../../src/executor/host/worker-pool.js';
import { createMetrics } from '../../src/metrics.js';
import type { LanguageInfo } from '../../src/orchestrator/orchestrator.js';
import { compileFixture } from '../helpers/fixtures.js';

const runner = compileFixture('hostile/pool-worker');

function call(code: string, args: number[] = [1, 2]): Call {
  return { code, function: 'main', args, limits: { timeoutMs: 5000, memoryMb: 64, outputBytes: 1000 } };
}

type Logged = { level: string; message: string; fields?: Record<string, unknown> };

function events(pool: WorkerPool): Record<string, number> {
  return (pool.readiness().details.securityEvents ?? {}) as Record<string, number>;
}

function expectViolation(result: ExecutionResult): void {
  expect(result.ok).toBe(false);
  if (result.ok) return;
  expect(result.error.code).toBe('SANDBOX_CRASH');
  expect(result.error.message).toMatch(/^Cannot run "main": the sandbox was killed for a protocol violation/);
}

describe('the worker pool distrusts its workers', () => {
  let pool: WorkerPool;
  let logs: Logged[];

  beforeEach(async () => {
    logs = [];
    pool = new WorkerPool({
      name: 'hostile',
      runner,
      size: 1,
      log: (level, message, fields) =>
        logs.push({ level, message, ...(fields === undefined ? {} : { fields }) }),
    });
    await pool.start();
  });

  afterEach(async () => {
    await pool.close();
  });

  const midCall: [mode: string, kind: string][] = [
    ['second-ready', 'unexpected-ready'],
    ['done-wrong-id', 'wrong-id'],
    ['done-missing-id', 'wrong-id'],
    ['restored-early', 'unexpected-message'],
    ['unknown-kind', 'unknown-kind'],
    ['malformed', 'malformed'],
    ['oversized', 'oversized'],
  ];
  for (const [mode, kind] of midCall) {
    it(`kills a worker that forges ${mode} mid-call; the waiting honest call runs in a never-used sandbox`, async () => {
      const spawned = pool.readiness().counters?.spawned ?? 0;
      // One slot: the honest call waits for it while the hostile call holds it.
      const hostile = pool.run(call(mode));
      const honest = pool.run(call('honest', [20, 22]));
      expect(await honest).toMatchObject({ ok: true, value: { sum: 42, served: 1, infected: false } });
      expectViolation(await hostile);
      expect(events(pool)[kind]).toBe(1);
      expect(pool.readiness().counters?.spawned).toBe(spawned + 1);
      expect(logs).toContainEqual(
        expect.objectContaining({ level: 'error', fields: expect.objectContaining({ securityEvent: kind }) }),
      );
    });
  }

  for (const [mode, kind] of [
    ['duplicate-done', 'unexpected-done'],
    ['output-after-done', 'unexpected-output'],
  ] as const) {
    it(`kills a worker that forges ${mode}; the next call runs in a never-used sandbox`, async () => {
      const hostile = await pool.run(call(mode));
      // Its own answer came first (the attacker chose it anyway); the forgery after it kills the worker.
      expect(hostile).toMatchObject({ ok: true, value: 'hostile' });
      const honest = await pool.run(call('honest', [40, 2]));
      expect(honest).toMatchObject({ ok: true, value: { sum: 42, served: 1, infected: false } });
      expect(events(pool)[kind]).toBe(1);
    });
  }

  it('counts security events in /metrics by language and kind', async () => {
    await Promise.all([pool.run(call('second-ready')), pool.run(call('honest'))]);
    const info: LanguageInfo = {
      id: 'hostile',
      displayName: 'Hostile',
      aliases: [],
      engine: { name: 'Hostile', version: '1' },
      limits: {
        defaults: { timeoutMs: 1, memoryMb: 1, outputBytes: 1 },
        ceilings: { timeoutMs: 1, memoryMb: 1, outputBytes: 1 },
        floors: { timeoutMs: 1, memoryMb: 1, outputBytes: 1 },
      },
      pool: { capacity: 1, queueMax: 1, inFlight: 0, queued: 0 },
      codecs: ['json'],
      deploy: false,
      ready: true,
      details: pool.readiness().details,
    };
    const { body } = await createMetrics({ info: () => [info] }).render();
    expect(body).toMatch(/^polyeval_security_events_total\{language="hostile",kind="unexpected-ready"\} 1$/m);
  });

  it("lets an honest long error message through: it is the guest's, not a protocol violation", async () => {
    const result = await pool.run(call('long-error'));
    expect(result).toMatchObject({ ok: false, error: { code: 'RUNTIME_ERROR' } });
    expect(events(pool)).toEqual({});
  });

  it('keeps honest calls on one worker fast: no event, the slot is reused after it is restored', async () => {
    for (let i = 0; i < 5; i++) {
      const result = await pool.run(call('honest', [i, 1]));
      expect(result).toMatchObject({ ok: true, value: { sum: i + 1, served: i + 1, infected: false } });
    }
    expect(events(pool)).toEqual({});
  });
});

describe('a pool worker refuses a call it should not get', () => {
  it('ends itself when a second call arrives while the first is running', async () => {
    const worker = new Worker(runner, { stdout: true, stderr: true });
    const messages: { kind: string; id?: number }[] = [];
    worker.on('message', (m: { kind: string }) => messages.push(m));
    await new Promise<void>((resolve) => worker.once('message', () => resolve()));
    worker.postMessage({ kind: 'call', id: 1, call: call('second-ready') });
    worker.postMessage({ kind: 'call', id: 2, call: call('honest') });
    const code = await new Promise<number>((resolve) => worker.once('exit', resolve));
    expect(code).toBe(70);
    expect(messages.filter((m) => m.kind === 'done')).toEqual([]);
  });
});

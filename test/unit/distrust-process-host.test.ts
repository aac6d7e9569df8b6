// The service's process host distrusts its sandbox host processes, and a sandbox host distrusts its
// interpreter workers. A host process (test/fixtures/hostile/fake-host.ts, speaking the IPC protocol
// itself) or an interpreter worker (test/fixtures/hostile/sandbox-worker.ts, the real
// serveSingleUseWorker() under the real serveSandboxHost()) that forges a message its state does
// not expect is killed at once: only the call it named fails (SANDBOX_CRASH, protocol violation),
// an honest concurrent call gets its correct value from a never-used sandbox, and the event is
// logged and counted (readiness details.securityEvents, read by /metrics).
// Regression of issue 13: a forged "ready" from a busy interpreter put it back on the idle list, and
// the next tenant's call ran in the attacker's interpreter.

import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Call, ExecutionResult, Executor } from '../../src/executor/contract.js';
import { compileFixture, hostileExecutor as executor, type Logged } from '../helpers/fixtures.js';

compileFixture('hostile/probe-realm');
const sandboxWorker = compileFixture('hostile/sandbox-worker');
const sandboxHost = compileFixture('hostile/sandbox-host');
const fakeHost = compileFixture('hostile/fake-host');

function call(code: string, args: number[] = [1, 2]): Call {
  return { code, function: 'main', args, limits: { timeoutMs: 5000, memoryMb: 64, outputBytes: 1000 } };
}

function events(executor: Executor): Record<string, number> {
  return (executor.readiness().details.securityEvents ?? {}) as Record<string, number>;
}

function expectViolation(result: ExecutionResult): void {
  expect(result.ok).toBe(false);
  if (result.ok) return;
  expect(result.error.code).toBe('SANDBOX_CRASH');
  expect(result.error.message).toMatch(/^Cannot run "main": the sandbox was killed for a protocol violation/);
}

function total(counts: Record<string, number>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

describe('a sandbox host distrusts its interpreter workers', () => {
  const logs: Logged[] = [];
  let host: Executor;

  beforeAll(async () => {
    host = executor(sandboxHost, logs);
    await host.start();
  });

  afterAll(async () => {
    await host.close();
  });

  const midCall: [mode: string, kind: string][] = [
    ['second-ready', 'unexpected-ready'],
    ['done-wrong-id', 'wrong-id'],
    ['unknown-kind', 'unknown-kind'],
    ['malformed', 'malformed'],
    ['oversized', 'oversized'],
  ];
  for (const [mode, kind] of midCall) {
    it(`kills an interpreter that forges ${mode} mid-call; honest calls run in never-used interpreters`, async () => {
      const before = events(host)[kind] ?? 0;
      const hostile = host.execute(call(mode));
      // Sent while the hostile call holds its interpreter: on a host that believed a forged ready,
      // these would run in the attacker's interpreter.
      await new Promise((resolve) => setTimeout(resolve, 100));
      const honest = [host.execute(call('honest', [20, 22])), host.execute(call('honest', [1, 1]))];
      const [a, b] = await Promise.all(honest);
      expect(a).toMatchObject({ ok: true, value: { sum: 42, served: 1, infected: false } });
      expect(b).toMatchObject({ ok: true, value: { sum: 2, served: 1, infected: false } });
      expectViolation(await hostile);
      expect(events(host)[kind]).toBe(before + 1);
      expect(logs).toContainEqual(
        expect.objectContaining({ level: 'error', fields: expect.objectContaining({ securityEvent: kind }) }),
      );
    });
  }

  for (const mode of ['duplicate-done', 'output-after-done']) {
    it(`answers the ${mode} forger and throws its interpreter away (single use: the forgery is never read)`, async () => {
      const before = { ...events(host) };
      expect(await host.execute(call(mode))).toMatchObject({ ok: true, value: 'hostile' });
      const honest = await host.execute(call('honest', [40, 2]));
      expect(honest).toMatchObject({ ok: true, value: { sum: 42, served: 1, infected: false } });
      expect(events(host)).toEqual(before);
    });
  }
});

describe('a sandbox host whose workers renew their interpreter distrusts them too', () => {
  const logs: Logged[] = [];
  let host: Executor;

  beforeAll(async () => {
    host = executor(sandboxHost, logs, { interpretersPerWorker: 4 });
    await host.start();
  });

  afterAll(async () => {
    await host.close();
  });

  for (const [mode, kind] of [
    ['duplicate-done', 'unexpected-done'],
    ['output-after-done', 'unexpected-output'],
  ] as const) {
    it(`kills a worker that forges ${mode} while renewing; the next call runs in a never-used worker`, async () => {
      const before = events(host)[kind] ?? 0;
      expect(await host.execute(call(mode))).toMatchObject({ ok: true, value: 'hostile' });
      await expect.poll(() => events(host)[kind]).toBe(before + 1);
      // A renewing worker legitimately serves several interpreters in turn (`served` counts the
      // worker's calls), so what matters is that the honest call never meets the forger's worker.
      const honest = await host.execute(call('honest', [40, 2]));
      expect(honest).toMatchObject({ ok: true, value: { sum: 42, infected: false } });
    });
  }
});

describe('a sandbox host whose workers reset in place distrusts them too', () => {
  const logs: Logged[] = [];
  let host: Executor;

  beforeAll(async () => {
    host = executor(sandboxHost, logs, {
      reset: {
        maxCalls: 100,
        verifyEvery: 1,
        maxMemoryBytes: 2 ** 30,
        timeoutMs: 5000,
        spawnAfterMs: 50,
        idleRetireMs: 30_000,
      },
    });
    await host.start();
  });

  afterAll(async () => {
    await host.close();
  });

  it('serves many calls on one worker, each after a reset', async () => {
    const first = await host.execute(call('honest', [1, 1]));
    expect(first).toMatchObject({ ok: true, value: { sum: 2, infected: false } });
    const second = await host.execute(call('honest', [1, 1]));
    expect(second).toMatchObject({ ok: true, value: { sum: 2, infected: false } });
    // Two workers at most (capacity 2): a third call meets one of them again.
    const third = await host.execute(call('honest', [1, 1]));
    expect((third as unknown as { value: { served: number } }).value.served).toBeGreaterThan(1);
  });

  it('kills a worker that forges "restored" mid-call', async () => {
    const before = events(host)['unexpected-message'] ?? 0;
    expectViolation(await host.execute(call('forge-restored')));
    expect(events(host)['unexpected-message']).toBe(before + 1);
  });

  it('discards a worker whose verification found a difference, and counts it', async () => {
    const before = events(host)['reset-mismatch'] ?? 0;
    expect(await host.execute(call('leave-trace'))).toMatchObject({ ok: true, value: 'trace' });
    await expect.poll(() => events(host)['reset-mismatch']).toBe(before + 1);
    // The host sends the event, then its log line: two messages, which may arrive in two reads.
    await expect
      .poll(() => logs)
      .toContainEqual(
        expect.objectContaining({
          level: 'error',
          fields: expect.objectContaining({ securityEvent: 'reset-mismatch', detail: 'a trace survived' }),
        }),
      );
  });
});

describe('an interpreter worker refuses a call it should not get', () => {
  it('ends itself when told to reset for another call than the one it served', async () => {
    const interrupt = new Int32Array(new SharedArrayBuffer(4));
    const worker = new Worker(sandboxWorker, {
      workerData: { data: {}, interrupt, callsPerInterpreter: 1 },
      stdout: true,
      stderr: true,
    });
    const messages: { kind: string }[] = [];
    worker.on('message', (m: { kind: string }) => messages.push(m));
    await new Promise<void>((resolve) => worker.once('message', () => resolve()));
    const wire = { code: 'honest', function: 'main', argsJson: '[1,2]', limits: call('honest').limits };
    worker.postMessage({ kind: 'call', id: 1, call: wire });
    await new Promise<void>((resolve) => worker.once('message', () => resolve()));
    worker.postMessage({ kind: 'reset', id: 1, verify: true });
    await new Promise<void>((resolve) => worker.once('message', () => resolve()));
    expect(messages.map((m) => m.kind)).toEqual(['ready', 'done', 'restored']);
    worker.postMessage({ kind: 'call', id: 2, call: wire });
    await new Promise<void>((resolve) => worker.once('message', () => resolve()));
    worker.postMessage({ kind: 'reset', id: 7, verify: false });
    const code = await new Promise<number>((resolve) => worker.once('exit', resolve));
    expect(code).toBe(70);
    expect(messages.map((m) => m.kind)).toEqual(['ready', 'done', 'restored', 'done']);
  });

  it('ends itself when a second call arrives for its single-use interpreter', async () => {
    const interrupt = new Int32Array(new SharedArrayBuffer(4));
    const worker = new Worker(sandboxWorker, {
      workerData: { data: {}, interrupt, callsPerInterpreter: 1 },
      stdout: true,
      stderr: true,
    });
    const messages: { kind: string }[] = [];
    worker.on('message', (m: { kind: string }) => messages.push(m));
    await new Promise<void>((resolve) => worker.once('message', () => resolve()));
    const wire = { code: 'honest', function: 'main', argsJson: '[1,2]', limits: call('honest').limits };
    worker.postMessage({ kind: 'call', id: 1, call: wire });
    await new Promise<void>((resolve) => worker.once('message', () => resolve()));
    expect(messages.map((m) => m.kind)).toEqual(['ready', 'done']);
    worker.postMessage({ kind: 'call', id: 2, call: wire });
    const code = await new Promise<number>((resolve) => worker.once('exit', resolve));
    expect(code).toBe(70);
    expect(messages.map((m) => m.kind)).toEqual(['ready', 'done']);
  });
});

describe('the service distrusts its sandbox host processes', () => {
  const logs: Logged[] = [];
  let host: Executor;

  beforeAll(async () => {
    host = executor(fakeHost, logs);
    await host.start();
  });

  afterAll(async () => {
    await host.close();
  });

  for (const mode of [
    'second-ready',
    'done-wrong-id',
    'duplicate-done',
    'output-after-done',
    'unknown-kind',
    'malformed',
    'oversized',
  ]) {
    it(`kills a host that forges ${mode}; an honest concurrent call gets its value from a fresh host`, async () => {
      const before = total(events(host));
      const first = (await host.execute(call('honest'))) as ExecutionResult & { value: { boot: number } };
      const hostile = host.execute(call(mode));
      const honest = host.execute(call('honest', [20, 22]));
      const answer = await hostile;
      if (mode === 'duplicate-done' || mode === 'output-after-done') {
        // The forgery comes after the hostile call's own answer; the host dies for it.
        expect(answer).toMatchObject({ ok: true, value: 'hostile' });
      } else expectViolation(answer);
      const fresh = await honest;
      expect(fresh).toMatchObject({ ok: true, value: { sum: 42, infected: false } });
      expect((fresh as typeof first).value.boot).not.toBe(first.value.boot);
      expect(total(events(host))).toBe(before + 1);
      expect(logs).toContainEqual(
        expect.objectContaining({ level: 'error', message: expect.stringMatching(/^Security event/) }),
      );
    });
  }
});

// The orchestrator with a fake executor: every call is reported to listeners with its outcome,
// a graceful close lets calls (running or queued) finish within the grace period and cancels the
// rest (503 shutting-down), a client that goes away is reported as cancelled, and POLYEVAL_REMOTE_<ID>
// must name a language.

import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { ConfigError, ServiceError } from '../../src/errors.js';
import type { Call, ExecutionResult, Executor } from '../../src/executor/contract.js';
import { manifestSchema } from '../../src/executor/manifest.js';
import type { LanguageEntry } from '../../src/executor/registry.js';
import { createLogger } from '../../src/logger.js';
import { type CallEvent, Orchestrator } from '../../src/orchestrator/orchestrator.js';

/** Runs `sleep <ms>` calls: resolves after ms, or at once with SANDBOX_CRASH when cancelled. */
function fakeExecutor(): Executor {
  return {
    capacity: 2,
    start: async () => {},
    readiness: () => ({ ready: true, details: { killed: 0 } }),
    engineVersion: () => 'fake 1',
    close: async () => {},
    execute(call: Call, options?: { signal?: AbortSignal }): Promise<ExecutionResult> {
      const stats = { durationMs: 1, cpuMs: 1, memoryBytes: 1 };
      const ms = Number(call.code?.replace('sleep ', '') ?? 0);
      return new Promise((resolve) => {
        if (options?.signal?.aborted) throw new Error('a cancelled call must not reach the executor');
        const timer = setTimeout(() => resolve({ ok: true, value: ms, stdout: '', stderr: '', stats }), ms);
        options?.signal?.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve({
            ok: false,
            error: { code: 'SANDBOX_CRASH', message: 'cancelled' },
            stdout: '',
            stderr: '',
            stats,
          });
        });
      });
    },
  };
}

const entry: LanguageEntry = {
  manifest: manifestSchema.parse({
    id: 'fake',
    displayName: 'Fake',
    engine: { name: 'Fake' },
    fixtureExtension: 'f',
  }),
  sourceDir: new URL('file:///nonexistent/'),
  loadFactory: async () => () => fakeExecutor(),
};

async function orchestrator(env: Record<string, string> = {}): Promise<Orchestrator> {
  return Orchestrator.create(loadConfig(env), [entry], createLogger('silent'));
}

const call = (ms: number, signal?: AbortSignal) => ({
  language: 'fake',
  code: `sleep ${ms}`,
  function: 'main',
  args: [],
  ...(signal === undefined ? {} : { signal }),
});

describe('orchestrator', () => {
  it('reports every call with its outcome to the listeners', async () => {
    const o = await orchestrator();
    await o.whenStarted();
    const events: CallEvent[] = [];
    const off = o.onCall((e) => events.push(e));
    await o.evaluate(call(1));
    const controller = new AbortController();
    const pending = o.evaluate(call(10_000, controller.signal));
    controller.abort();
    // Gone before the call started: refused without reaching the executor.
    await expect(pending).rejects.toBeInstanceOf(ServiceError);
    // Gone mid-call: the executor stops it.
    const later = new AbortController();
    const running = o.evaluate(call(10_000, later.signal));
    await new Promise((r) => setTimeout(r, 20));
    later.abort();
    expect((await running).ok).toBe(false);
    off();
    await o.evaluate(call(1));
    expect(events.map((e) => e.outcome)).toEqual(['OK', 'cancelled', 'cancelled']);
    expect(events[0]).toMatchObject({ language: 'fake', remote: false });
    expect(events[0]!.durationMs).toBeGreaterThanOrEqual(0);
    await o.close();
  });

  it('closes gracefully: finishes short calls, cancels long ones after the grace, refuses new ones', async () => {
    const o = await orchestrator();
    const outcomes: string[] = [];
    o.onCall((e) => outcomes.push(e.outcome));
    const short = o.evaluate(call(20));
    const long = o.evaluate(call(60_000)).catch((e: unknown) => e);
    const closing = o.close({ graceMs: 200 });
    await expect(o.evaluate(call(1))).rejects.toMatchObject({ problem: 'shutting-down' });
    expect((await short).ok).toBe(true);
    const cancelled = (await long) as ServiceError;
    expect(cancelled).toBeInstanceOf(ServiceError);
    expect(cancelled.problem).toBe('shutting-down');
    expect(cancelled.retryAfterSeconds).toBe(1);
    await closing;
    expect(outcomes.sort()).toEqual(['OK', 'shutting-down', 'shutting-down']);
    expect(o.readiness().ready).toBe(false);
  });

  it('lets calls waiting in the queue at close run during the grace, and refuses those still waiting at its end', async () => {
    const o = await orchestrator(); // 2 slots
    await o.whenStarted();
    const running = o.evaluate(call(50));
    const stuck = o.evaluate(call(60_000)).catch((e: unknown) => e);
    const queued = o.evaluate(call(20));
    const stuckToo = o.evaluate(call(60_000)).catch((e: unknown) => e);
    const last = o.evaluate(call(10)).catch((e: unknown) => e);
    const closing = o.close({ graceMs: 400 });
    // Accepted before the close: these finish in the grace, though one was still queued.
    expect(await running).toMatchObject({ ok: true, value: 50 });
    expect(await queued).toMatchObject({ ok: true, value: 20 });
    // The endless ones are cancelled at the end of the grace, the one still queued refused.
    for (const refused of [stuck, stuckToo, last]) {
      expect(await refused).toMatchObject({ problem: 'shutting-down', retryAfterSeconds: 1 });
    }
    await closing;
  });

  it('refuses a POLYEVAL_REMOTE_<ID> that names no language, and routes one that does', async () => {
    await expect(orchestrator({ POLYEVAL_REMOTE_NOPE: 'http://127.0.0.1:1' })).rejects.toBeInstanceOf(
      ConfigError,
    );
    expect(() => loadConfig({ POLYEVAL_REMOTE_FAKE: 'ftp://x' })).toThrow(/http/);
    const o = await orchestrator({ POLYEVAL_REMOTE_FAKE: 'http://127.0.0.1:1/, http://127.0.0.1:2' });
    expect(o.info()[0]).toMatchObject({ remote: ['http://127.0.0.1:1', 'http://127.0.0.1:2'], ready: true });
    expect(o.readiness().ready).toBe(true);
    await o.close();
  });
});

describe('a language that fails', () => {
  /** A language whose executor builds but whose start() fails after `ms` (a crash at run time). */
  const failing = (ms: number): LanguageEntry => ({
    ...entry,
    loadFactory: async () => () => ({
      ...fakeExecutor(),
      start: () => new Promise<void>((_, reject) => setTimeout(() => reject(new Error('engine gone')), ms)),
      execute: () =>
        new Promise<ExecutionResult>((_, reject) => setTimeout(() => reject(new Error('boom')), ms)),
    }),
  });

  it('to start answers 503 language-unavailable naming the language and why, also to calls that waited', async () => {
    const o = await Orchestrator.create(loadConfig({}), [failing(50)], createLogger('silent'));
    // A call made while the language is still starting, then one after the start failed.
    const early = o.evaluate(call(1));
    await expect(o.whenStarted()).rejects.toThrow('engine gone');
    for (const attempt of [() => early, () => o.evaluate(call(1))]) {
      const error = await attempt().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ServiceError);
      expect((error as ServiceError).problem).toBe('language-unavailable');
      expect((error as ServiceError).status).toBe(503);
      expect((error as ServiceError).detail).toBe(
        'Language "fake" is unavailable: it failed to start: engine gone',
      );
    }
    await o.close({ graceMs: 0 });
  });

  it('to build (a bad POLYEVAL_<ID>_* setting) stops the boot with a ConfigError naming the language', async () => {
    const bad: LanguageEntry = {
      ...entry,
      loadFactory: async () => () => {
        throw new Error('Invalid POLYEVAL_FAKE_MODE="maybe": expected on or off');
      },
    };
    const attempt = Orchestrator.create(loadConfig({}), [bad], createLogger('silent'));
    await expect(attempt).rejects.toBeInstanceOf(ConfigError);
    await expect(attempt).rejects.toThrow(
      'Cannot start language "fake": Invalid POLYEVAL_FAKE_MODE="maybe": expected on or off',
    );
  });
});

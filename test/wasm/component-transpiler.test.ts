// The deploy-time transpile child (interpreters/wasm/component/transpiler.ts): a real child process
// under the OS layer (when available), held to its time and resident-memory limits from outside.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Transpiler } from '../../interpreters/wasm/component/transpiler.js';

const QJS = readFileSync(new URL('../fixtures/components/hello-qjs.wasm', import.meta.url)).toString(
  'base64',
);
const request = { code: QJS, tableElements: 100_000, maxInitialPages: 32_768, maxCoreModules: 64 };

describe('the transpile child', () => {
  it('transpiles within its limits, and says which OS layer it ran under', async () => {
    const transpiler = new Transpiler({ timeoutMs: 60_000, memoryMb: 1024, isolation: 'auto', queueMax: 8 });
    const outcome = await transpiler.transpile(request);
    if (!outcome.ok) throw new Error(`Cannot transpile: ${outcome.error.message}`);
    expect(outcome.component.id).toBe('a1e4b7f4b58414aed96ebcc56263413a648737a8dcd7e0ac450e037789cfe1d8');
    expect(outcome.component.modules.length).toBeGreaterThan(1);
    expect(['bubblewrap', 'none']).toContain(transpiler.confinement);
  }, 90_000);

  it('is killed past its resident-memory limit: MEMORY_LIMIT', async () => {
    const transpiler = new Transpiler({ timeoutMs: 60_000, memoryMb: 64, isolation: 'auto', queueMax: 8 });
    const outcome = await transpiler.transpile(request);
    if (outcome.ok) throw new Error('The transpile child was not stopped');
    expect(outcome.error.code).toBe('MEMORY_LIMIT');
    expect(transpiler.counters.killed + transpiler.counters.refused).toBeGreaterThan(0);
  }, 90_000);

  it('is killed past its time limit: TIMEOUT', async () => {
    const transpiler = new Transpiler({ timeoutMs: 100, memoryMb: 1024, isolation: 'auto', queueMax: 8 });
    const outcome = await transpiler.transpile(request);
    if (outcome.ok) throw new Error('The transpile child was not stopped');
    expect(outcome.error.code).toBe('TIMEOUT');
    expect(transpiler.counters.killed).toBe(1);
  }, 90_000);

  it('queues at most queueMax jobs behind the running one: beyond, 503 overloaded at once', async () => {
    const transpiler = new Transpiler({ timeoutMs: 60_000, memoryMb: 1024, isolation: 'auto', queueMax: 1 });
    const running = transpiler.transpile(request);
    const waiting = transpiler.transpile(request);
    await expect(transpiler.transpile(request)).rejects.toMatchObject({
      problem: 'overloaded',
      message: 'Cannot transpile the component: 1 deployment is already waiting (the most allowed is 1)',
    });
    expect((await running).ok).toBe(true);
    expect((await waiting).ok).toBe(true);
    // Drained: accepted again.
    expect((await transpiler.transpile(request)).ok).toBe(true);
  }, 120_000);
});

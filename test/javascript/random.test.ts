// Math.random must start from a fresh seed in every call. QuickJS seeds a context from a
// millisecond clock, so contexts created back to back (the runner builds the next one right after
// answering) shared their sequence; the heap-snapshot runner writes a crypto seed at every restore.
// Driven through the executor directly (no HTTP): calls back to back on one worker are what exposed it;
// over HTTP each call takes long enough for the clock to move.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startExecutor } from '../../scripts/lib/executor.js';
import type { Executor } from '../../src/executor/contract.js';
import { clockSeedOf } from '../helpers/quickjs-random.js';

let executor: Executor;

beforeAll(async () => {
  executor = await startExecutor('javascript');
});
afterAll(async () => {
  await executor?.close();
});

describe('Math.random', () => {
  it('draws a different first number in each of 100 calls made back to back', async () => {
    const call = {
      code: 'function main() { return Math.random() }',
      function: 'main',
      args: [],
      limits: { timeoutMs: 2000, memoryMb: 64, outputBytes: 65536 },
    };
    const firsts = new Set<unknown>();
    for (let i = 0; i < 100; i++) {
      const result = await executor.execute(call);
      expect(result.ok).toBe(true);
      if (result.ok) firsts.add(result.value);
    }
    expect(firsts.size).toBe(100);
  });

  // Finding: a new instance (made when the memory limit changes) served its first call from the
  // sandbox the snapshot was taken of, unrestored, with the context's clock seed.
  // mutation: interpreters/javascript/runner.ts, a new instance's sandbox marked clean
  // (`dirty: false`) → its first call draws from a clock seed and this fails.
  it('draws from a crypto seed, not the clock, also in the first call of a new instance', async () => {
    const since = Date.now() - 60_000;
    for (const memoryMb of [64, 128, 64, 96]) {
      const result = await executor.execute({
        code: 'function main() { return Math.random() }',
        function: 'main',
        args: [],
        limits: { timeoutMs: 2000, memoryMb, outputBytes: 65536 },
      });
      expect(result).toMatchObject({ ok: true, value: expect.any(Number) });
      if (result.ok)
        expect(clockSeedOf(result.value as number, since, Date.now()), `${memoryMb} MiB`).toBeUndefined();
    }
  });
});

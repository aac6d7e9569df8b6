// Math.random must start from a fresh seed in every call. QuickJS seeds a context from a
// millisecond clock, so contexts created back to back (the runner builds the next one right after
// answering) shared their sequence; the heap-snapshot runner writes a crypto seed at every restore.
// Driven through createExecutor (no HTTP): calls back to back on one worker are what exposed it;
// over HTTP each call takes long enough for the clock to move.

import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExecutor } from '../../interpreters/javascript/executor.js';
import type { Executor } from '../../src/executor/contract.js';
import { manifestSchema } from '../../src/executor/manifest.js';

let executor: Executor;

beforeAll(async () => {
  const manifest = manifestSchema.parse(
    JSON.parse(readFileSync(new URL('../../interpreters/javascript/manifest.json', import.meta.url), 'utf8')),
  );
  executor = await createExecutor({
    manifest,
    languageDir: new URL('../../dist/interpreters/javascript/', import.meta.url),
    poolSize: 1,
    settings: {},
    ceilings: { timeoutMs: 30_000, memoryMb: 512, outputBytes: 4_194_304 },
    log: () => undefined,
  });
  await executor.start();
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
});

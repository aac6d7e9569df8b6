// The honest call a test makes after a hostile one, in every language: the same server (or
// executor) must still answer it correctly. One definition for the e2e, language and executor tests.

import { expect } from 'vitest';
import type { Executor } from '../../src/executor/contract.js';
import { postJson } from './server.js';

export type HonestLanguage = 'javascript' | 'lua' | 'wasm' | 'python';

/** add(a, b) in each language; called with (2, 3) it must answer 5. */
export const HONEST_CALLS: Readonly<Record<HonestLanguage, { readonly code: string; readonly fn: string }>> =
  {
    javascript: { code: 'function add(a, b) { return a + b }', fn: 'add' },
    lua: { code: 'function add(a, b) return a + b end', fn: 'add' },
    wasm: {
      code: '(module (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))',
      fn: 'add',
    },
    python: { code: 'def add(a, b):\n    return a + b\n', fn: 'add' },
  };

/** A deadline no loaded machine turns an honest call into a TIMEOUT with. */
const HONEST_LIMITS = { timeoutMs: 10_000 };

/** The server at `url` answers an honest call in `language` with its exact value. */
export async function expectNextCallSucceeds(url: string, language: HonestLanguage): Promise<void> {
  const { code, fn } = HONEST_CALLS[language];
  const { status, body } = await postJson(`${url}/v1/evaluate`, {
    language,
    code,
    function: fn,
    args: [2, 3],
    limits: HONEST_LIMITS,
  });
  expect(status, `honest ${language} call`).toBe(200);
  expect(body, `honest ${language} call`).toMatchObject({ ok: true, value: 5 });
}

/** The executor answers an honest call in `language` with its exact value (no HTTP). */
export async function expectExecutorServes(executor: Executor, language: HonestLanguage): Promise<void> {
  const { code, fn } = HONEST_CALLS[language];
  const result = await executor.execute({
    code,
    function: fn,
    args: [2, 3],
    limits: { ...HONEST_LIMITS, memoryMb: 64, outputBytes: 65536 },
  });
  expect(result, `honest ${language} call`).toMatchObject({ ok: true, value: 5 });
}

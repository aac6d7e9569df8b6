// Test helpers for the wasm executor: the executor as the registry builds it (no server), modules assembled from
// .wat text with wabt (the same tool the executor uses), and calls with the manifest's limits.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startExecutor as startLanguageExecutor } from '../../scripts/lib/executor.js';
import type { Call, ExecutionResult, Executor, Limits } from '../../src/executor/contract.js';
import type { JsonValue } from '../../src/executor/json-value.js';
import { manifestSchema } from '../../src/executor/manifest.js';

const languageDir = new URL('../../interpreters/wasm/', import.meta.url);
export const manifest = manifestSchema.parse(
  JSON.parse(readFileSync(fileURLToPath(new URL('manifest.json', languageDir)), 'utf8')),
);

export const defaultLimits: Limits = {
  timeoutMs: manifest.limits.timeoutMs?.default ?? 2000,
  memoryMb: manifest.limits.memoryMb?.default ?? 128,
  outputBytes: manifest.limits.outputBytes?.default ?? 1048576,
};

export interface TestExecutor extends Executor {
  readonly logs: string[];
}

/** The wasm executor as the registry builds it (scripts/lib/executor.ts), two sandbox workers, its logs kept. */
export async function startExecutor(
  settings: Record<string, string> = {},
  poolSize = 2,
): Promise<TestExecutor> {
  const logs: string[] = [];
  const executor = await startLanguageExecutor('wasm', {
    poolSize,
    settings,
    ceilings: { timeoutMs: 30_000, memoryMb: 2048, outputBytes: 16_777_216 },
    log: (level, message, fields) => logs.push(`${level}: ${message} ${JSON.stringify(fields ?? {})}`),
  });
  return Object.assign(executor, { logs });
}

type Bytes = Uint8Array<ArrayBuffer>;
type Wabt = {
  parseWat(
    name: string,
    text: string,
    features?: object,
  ): { toBinary(o: object): { buffer: Bytes }; destroy(): void; validate(): void };
};
let wabt: Promise<Wabt> | undefined;

/** Assembles .wat text into a binary module (exceptions and other post-MVP features enabled). */
export async function wat(text: string): Promise<Bytes> {
  wabt ??= import('wabt').then((m) => (m as unknown as { default: () => Promise<Wabt> }).default());
  const module = (await wabt).parseWat('test.wat', text, {
    exceptions: true,
    tail_call: true,
    bulk_memory: true,
    reference_types: true,
    multi_value: true,
    simd: true,
  });
  try {
    module.validate();
    return new Uint8Array(module.toBinary({}).buffer);
  } finally {
    module.destroy();
  }
}

export async function watBase64(text: string): Promise<string> {
  return Buffer.from(await wat(text)).toString('base64');
}

export function call(
  executor: Executor,
  source: { code: string } | { module: string },
  fn: string,
  args: JsonValue[] = [],
  limits: Partial<Limits> = {},
): Promise<ExecutionResult> {
  const request: Call = { ...source, function: fn, args, limits: { ...defaultLimits, ...limits } };
  return executor.execute(request);
}

// A language's executor built and started as the service's registry builds it (interpreters/<id>/
// discovered, its compiled executor module loaded), without HTTP or the orchestrator. Used by the
// tests that drive an executor directly and by the benchmarks' engine floor and in-process rows.

import type { Executor, ExecutorContext, Limits } from '../../src/executor/contract.js';
import { discoverLanguages } from '../../src/executor/registry.js';

export interface StartExecutorOptions {
  readonly poolSize?: number;
  readonly settings?: Readonly<Record<string, string>>;
  /** The most any call may ask for (default: generous test ceilings). */
  readonly ceilings?: Limits;
  readonly log?: ExecutorContext['log'];
}

const TEST_CEILINGS: Limits = { timeoutMs: 30_000, memoryMb: 512, outputBytes: 4_194_304 };

/** Creates the executor of `language` and waits until it can serve. */
export async function startExecutor(language: string, options: StartExecutorOptions = {}): Promise<Executor> {
  const entry = discoverLanguages().find((e) => e.manifest.id === language);
  if (entry === undefined) throw new Error(`No interpreters/${language}/manifest.json`);
  const executor = await (await entry.loadFactory())({
    manifest: entry.manifest,
    languageDir: entry.sourceDir,
    poolSize: options.poolSize ?? 1,
    settings: options.settings ?? {},
    ceilings: options.ceilings ?? TEST_CEILINGS,
    log: options.log ?? (() => undefined),
  });
  await executor.start();
  return executor;
}

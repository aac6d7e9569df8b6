// The common machinery for languages that run in worker threads: an Executor backed by a
// WorkerPool. A language's executor.ts typically only says which runner to load, what to hand its
// workers, and how big their thread stacks must be.

import type { ResourceLimits } from 'node:worker_threads';
import type {
  Call,
  ExecuteOptions,
  ExecutionResult,
  Executor,
  ExecutorContext,
  Readiness,
} from '../contract.js';
import { onDemandSettings } from '../settings.js';
import { WorkerPool } from './worker-pool.js';

export interface WorkerExecutorOptions {
  /** The runner module (calls serveWorker()), usually new URL('./runner.js', import.meta.url). */
  readonly runner: URL;
  /** Computed once in the host thread and cloned to every worker (e.g. a compiled WebAssembly.Module). */
  readonly workerData?: () => Promise<unknown> | unknown;
  readonly resourceLimits?: ResourceLimits;
  readonly graceMs?: number;
  readonly maxCallsPerWorker?: number;
}

export function createWorkerExecutor(context: ExecutorContext, options: WorkerExecutorOptions): Executor {
  let pool: WorkerPool | undefined;
  // WARM threads kept while idle (default 1), more started on demand up to the pool size, retired
  // when idle (docs/configuration.md, "Languages").
  const lazy = onDemandSettings(context.settings, context.manifest.id, { fallback: 1, min: 1 });
  return {
    get capacity() {
      return context.poolSize;
    },
    async start() {
      const workerData = await options.workerData?.();
      pool = new WorkerPool({
        name: context.manifest.id,
        runner: options.runner,
        size: context.poolSize,
        ...lazy,
        workerData,
        ...(options.resourceLimits === undefined ? {} : { resourceLimits: options.resourceLimits }),
        ...(options.graceMs === undefined ? {} : { graceMs: options.graceMs }),
        ...(options.maxCallsPerWorker === undefined ? {} : { maxCallsPerWorker: options.maxCallsPerWorker }),
        log: context.log,
      });
      await pool.start();
    },
    readiness(): Readiness {
      return pool?.readiness() ?? { ready: false, details: { state: 'starting' } };
    },
    execute(call: Call, opts?: ExecuteOptions): Promise<ExecutionResult> {
      if (pool === undefined) throw new Error(`The ${context.manifest.id} executor has not been started`);
      return pool.run(call, opts?.signal);
    },
    engineVersion() {
      return pool?.engineVersion ?? 'not started';
    },
    async close() {
      await pool?.close();
    },
  };
}

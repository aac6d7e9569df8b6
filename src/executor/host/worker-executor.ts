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
import { intSetting } from '../settings.js';
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

/**
 * Settings every worker-thread language reads (POLYEVAL_<LANGUAGE>_<KEY>): WARM workers kept alive
 * while idle (default 1); a call that finds no idle worker (or has waited SPAWN_AFTER_MS, default
 * 0) starts a parked one, up to the pool size, so a load gets the whole pool; a worker beyond WARM
 * that stayed idle IDLE_RETIRE_MS is stopped (idle memory).
 */
function lazyPoolSettings(context: ExecutorContext): {
  warm: number;
  spawnAfterMs: number;
  idleRetireMs: number;
} {
  const { settings, manifest } = context;
  return {
    warm: intSetting(settings, manifest.id, 'WARM', 1, 1, 256),
    spawnAfterMs: intSetting(settings, manifest.id, 'SPAWN_AFTER_MS', 0, 0, 60_000),
    idleRetireMs: intSetting(settings, manifest.id, 'IDLE_RETIRE_MS', 30_000, 100, 86_400_000),
  };
}

export function createWorkerExecutor(context: ExecutorContext, options: WorkerExecutorOptions): Executor {
  let pool: WorkerPool | undefined;
  const lazy = lazyPoolSettings(context);
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

// The worker-thread side of a sandbox slot: receives one call at a time, hands it to the language's
// runner, streams capped output back, and measures the call. A language's runner module calls
// serveWorker() once at top level. Nothing here trusts the guest: the host's watchdog (worker-pool.ts)
// remains the guarantee for time, whatever the runner does. The worker keeps its side of the
// protocol too (worker-protocol.ts): it serves one call at a time, and only once the last call's
// sandbox has been reset (restored); a call that arrives at any other time, or a message it does not
// know, means its host is confused or impersonated, and the worker ends itself rather than run it.

import { parentPort, workerData } from 'node:worker_threads';
import type { Call, Outcome } from '../contract.js';
import { collectGarbage } from './collect-garbage.js';
import { outputLimitError } from './limit-errors.js';
import { OutputMeter, type OutputStream } from './output-meter.js';
import { threadCpuMs } from './thread-cpu.js';
import type { HostToWorker, WorkerToHost } from './worker-protocol.js';

/** What a runner gets for one call besides the call itself. */
export interface CallIo {
  /**
   * Appends guest output. Returns false once the call's output limit is reached: the text is cut
   * at the limit and the runner must stop the guest (the call then ends with OUTPUT_LIMIT).
   */
  write(stream: OutputStream, text: string): boolean;
  /** True once output went over the limit. */
  readonly outputExceeded: boolean;
  /** The call's output limit in bytes (stdout and stderr together). */
  readonly limit: number;
  /** performance.now() value at which the call's time limit expires. */
  readonly deadline: number;
}

export interface RunResult {
  readonly outcome: Outcome;
  /** Bytes of memory the guest engine held (see CallStats.memoryBytes). */
  readonly memoryBytes: number;
  /** Extra engine counters for stats. */
  readonly extraStats?: Readonly<Record<string, number>>;
  /** Ask the pool to replace this worker after the call. */
  readonly recycle?: boolean;
}

export interface Runner {
  /** Engine version for /v1/languages. */
  readonly engineVersion: string;
  run(call: Call, io: CallIo): Promise<RunResult> | RunResult;
  /**
   * Called when the worker is idle after answering a call: build the next call's fresh sandbox and
   * clean up the last one here, off the caller's critical path.
   */
  idle?(): void;
}

function post(message: WorkerToHost): void {
  parentPort!.postMessage(message);
}

/** The CallIo of one call: output metered and streamed to the host as it is written. */
function callIo(id: number, limit: number, deadline: number): CallIo {
  const meter = new OutputMeter(limit, (stream, text) => post({ kind: 'output', id, stream, text }));
  return {
    write: (stream, text) => meter.write(stream, text),
    get outputExceeded() {
      return meter.exceeded;
    },
    limit,
    deadline,
  };
}

/**
 * Runs the worker's message loop. `setup` receives the pool's workerData and returns the runner;
 * it runs once per worker (a worker serves calls until the pool recycles it).
 */
export function serveWorker<Data>(setup: (data: Data) => Promise<Runner> | Runner): void {
  if (parentPort === null) throw new Error('serveWorker() must run inside a worker thread');
  // Captured before any guest runs: a guest that reached this realm cannot swap it for a no-op.
  const exit = process.exit.bind(process);
  let runner: Runner;
  /** `ready` for a call only after the last call's sandbox was reset (or before the first call). */
  let state: 'ready' | 'serving' | 'restoring' = 'ready';
  Promise.resolve()
    .then(() => setup(workerData as Data))
    // The set-up's garbage, collected before the worker waits (collect-garbage.ts).
    .then(async (r) => {
      await collectGarbage();
      return r;
    })
    .then(
      (r) => {
        runner = r;
        parentPort!.on('message', (message: HostToWorker) => {
          if (state !== 'ready' || message?.kind !== 'call') {
            // Refuse: never run a second call in a sandbox that served one.
            exit(70);
            return;
          }
          state = 'serving';
          void handle(message);
        });
        post({ kind: 'ready', engineVersion: r.engineVersion });
      },
      (error: unknown) =>
        post({ kind: 'init-failed', message: error instanceof Error ? error.message : String(error) }),
    );

  async function handle(message: HostToWorker): Promise<void> {
    const { id, call } = message;
    const started = performance.now();
    const cpuStart = threadCpuMs();
    const io = callIo(id, call.limits.outputBytes, started + call.limits.timeoutMs);
    let result: RunResult;
    try {
      result = await runner.run(call, io);
    } catch (error) {
      // A host-side failure inside the runner: the engine's state is unknown, so replace the worker.
      result = {
        outcome: {
          ok: false,
          error: {
            code: 'SANDBOX_CRASH',
            message: `Cannot run "${call.function}": the sandbox failed (${error instanceof Error ? error.message : String(error)})`,
          },
        },
        memoryBytes: 0,
        recycle: true,
      };
    }
    if (io.outputExceeded && (result.outcome.ok || result.outcome.error.code !== 'OUTPUT_LIMIT')) {
      result = { ...result, outcome: { ok: false, error: outputLimitError(call) } };
    }
    post({
      kind: 'done',
      id,
      outcome: result.outcome,
      stats: {
        durationMs: performance.now() - started,
        cpuMs: threadCpuMs() - cpuStart,
        memoryBytes: result.memoryBytes,
        ...result.extraStats,
      },
      recycle: result.recycle ?? false,
    });
    if (result.recycle) return; // the pool replaces this worker
    state = 'restoring';
    // Off the caller's critical path: the answer is already on its way.
    setImmediate(() => {
      runner.idle?.();
      state = 'ready';
      post({ kind: 'restored', id });
    });
  }
}

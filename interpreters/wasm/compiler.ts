// Host-side client of the compile worker (compile-worker.ts): one worker thread, jobs in order,
// each with a time limit after which the worker is terminated and replaced. The worker is also
// replaced after a failure that may leave wabt or binaryen in a bad state, and every `maxJobs`
// jobs, so that their heaps (WebAssembly memories that never shrink) stay bounded.

import { Worker } from 'node:worker_threads';
import { ServiceError } from '../../src/errors.js';
import { runnableUrl } from '../../src/paths.js';
import type {
  CompiledModule,
  CompileFailure,
  CompileRequest,
  CompileResponse,
  OptimizeLevel,
} from './protocol.js';

export interface CompilerOptions {
  readonly script: URL;
  readonly timeoutMs: number;
  readonly maxJobs: number;
  /** Jobs that may wait behind the running one; beyond, a compile is refused as overloaded. */
  readonly queueMax: number;
  /** The worker (and wabt/binaryen in it) is stopped after this long with no job; 0 = never. */
  readonly idleMs: number;
  readonly tableElements: number;
  readonly log: (
    level: 'debug' | 'info' | 'warn' | 'error',
    message: string,
    fields?: Record<string, unknown>,
  ) => void;
}

export type CompileOutcome =
  | { readonly ok: true; readonly compiled: CompiledModule }
  | { readonly ok: false; readonly error: CompileFailure };

interface Job {
  readonly request: CompileRequest;
  readonly resolve: (outcome: CompileOutcome) => void;
}

export class Compiler {
  private worker: Worker | undefined;
  private current: { job: Job; timer: NodeJS.Timeout } | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly queue: Job[] = [];
  private nextId = 1;
  private jobs = 0;
  private closed = false;
  readonly counters = { compiled: 0, failed: 0, timedOut: 0, restarts: 0, refused: 0, idleStops: 0 };

  constructor(private readonly options: CompilerOptions) {}

  /**
   * Queues a job. The queue is bounded, as the components' transpile queue is: each waiting job
   * holds its module's text (up to the body limit), and a call sending a module inline waits here
   * holding one of the language's slots, so a flood of distinct modules would otherwise hold memory
   * without bound and starve every call of the language behind jobs of up to `timeoutMs` each.
   * @throws ServiceError('overloaded') (503 with Retry-After) when `queueMax` jobs already wait
   */
  compile(
    code: string,
    settings: { optimize: OptimizeLevel | null; maxInitialPages: number },
  ): Promise<CompileOutcome> {
    if (this.closed) return Promise.reject(new Error('The wasm compiler is closed'));
    if (this.queue.length >= this.options.queueMax) {
      const waiting = this.queue.length;
      this.counters.refused++;
      return Promise.reject(
        new ServiceError(
          'overloaded',
          `Cannot compile the module: ${waiting} compilation${waiting === 1 ? ' is' : 's are'} already waiting (the most allowed is ${this.options.queueMax})`,
          { retryAfterSeconds: 2 },
        ),
      );
    }
    return new Promise((resolve) => {
      const request: CompileRequest = {
        kind: 'compile',
        id: this.nextId++,
        code,
        optimize: settings.optimize,
        tableElements: this.options.tableElements,
        maxInitialPages: settings.maxInitialPages,
      };
      this.queue.push({ request, resolve });
      this.pump();
    });
  }

  get pending(): number {
    return this.queue.length + (this.current === undefined ? 0 : 1);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.idleTimer);
    const worker = this.worker;
    this.worker = undefined;
    for (const job of this.queue.splice(0)) {
      job.resolve({
        ok: false,
        error: { code: 'SANDBOX_CRASH', message: 'Cannot compile the module: the service is shutting down' },
      });
    }
    await worker?.terminate();
  }

  private ensureWorker(): Worker {
    if (this.worker !== undefined) return this.worker;
    const worker = new Worker(runnableUrl(this.options.script), {
      env: {},
      stdout: true,
      stderr: true,
      name: 'polyeval-wasm-compiler',
      // wabt and binaryen keep their heaps in WebAssembly memories, outside this limit; the time
      // limit and regular replacement bound those.
      resourceLimits: { maxOldGenerationSizeMb: 512 },
    });
    worker.stdout.resume();
    worker.stderr.resume();
    this.worker = worker;
    this.jobs = 0;
    worker.on('message', (message: CompileResponse) => {
      if (message.kind !== 'ready') this.onResponse(worker, message);
    });
    worker.on('error', (error) => this.onDeath(worker, `the compiler failed (${error.message})`));
    worker.on('exit', (code) => this.onDeath(worker, `the compiler exited with code ${code}`));
    return worker;
  }

  private pump(): void {
    if (this.current !== undefined || this.closed) return;
    const job = this.queue.shift();
    if (job === undefined) {
      this.armIdle();
      return;
    }
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    const worker = this.ensureWorker();
    const timer = setTimeout(() => {
      this.counters.timedOut++;
      this.options.log('warn', 'A wasm compile job ran past its time limit; the compiler was restarted', {
        timeoutMs: this.options.timeoutMs,
      });
      this.finish({
        ok: false,
        error: {
          code: 'TIMEOUT',
          message: `Cannot compile the module: compilation took longer than ${this.options.timeoutMs} ms`,
        },
      });
      this.restart();
    }, this.options.timeoutMs);
    this.current = { job, timer };
    worker.postMessage(job.request);
  }

  /**
   * Compiles are rare once modules are cached, and a worker that has loaded wabt (and binaryen for
   * a deployment) holds their heaps: stopped after idleMs with nothing to do, started again by the
   * next compile (~0.1 s, plus loading wabt for a text module).
   */
  private armIdle(): void {
    if (this.options.idleMs <= 0 || this.idleTimer !== undefined || this.worker === undefined) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      if (this.current !== undefined || this.queue.length > 0 || this.worker === undefined) return;
      const idle = this.worker;
      this.worker = undefined;
      this.counters.idleStops++;
      void idle.terminate();
    }, this.options.idleMs);
    this.idleTimer.unref();
  }

  private finish(outcome: CompileOutcome): void {
    const current = this.current;
    if (current === undefined) return;
    clearTimeout(current.timer);
    this.current = undefined;
    if (outcome.ok) this.counters.compiled++;
    else this.counters.failed++;
    current.job.resolve(outcome);
  }

  private onResponse(worker: Worker, message: Exclude<CompileResponse, { kind: 'ready' }>): void {
    if (worker !== this.worker || this.current?.job.request.id !== message.id) return;
    this.jobs++;
    if (message.kind === 'compiled') this.finish({ ok: true, compiled: message.result });
    else this.finish({ ok: false, error: message.error });
    if ((message.kind === 'failed' && message.recycle) || this.jobs >= this.options.maxJobs) this.restart();
    this.pump();
  }

  private onDeath(worker: Worker, reason: string): void {
    if (worker !== this.worker || this.closed) return;
    this.worker = undefined;
    this.options.log('warn', 'The wasm compile worker died; it will be replaced', { reason });
    this.finish({
      ok: false,
      error: { code: 'SANDBOX_CRASH', message: `Cannot compile the module: ${reason}` },
    });
    this.pump();
  }

  private restart(): void {
    const old = this.worker;
    this.worker = undefined;
    this.counters.restarts++;
    if (old !== undefined) void old.terminate();
    this.pump();
  }
}

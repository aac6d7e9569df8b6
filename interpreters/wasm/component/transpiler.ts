// The service side of deploy-time transpilation: one child process per component
// (transpile-child.ts), held to a time limit and a resident-memory limit from outside (sampled
// every 25 ms from /proc, killed past either), started like a sandbox host (process-isolation.ts):
// under the OS layer (bubblewrap, seccomp, no network, uid 65534) when available, with an empty
// environment, Node's permission model (read-only access to the compiled code and jco's packages,
// no child processes, no addons, no writes), code generation from strings disallowed and a bounded
// JS heap.
// Jobs run one at a time: a deployment is rare and transpiling a 12 MB component takes ~2 s of CPU.

import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ServiceError } from '../../../src/errors.js';
import type { GuestError } from '../../../src/executor/contract.js';
import {
  disposeWorkDir,
  type IsolationMode,
  planSandboxSpawn,
  spawnSandbox,
} from '../../../src/executor/host/process-isolation.js';
import { distDir, projectRoot, runnableSibling } from '../../../src/paths.js';
import type { TranspiledComponent, TranspileRequest, TranspileResponse } from './transpile-child.js';

export interface TranspilerOptions {
  readonly timeoutMs: number;
  readonly memoryMb: number;
  /** The OS layer for the child (as for the sandbox hosts: required | auto | off). */
  readonly isolation: IsolationMode;
  /** Most jobs waiting behind the running one; beyond, a deployment is refused with 503. */
  readonly queueMax: number;
}

export type TranspileOutcome =
  | { readonly ok: true; readonly component: TranspiledComponent; readonly ms: number }
  | { readonly ok: false; readonly error: GuestError };

/**
 * V8 flags components need: toolchains emit extended constant expressions (componentize-qjs does),
 * which Node 20's V8 accepts only behind a flag (on by default from Node 22).
 */
export function componentWasmFlags(): string[] {
  return Number(process.versions.node.split('.')[0]) < 22 ? ['--experimental-wasm-extended-const'] : [];
}

/**
 * Resident memory of a process and its descendants down to `depth` levels, in bytes (Linux): the
 * child is bubblewrap (and setpriv) in front of the Node process that does the work.
 */
function treeRssBytes(pid: number, depth: number): number {
  let total = 0;
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    if (match !== null) total += Number(match[1]) * 1024;
  } catch {
    return 0;
  }
  if (depth === 0) return total;
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'latin1').trim();
    if (children !== '') for (const c of children.split(/\s+/)) total += treeRssBytes(Number(c), depth - 1);
  } catch {
    // No children file: the process alone.
  }
  return total;
}

export class Transpiler {
  private queue: Promise<unknown> = Promise.resolve();
  /** Jobs accepted and not finished (the running one included). */
  private pending = 0;
  readonly counters = { transpiled: 0, refused: 0, killed: 0 };
  /** The OS layer the last child ran under (for readiness). */
  confinement: string | undefined;

  constructor(private readonly options: TranspilerOptions) {}

  /**
   * Queues a job. The queue is bounded: each waiting job holds its component's text (up to the
   * module body limit), and a call sending a component inline waits here while holding one of the
   * language's slots, so that a flood of distinct components would otherwise hold memory without
   * bound and starve every call of the language behind jobs of up to COMPILE_TIMEOUT_MS each.
   * @throws ServiceError('overloaded') (503 with Retry-After) when `queueMax` jobs already wait
   */
  transpile(request: TranspileRequest): Promise<TranspileOutcome> {
    if (this.pending > this.options.queueMax) {
      const waiting = this.pending - 1;
      return Promise.reject(
        new ServiceError(
          'overloaded',
          `Cannot transpile the component: ${waiting} deployment${waiting === 1 ? ' is' : 's are'} already waiting (the most allowed is ${this.options.queueMax})`,
          { retryAfterSeconds: 2 },
        ),
      );
    }
    this.pending++;
    const job = this.queue
      .then(() => this.run(request))
      .finally(() => {
        this.pending--;
      });
    this.queue = job.catch(() => undefined);
    return job;
  }

  /** Jobs waiting or running (readiness). */
  get queued(): number {
    return this.pending;
  }

  private run(request: TranspileRequest): Promise<TranspileOutcome> {
    const { timeoutMs, memoryMb } = this.options;
    return new Promise((resolve) => {
      let child: ChildProcess;
      let settled = false;
      const finish = (outcome: TranspileOutcome): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearInterval(watch);
        if (child.exitCode === null) child.kill('SIGKILL');
        if (outcome.ok) this.counters.transpiled++;
        else this.counters.refused++;
        resolve(outcome);
      };
      const plan = planSandboxSpawn({
        entry: fileURLToPath(runnableSibling(import.meta.url, 'transpile-child')),
        // The compiled code (the child imports instrument.ts and src/executor/echo.ts), jco's
        // packages (the bindgen and wasm-tools components and the preview2-shim they run on), and
        // package.json (ESM module type).
        readPaths: [
          fileURLToPath(new URL('interpreters/wasm/', distDir)),
          fileURLToPath(new URL('src/', distDir)),
          fileURLToPath(new URL('node_modules/@bytecodealliance/', projectRoot)),
          fileURLToPath(new URL('package.json', projectRoot)),
        ],
        // preview2-shim's Node build (jco's bindgen runs on it) does its I/O in a worker thread.
        allowWorkers: true,
        mode: this.options.isolation,
        setting: 'POLYEVAL_WASM_COMPONENT_ISOLATION',
        nodeFlags: [
          `--max-old-space-size=${Math.max(64, Math.floor(memoryMb / 2))}`,
          ...componentWasmFlags(),
        ],
      });
      child = spawnSandbox(plan, {
        env: {},
        serialization: 'advanced',
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      });
      child.once('exit', () => disposeWorkDir(plan.cwd));
      this.confinement = plan.facts.confinement;
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => {
        if (stderr.length < 2000) stderr += chunk.toString();
      });
      const timer = setTimeout(() => {
        this.counters.killed++;
        finish({
          ok: false,
          error: {
            code: 'TIMEOUT',
            message: `Cannot transpile the component: time limit of ${timeoutMs} ms exceeded`,
          },
        });
      }, timeoutMs);
      const watch = setInterval(() => {
        if (child.pid !== undefined && treeRssBytes(child.pid, 4) > memoryMb * 2 ** 20) {
          this.counters.killed++;
          finish({
            ok: false,
            error: {
              code: 'MEMORY_LIMIT',
              message: `Cannot transpile the component: memory limit of ${memoryMb} MiB exceeded`,
            },
          });
        }
      }, 25);
      child.on('message', (message: TranspileResponse) => {
        if (message.ok) finish({ ok: true, component: message.component, ms: message.ms });
        else {
          finish({
            ok: false,
            error: {
              code: message.code,
              message: message.message,
              ...(message.line === undefined ? {} : { line: message.line }),
              ...(message.column === undefined ? {} : { column: message.column }),
            },
          });
        }
      });
      child.on('error', (error) => {
        finish({
          ok: false,
          error: { code: 'SANDBOX_CRASH', message: `Cannot transpile the component: ${error.message}` },
        });
      });
      child.on('exit', (code, signal) => {
        const reason = /heap out of memory/i.test(stderr)
          ? {
              code: 'MEMORY_LIMIT' as const,
              message: `Cannot transpile the component: memory limit of ${memoryMb} MiB exceeded`,
            }
          : {
              code: 'SANDBOX_CRASH' as const,
              message: `Cannot transpile the component: the transpiler ended (${signal ?? `code ${code}`}) without an answer`,
            };
        finish({ ok: false, error: reason });
      });
      child.send(request);
    });
  }
}

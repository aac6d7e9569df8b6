// The service side of deploy-time transpilation: one child process per component
// (transpile-child.ts), held to a time limit and a resident-memory limit from outside (sampled
// every 25 ms from /proc, killed past either), with an empty environment, Node's permission model
// (read-only access to the project, no child processes, no workers, no writes) and a bounded JS heap.
// Jobs run one at a time: a deployment is rare and transpiling a 12 MB component takes ~2 s of CPU.

import { type ChildProcess, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { GuestError } from '../../../src/executor/contract.js';
import { permissionFlag } from '../../../src/executor/host/process-isolation.js';
import { projectRoot, runnableSibling } from '../../../src/paths.js';
import type { TranspiledComponent, TranspileRequest, TranspileResponse } from './transpile-child.js';

export interface TranspilerOptions {
  readonly timeoutMs: number;
  readonly memoryMb: number;
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

function rssBytes(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return match === null ? 0 : Number(match[1]) * 1024;
  } catch {
    return 0;
  }
}

export class Transpiler {
  private queue: Promise<unknown> = Promise.resolve();
  readonly counters = { transpiled: 0, refused: 0, killed: 0 };

  constructor(private readonly options: TranspilerOptions) {}

  transpile(request: TranspileRequest): Promise<TranspileOutcome> {
    const job = this.queue.then(() => this.run(request));
    this.queue = job.catch(() => undefined);
    return job;
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
      const root = fileURLToPath(projectRoot);
      child = fork(fileURLToPath(runnableSibling(import.meta.url, 'transpile-child')), [], {
        execArgv: [
          permissionFlag(),
          `--allow-fs-read=${root}`,
          `--max-old-space-size=${Math.max(64, Math.floor(memoryMb / 2))}`,
          // preview2-shim's Node build (jco's bindgen runs on it) does its I/O in a worker thread.
          '--allow-worker',
          '--disallow-code-generation-from-strings',
          ...componentWasmFlags(),
        ],
        env: {},
        cwd: root,
        serialization: 'advanced',
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      });
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
        if (child.pid !== undefined && rssBytes(child.pid) > memoryMb * 2 ** 20) {
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

// The sandbox worker of the wasm executor: one fresh instance per call of a module compiled (and
// instrumented) once by the host. The host attaches the WebAssembly.Module and a run plan to each
// call (see protocol.ts); this file supplies the memory (capped at the call's limit, recycled when
// the guest left it at its initial size), the in-memory WASI, the fuel budget, and turns whatever
// happened into a result. The pool's watchdog (deadline + grace, then terminate) stays the time
// guarantee; fuel, WASI deadline checks and the output cap stop most guests earlier, in-thread.

import { getHeapStatistics } from 'node:v8';
import type { GuestError, Outcome } from '../../src/executor/contract.js';
import { outputLimitError, timeoutError } from '../../src/executor/host/limit-errors.js';
import type { CallIo, Runner, RunResult } from '../../src/executor/host/worker-runtime.js';
import { serveWorker } from '../../src/executor/host/worker-runtime.js';
import { JsonLimitError, parseJson, REQUEST_BOUNDS } from '../../src/executor/json-value.js';
import { INTERNAL, STATUS_MEMORY_LIMIT } from './instrument.js';
import type { RunPlan, WasmCall } from './protocol.js';
import { fromWasmResult } from './values.js';
import { type StopReason, Wasi } from './wasi.js';

export interface RunnerData {
  /** Reuse zeroed memories between calls (see README: avoids V8's full GCs). */
  readonly recycleMemories: boolean;
}

const PAGE = 65536;
/**
 * Memories above this size are not recycled: zeroing 16 MiB took ~0.7 ms, more CPU than the GCs a
 * fresh one causes (measured: scripts/bench-wasm.ts); at 1-17 pages recycling removes nearly all GCs.
 */
const RECYCLE_MAX_BYTES = 4 * 1024 * 1024;
/** At most this much recycled memory is kept per worker. */
const POOL_MAX_BYTES = 64 * 1024 * 1024;
const POOL_MAX_PER_SHAPE = 2;
/** Replace the worker when its JS heap (guest GC objects, tables) grew past this. */
const HEAP_RECYCLE_BYTES = 192 * 1024 * 1024;

/** Memories left at their initial size are zeroed off the critical path and handed to later calls. */
class MemoryPool {
  private readonly free = new Map<string, WebAssembly.Memory[]>();
  private dirty: [string, WebAssembly.Memory][] = [];
  private bytes = 0;
  private scheduled = false;
  readonly counters = { created: 0, reused: 0 };

  constructor(private readonly enabled: boolean) {}

  acquire(initial: number, maximum: number): WebAssembly.Memory {
    const key = `${initial}/${maximum}`;
    const memory = this.free.get(key)?.pop();
    if (memory !== undefined) {
      this.bytes -= memory.buffer.byteLength;
      this.counters.reused++;
      return memory;
    }
    this.counters.created++;
    return new WebAssembly.Memory({ initial, maximum });
  }

  release(memory: WebAssembly.Memory, initial: number, maximum: number): void {
    if (!this.enabled) return;
    const size = memory.buffer.byteLength;
    // A memory that grew cannot shrink back: the next guest must see exactly its declared size.
    if (size !== initial * PAGE || size > RECYCLE_MAX_BYTES || this.bytes + size > POOL_MAX_BYTES) return;
    this.bytes += size;
    this.dirty.push([`${initial}/${maximum}`, memory]);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.scrub());
    }
  }

  private scrub(): void {
    this.scheduled = false;
    const dirty = this.dirty;
    this.dirty = [];
    for (const [key, memory] of dirty) {
      const list = this.free.get(key) ?? [];
      if (list.length >= POOL_MAX_PER_SHAPE) {
        this.bytes -= memory.buffer.byteLength;
        continue;
      }
      new Uint8Array(memory.buffer).fill(0);
      list.push(memory);
      this.free.set(key, list);
    }
  }
}

function trimStack(error: unknown): string | undefined {
  if (!(error instanceof Error) || error.stack === undefined) return undefined;
  const frames = error.stack
    .split('\n')
    .filter((line) => line.includes('wasm://') || line.includes('wasm-function'))
    .slice(0, 12)
    .map((line) => line.trim());
  return frames.length > 0 ? frames.join('\n') : undefined;
}

function lastLine(text: string): string {
  const lines = text.trimEnd().split('\n');
  const line = (lines[lines.length - 1] ?? '').trim();
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

const decoder = new TextDecoder('utf-8', { fatal: false });
/** WebAssembly.Exception (exception handling), missing from the TypeScript lib this project uses. */
const WasmException = (WebAssembly as unknown as { Exception?: abstract new (...args: never[]) => unknown })
  .Exception;

function stopError(call: WasmCall, reason: StopReason, stderrTail: string): GuestError {
  const name = call.function;
  switch (reason.kind) {
    case 'timeout':
      return timeoutError(call);
    case 'output-limit':
      return outputLimitError(call);
    case 'exit': {
      const tail = stderrTail === '' ? '' : `: ${stderrTail}`;
      return {
        code: 'RUNTIME_ERROR',
        message: `Cannot run "${name}": the module exited with code ${reason.code}${tail}`,
        exitCode: reason.code,
        type: 'exit',
      };
    }
  }
}

function createRunner(data: RunnerData): Runner {
  const wasi = new Wasi();
  const memories = new MemoryPool(data.recycleMemories);
  let stderrTail = '';

  return {
    engineVersion: `V8 ${process.versions.v8}`,
    run(call: WasmCall, io: CallIo): RunResult {
      const payload = call.payload;
      if (payload === undefined) throw new Error('the call carries no compiled module');
      const { module, plan } = payload;
      const memory =
        plan.memory === null ? undefined : memories.acquire(plan.memory.initial, plan.memory.maximum);
      stderrTail = '';
      let fuelGlobal: WebAssembly.Global | undefined;
      let fuelAtStop: bigint | undefined;
      wasi.begin(memory, {
        onStop: () => {
          if (fuelGlobal === undefined) return;
          fuelAtStop = fuelGlobal.value as bigint;
          fuelGlobal.value = 0n;
        },
        stdin: new TextEncoder().encode(plan.stdin),
        captureStdout: plan.mode === 'command',
        outputLimit: call.limits.outputBytes,
        deadline: io.deadline,
        write: (stream, text) => {
          if (stream === 'stderr') stderrTail = (stderrTail + text).slice(-2048);
          return io.write(stream, text);
        },
      });
      const budget = BigInt(plan.fuel);
      let exports: WebAssembly.Exports | undefined;
      let returned: unknown;
      let thrown: unknown;
      let completed = false;
      try {
        const imports: WebAssembly.Imports = {
          wasi_snapshot_preview1: wasi.imports,
          [INTERNAL.importModule]: memory === undefined ? {} : { [INTERNAL.memory]: memory },
        };
        exports = new WebAssembly.Instance(module, imports).exports;
        fuelGlobal = exports[INTERNAL.fuel] as WebAssembly.Global;
        fuelGlobal.value = budget;
        if (plan.hasStart) (exports[INTERNAL.start] as () => void)();
        if (plan.mode === 'command') {
          (exports._start as () => void)();
        } else {
          if (plan.reactor) (exports._initialize as () => void)();
          returned = (exports[plan.entry] as (...args: unknown[]) => unknown)(...plan.args);
        }
        completed = true;
      } catch (error) {
        thrown = error;
      }
      const end = wasi.end();
      const fuelLeft = fuelAtStop ?? (fuelGlobal === undefined ? budget : (fuelGlobal.value as bigint));
      const status =
        exports === undefined ? 0 : ((exports[INTERNAL.status] as WebAssembly.Global).value as number);
      const memoryBytes = memory?.buffer.byteLength ?? 0;
      if (memory !== undefined && plan.memory !== null)
        memories.release(memory, plan.memory.initial, plan.memory.maximum);

      const outcome = decide();
      const fuelUsed = fuelLeft < 0n ? budget : budget - fuelLeft;
      const extraStats: Record<string, number> = { fuel: Number(fuelUsed) };
      if (plan.mode === 'command') {
        extraStats.exitCode = end.stop?.kind === 'exit' ? end.stop.code : completed ? 0 : -1;
      }
      const recycle = getHeapStatistics().used_heap_size > HEAP_RECYCLE_BYTES;
      return { outcome, memoryBytes, extraStats, recycle };

      function decide(): Outcome {
        const stop = end.stop;
        const name = call.function;
        if (stop !== undefined && !(stop.kind === 'exit' && stop.code === 0)) {
          const error = stopError(call, stop, lastLine(stderrTail));
          if (plan.mode === 'command') writeStdout(end.stdout);
          return { ok: false, error };
        }
        if (stop === undefined && !completed) {
          const error = failure(thrown);
          if (plan.mode === 'command') writeStdout(end.stdout);
          return { ok: false, error };
        }
        if (plan.mode === 'function') {
          if (stop !== undefined) {
            return {
              ok: false,
              error: {
                code: 'RUNTIME_ERROR',
                message: `Cannot run "${name}": the module exited with code 0 before returning`,
                exitCode: 0,
                type: 'exit',
              },
            };
          }
          const converted = fromWasmResult(name, plan.type.results, returned);
          return converted.ok
            ? { ok: true, value: converted.value }
            : { ok: false, error: { code: 'INVALID_RESULT', message: converted.message } };
        }
        // A command that finished with status 0: its stdout is the result.
        const text = decoder.decode(end.stdout);
        if (text.trim() === '') {
          return {
            ok: false,
            error: {
              code: 'INVALID_RESULT',
              message: `Cannot read the result of "${name}": the module wrote nothing to stdout`,
            },
          };
        }
        try {
          return { ok: true, value: parseJson(text, REQUEST_BOUNDS) };
        } catch (error) {
          if (error instanceof JsonLimitError) {
            return {
              ok: false,
              error: {
                code: 'OUTPUT_LIMIT',
                message: `Cannot read the result of "${name}": ${error.message} (results are held to the bounds of requests)`,
              },
            };
          }
          writeStdout(end.stdout);
          const reason = error instanceof Error ? error.message : String(error);
          return {
            ok: false,
            error: {
              code: 'INVALID_RESULT',
              message: `Cannot read the result of "${name}": stdout is not JSON (${reason})`,
            },
          };
        }
      }

      function failure(error: unknown): GuestError {
        const name = call.function;
        const stack = trimStack(error);
        const withStack = (e: GuestError): GuestError => (stack === undefined ? e : { ...e, stack });
        if (status === STATUS_MEMORY_LIMIT) {
          return {
            code: 'MEMORY_LIMIT',
            message: `Cannot run "${name}": memory limit of ${call.limits.memoryMb} MiB exceeded (the module asked to grow its memory past it)`,
          };
        }
        if (fuelLeft < 0n) {
          return timeoutError(call, `fuel of ${plan.fuel} units used up`);
        }
        const message = error instanceof Error ? error.message : String(error);
        if (error instanceof RangeError && /call stack/i.test(message)) {
          return withStack({
            code: 'RUNTIME_ERROR',
            message: `Cannot run "${name}": stack overflow (call stack exhausted)`,
            type: 'StackOverflow',
          });
        }
        if (/out of memory|could not allocate memory|Cannot allocate/i.test(message)) {
          return {
            code: 'MEMORY_LIMIT',
            message: `Cannot run "${name}": memory limit exceeded (${message})`,
          };
        }
        if (error instanceof WebAssembly.RuntimeError) {
          return withStack({
            code: 'RUNTIME_ERROR',
            message: `Cannot run "${name}": the module trapped (${message})`,
            type: 'trap',
          });
        }
        if (WasmException !== undefined && error instanceof WasmException) {
          return withStack({
            code: 'RUNTIME_ERROR',
            message: `Cannot run "${name}": the module threw an exception it did not catch`,
            type: 'exception',
          });
        }
        if (error instanceof WebAssembly.LinkError) {
          return {
            code: 'RUNTIME_ERROR',
            message: `Cannot run "${name}": the module could not be linked (${message})`,
          };
        }
        // Anything else is our failure: the worker runtime reports SANDBOX_CRASH and replaces us.
        throw error;
      }

      function writeStdout(bytes: Uint8Array): void {
        if (bytes.length > 0) io.write('stdout', decoder.decode(bytes));
      }
    },
  };
}

export type { RunPlan };

serveWorker<RunnerData>((data) => createRunner(data));

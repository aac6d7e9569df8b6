// The QuickJS sandbox, inside a worker thread. Per call: a new runtime and context on a live WASM
// instance (~0.25 ms, where a new instance costs 2–6 ms). The instance has its own
// WebAssembly.Memory whose maximum is the call's memory limit, which is what actually bounds
// memory (runtime.setMemoryLimit did not in these builds, DESIGN.md §5). The instance is replaced
// after any limit hit or host-side exception, when the memory limit changes, and when its heap has
// grown (WASM memory never shrinks). The interrupt handler is the fast path for time; the pool's
// watchdog, which terminates this whole thread, is the guarantee.

import {
  newQuickJSWASMModuleFromVariant,
  newVariant,
  type QuickJSContext,
  type QuickJSHandle,
  type QuickJSRuntime,
  type QuickJSSyncVariant,
  type QuickJSWASMModule,
} from 'quickjs-emscripten-core';
import variantExport from '@jitl/quickjs-wasmfile-release-sync';
import type { Call, GuestError, Outcome } from '../../src/executor/contract.js';
import { fromTaggedJson, toTaggedJson } from '../../src/executor/json-value.js';
import { type CallIo, outputLimitError, type RunResult, serveWorker } from '../../src/executor/host/worker-runtime.js';
import { PRELUDE } from './prelude.js';

export interface RunnerData {
  readonly wasmModule: WebAssembly.Module;
  readonly packageVersion: string;
}

const PAGE = 64 * 1024;
/** QuickJS's emscripten build starts with 16 MiB of linear memory; the cap cannot go below it. */
const INITIAL_PAGES = 256;
/** Guest stack for QuickJS, inside a worker whose thread stack is 16 MiB. */
const MAX_STACK_BYTES = 512 * 1024;
/** Replace the instance once its memory has grown past this (it never shrinks). */
const RECYCLE_BYTES = 48 * 1024 * 1024;
const USER_FILE = 'user.js';
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

// The package's CommonJS typings describe its ESM default export (the variant) as the module itself.
const baseVariant = variantExport as unknown as QuickJSSyncVariant;

interface Instance {
  readonly module: QuickJSWASMModule;
  readonly memory: WebAssembly.Memory;
  readonly maxPages: number;
}

/** Why the interrupt handler stopped the guest, if it did. */
type Stop = 'timeout' | 'output' | undefined;

serveWorker<RunnerData>(async (data) => {
  let instance: Instance | undefined;

  async function instanceFor(memoryMb: number): Promise<Instance> {
    const maxPages = Math.max(INITIAL_PAGES + 16, Math.floor((memoryMb * 1024 * 1024) / PAGE));
    if (instance !== undefined && instance.maxPages === maxPages) return instance;
    const memory = new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum: maxPages });
    const module = await newQuickJSWASMModuleFromVariant(
      newVariant(baseVariant, { wasmModule: data.wasmModule, wasmMemory: memory }),
    );
    instance = { module, memory, maxPages };
    return instance;
  }
  // Warm the instance for the default limit before reporting ready.
  await instanceFor(64);

  return {
    engineVersion: `QuickJS (quickjs-emscripten ${data.packageVersion})`,
    async run(call: Call, io: CallIo): Promise<RunResult> {
      const current = await instanceFor(call.limits.memoryMb);
      const result = evaluate(current, call, io);
      const grown = current.memory.buffer.byteLength > RECYCLE_BYTES;
      if (result.replaceInstance || grown) instance = undefined;
      return { outcome: result.outcome, memoryBytes: result.memoryBytes };
    },
  };
});

interface Evaluation {
  readonly outcome: Outcome;
  readonly memoryBytes: number;
  readonly replaceInstance: boolean;
}

function evaluate(instance: Instance, call: Call, io: CallIo): Evaluation {
  let stop: Stop;
  const runtime = instance.module.newRuntime();
  runtime.setMaxStackSize(MAX_STACK_BYTES);
  // A fast path only (see header): the WebAssembly.Memory maximum is the real cap.
  runtime.setMemoryLimit(call.limits.memoryMb * 1024 * 1024);
  runtime.setInterruptHandler(() => {
    if (io.outputExceeded) stop = 'output';
    else if (performance.now() > io.deadline) stop = 'timeout';
    return stop !== undefined;
  });
  const context = runtime.newContext();
  const handles: QuickJSHandle[] = [];
  const keep = (h: QuickJSHandle): QuickJSHandle => {
    handles.push(h);
    return h;
  };
  let disposeSafely = true;
  let memoryBytes = 0;
  try {
    const outcome = run(context, runtime, call, io, keep, () => stop);
    memoryBytes = measure(context, runtime);
    // After a limit hit the engine may be mid-allocation: don't trust it to dispose cleanly.
    if (!outcome.ok && ['TIMEOUT', 'MEMORY_LIMIT', 'OUTPUT_LIMIT'].includes(outcome.error.code)) disposeSafely = false;
    return { outcome, memoryBytes, replaceInstance: !disposeSafely };
  } catch (error) {
    disposeSafely = false;
    throw error;
  } finally {
    if (disposeSafely) {
      try {
        for (const h of handles) if (h.alive) h.dispose();
        context.dispose();
        runtime.dispose();
      } catch {
        // The instance is dropped below; its memory goes with it.
      }
    }
  }
}

function measure(context: QuickJSContext, runtime: QuickJSRuntime): number {
  try {
    const usage = runtime.computeMemoryUsage();
    const dumped = context.dump(usage) as { memory_used_size?: number; malloc_size?: number };
    usage.dispose();
    return dumped.malloc_size ?? dumped.memory_used_size ?? 0;
  } catch {
    return 0;
  }
}

function run(
  context: QuickJSContext,
  runtime: QuickJSRuntime,
  call: Call,
  io: CallIo,
  keep: (h: QuickJSHandle) => QuickJSHandle,
  stopped: () => Stop,
): Outcome {
  const fail = (error: GuestError): Outcome => ({ ok: false, error });
  const guestFailure = (handle: QuickJSHandle, action: string): Outcome => {
    keep(handle);
    return fail(classify(context, handle, call, action, stopped()));
  };

  // The host's side of console: capped, and the guest is stopped (interrupt) once over the cap.
  const write = keep(
    context.newFunction('write', (streamHandle, textHandle) => {
      const stream = context.getString(streamHandle) === 'stderr' ? 'stderr' : 'stdout';
      io.write(stream, context.getString(textHandle));
    }),
  );

  const preludeResult = context.evalCode(PRELUDE, 'polyeval:prelude');
  if (preludeResult.error) throw new Error(`The prelude failed: ${JSON.stringify(context.dump(preludeResult.error))}`);
  const preludeFn = keep(preludeResult.value);
  const api = keep(context.unwrapResult(context.callFunction(preludeFn, context.undefined, write)));
  const fn = (name: string): QuickJSHandle => keep(context.getProp(api, name));

  // Arguments are decoded before user code runs, so that code cannot tamper with the decoding.
  const argsText = keep(context.newString(toTaggedJson([...call.args])));
  const decoded = context.callFunction(fn('decode'), context.undefined, argsText);
  if (decoded.error) return guestFailure(decoded.error, 'read the arguments of');
  const args = keep(decoded.value);

  const loaded = context.evalCode(call.code ?? '', USER_FILE, { type: 'global', strict: false });
  if (loaded.error) return guestFailure(loaded.error, 'load the code for');
  keep(loaded.value);

  if (!IDENTIFIER.test(call.function)) {
    return fail({ code: 'ENTRY_NOT_FOUND', message: `Cannot find function "${call.function}": not a JavaScript identifier` });
  }
  // typeof on the bare name also finds top-level const/let bindings, not just properties of globalThis.
  const lookup = context.evalCode(
    `typeof ${call.function} === 'function' ? ${call.function} : undefined`,
    'polyeval:lookup',
  );
  if (lookup.error) return guestFailure(lookup.error, 'find');
  const target = keep(lookup.value);
  if (context.typeof(target) !== 'function') {
    return fail({ code: 'ENTRY_NOT_FOUND', message: `Cannot find function "${call.function}": the code does not define it` });
  }

  const called = context.callFunction(fn('call'), context.undefined, target, args);
  if (called.error) return guestFailure(called.error, 'run');
  let value = keep(called.value);

  // An async function returns a promise: run the job queue until it settles (or the guest stops).
  let state = context.getPromiseState(value);
  while (state.type === 'pending') {
    const jobs = runtime.executePendingJobs();
    if (jobs.error) return guestFailure(jobs.error, 'run');
    state = context.getPromiseState(value);
    if (state.type === 'pending' && jobs.value === 0) {
      return fail({
        code: 'RUNTIME_ERROR',
        message: `Cannot run "${call.function}": its promise never settles (nothing left to run)`,
      });
    }
  }
  if (state.type === 'rejected') return guestFailure(state.error, 'run');
  if (!state.notAPromise) value = keep(state.value);

  const encoded = context.callFunction(fn('encode'), context.undefined, value);
  if (encoded.error) return guestFailure(encoded.error, 'return the result of');
  const text = context.getString(keep(encoded.value));
  if (text.startsWith('e')) return fail({ code: 'INVALID_RESULT', message: text.slice(1) });
  if (Buffer.byteLength(text) - 1 > call.limits.outputBytes) {
    return fail({
      ...outputLimitError(call),
      message: `Cannot return the result of "${call.function}": it is larger than the output limit of ${call.limits.outputBytes} bytes`,
    });
  }
  return { ok: true, value: fromTaggedJson(text.slice(1)) };
}

interface DumpedError {
  name?: unknown;
  message?: unknown;
  stack?: unknown;
}

/** Turns a guest exception into a GuestError, attributing limit hits first. */
function classify(context: QuickJSContext, handle: QuickJSHandle, call: Call, action: string, stop: Stop): GuestError {
  const name = call.function;
  if (stop === 'timeout') {
    return { code: 'TIMEOUT', message: `Cannot run "${name}": time limit of ${call.limits.timeoutMs} ms exceeded` };
  }
  if (stop === 'output') return outputLimitError(call);
  let dumped: unknown;
  try {
    dumped = context.dump(handle);
  } catch {
    dumped = null;
  }
  const err = (typeof dumped === 'object' && dumped !== null ? dumped : {}) as DumpedError;
  const type = typeof err.name === 'string' ? err.name : undefined;
  const message = typeof err.message === 'string' ? err.message : describeThrown(dumped);
  if (dumped === null || (type === 'InternalError' && /out of memory/i.test(message))) {
    return { code: 'MEMORY_LIMIT', message: `Cannot run "${name}": memory limit of ${call.limits.memoryMb} MiB exceeded` };
  }
  const stack = typeof err.stack === 'string' ? err.stack : '';
  const position = /user\.js:(\d+)(?::(\d+))?/.exec(stack);
  const line = position?.[1] === undefined ? undefined : Number(position[1]);
  const column = position?.[2] === undefined ? undefined : Number(position[2]);
  const userStack = stack
    .split('\n')
    .filter((l) => l.includes(USER_FILE))
    .join('\n');
  const at = line === undefined ? '' : ` (line ${line}${column === undefined ? '' : `, column ${column}`})`;
  const isSyntax = type === 'SyntaxError' && action === 'load the code for';
  const text = `${type === undefined ? 'Uncaught' : type}: ${message}`;
  return {
    code: isSyntax ? 'SYNTAX_ERROR' : 'RUNTIME_ERROR',
    message: `Cannot ${action} "${name}": ${text}${at}`,
    ...(type === undefined ? {} : { type }),
    ...(line === undefined ? {} : { line }),
    ...(column === undefined ? {} : { column }),
    ...(userStack === '' ? {} : { stack: userStack }),
  };
}

function describeThrown(value: unknown): string {
  if (value === undefined) return 'undefined';
  try {
    const text = JSON.stringify(value);
    return text.length > 500 ? `${text.slice(0, 500)}...` : text;
  } catch {
    return String(value);
  }
}

// The QuickJS sandbox, inside a worker thread. Per call: a never-used runtime and context on a live
// WASM instance (a new instance costs 2–6 ms). By default that is the instance's one runtime and
// context, its memory restored to a snapshot taken before any code ran (snapshot.ts, ~5 µs); without
// snapshots, a new runtime and context (~0.3 ms). Either way the next call's sandbox is made ready,
// and the last one dropped, while the worker is idle, off the caller's critical path.
// The instance has its own WebAssembly.Memory whose maximum is the call's memory limit: that is what
// actually bounds memory (runtime.setMemoryLimit did not in these builds, docs/design.md §5). The
// instance is replaced after any limit hit or host-side exception, when the memory limit changes,
// and when its memory has grown (WASM memory never shrinks). The interrupt handler is the fast path
// for time; the pool's watchdog, which terminates this whole thread, is the guarantee.

import { inspect } from 'node:util';
import variantExport from '@jitl/quickjs-wasmfile-release-sync';
import {
  newQuickJSWASMModuleFromVariant,
  newVariant,
  type QuickJSContext,
  type QuickJSHandle,
  type QuickJSRuntime,
  type QuickJSSyncVariant,
  type QuickJSWASMModule,
} from 'quickjs-emscripten-core';
import type { Call, GuestError, Outcome } from '../../src/executor/contract.js';
import { safeName } from '../../src/executor/echo.js';
import { outputLimitError, timeoutError } from '../../src/executor/host/limit-errors.js';
import { type CallIo, type RunResult, serveWorker } from '../../src/executor/host/worker-runtime.js';
import {
  checkJsonBounds,
  fromTaggedJson,
  JsonLimitError,
  REQUEST_BOUNDS,
  toTaggedJson,
} from '../../src/executor/json-value.js';
import { requestBlocking } from '../../src/wikifunctions/call-out-channel.js';
import { formatRequest, NON_REENTRANT_MESSAGE } from '../../src/wikifunctions/reentrance.js';
import { CAPTURE, CAPTURED, ENCODER, TAGGED_DECODER, ZCLASSES } from './prelude.js';
import { HeapSnapshot, KNOWN_BUILDS, type Layout, type RawExports, rawExports } from './snapshot.js';

export interface RunnerData {
  readonly wasmModule: WebAssembly.Module;
  readonly packageVersion: string;
  /** SHA-256 of the engine's .wasm file: a key of KNOWN_BUILDS enables heap snapshots. */
  readonly wasmSha256: string;
  /** Set to false to build a new runtime and context for every call instead (POLYEVAL_JAVASCRIPT_SNAPSHOTS=off). */
  readonly snapshots: boolean;
}

// The package's CommonJS typings describe its ESM default export (the variant) as the module itself.
const baseVariant = variantExport as unknown as QuickJSSyncVariant;

const PAGE = 64 * 1024;
/** QuickJS's emscripten build starts with 16 MiB of linear memory; the cap cannot go below it. */
const INITIAL_PAGES = 256;
/** Guest stack for QuickJS, inside a worker whose thread stack is 16 MiB. */
const MAX_STACK_BYTES = 512 * 1024;
/** Replace the instance once its memory has grown past this (it never shrinks). */
const RECYCLE_BYTES = 48 * 1024 * 1024;
const USER_FILE = 'user.js';
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
const LIMIT_CODES: readonly string[] = ['TIMEOUT', 'MEMORY_LIMIT', 'OUTPUT_LIMIT'];

interface Instance {
  readonly module: QuickJSWASMModule;
  readonly memory: WebAssembly.Memory;
  readonly maxPages: number;
  /** The instance's raw exports, when its build is known (heap snapshots possible). */
  readonly raw: RawExports | undefined;
  /** Snapshot mode: the instance's one sandbox, restored before each call. */
  reusable:
    | {
        readonly sandbox: Sandbox;
        readonly snapshot: HeapSnapshot;
        readonly baseHandles: number;
        dirty: boolean;
      }
    | undefined;
}

/** Why the interrupt handler stopped the guest, if it did. */
type Stop = 'timeout' | 'output' | undefined;

/** Where the host function behind Wikifunctions.Call sits in the captured array (see prepare). */
const CALL_OUT_INDEX = 14;

/** The call being run, as the host functions (console, Wikifunctions.Call) see it. */
interface Session {
  readonly io: CallIo;
  stop: Stop;
  /** Ends the call with this error whatever the guest does next (a refused call-out). */
  fatal?: GuestError;
  /** Serves Wikifunctions.Call for this call (zobject codec only). */
  callOut?: (zid: QuickJSHandle, args: QuickJSHandle | undefined) => QuickJSHandle | { error: QuickJSHandle };
}

/** A never-used runtime + context with the built-ins captured, waiting for its one call. */
interface Sandbox {
  readonly instance: Instance;
  readonly runtime: QuickJSRuntime;
  readonly context: QuickJSContext;
  /** The built-ins taken before user code ran (see prelude.ts). */
  readonly captured: QuickJSHandle;
  /** Every handle to dispose with the sandbox (in snapshot mode: the call's, dropped at restore). */
  readonly handles: QuickJSHandle[];
  /** The call being run: read by the interrupt handler and the host functions. */
  session: Session | undefined;
}

type Keep = (h: QuickJSHandle) => QuickJSHandle;

function pagesFor(memoryMb: number): number {
  return Math.max(INITIAL_PAGES + 16, Math.floor((memoryMb * 1024 * 1024) / PAGE));
}

function prepare(instance: Instance): Sandbox {
  const runtime = instance.module.newRuntime();
  runtime.setMaxStackSize(MAX_STACK_BYTES);
  const context = runtime.newContext();
  const handles: QuickJSHandle[] = [];
  const keep: Keep = (h) => {
    handles.push(h);
    return h;
  };
  const captured = keep(context.unwrapResult(context.evalCode(CAPTURE, 'polyeval:capture')));
  const sandbox: Sandbox = { instance, runtime, context, captured, handles, session: undefined };
  runtime.setInterruptHandler(() => {
    const session = sandbox.session;
    if (session === undefined) return false;
    if (session.fatal !== undefined) return true;
    if (session.io.outputExceeded) session.stop = 'output';
    else if (performance.now() > session.io.deadline) session.stop = 'timeout';
    return session.stop !== undefined;
  });
  // console: host functions that format on the host and write capped output; once output is over
  // the cap the interrupt handler stops the guest. Built before the call (and before a snapshot:
  // no host function may be created after one).
  {
    const consoleObject = context.newObject();
    for (const [stream, names] of [
      ['stdout', ['log', 'info', 'debug']],
      ['stderr', ['warn', 'error', 'trace']],
    ] as const) {
      const fn = context.newFunction(stream, (...args) => {
        const io = sandbox.session?.io;
        // Over the limit: format nothing (a guest printing 1 MB strings in a loop would otherwise
        // keep the host decoding them) and stop at the next interrupt check.
        if (io === undefined || io.outputExceeded) return;
        let line = '';
        let bytes = 0;
        for (let i = 0; i < args.length && bytes <= io.limit; i++) {
          const piece = `${i > 0 ? ' ' : ''}${show(context, captured, args[i]!, i, io.limit - bytes)}`;
          line += piece;
          bytes += Buffer.byteLength(piece);
        }
        io.write(stream, `${line}\n`);
      });
      for (const name of names) context.setProp(consoleObject, name, fn);
      fn.dispose();
    }
    context.defineProp(context.global, 'console', {
      value: consoleObject,
      configurable: true,
      enumerable: false,
    });
    consoleObject.dispose();
  }
  // Wikifunctions.Call's host side, kept where only the host holds a handle: each zobject call
  // exposes it (run), and the call's session decides what it does.
  {
    const callOut = context.newFunction('Call', (zid, args) => {
      const serve = sandbox.session?.callOut;
      if (serve === undefined) return { error: context.newError('Wikifunctions.Call is not available here') };
      return serve(zid, args);
    });
    context.setProp(captured, CALL_OUT_INDEX, callOut);
    callOut.dispose();
  }
  return sandbox;
}

/** Makes the context's lazily cached handles exist now (a snapshot must hold them). */
function materializeCaches(context: QuickJSContext): void {
  void context.global;
  context.newBigInt(0n).dispose();
  context.getWellKnownSymbol('iterator').dispose();
  const array = context.newArray();
  context.unwrapResult(context.getIterator(array)).dispose();
  array.dispose();
}

/**
 * Turns a freshly prepared sandbox into the instance's reusable one: snapshot taken (layout learnt
 * or checked), host-ref frees disabled. Returns undefined (and the sandbox stays single-use) when
 * any check fails.
 */
function snapshotSandbox(
  instance: Instance,
  sandbox: Sandbox,
  stackBytes: number,
  known: Layout | undefined,
  log: (message: string) => void,
): HeapSnapshot | undefined {
  if (instance.raw === undefined) return undefined;
  const { context, runtime } = sandbox;
  try {
    materializeCaches(context);
    const internals = runtime as unknown as {
      cToHostCallbacks: { freeHostRef: (...args: unknown[]) => unknown };
    };
    const contextPointer = (context as unknown as { ctx: { value: number } }).ctx.value;
    const baseHandles = sandbox.handles.length;
    // From the snapshot on, the host-function table is fixed: a guest that deletes console and lets
    // the engine collect it must not unregister functions that the restored heap still uses. (Set
    // before the self-test, whose exercise does exactly that.)
    internals.cToHostCallbacks.freeHostRef = () => undefined;
    const snapshot = HeapSnapshot.take({
      memory: instance.memory,
      raw: instance.raw,
      stackBytes,
      context,
      contextPointer,
      known,
      exercise: () =>
        context.unwrapResult(
          context.evalCode(
            "globalThis.q = [1, 2, 3].map((x) => x * 2); Object.prototype.z = 1; delete globalThis.console; globalThis.big = 'x'.repeat(3 << 20) + Math.random(); new Promise(() => {}); 1",
            'polyeval:self-test',
          ),
        ),
    });
    sandbox.handles.length = baseHandles;
    return snapshot;
  } catch (error) {
    log(`heap snapshots disabled: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
}

/**
 * Copies a guest string out exactly, or only its first `max` UTF-16 units: a longer string is cut
 * inside the guest (with the String.prototype.slice captured before user code ran), so that a
 * 100 MB string printed under a 64 KiB output limit never reaches the host. getString reads a C
 * string, so it stops at the first NUL; when the copy comes back short, the string goes through
 * the captured JSON.stringify (which escapes NUL) and is parsed back here.
 */
function guestString(
  context: QuickJSContext,
  captured: QuickJSHandle,
  handle: QuickJSHandle,
  max = Number.POSITIVE_INFINITY,
): string {
  const lengthHandle = context.getProp(handle, 'length');
  const length = context.getNumber(lengthHandle);
  lengthHandle.dispose();
  let cut: QuickJSHandle | undefined;
  if (length > max) {
    const slice = context.getProp(captured, CAPTURED.slice);
    const bounds = [context.newNumber(0), context.newNumber(max)];
    cut = context.unwrapResult(context.callFunction(slice, handle, ...bounds));
    for (const h of [...bounds, slice]) h.dispose();
  }
  try {
    const source = cut ?? handle;
    const text = context.getString(source);
    if (text.length === Math.min(length, max)) return text;
    const stringify = context.getProp(captured, CAPTURED.stringify);
    const json = context.unwrapResult(context.callFunction(stringify, context.undefined, source));
    stringify.dispose();
    const exact = JSON.parse(context.getString(json)) as string;
    json.dispose();
    return exact;
  } finally {
    cut?.dispose();
  }
}

/** A property of a guest object, or undefined when reading it throws (a getter, a proxy trap). */
function readProp(context: QuickJSContext, handle: QuickJSHandle, key: string): QuickJSHandle | undefined {
  try {
    return context.getProp(handle, key);
  } catch {
    return undefined;
  }
}

/** `Name: message` for an error-like object (its name ends with "Error"), else undefined. */
function errorLine(
  context: QuickJSContext,
  captured: QuickJSHandle,
  handle: QuickJSHandle,
  room: number,
): string | undefined {
  const nameHandle = readProp(context, handle, 'name');
  if (nameHandle === undefined) return undefined;
  const name = context.typeof(nameHandle) === 'string' ? guestString(context, captured, nameHandle, 200) : '';
  nameHandle.dispose();
  if (!/Error$/.test(name)) return undefined;
  const messageHandle = readProp(context, handle, 'message');
  let message = 'undefined';
  if (messageHandle !== undefined) {
    const type = context.typeof(messageHandle);
    if (type === 'string') message = guestString(context, captured, messageHandle, room + 1);
    else if (type === 'number') message = String(context.getNumber(messageHandle));
    else if (type !== 'undefined') message = '[object Object]';
    messageHandle.dispose();
  }
  return `${name}: ${message}`;
}

/**
 * Formats one console argument the way Node's console would, near enough. `room` is what is left
 * of the output limit: text is measured inside the guest and at most room + 1 characters of it are
 * copied out (more would only be cut, and the call then ends with OUTPUT_LIMIT anyway).
 */
function show(
  context: QuickJSContext,
  captured: QuickJSHandle,
  handle: QuickJSHandle,
  position: number,
  room: number,
): string {
  switch (context.typeof(handle)) {
    case 'string':
      return guestString(context, captured, handle, room + 1);
    case 'number':
      return String(context.getNumber(handle));
    case 'bigint':
      return `${context.getBigInt(handle)}n`;
    case 'undefined':
      return 'undefined';
    case 'function':
      return '[Function]';
  }
  const error = errorLine(context, captured, handle, room);
  if (error !== undefined) return error;
  // The JSON text is made inside the guest by the JSON.stringify captured before user code ran,
  // and measured there before any of it is copied out.
  const stringify = context.getProp(captured, CAPTURED.stringify);
  const json = context.callFunction(stringify, context.undefined, handle);
  stringify.dispose();
  if (json.error) {
    json.error.dispose();
    return '[object]';
  }
  const type = context.typeof(json.value);
  const text = type === 'string' ? guestString(context, captured, json.value, room + 1) : undefined;
  json.value.dispose();
  if (text === undefined) return 'undefined';
  if (text.length > room) return text;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return text;
  }
  if (typeof value === 'string') return position === 0 ? value : JSON.stringify(value);
  return inspect(value, {
    depth: 4,
    breakLength: Number.POSITIVE_INFINITY,
    maxArrayLength: 100,
    maxStringLength: 10_000,
  });
}

function dispose(sandbox: Sandbox): void {
  try {
    for (const h of sandbox.handles) if (h.alive) h.dispose();
    sandbox.context.dispose();
    sandbox.runtime.dispose();
  } catch {
    // An engine that cannot dispose cleanly is dropped whole with its instance.
  }
}

serveWorker<RunnerData>(async (data) => {
  let instance: Instance | undefined;
  let prepared: Sandbox | undefined;
  let finished: Sandbox | undefined;
  let busy = false;
  let lastMemoryMb = 64;
  const build = data.snapshots ? KNOWN_BUILDS[data.wasmSha256] : undefined;
  /** Learnt by this worker's first snapshot; false once snapshots failed here (never retried). */
  let layout: Layout | undefined | false = build === undefined ? false : undefined;
  let snapshotNote = build === undefined ? 'runtime per call' : 'heap snapshots';

  async function instanceFor(memoryMb: number): Promise<Instance> {
    const maxPages = pagesFor(memoryMb);
    if (instance !== undefined && instance.maxPages === maxPages) return instance;
    const memory = new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum: maxPages });
    let exports: WebAssembly.Exports | undefined;
    const module = await newQuickJSWASMModuleFromVariant(
      newVariant(
        baseVariant,
        layout === false
          ? { wasmModule: data.wasmModule, wasmMemory: memory }
          : {
              wasmMemory: memory,
              // Instantiated here rather than by the glue, to keep the raw exports (stack pointer).
              emscriptenModule: {
                instantiateWasm(imports, onSuccess) {
                  const created = new WebAssembly.Instance(data.wasmModule, imports);
                  exports = created.exports;
                  onSuccess(created);
                  return created.exports;
                },
              },
            },
      ),
    );
    const raw = build === undefined || exports === undefined ? undefined : rawExports(build, exports);
    const created: Instance = { module, memory, maxPages, raw, reusable: undefined };
    instance = created;
    if (raw !== undefined && layout !== false && build !== undefined) {
      const sandbox = prepare(created);
      const snapshot = snapshotSandbox(created, sandbox, build.stackBytes, layout, (why) => {
        snapshotNote = `runtime per call (${why})`;
      });
      if (snapshot === undefined) {
        // The sandbox may have been dirtied by a failed discovery: drop the instance with it.
        layout = false;
        instance = undefined;
        return instanceFor(memoryMb);
      }
      layout = snapshot.layout;
      // Dirty from the start: the first call restores too, and so gets a crypto Math.random seed
      // (the context's own is a clock seed a guest can predict).
      created.reusable = { sandbox, snapshot, baseHandles: sandbox.handles.length, dirty: true };
    }
    return created;
  }

  /** A sandbox that no code ran in yet, on an instance for this memory limit. */
  async function readySandbox(memoryMb: number): Promise<Sandbox> {
    let current = await instanceFor(memoryMb);
    if (current.reusable?.dirty) {
      restore(current);
      // Not restorable: dropped; take a new instance.
      if (current.reusable === undefined) current = await instanceFor(memoryMb);
    }
    if (current.reusable !== undefined) {
      current.reusable.dirty = true;
      return current.reusable.sandbox;
    }
    let sandbox = prepared;
    prepared = undefined;
    if (sandbox === undefined || sandbox.instance !== current) {
      if (sandbox !== undefined && sandbox.instance === instance) dispose(sandbox);
      sandbox = prepare(current);
    }
    return sandbox;
  }

  /** Restores the instance's sandbox; an instance that cannot be restored serves fresh runtimes. */
  function restore(current: Instance): void {
    const reusable = current.reusable!;
    try {
      reusable.snapshot.restore();
      // The call's handles point into memory the restore replaced: dropped, never disposed.
      reusable.sandbox.handles.length = reusable.baseHandles;
      reusable.dirty = false;
    } catch {
      current.reusable = undefined;
      if (instance === current) instance = undefined;
    }
  }

  // Warm the instance and the first sandbox before reporting ready.
  const first = await instanceFor(lastMemoryMb);
  if (first.reusable === undefined) prepared = prepare(first);

  return {
    engineVersion: `QuickJS (quickjs-emscripten ${data.packageVersion}; ${snapshotNote})`,
    async run(call: Call, io: CallIo): Promise<RunResult> {
      busy = true;
      try {
        lastMemoryMb = call.limits.memoryMb;
        const sandbox = await readySandbox(call.limits.memoryMb);
        const current = sandbox.instance;
        const outcome = evaluate(sandbox, call, io);
        const limitHit = !outcome.ok && LIMIT_CODES.includes(outcome.error.code);
        // After a limit hit the engine may be mid-allocation: drop the whole instance, undisposed.
        if (limitHit || current.memory.buffer.byteLength > RECYCLE_BYTES) instance = undefined;
        else finished = sandbox;
        return { outcome, memoryBytes: current.memory.buffer.byteLength };
      } finally {
        busy = false;
      }
    },
    idle() {
      if (finished !== undefined) {
        const reusable = finished.instance.reusable;
        if (reusable !== undefined) {
          if (finished.instance === instance && reusable.dirty) restore(finished.instance);
        } else if (finished.instance === instance) dispose(finished);
        finished = undefined;
      }
      void instanceFor(lastMemoryMb).then((current) => {
        if (!busy && current.reusable === undefined && prepared === undefined) prepared = prepare(current);
      });
    },
  };
});

function evaluate(sandbox: Sandbox, call: Call, io: CallIo): Outcome {
  const session: Session = { io, stop: undefined };
  sandbox.session = session;
  // A fast path only (see header): the WebAssembly.Memory maximum is the real cap.
  sandbox.runtime.setMemoryLimit(call.limits.memoryMb * 1024 * 1024);
  const keep: Keep = (h) => {
    sandbox.handles.push(h);
    return h;
  };
  try {
    const outcome = run(sandbox, call, keep, () => session.stop);
    // A refused call-out ends the call even if the guest caught the exception it got.
    if (session.fatal !== undefined) return { ok: false, error: session.fatal };
    // The interrupt can fire while the engine runs guest code on the host's behalf (a getter or
    // toJSON inside console.log's formatting, an error's message getter read by classify): the
    // host call then swallows QuickJS's uncatchable interrupt and the guest carries on. Once the
    // handler has stopped the guest, the limit decides the outcome, whatever the guest did next.
    if (session.stop === 'timeout' && (outcome.ok || outcome.error.code !== 'TIMEOUT')) {
      return { ok: false, error: timeoutError(call) };
    }
    if (session.stop === 'output' && (outcome.ok || outcome.error.code !== 'OUTPUT_LIMIT')) {
      return { ok: false, error: outputLimitError(call) };
    }
    return outcome;
  } finally {
    sandbox.session = undefined;
  }
}

function run(sandbox: Sandbox, call: Call, keep: Keep, stopped: () => Stop): Outcome {
  const { context, runtime, captured } = sandbox;
  const fail = (error: GuestError): Outcome => ({ ok: false, error });
  const guestFailure = (handle: QuickJSHandle, action: string): Outcome => {
    keep(handle);
    return fail(classify(context, handle, call, action, stopped()));
  };
  // The "zobject" codec (Wikifunctions) maps pairs, maps and generic ZObjects to guest classes.
  const zclasses =
    call.codec === 'zobject'
      ? keep(context.unwrapResult(context.evalCode(ZCLASSES, 'polyeval:zclasses')))
      : undefined;
  /** Compiles one of the prelude's optional pieces and applies it to the captured built-ins. */
  const pieces = new Map<string, QuickJSHandle>();
  const piece = (source: string, name: string): QuickJSHandle => {
    const known = pieces.get(name);
    if (known !== undefined) return known;
    const factory = keep(context.unwrapResult(context.evalCode(source, `polyeval:${name}`)));
    const args = zclasses === undefined ? [captured] : [captured, zclasses];
    const made = keep(context.unwrapResult(context.callFunction(factory, context.undefined, args)));
    pieces.set(name, made);
    return made;
  };
  if (zclasses !== undefined) exposeCallOut(sandbox, call, keep, piece);

  // Arguments are decoded before user code runs, so that code cannot tamper with the decoding.
  const text = toTaggedJson([...call.args]);
  const decoder = text.includes('\\u0000')
    ? piece(TAGGED_DECODER, 'decode')
    : keep(context.getProp(captured, CAPTURED.parse));
  const decoded = context.callFunction(decoder, context.undefined, keep(context.newString(text)));
  if (decoded.error) return guestFailure(decoded.error, 'read the arguments of');
  const args = keep(decoded.value);

  if (!IDENTIFIER.test(call.function)) {
    return fail({
      code: 'ENTRY_NOT_FOUND',
      message: `Cannot find function "${call.function}": not a JavaScript identifier`,
    });
  }
  // One eval for the code and the lookup (each eval costs ~0.05 ms): the script's completion value is
  // the function. typeof on the bare name also finds top-level const/let bindings, not just
  // properties of globalThis. The lookup sits on its own line after the code, so line numbers hold.
  const source = `${call.code ?? ''}\n;typeof ${call.function} === 'function' ? ${call.function} : undefined;`;
  const loaded = context.evalCode(source, USER_FILE, { type: 'global', strict: false });
  if (loaded.error) return guestFailure(loaded.error, 'load the code for');
  const target = keep(loaded.value);
  if (context.typeof(target) !== 'function') {
    return fail({
      code: 'ENTRY_NOT_FOUND',
      message: `Cannot find function "${safeName(call.function)}": the code does not define it`,
    });
  }

  const called = context.callFunction(target, context.undefined, argHandles(context, args, keep));
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
  return encode(sandbox, value, call, keep, piece);
}

/** Spreads a guest array into handles (user code may have replaced Function.prototype.apply). */
function argHandles(context: QuickJSContext, array: QuickJSHandle, keep: Keep): QuickJSHandle[] {
  const length = context.getNumber(keep(context.getProp(array, 'length')));
  return Array.from({ length }, (_, i) => keep(context.getProp(array, i)));
}

/** Reads the result out of the guest: primitives directly, objects through the guest-side ENCODER. */
function encode(
  sandbox: Sandbox,
  value: QuickJSHandle,
  call: Call,
  keep: Keep,
  piece: (source: string, name: string) => QuickJSHandle,
): Outcome {
  const { context } = sandbox;
  const limit = call.limits.outputBytes;
  const tooLarge: Outcome = {
    ok: false,
    error: {
      code: 'OUTPUT_LIMIT',
      message: `Cannot return the result of "${call.function}": it is larger than the output limit of ${limit} bytes`,
    },
  };
  const invalid = (message: string): Outcome => ({ ok: false, error: { code: 'INVALID_RESULT', message } });
  // Checks the length before copying text out of the guest (a UTF-16 unit is at least a byte).
  const readString = (handle: QuickJSHandle): string | Outcome => {
    if (context.getNumber(keep(context.getProp(handle, 'length'))) > limit + 1) return tooLarge;
    const text = guestString(context, sandbox.captured, handle);
    if (Buffer.byteLength(text) > limit + 1) return tooLarge;
    return text;
  };
  switch (context.typeof(value)) {
    case 'undefined':
      return { ok: true, value: null };
    case 'number': {
      const n = context.getNumber(value);
      if (!Number.isFinite(n))
        return invalid(`Cannot return ${n} in the result: JSON has no NaN or Infinity`);
      return { ok: true, value: Object.is(n, -0) ? 0 : n };
    }
    case 'string': {
      const text = readString(value);
      return typeof text === 'string' ? { ok: true, value: text } : text;
    }
    case 'boolean':
      return { ok: true, value: context.dump(value) === true };
    case 'bigint': {
      // QuickJS BigInts reach ~315,000 digits: the output limit applies to them like to strings.
      const n = context.getBigInt(value);
      return n.toString().length > limit ? tooLarge : { ok: true, value: n };
    }
    case 'function':
      return invalid('Cannot return a function in the result');
    case 'symbol':
      return invalid('Cannot return a symbol in the result');
  }
  const encoder = piece(ENCODER, 'encode');
  const encoded = context.callFunction(encoder, context.undefined, value, keep(context.newNumber(limit)));
  if (encoded.error) {
    keep(encoded.error);
    return {
      ok: false,
      error: classify(context, encoded.error, call, 'return the result of', sandbox.session?.stop),
    };
  }
  const text = readString(keep(encoded.value));
  if (typeof text !== 'string') return text;
  // Copying out needs a second buffer inside the guest's memory; when that fails we get nothing.
  if (text === '') {
    return {
      ok: false,
      error: {
        code: 'MEMORY_LIMIT',
        message: `Cannot return the result of "${call.function}": memory limit of ${call.limits.memoryMb} MiB exceeded`,
      },
    };
  }
  if (text.startsWith('e')) return invalid(text.slice(1));
  if (text === 'o') return tooLarge;
  const json = text.slice(1);
  try {
    checkJsonBounds(json, REQUEST_BOUNDS);
  } catch (error) {
    if (!(error instanceof JsonLimitError)) throw error;
    return {
      ok: false,
      error: {
        code: 'OUTPUT_LIMIT',
        message: `Cannot return the result of "${safeName(call.function)}": ${error.message} (results are held to the bounds of requests)`,
      },
    };
  }
  return { ok: true, value: fromTaggedJson(json) };
}

interface DumpedError {
  name?: unknown;
  message?: unknown;
  stack?: unknown;
}

/** Turns a guest exception into a GuestError, attributing limit hits first. */
function classify(
  context: QuickJSContext,
  handle: QuickJSHandle,
  call: Call,
  action: string,
  stop: Stop,
): GuestError {
  const name = call.function;
  if (stop === 'timeout') return timeoutError(call);
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
    return {
      code: 'MEMORY_LIMIT',
      message: `Cannot run "${name}": memory limit of ${call.limits.memoryMb} MiB exceeded`,
    };
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

/**
 * Wikifunctions.Call(zid, args): the door to other functions (reentrance). The guest blocks while
 * the service asks the orchestrator (call-out-channel.ts); the value comes back decoded exactly
 * like an argument. Without a channel (the request is not reentrant, or this sandbox cannot share
 * memory with the service) the call ends with the reference evaluator's Z507 message.
 */
function exposeCallOut(
  sandbox: Sandbox,
  call: Call,
  keep: Keep,
  piece: (source: string, name: string) => QuickJSHandle,
): void {
  const { context, captured } = sandbox;
  const session = sandbox.session!;
  const namespace = keep(context.newObject());
  context.setProp(namespace, 'Call', keep(context.getProp(captured, CALL_OUT_INDEX)));
  context.defineProp(context.global, 'Wikifunctions', {
    value: namespace,
    configurable: true,
    enumerable: false,
  });
  const guestError = (name: string, message: string): { error: QuickJSHandle } => ({
    error: keep(context.newError({ name, message })),
  });
  const stop = (error: GuestError): { error: QuickJSHandle } => {
    session.fatal = error;
    return guestError('Error', error.message);
  };
  session.callOut = (zidHandle, argsHandle) => {
    if (session.fatal !== undefined) return guestError('Error', session.fatal.message);
    if (context.typeof(zidHandle) !== 'string') {
      return guestError('TypeError', 'Wikifunctions.Call: the function must be a ZID string such as "Z801"');
    }
    const zid = guestString(context, captured, zidHandle, 40);
    if (call.callOut === undefined) return stop({ code: 'RUNTIME_ERROR', message: NON_REENTRANT_MESSAGE });
    let args = '{}';
    if (argsHandle !== undefined && context.typeof(argsHandle) !== 'undefined') {
      const encoder = piece(ENCODER, 'encode');
      const limit = call.limits.outputBytes;
      const encoded = context.callFunction(
        encoder,
        context.undefined,
        argsHandle,
        keep(context.newNumber(limit)),
      );
      if (encoded.error) return { error: keep(encoded.error) };
      const text =
        context.typeof(keep(encoded.value)) === 'string' ? guestString(context, captured, encoded.value) : '';
      if (text.startsWith('e')) {
        return guestError(
          'TypeError',
          `Wikifunctions.Call(${zid}): cannot pass the arguments: ${text.slice(1).replaceAll('result', 'arguments')}`,
        );
      }
      if (!text.startsWith('v')) {
        return stop({
          code: 'OUTPUT_LIMIT',
          message: `Cannot call ${zid}: its arguments are larger than the output limit of ${limit} bytes`,
        });
      }
      args = text.slice(1);
    }
    const answer = requestBlocking(
      call.callOut,
      formatRequest(session.io.deadline - performance.now(), zid, args),
      session.io.deadline,
    );
    if (answer.ok) {
      const decoded = context.callFunction(
        piece(TAGGED_DECODER, 'decode'),
        context.undefined,
        keep(context.newString(answer.text)),
      );
      if (decoded.error) return { error: keep(decoded.error) };
      return keep(decoded.value);
    }
    if (answer.timeout === true || performance.now() >= session.io.deadline) {
      session.stop = 'timeout';
      return guestError('InternalError', 'interrupted');
    }
    if (answer.fatal) {
      const message =
        answer.message === NON_REENTRANT_MESSAGE
          ? answer.message
          : `Cannot run "${call.function}": ${answer.message}`;
      return stop({ code: 'RUNTIME_ERROR', message });
    }
    return guestError('WikifunctionsError', answer.message);
  };
}

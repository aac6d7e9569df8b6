// One Python interpreter in one worker thread, for one call (process-worker.ts serves it). Setup
// restores Pyodide from the memory snapshot with a precompiled, memory-capped module and guarded
// imports, reseeds `random`, wires stdout/stderr to the capped stream, installs the interrupt
// buffer and the filesystem write quota, makes the Pyodide API objects unreachable, and closes the
// import gate (doors.ts) before any guest code can run. The call itself is one synchronous call into
// the harness (harness.py) through CPython's C API (direct-call.ts), not Pyodide's JS FFI.
// In reset mode (data.reset) the same interpreter serves many calls: right after set-up the worker
// takes a golden image of everything a guest can change (reset.ts), and after each answer puts it
// back — and compares it with the image when the host asks — before the host hands it another call.

import { constants as fsConstants } from 'node:fs';
import { pathToFileURL } from 'node:url';
import * as vm from 'node:vm';
import type { GuestError } from '../../src/executor/contract.js';
import { collectGarbage } from '../../src/executor/host/collect-garbage.js';
import { timeoutError } from '../../src/executor/host/limit-errors.js';
import type { WireCall, WireOutcome } from '../../src/executor/host/process-protocol.js';
import {
  type ResetReport,
  type SingleUseIo,
  type SingleUseResult,
  serveSingleUseWorker,
} from '../../src/executor/host/process-worker.js';
import { CallOutDoor } from './call-out.js';
import { wireCodec } from './codec.js';
import { DirectCaller } from './direct-call.js';
import { PYTHON_DOORS } from './doors.js';
import {
  evaluateGlue,
  type Glue,
  type Guards,
  ImportGate,
  moduleFactory,
  type SnapshotPages,
  type SnapshotSource,
  shimProcessBinding,
  snapshotPages,
  withoutLoaderWasmRead,
} from './engine.js';
import { GoldenImage, type ResetFs, type ResetPart } from './reset.js';

export interface InterpreterWorkerData {
  readonly pyodideDir: string;
  readonly module: WebAssembly.Module;
  readonly glue: Glue;
  readonly glueCache: Uint8Array;
  /** The snapshot to restore: its pages (fresh mode: a copy per worker), or the file (reset mode). */
  readonly snapshot: SnapshotSource;
  readonly fsQuotaBytes: number;
  readonly warmup: boolean;
  /** Reset in place between calls (the module must carry exportHiddenState's exports). */
  readonly reset?: {
    /** Test-only: parts of the reset to skip, to prove that verification catches what is left. */
    readonly skip: readonly ResetPart[];
  };
}

interface Pyodide {
  version: string;
  setStdout(options: { write: (buffer: Uint8Array) => number }): void;
  setStderr(options: { write: (buffer: Uint8Array) => number }): void;
  setInterruptBuffer(buffer: Int32Array): void;
  FS: EmscriptenFs;
  _module: Record<string, unknown>;
}

interface FsNode {
  mode: number;
  contents?: Uint8Array | null;
  usedBytes?: number;
  pipe?: unknown;
}

interface FsStream {
  node: FsNode;
  position: number;
}

interface EmscriptenFs {
  write: (
    stream: FsStream,
    buffer: Uint8Array,
    offset: number,
    length: number,
    position?: number,
    canOwn?: boolean,
  ) => number;
  read: (stream: FsStream, buffer: Uint8Array, offset: number, length: number, position?: number) => number;
  doTruncate: (stream: FsStream | null, node: FsNode, length: number) => void;
  mknod: (path: string, mode: number, dev: number) => unknown;
  symlink: (target: string, path: string) => unknown;
  isChrdev: (mode: number) => boolean;
  isFile: (mode: number) => boolean;
  ErrnoError: new (errno: number) => Error;
  makedev(major: number, minor: number): number;
  registerDevice(dev: number, ops: Record<string, unknown>): void;
  mkdev(path: string, mode: number, dev: number): unknown;
}

/** The MEMFS write entry points: the one file streams call and the one msync (munmap) calls. */
type MemfsWrite = (
  stream: FsStream,
  buffer: Uint8Array,
  offset: number,
  length: number,
  position: number,
  canOwn?: boolean,
) => number;

interface Memfs {
  stream_ops: { write: MemfsWrite };
  ops_table: { file: { stream: { write: MemfsWrite } } } | null;
}

/** The glue objects that hold state a guest reaches through the doors (reset.ts, ResetGlue). */
interface GlueObjects {
  PIPEFS: { nextname: { current?: number } };
  SOCKFS: { nextname: { current?: number } };
  TTY: { ttys: Record<string, { ops: Record<string, unknown> }> };
}

// Emscripten's errno for ENOSPC.
const ENOSPC = 51;
/**
 * What one filesystem node costs the quota beyond its name and link target: the node object, its
 * hash-table entry and its directory entry in the worker's JS heap (a guest making a million empty
 * files or symlinks would otherwise fill that heap without storing a byte).
 */
export const NODE_QUOTA_BYTES = 256;

/** Counts what the guest stores in the in-memory filesystem and in pipes (both outside the WASM cap). */
class WriteQuota {
  used = 0;
  limit = Number.POSITIVE_INFINITY;
  exceeded = false;
  onExceeded: (() => void) | undefined;
  private counted = new WeakMap<FsNode, number>();

  /** Forgets what was counted (the filesystem was put back to its golden image). */
  reset(): void {
    this.used = 0;
    this.exceeded = false;
    this.counted = new WeakMap();
  }

  /**
   * Wraps every way guest bytes reach the worker's JS heap through the filesystem: writes (FS.write
   * for pipes; MEMFS's own write, which msync and munmap call without FS.write), growth by truncate,
   * ftruncate and fallocate (FS.doTruncate, which all three reach; this glue has no FS.allocate), and
   * every new node (FS.mknod: files, directories, devices, FIFOs; FS.symlink). Each must exist: a
   * glue without one fails the worker's start rather than leaving a way around the quota.
   */
  install(FS: EmscriptenFs, MEMFS: Memfs): void {
    const write = FS.write;
    const read = FS.read;
    const doTruncate = FS.doTruncate;
    const mknod = FS.mknod;
    const symlink = FS.symlink;
    const memfsWrite = MEMFS.stream_ops.write;
    const fileOps = MEMFS.ops_table?.file.stream;
    for (const [name, value] of Object.entries({ write, read, doTruncate, mknod, symlink, memfsWrite }))
      if (typeof value !== 'function' || fileOps === undefined)
        throw new Error(`Cannot install the filesystem write quota: the glue has no ${name} to wrap`);
    FS.write = (stream, buffer, offset, length, position, canOwn) => {
      const node = stream.node;
      if (FS.isChrdev(node.mode)) return write(stream, buffer, offset, length, position, canOwn);
      if (node.pipe !== undefined) {
        this.charge(length, FS);
        return write(stream, buffer, offset, length, position, canOwn);
      }
      const at = position ?? stream.position;
      this.reserve(node, at + length, FS);
      const written = write(stream, buffer, offset, length, position, canOwn);
      this.settle(node);
      return written;
    };
    const chargedWrite: MemfsWrite = (stream, buffer, offset, length, position, canOwn) => {
      this.reserve(stream.node, position + length, FS);
      const written = memfsWrite(stream, buffer, offset, length, position, canOwn);
      this.settle(stream.node);
      return written;
    };
    MEMFS.stream_ops.write = chargedWrite;
    fileOps!.write = chargedWrite;
    FS.read = (stream, buffer, offset, length, position) => {
      const n = read(stream, buffer, offset, length, position);
      if (stream.node.pipe !== undefined && n > 0) this.used = Math.max(0, this.used - n);
      return n;
    };
    FS.doTruncate = (stream, node, length) => {
      if (FS.isFile(node.mode)) this.reserve(node, length, FS);
      doTruncate(stream, node, length);
      if (FS.isFile(node.mode)) this.settle(node);
    };
    FS.mknod = (path, mode, dev) =>
      this.chargeNode(NODE_QUOTA_BYTES + String(path).length, FS, () => mknod(path, mode, dev));
    FS.symlink = (target, path) =>
      this.chargeNode(NODE_QUOTA_BYTES + String(target).length + String(path).length, FS, () =>
        symlink(target, path),
      );
  }

  /** Refuses (ENOSPC) a file growth that would take the total over the quota. */
  private reserve(node: FsNode, size: number, FS: EmscriptenFs): void {
    const counted = this.counted.get(node) ?? 0;
    if (size > counted) this.charge(size - counted, FS, false);
  }

  /** Records what the file really holds now (MEMFS grows capacity geometrically). */
  private settle(node: FsNode): void {
    const capacity = node.contents?.byteLength ?? 0;
    const counted = this.counted.get(node) ?? 0;
    if (capacity > counted) {
      this.used += capacity - counted;
      this.counted.set(node, capacity);
    }
  }

  /** Charges a new node before it is made, and gives the charge back if it was not (EEXIST…). */
  private chargeNode(bytes: number, FS: EmscriptenFs, make: () => unknown): unknown {
    this.charge(bytes, FS);
    try {
      return make();
    } catch (error) {
      this.used = Math.max(0, this.used - bytes);
      throw error;
    }
  }

  private charge(bytes: number, FS: EmscriptenFs, commit = true): void {
    if (this.used + bytes > this.limit) {
      this.exceeded = true;
      this.onExceeded?.();
      throw new FS.ErrnoError(ENOSPC);
    }
    if (commit) this.used += bytes;
  }
}

function errorOf(call: WireCall, error: unknown, guards: Guards): WireOutcome {
  // Emscripten's ExitStatus is a plain object with a message, not an Error.
  const message =
    typeof error === 'object' &&
    error !== null &&
    typeof (error as { message?: unknown }).message === 'string'
      ? (error as { message: string }).message
      : String(error);
  if (/Maximum call stack size exceeded|stack overflow/i.test(message) || error instanceof RangeError) {
    return {
      ok: false,
      error: {
        code: 'RUNTIME_ERROR',
        type: 'RecursionError',
        message: `Cannot run "${call.function}": RecursionError: the interpreter's stack overflowed (recursion too deep)`,
      },
    };
  }
  // os._exit(n): emscripten's exit() ends this interpreter (single-use anyway); the call failed with
  // an exit code, as a WASI module's proc_exit does, rather than crashed.
  const exit = /Program terminated with exit\((-?\d+)\)/.exec(message);
  if (exit !== null) {
    const code = Number(exit[1]);
    return {
      ok: false,
      error: {
        code: 'RUNTIME_ERROR',
        type: 'exit',
        exitCode: code,
        message: `Cannot run "${call.function}": the program exited with code ${code}`,
      },
    };
  }
  if (
    guards.heapRefused ||
    /out of memory|Cannot enlarge memory|memory access out of bounds/i.test(message)
  ) {
    return {
      ok: false,
      error: {
        code: 'MEMORY_LIMIT',
        message: `Cannot run "${call.function}": memory limit of ${call.limits.memoryMb} MB exceeded`,
      },
    };
  }
  return {
    ok: false,
    error: {
      code: 'SANDBOX_CRASH',
      message: `Cannot run "${call.function}": the interpreter failed (${message.split('\n')[0]})`,
    },
  };
}

/** Removes what a guest that reached JavaScript could use to leave: loaders, network, the Pyodide API. */
function blankHost(py: Pyodide, module: Record<string, unknown>): void {
  const global = globalThis as Record<string, unknown>;
  for (const name of [
    'require',
    'fetch',
    'WebSocket',
    'XMLHttpRequest',
    'EventSource',
    'importScripts',
    'Worker',
  ]) {
    try {
      delete global[name];
    } catch {
      global[name] = undefined;
    }
  }
  // Hiwire slots 2, 3 and 5 hold the public API object and the internal API (see Pyodide's
  // getExpectedKeys); a proxy forged to them would reach mountNodeFS, loadBinaryFile, runJs...
  const hiwireSet = module.__hiwire_set as ((index: number, value: unknown) => number) | undefined;
  if (hiwireSet !== undefined) {
    const inert = Object.freeze(Object.create(null));
    for (const slot of [2, 3, 5]) hiwireSet(slot, inert);
  }
  const api = py as unknown as Record<string | symbol, unknown>;
  for (const key of Reflect.ownKeys(api)) {
    try {
      Reflect.deleteProperty(api, key);
    } catch {
      // Non-configurable: leave it.
    }
  }
  Object.setPrototypeOf(api, null);
}

serveSingleUseWorker<InterpreterWorkerData>(async (data, interrupt) => {
  const marks: Record<string, number> = {};
  let t = performance.now();
  shimProcessBinding(fsConstants as unknown as Record<string, number>);
  const { loadPyodide } = (await import(pathToFileURL(`${data.pyodideDir}pyodide.mjs`).href)) as {
    loadPyodide: (options: Record<string, unknown>) => Promise<Pyodide>;
  };
  const glue = evaluateGlue(vm, data.glue, data.glueCache);
  marks.glueCacheRejected = glue.cacheRejected ? 1 : 0;
  marks.importMs = performance.now() - t;
  t = performance.now();
  const guards: Guards = { heapLimitBytes: Number.POSITIVE_INFINITY, heapRefused: false };
  const gate = new ImportGate();
  let instance: WebAssembly.Instance | undefined;
  const importedGlobals = new Map<string, WebAssembly.Global>();
  // Reset mode reads the snapshot from the file here (and checks it), before any guest code exists.
  // Let go once restored: a variable the closures below can see would otherwise live as long as
  // the worker (14 MiB of pages, or the 30 MiB file).
  let snapshot: SnapshotPages | undefined = snapshotPages(data.snapshot);
  const py = await withoutLoaderWasmRead(() => {
    const pages = snapshot!;
    return loadPyodide({
      indexURL: data.pyodideDir,
      createPyodideModule: moduleFactory({
        create: glue.create,
        module: data.module,
        guards,
        gate: { gate, doors: PYTHON_DOORS },
        onInstance: (created, imports) => {
          instance = created;
          // The GOT entries the module imports are mutable globals too: part of the golden image
          // (reset mode only; a fresh-mode worker never takes one).
          if (data.reset === undefined) return;
          for (const entry of WebAssembly.Module.imports(data.module)) {
            const value = entry.kind === 'global' ? imports[entry.module]?.[entry.name] : undefined;
            if (value instanceof WebAssembly.Global)
              importedGlobals.set(`${entry.module}.${entry.name}`, value);
          }
        },
        ...('sparse' in pages ? { sparse: pages.sparse } : {}),
        marks,
      }),
      _loadSnapshot: 'sparse' in pages ? pages.sparse.header : pages.dense,
      jsglobals: Object.create(null),
      env: {},
      stdout: () => undefined,
      stderr: () => undefined,
    });
  });
  snapshot = undefined;
  marks.loadMs = performance.now() - t;
  t = performance.now();
  const module = py._module;
  const FS = py.FS;
  if (instance === undefined)
    throw new Error('Cannot prepare the interpreter: Pyodide did not instantiate the module');
  // From here on the host speaks to Python only through exported C API functions and linear
  // memory: once the gate is closed, Pyodide's JS FFI (pyimport, PyProxy) would trap.
  const direct = new DirectCaller(instance.exports);
  const version = direct.lookup('_polyeval', 'PY_VERSION');
  const engineVersion = `Pyodide ${py.version} (CPython ${direct.stringOf(version)})`;
  direct.release(version);
  // Looked up before fresh(), which takes _polyeval out of sys.modules.
  const runCall = direct.lookup('_polyeval', 'run_call');
  const fresh = direct.lookup('_polyeval', 'fresh');
  direct.release(direct.call(fresh, []));
  direct.release(fresh);

  let io: SingleUseIo | undefined;
  // One decoder per stream per call: a guest that prints half a character must not leave its first
  // bytes to the next call (reset mode).
  const decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };
  const stream = (name: 'stdout' | 'stderr') => {
    return {
      write: (buffer: Uint8Array): number => {
        const text = decoders[name].decode(buffer, { stream: true });
        if (text.length > 0) io?.write(name, text);
        return buffer.length;
      },
    };
  };
  py.setStdout(stream('stdout'));
  py.setStderr(stream('stderr'));
  py.setInterruptBuffer(interrupt);
  const glueObjects = module as unknown as GlueObjects;
  // /dev/tty and /dev/tty1 keep Emscripten's terminal ops, which buffer a line in a JS array until a
  // newline and then print it to a sink that discards it: unbounded, uncounted, and (in reset mode)
  // kept for the next call. Their output is dropped at once instead.
  for (const tty of Object.values(glueObjects.TTY.ttys))
    tty.ops = { ...tty.ops, put_char: () => undefined, fsync: () => undefined };
  const quota = new WriteQuota();
  quota.install(FS, module.MEMFS as Memfs);
  // Reentrance (W.Call): a device in the in-memory filesystem, served inside fd_write (call-out.ts).
  const callOut = new CallOutDoor();
  callOut.install(FS);
  if (data.warmup) {
    // The first call into a restored interpreter pays for lazily initialised paths; pay it now.
    direct.callForString(runCall, ['def f(a):\n    return [a, str(a), {"k": 1.5}]\n', 'f', '[1]', 1_000_000]);
  }
  // What set-up itself created (the device, the warm-up's files) is not a call's to pay for.
  quota.reset();
  blankHost(py, module);
  // The doors close: from now on only the imports in doors.ts answer; any other traps.
  gate.close();
  marks.hardenMs = performance.now() - t;
  // The loader's reads and the load's own garbage, collected before this worker waits (idle, it
  // would not collect): off the call's latency path, ~13 ms (README, "Memory").
  t = performance.now();
  await collectGarbage();
  marks.gcMs = performance.now() - t;
  const heapBytes = (): number => (module.HEAP8 as Int8Array).byteLength;
  /** Reset mode: the heap size of the golden image (memory never shrinks). */
  let goldenHeapBytes = Number.POSITIVE_INFINITY;
  const reset = data.reset === undefined ? undefined : prepareReset(data.reset.skip);

  /**
   * Reset mode: the golden image, taken now that the interpreter is booted, sealed and quiet, and
   * `random.seed` (looked up first, so that the image holds the reference), called after each reset
   * so that calls do not share the image's PRNG state.
   */
  function prepareReset(skip: readonly ResetPart[]): (verify: boolean) => ResetReport {
    t = performance.now();
    const seed = direct.lookup('random', 'seed');
    const image = new GoldenImage({
      exports: instance!.exports,
      importedGlobals,
      fs: FS as unknown as ResetFs,
      glue: {
        counters: [glueObjects.PIPEFS.nextname, glueObjects.SOCKFS.nextname],
        ttys: glueObjects.TTY.ttys,
      },
    });
    const skipped = new Set(skip);
    marks.goldenMs = performance.now() - t;
    goldenHeapBytes = image.facts.memoryBytes!;
    for (const [key, value] of Object.entries(image.facts)) marks[`golden_${key}`] = value;
    return (asked) => {
      // Always verified after an anomaly the worker sees itself: the heap grew, or files were written.
      const verify = asked || heapBytes() > image.facts.memoryBytes! || quota.used > 0;
      const started = performance.now();
      const unrestorable = image.restore(skipped);
      quota.reset();
      guards.heapRefused = false;
      Atomics.store(interrupt, 0, 0);
      decoders.stdout = new TextDecoder();
      decoders.stderr = new TextDecoder();
      if (unrestorable.length > 0) return { ok: false, reason: unrestorable.join('; '), mismatch: false };
      const resetMs = performance.now() - started;
      let verifyMs: number | undefined;
      if (verify) {
        const checking = performance.now();
        const differences = image.verify();
        verifyMs = performance.now() - checking;
        if (differences.length > 0) return { ok: false, reason: differences.join('; '), mismatch: true };
      }
      // After the comparison: the new PRNG state is this call's own, not the image's.
      direct.release(direct.call(seed, []));
      return {
        ok: true,
        resetMs,
        verified: verify,
        parts: { ...image.lastTimes },
        ...(verifyMs === undefined ? {} : { verifyMs }),
      };
    };
  }

  return {
    engineVersion,
    prepareStats: marks,
    memoryBytes: () => heapBytes() + quota.used,
    ...(reset === undefined ? {} : { reset }),
    async run(call: WireCall, callIo: SingleUseIo): Promise<SingleUseResult> {
      io = callIo;
      callOut.begin(call, callIo, performance.now() + call.limits.timeoutMs);
      guards.heapLimitBytes = call.limits.memoryMb * 2 ** 20;
      guards.heapRefused = false;
      quota.limit = Math.min(call.limits.memoryMb * 2 ** 20, data.fsQuotaBytes);
      quota.onExceeded = () =>
        callIo.limit({
          code: 'MEMORY_LIMIT',
          message: `Cannot run "${call.function}": filesystem write quota of ${quota.limit} bytes exceeded`,
        });
      const closedDoor = (door: string): GuestError => ({
        code: 'SANDBOX_CRASH',
        message: `Cannot run "${call.function}": the interpreter called "${door}", a JavaScript import that is closed in this sandbox; the interpreter was discarded`,
      });
      // Ends the call at once (the host stops this worker), whatever the guest does after the throw.
      gate.onTrip = (door) => callIo.limit(closedDoor(door));
      let outcome: WireOutcome;
      // An exception out of the C call (a trap, exit(), a V8 stack overflow) unwound C frames
      // without their clean-up: the interpreter is not reset, the worker goes.
      let trapped = false;
      try {
        const text = direct.callForString(runCall, [
          call.code,
          call.function,
          call.argsJson,
          call.limits.outputBytes,
          wireCodec(call),
        ]);
        outcome = JSON.parse(text) as WireOutcome;
      } catch (error) {
        trapped = true;
        outcome = errorOf(call, error, guards);
      }
      // A call-out that ended the call (deadline, fatal refusal) decides, whatever the guest did next.
      outcome = callOut.end(outcome);
      if (gate.tripped !== undefined)
        return {
          outcome: { ok: false, error: closedDoor(gate.tripped) },
          memoryBytes: heapBytes(),
          discard: true,
        };
      if (!outcome.ok && outcome.error.code === 'TIMEOUT') {
        // The harness saw the interrupt but does not know the limit; say it the way the host does.
        outcome = { ok: false, error: timeoutError(call) };
      }
      if (!outcome.ok && outcome.error.code === 'MEMORY_LIMIT' && !quota.exceeded) {
        outcome = {
          ok: false,
          error: {
            code: 'MEMORY_LIMIT',
            message: `Cannot run "${call.function}": memory limit of ${call.limits.memoryMb} MB exceeded (MemoryError)`,
          },
        };
      }
      if (quota.exceeded && (outcome.ok || outcome.error.code !== 'MEMORY_LIMIT')) {
        outcome = {
          ok: false,
          error: {
            code: 'MEMORY_LIMIT',
            message: `Cannot run "${call.function}": filesystem write quota of ${quota.limit} bytes exceeded`,
          },
        };
      }
      return {
        outcome,
        memoryBytes: heapBytes() + quota.used,
        // A heap that grew is not reused: a call's memory limit is enforced when the heap grows, so
        // the next call would get the grown memory without asking, past a lower limit of its own.
        ...(trapped || quota.exceeded || guards.heapRefused || heapBytes() > goldenHeapBytes
          ? { discard: true }
          : {}),
      };
    },
  };
});

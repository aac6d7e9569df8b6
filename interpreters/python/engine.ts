// Pyodide plumbing shared by the snapshot builder and the interpreter workers: the WASM binary with
// its memory maximum patched, a createPyodideModule wrapper that instantiates a precompiled module
// with guarded imports (system(), dlopen() and sockets refused; heap growth bounded per call) and,
// in the workers, every import that is not a door behind a gate closed after boot (gateImports), the
// sparse form of a memory snapshot, and the inittab patch that removes dangerous builtin modules.
// Nothing here imports Pyodide itself: callers pass its factory in, so that this file stays cheap.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** Bytes per WebAssembly page. */
export const WASM_PAGE = 65_536;
/** Granularity of the sparse snapshot: runs of non-zero 4 KiB pages are stored, zero pages skipped. */
export const SPARSE_PAGE = 4096;

// Pyodide's snapshot header: magic, image offset, JSON length, 0, then 8 words of build id (48 bytes).
const SNAPSHOT_JSON_OFFSET = 48;

// Emscripten errno values (not Linux's): EACCES = 2.
const EACCES = 2;
// getaddrinfo's EAI_FAIL in musl.
const EAI_FAIL = -4;

export function readLeb(bytes: Uint8Array, at: number): { value: number; next: number } {
  let value = 0;
  let shift = 0;
  let p = at;
  for (;;) {
    const byte = bytes[p++]!;
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if ((byte & 0x80) === 0) break;
  }
  return { value, next: p };
}

export function leb(value: number): number[] {
  const out: number[] = [];
  let v = value;
  do {
    let byte = v % 128;
    v = Math.floor(v / 128);
    if (v > 0) byte |= 0x80;
    out.push(byte);
  } while (v > 0);
  return out;
}

/**
 * Returns a copy of a WASM binary whose (single, defined) memory has `maxPages` as its maximum, so
 * that growing past it fails inside the guest (malloc returns NULL → MemoryError) instead of
 * taking the host's memory. Throws if the module has no memory section of the expected shape.
 */
export function patchMemoryMaximum(binary: Uint8Array, maxPages: number): Uint8Array<ArrayBuffer> {
  const parts: Uint8Array[] = [binary.subarray(0, 8)];
  let p = 8;
  let patched = false;
  while (p < binary.length) {
    const id = binary[p]!;
    const size = readLeb(binary, p + 1);
    const start = size.next;
    const end = start + size.value;
    if (id === 5) {
      const count = readLeb(binary, start);
      const flags = binary[count.next]!;
      if (count.value !== 1 || (flags & ~1) !== 0)
        throw new Error(`Unexpected memory section (flags ${flags})`);
      const min = readLeb(binary, count.next + 1);
      if (min.value > maxPages)
        throw new Error(`The memory maximum (${maxPages} pages) is below its minimum (${min.value})`);
      const body = Uint8Array.from([...leb(1), 1, ...leb(min.value), ...leb(maxPages)]);
      parts.push(Uint8Array.from([5, ...leb(body.length)]), body);
      patched = true;
    } else {
      parts.push(binary.subarray(p, end));
    }
    p = end;
  }
  if (!patched) throw new Error('The WASM binary defines no memory');
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let o = 0;
  for (const part of parts) {
    out.set(part, o);
    o += part.length;
  }
  return out;
}

/** A snapshot split into its header (magic, build id, JSON) and the non-zero pages of its memory image. */
export interface SparseSnapshot {
  /** Pyodide's snapshot header, up to where the memory image starts. */
  readonly header: Uint8Array;
  /** Length of the memory image. */
  readonly memoryBytes: number;
  /** [offset, length] pairs into the memory image, in SPARSE_PAGE units of bytes. */
  readonly runs: Uint32Array;
  /** The bytes of every run, concatenated. */
  readonly data: Uint8Array;
}

/** Splits a dense Pyodide snapshot (from makeMemorySnapshot) into its sparse form. */
export function toSparse(snapshot: Uint8Array): SparseSnapshot {
  const words = new Uint32Array(snapshot.buffer, snapshot.byteOffset, 4);
  const headerBytes = words[1]!;
  const image = snapshot.subarray(headerBytes);
  const runs: number[] = [];
  let runStart = -1;
  const pages = Math.ceil(image.length / SPARSE_PAGE);
  const view = new BigUint64Array(image.buffer, image.byteOffset, Math.floor(image.length / 8));
  const wordsPerPage = SPARSE_PAGE / 8;
  for (let page = 0; page <= pages; page++) {
    let zero = true;
    if (page < pages) {
      const from = page * wordsPerPage;
      const to = Math.min(from + wordsPerPage, view.length);
      for (let i = from; i < to; i++) {
        if (view[i] !== 0n) {
          zero = false;
          break;
        }
      }
      // A tail shorter than a word.
      if (zero && to === view.length) {
        for (let i = view.length * 8; i < Math.min((page + 1) * SPARSE_PAGE, image.length); i++) {
          if (image[i] !== 0) zero = false;
        }
      }
    }
    if (!zero && runStart < 0) runStart = page;
    if ((zero || page === pages) && runStart >= 0) {
      const offset = runStart * SPARSE_PAGE;
      runs.push(offset, Math.min(page * SPARSE_PAGE, image.length) - offset);
      runStart = -1;
    }
  }
  const runArray = Uint32Array.from(runs);
  let total = 0;
  for (let i = 1; i < runArray.length; i += 2) total += runArray[i]!;
  const data = new Uint8Array(total);
  let o = 0;
  for (let i = 0; i < runArray.length; i += 2) {
    data.set(image.subarray(runArray[i]!, runArray[i]! + runArray[i + 1]!), o);
    o += runArray[i + 1]!;
  }
  return { header: snapshot.slice(0, headerBytes), memoryBytes: image.length, runs: runArray, data };
}

/** The snapshot file the service built and checked, as a sandbox host or a worker reads it. */
export interface SnapshotFile {
  readonly path: string;
  /** Its SHA-256 (hex), as the service verified it (snapshot.ts). */
  readonly sha256: string;
  /** 'sparse' writes only the non-zero pages; 'dense' is Pyodide's own HEAP8.set. */
  readonly restore: 'sparse' | 'dense';
}

/** A snapshot's pages, ready to restore. */
export type SnapshotPages = { readonly sparse: SparseSnapshot } | { readonly dense: Uint8Array };

/**
 * Where an interpreter worker finds the snapshot it restores: its pages, given (a copy made by the
 * host for each worker), or the file, which the worker reads and checks itself before any guest
 * code exists. A worker that boots once and then resets in place takes the file: the host then
 * keeps no copy of the pages (14 MiB) for the rare worker it starts later.
 */
export type SnapshotSource = SnapshotPages | { readonly file: SnapshotFile };

/**
 * Reads the snapshot and checks it against the SHA-256 the service verified: a file changed on
 * disk since then is refused rather than restored from an image nobody verified.
 * @throws when the file cannot be read or its hash differs
 */
export function readSnapshot(file: SnapshotFile): SnapshotPages {
  const bytes = readFileSync(file.path);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (sha256 !== file.sha256) {
    throw new Error(
      `Cannot restore Python's memory snapshot: the snapshot ${file.path} changed since it was checked (SHA-256 ${sha256}, expected ${file.sha256}); restart the service to rebuild it`,
    );
  }
  const snapshot = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return file.restore === 'sparse' ? { sparse: toSparse(snapshot) } : { dense: snapshot };
}

/** The pages of a source: read from the file (readSnapshot) when that is what was given. */
export function snapshotPages(source: SnapshotSource): SnapshotPages {
  return 'file' in source ? readSnapshot(source.file) : source;
}

/** Per-interpreter guards the import wrappers consult; mutable so that each call can set its own. */
export interface Guards {
  /** Heap growth beyond this many bytes is refused (MemoryError in Python). */
  heapLimitBytes: number;
  /** Set when a growth was refused, so that the call can be reported as MEMORY_LIMIT. */
  heapRefused: boolean;
}

export type Imports = Record<string, Record<string, unknown>>;
type Fn = (...args: unknown[]) => unknown;

/** Wraps the WASM imports that could leave the sandbox or grow memory without bound. */
function guardImports(imports: Imports, guards: Guards, memory: () => WebAssembly.Memory | undefined): void {
  const env = imports.env!;
  const refuse = (name: string, value: unknown): void => {
    if (name in env) env[name] = () => value;
  };
  // system() would reach child_process.spawnSync; dlopen() would run guest-supplied WASM with our
  // imports; sockets would reach the network through Emscripten's WebSocket bridge.
  refuse('_emscripten_system', -1);
  refuse('_dlopen_js', 0);
  refuse('_dlsym_js', 0);
  if ('_emscripten_dlopen_js' in env) {
    env._emscripten_dlopen_js = () => {
      throw new Error('dlopen is not available in this sandbox');
    };
  }
  for (const name of [
    '__syscall_socket',
    '__syscall_connect',
    '__syscall_bind',
    '__syscall_listen',
    '__syscall_accept4',
    '__syscall_sendto',
    '__syscall_sendmsg',
    '__syscall_recvfrom',
    '__syscall_recvmsg',
    '__syscall_getsockname',
    '__syscall_getsockopt',
  ]) {
    refuse(name, -EACCES);
  }
  refuse('getaddrinfo', EAI_FAIL);
  // Pyodide's hooks for JS-backed sockets, asked first by fcntl() and poll(): "not a socket, take
  // the ordinary path", without reading any JavaScript state.
  refuse('_try_fcntl64', 0);
  refuse('_maybe_poll_async', null);
  const resize = env.emscripten_resize_heap as Fn | undefined;
  if (resize !== undefined) {
    env.emscripten_resize_heap = (requested: unknown) => {
      const size = Number(requested) >>> 0;
      const current = memory()?.buffer.byteLength ?? 0;
      if (size > guards.heapLimitBytes && size > current) {
        guards.heapRefused = true;
        return false;
      }
      return resize(requested);
    };
  }
}

/** Thrown (into the WASM code that called it) by an import whose door is closed. */
export class ClosedDoorError extends Error {
  constructor(readonly door: string) {
    super(
      `The interpreter called the import "${door}", which is closed once the interpreter has booted (Pyodide's JavaScript bridge is not available in this sandbox)`,
    );
    this.name = 'ClosedDoorError';
  }
}

/**
 * The switch behind every import of pyodide.asm.wasm that is not a door (doors.ts): open while
 * Pyodide boots and the host prepares the interpreter, closed before any guest byte runs. A call
 * through a closed import records the name, tells `onTrip` (which ends the call and discards the
 * interpreter) and throws; the record stays even if WASM code catches the throw, so that the call
 * fails whatever the guest does next.
 */
export class ImportGate {
  closed = false;
  /** The first closed import called, if any. */
  tripped: string | undefined;
  onTrip: ((door: string) => void) | undefined;
  /** What gateImports did: the imports left open (doors) and the ones behind the switch. */
  readonly open = new Set<string>();
  readonly gated = new Set<string>();

  close(): void {
    this.closed = true;
  }

  trip(door: string): never {
    this.tripped ??= door;
    this.onTrip?.(door);
    throw new ClosedDoorError(door);
  }
}

function isWasmObject(value: object): boolean {
  return (
    value instanceof WebAssembly.Global ||
    value instanceof WebAssembly.Memory ||
    value instanceof WebAssembly.Table
  );
}

/** The function imports of a compiled Pyodide module (modules `env` and `wasi_snapshot_preview1`). */
export function functionImports(module: WebAssembly.Module): string[] {
  return WebAssembly.Module.imports(module)
    .filter((i) => i.kind === 'function')
    .map((i) => i.name);
}

/**
 * Puts every function of Emscripten's import object (`env` and `wasi_snapshot_preview1` are the
 * same object, `wasmImports`) that is not a door behind `gate`. The whole object is wrapped, not only
 * what the module imports: the dynamic linker resolves the module's `GOT.func` imports (GL and
 * console functions) from it after instantiation, and those become function-table entries. Fails
 * closed: an import of the module that is neither a door nor wrapped (e.g. not a plain function),
 * or a door the module does not import, stops the instantiation.
 */
export function gateImports(
  imports: Imports,
  gate: ImportGate,
  doors: Readonly<Record<string, string>>,
  imported: readonly string[],
): void {
  const wrappers = new WeakSet<object>();
  // One wrapper per function, not per name: the dynamic linker gives a function one table slot
  // however many names it has (GL aliases), and the snapshot's function pointers were made with
  // that layout (the builder runs without the gate).
  const wrapperOf = new Map<unknown, Fn>();
  const objects = new Set([imports.env, imports.wasi_snapshot_preview1].filter((o) => o !== undefined));
  for (const object of objects) {
    for (const name of Object.keys(object)) {
      const original = object[name];
      if (Object.hasOwn(doors, name)) {
        if (typeof original === 'function') gate.open.add(name);
        continue;
      }
      if (typeof original === 'object' && original !== null && !isWasmObject(original)) {
        // Not a plain function: a JSPI import (`WebAssembly.Suspending`, where the engine has JS
        // promise integration), which a JS wrapper cannot forward. Pyodide's JSPI serves only its
        // FFI (awaiting JS promises): closed from the start.
        const trap = (): never => gate.trip(name);
        Object.assign(trap, original);
        wrappers.add(trap);
        object[name] = trap;
        gate.gated.add(name);
        continue;
      }
      if (typeof original !== 'function' || wrappers.has(original)) continue;
      let wrapper = wrapperOf.get(original);
      if (wrapper === undefined) {
        const target = original as Fn;
        wrapper = function (this: unknown, ...args: unknown[]): unknown {
          if (gate.closed) gate.trip(name);
          return Reflect.apply(target, this, args);
        };
        // Emscripten reads `sig` (and friends) when it puts a JS function in the table.
        Object.assign(wrapper, original);
        wrappers.add(wrapper);
        wrapperOf.set(original, wrapper);
      }
      object[name] = wrapper;
      gate.gated.add(name);
    }
  }
  const names = new Set(imported);
  for (const name of Object.keys(doors)) {
    if (!names.has(name))
      throw new Error(`Cannot gate the imports: the door "${name}" is not an import of the module`);
  }
  for (const name of names) {
    const value = imports.env?.[name] ?? imports.wasi_snapshot_preview1?.[name];
    if (!Object.hasOwn(doors, name) && !(typeof value === 'function' && wrappers.has(value))) {
      throw new Error(`Cannot gate the imports: "${name}" is neither a door nor behind the gate`);
    }
  }
}

export type CreatePyodideModule = (settings: Record<string, unknown>) => Promise<Record<string, unknown>>;

interface EmscriptenApi {
  restoreSnapshot: (snapshot: Uint8Array) => unknown;
  config: { BUILD_ID: string };
}

/**
 * Builds the createPyodideModule option for loadPyodide: instantiates `module` (compiled once by
 * the caller) with guarded imports, and when `sparse` is given replaces Pyodide's dense
 * HEAP8.set restore with one that writes only the non-zero pages into the (zeroed) fresh memory.
 */
export function moduleFactory(options: {
  readonly create: CreatePyodideModule;
  readonly module: WebAssembly.Module;
  readonly guards: Guards;
  readonly sparse?: SparseSnapshot;
  readonly marks?: Record<string, number>;
  /** When given, every import that is not a door is put behind this gate (see gateImports). */
  readonly gate?: { readonly gate: ImportGate; readonly doors: Readonly<Record<string, string>> };
  /** Receives the instance (its exports are the C API the host calls once the gate is closed). */
  readonly onInstance?: (instance: WebAssembly.Instance, imports: Imports) => void;
}): CreatePyodideModule {
  // The snapshot's pages are read once, by the restore: kept in a variable the restore clears rather
  // than in `options` (which the returned function would keep alive with Pyodide's config), so that a
  // worker that boots once and resets in place can let them go (see interpreter-worker.ts).
  let sparse = options.sparse;
  const { create, module, guards, marks, gate, onInstance } = options;
  return async (settings) => {
    let memory: WebAssembly.Memory | undefined;
    const marker = Symbol('jsv-error');
    settings.instantiateWasm = (
      imports: Imports,
      done: (instance: WebAssembly.Instance, module: WebAssembly.Module) => void,
    ) => {
      // What Pyodide's own instantiateWasm adds (the exnref helper's fallback).
      imports.env!.Jsv_GetError_import = () => marker;
      imports.env!.JsvError_Check = (value: unknown) => value === marker;
      guardImports(imports, guards, () => memory);
      if (gate !== undefined) {
        const gating = performance.now();
        gateImports(imports, gate.gate, gate.doors, functionImports(module));
        if (marks !== undefined) marks.gateMs = performance.now() - gating;
      }
      const started = performance.now();
      WebAssembly.instantiate(module, imports as WebAssembly.Imports).then(
        (instance) => {
          memory = instance.exports.memory as WebAssembly.Memory;
          onInstance?.(instance, imports);
          if (marks !== undefined) marks.instantiateMs = performance.now() - started;
          done(instance, module);
        },
        (error: unknown) => {
          throw error;
        },
      );
      return {};
    };
    const created = await create(settings);
    if (sparse !== undefined) {
      const api = created.API as EmscriptenApi;
      api.restoreSnapshot = () => {
        const pages = sparse;
        sparse = undefined;
        if (pages === undefined)
          throw new Error('Cannot restore the snapshot twice: its pages were released');
        return restoreSparse(created, pages, api.config.BUILD_ID, marks);
      };
    }
    return created;
  };
}

function restoreSparse(
  created: Record<string, unknown>,
  sparse: SparseSnapshot,
  buildId: string,
  marks: Record<string, number> | undefined,
): unknown {
  const started = performance.now();
  const header = sparse.header;
  const words = new Uint32Array(header.buffer, header.byteOffset, 12);
  const jsonBytes = words[2]!;
  // Pyodide writes its build id (64 hex digits) as 8 words of 8 digits each, and checks it the same way.
  const id = Array.from(words.subarray(4, 12), (w) => w.toString(16).padStart(8, '0')).join('');
  if (id !== buildId.toLowerCase()) {
    throw new Error(`Snapshot build id mismatch (snapshot ${id}, engine ${buildId})`);
  }
  const json = JSON.parse(
    new TextDecoder().decode(header.subarray(SNAPSHOT_JSON_OFFSET, SNAPSHOT_JSON_OFFSET + jsonBytes)),
  ) as unknown;
  let heap = created.HEAP8 as Int8Array;
  if (heap.length < sparse.memoryBytes) {
    (created.growMemory as (size: number) => unknown)(sparse.memoryBytes);
    heap = created.HEAP8 as Int8Array;
  }
  const target = new Uint8Array(heap.buffer, heap.byteOffset, heap.length);
  const heapWords = new BigUint64Array(heap.buffer, heap.byteOffset, Math.floor(sparse.memoryBytes / 8));
  // Instantiation already wrote the data segments and the constructors ran: a page that is zero in
  // the snapshot may not be zero now. Reading an untouched page costs no memory (the kernel maps
  // its zero page); only pages found dirty are cleared.
  let zeroed = 0;
  const clear = (from: number, to: number): void => {
    for (let page = from; page < to; page += SPARSE_PAGE) {
      const end = Math.min(page + SPARSE_PAGE, to);
      for (let w = page / 8; w < end / 8; w++) {
        if (heapWords[w] !== 0n) {
          target.fill(0, page, end);
          zeroed++;
          break;
        }
      }
    }
  };
  let o = 0;
  let cursor = 0;
  for (let i = 0; i < sparse.runs.length; i += 2) {
    const offset = sparse.runs[i]!;
    const length = sparse.runs[i + 1]!;
    clear(cursor, offset);
    target.set(sparse.data.subarray(o, o + length), offset);
    o += length;
    cursor = offset + length;
  }
  clear(cursor, Math.floor(sparse.memoryBytes / 8) * 8);
  if (marks !== undefined) {
    marks.heapRestoreMs = performance.now() - started;
    marks.pagesCleared = zeroed;
  }
  return json;
}

/**
 * Removes builtin extension modules from CPython's inittab: both the static table and the runtime
 * copy CPython makes at start-up (which is what `_imp.create_builtin` searches). Each removed entry's
 * name pointer is aimed at an empty string, which no import can match.
 * @returns the names removed
 */
export function removeBuiltins(module: Record<string, unknown>, names: readonly string[]): string[] {
  const heap = module.HEAPU8 as Uint8Array;
  const u32 = new Uint32Array(heap.buffer, heap.byteOffset, heap.length >>> 2);
  // The exported symbol is the C variable `PyImport_Inittab`, a pointer to the table.
  const table = u32[((module._PyImport_Inittab as number) >>> 0) >>> 2]!;
  const readName = (ptr: number): string => {
    let end = ptr;
    while (heap[end] !== 0) end++;
    return new TextDecoder().decode(heap.subarray(ptr, end));
  };
  const entries: [number, number][] = [];
  for (let at = table >>> 2; u32[at] !== 0; at += 2) entries.push([u32[at]!, u32[at + 1]!]);
  if (entries.length < 4) throw new Error('Cannot read the inittab');
  const tables = [table >>> 2];
  // The runtime copy holds the same (name, init) pairs at another address.
  const [n0, f0] = entries[0]!;
  const [n1, f1] = entries[1]!;
  for (let i = 0; i < u32.length - 3; i++) {
    if (u32[i] === n0 && u32[i + 1] === f0 && u32[i + 2] === n1 && u32[i + 3] === f1 && i !== table >>> 2) {
      tables.push(i);
    }
  }
  if (tables.length < 2) throw new Error("Cannot find CPython's runtime copy of the inittab");
  const removed: string[] = [];
  for (const start of tables) {
    for (let at = start; u32[at] !== 0; at += 2) {
      const namePtr = u32[at]!;
      const name = readName(namePtr);
      if (names.includes(name)) {
        u32[at] = namePtr + name.length; // the terminating NUL: an empty name
        if (start === tables[0]) removed.push(name);
      }
    }
  }
  return removed;
}

/**
 * Pyodide reads `process.binding('constants').fs` at start-up, and the permission model forbids
 * process.binding; this gives it the same constants from the public API and nothing else.
 */
export function shimProcessBinding(fsConstants: Record<string, number>): void {
  const proc = process as unknown as { binding: (name: string) => unknown };
  proc.binding = (name: string) => {
    if (name === 'constants') return { fs: fsConstants };
    throw new Error(`process.binding('${name}') is not available`);
  };
}

/**
 * Runs `load` (a loadPyodide call whose createPyodideModule instantiates the host's compiled module)
 * without Pyodide's loader reading pyodide.asm.wasm. The loader starts reading the 9.6 MB binary
 * for its own instantiateWasm as soon as it builds its settings, before our createPyodideModule
 * replaces that function: the bytes were read and dropped for every interpreter, and stayed in the
 * idle worker's memory until it collected. Its only way out is the one it takes for builds with a
 * WasmOffsetConverter (then it leaves instantiateWasm to the caller), so that global exists, empty,
 * while the loader builds its settings, and not after. Nothing else in this Pyodide reads it (a test loads through it).
 */
export async function withoutLoaderWasmRead<T>(load: () => Promise<T>): Promise<T> {
  const global = globalThis as Record<string, unknown>;
  if ('WasmOffsetConverter' in global) return load();
  global.WasmOffsetConverter = Object.freeze(Object.create(null));
  try {
    return await load();
  } finally {
    delete global.WasmOffsetConverter;
  }
}

/** Pyodide's Emscripten glue (pyodide.asm.mjs), rewritten to run as a classic script. */
export interface Glue {
  /** A script whose completion value is `(importer) => createPyodideModule`. */
  readonly source: string;
  readonly filename: string;
  /** What was changed, for readiness details. */
  readonly patches: readonly string[];
}

const GOT_LOOP =
  'var updateGOT=(exports,replace)=>{for(var symName in exports){if(isInternalSym(symName)){continue}';

/**
 * Rewrites the glue so that (1) it can be compiled with vm.Script, whose V8 code cache the host
 * builds once and hands to every worker — ES modules cannot take a code cache on Node 20 — and
 * (2) dynamic linking skips giving every one of the main module's thousands of exports a function
 * table slot and a GOT global (`updateGOT`): only the GOT entries the module itself imports get
 * values, which is all a main module with dlopen refused needs. Because that changes the table
 * layout, the snapshot builder must use the same glue (it does), and the snapshot key hashes this
 * file. Every rewrite is checked; a glue that does not match is used as it is.
 */
export function rewriteGlue(original: string, fileUrl: string): Glue {
  const patches: string[] = [];
  let body = original.replace(/export default _createPyodideModule;\s*$/, '');
  if (body === original)
    throw new Error('Unexpected Pyodide glue: no default export of _createPyodideModule');
  body = body.replaceAll('import.meta.url', JSON.stringify(fileUrl));
  body = body.replaceAll('await import(', 'await __polyevalImport(');
  if (body.split(GOT_LOOP).length === 2) {
    body = body.replace(
      GOT_LOOP,
      `${GOT_LOOP.slice(0, -'continue}'.length)}continue}if(!(symName in GOT)){continue}`,
    );
    patches.push('updateGOT: only imported GOT entries');
  }
  patches.push('classic script with V8 code cache');
  return {
    source: `(function (__polyevalImport) {\n${body}\nreturn _createPyodideModule;\n})`,
    filename: fileUrl.replace(/\.mjs$/, '.polyeval.js'),
    patches,
  };
}

/** Modules the glue may import; child_process and ws are replaced by stubs (never needed here). */
function glueImporter(): (specifier: string) => Promise<unknown> {
  const refuse = (name: string) => () => {
    throw new Error(`${name} is not available in this sandbox`);
  };
  const stubs: Record<string, unknown> = {
    'node:child_process': {
      spawn: refuse('child_process'),
      spawnSync: refuse('child_process'),
      execSync: refuse('child_process'),
    },
    ws: {},
  };
  const allowed = new Set([
    'node:module',
    'node:url',
    'node:fs',
    'node:fs/promises',
    'node:vm',
    'node:path',
    'node:crypto',
  ]);
  return async (specifier: string) => {
    if (Object.hasOwn(stubs, specifier)) return stubs[specifier];
    if (!allowed.has(specifier)) throw new Error(`Cannot import "${specifier}" in this sandbox`);
    const module = (await import(specifier)) as Record<string, unknown>;
    if (specifier !== 'node:module') return module;
    // Emscripten's own require(): the same, minus child_process and ws.
    const createRequire = module.createRequire as (url: string) => (id: string) => unknown;
    return {
      ...module,
      createRequire: (url: string) => {
        const require = createRequire(url);
        return (id: string) => {
          const key = id.startsWith('node:') ? id : `node:${id}`;
          if (Object.hasOwn(stubs, key)) return stubs[key];
          if (Object.hasOwn(stubs, id)) return stubs[id];
          return require(id);
        };
      },
    };
  };
}

/** Compiles the rewritten glue (with the host's code cache when given) into a createPyodideModule. */
export function evaluateGlue(
  vm: typeof import('node:vm'),
  glue: Glue,
  cachedData?: Uint8Array,
): { create: CreatePyodideModule; cacheRejected: boolean; createCachedData: () => Uint8Array } {
  const script = new vm.Script(glue.source, {
    filename: glue.filename,
    ...(cachedData === undefined ? {} : { cachedData }),
  });
  const factory = script.runInThisContext() as (
    importer: (specifier: string) => Promise<unknown>,
  ) => CreatePyodideModule;
  return {
    create: factory(glueImporter()),
    cacheRejected: cachedData !== undefined && script.cachedDataRejected === true,
    // After the glue ran, V8's cache also holds the functions it compiled lazily (glue-cache-worker.ts).
    createCachedData: () => script.createCachedData(),
  };
}

// Reset in place: the golden image of a booted, sealed Python interpreter and the code that puts it
// back after each call (POLYEVAL_PYTHON_INTERPRETER_MODE=reset, see README "Reset in place"). What a
// guest can change lives in: the WASM linear memory, the module's mutable globals (the stack pointer
// and three more; the binary patch below exports the ones the module keeps to itself), its tables
// (the function table and two externref tables, exported the same way), the GOT globals the module
// imports, and Emscripten's in-memory filesystem in the worker's JavaScript (MEMFS nodes and file
// bytes, the path hash table, open descriptors, the cwd, the inode counter), and the few pieces of
// the glue's own JavaScript state that the open doors reach (the pipe and socket name counters, the
// terminals' line buffers: `glue`). Everything else in the worker's realm is unreachable from Python
// once the import gate is closed (engine.ts, doors.ts).
// `restore` puts each part back; `verify` compares each part with the image, byte for byte and
// reference for reference, and lists what differs — a mismatch discards the worker.

import { writeDifferingPages } from '../../src/executor/host/page-writes.js';
import { leb, readLeb } from './engine.js';

/** Prefix of the exports the binary patch adds (mutable globals and tables the module does not export). */
export const STATE_EXPORT_PREFIX = '__polyeval_state_';

/** The parts of a reset, each of which a test may skip (RESET_SKIP) to prove verification catches it. */
export const RESET_PARTS = ['memory', 'globals', 'tables', 'files', 'descriptors', 'cwd', 'glue'] as const;
export type ResetPart = (typeof RESET_PARTS)[number];

function skipLimits(binary: Uint8Array, at: number): number {
  const flags = binary[at]!;
  let p = readLeb(binary, at + 1).next;
  if (flags & 1) p = readLeb(binary, p).next;
  return p;
}

function skipInitExpr(binary: Uint8Array, at: number): number {
  let p = at;
  for (;;) {
    const op = binary[p++]!;
    if (op === 0x0b) return p;
    if (op === 0x41 || op === 0x42 || op === 0x23 || op === 0xd2) {
      // i32/i64.const take a signed LEB, global.get and ref.func an index: the same skipping.
      while ((binary[p++]! & 0x80) !== 0);
    } else if (op === 0x43) p += 4;
    else if (op === 0x44) p += 8;
    else if (op === 0xd0) p++;
    else if (op < 0x6a || op > 0x7e)
      throw new Error(`Unexpected opcode 0x${op.toString(16)} in a constant expression`);
  }
}

/**
 * Returns a copy of a WASM binary that also exports every mutable global and every table it
 * defines, as `${STATE_EXPORT_PREFIX}global_<index>` and `..._table_<index>`, so that the reset can
 * read and restore them (Pyodide's hiwire externref tables are not exported). Adding exports
 * changes no code, memory layout or import; the glue ignores export names it does not know.
 */
export function exportHiddenState(binary: Uint8Array): { binary: Uint8Array<ArrayBuffer>; added: string[] } {
  let importedGlobals = 0;
  let importedTables = 0;
  const mutableGlobals: number[] = [];
  let definedTables = 0;
  let exportSection: { start: number; end: number } | undefined;
  const sections: { id: number; start: number; end: number; headerStart: number }[] = [];
  let p = 8;
  while (p < binary.length) {
    const headerStart = p;
    const id = binary[p]!;
    const size = readLeb(binary, p + 1);
    const start = size.next;
    const end = start + size.value;
    sections.push({ id, start, end, headerStart });
    let q = start;
    const name = (): void => {
      const n = readLeb(binary, q);
      q = n.next + n.value;
    };
    if (id === 2) {
      const count = readLeb(binary, q);
      q = count.next;
      for (let i = 0; i < count.value; i++) {
        name();
        name();
        const kind = binary[q++]!;
        if (kind === 0) q = readLeb(binary, q).next;
        else if (kind === 1) {
          q = skipLimits(binary, q + 1);
          importedTables++;
        } else if (kind === 2) q = skipLimits(binary, q);
        else if (kind === 3) {
          q += 2;
          importedGlobals++;
        } else if (kind === 4) q = readLeb(binary, q + 1).next;
        else throw new Error(`Unexpected import kind ${kind}`);
      }
    } else if (id === 4) {
      const count = readLeb(binary, q);
      definedTables = count.value;
    } else if (id === 6) {
      const count = readLeb(binary, q);
      q = count.next;
      for (let i = 0; i < count.value; i++) {
        const type = binary[q]!;
        if (type === 0x63 || type === 0x64) throw new Error('Unexpected typed reference global');
        const mutable = binary[q + 1]! === 1;
        q = skipInitExpr(binary, q + 2);
        if (mutable) mutableGlobals.push(importedGlobals + i);
      }
    } else if (id === 7) {
      exportSection = { start, end };
    }
    p = end;
  }
  if (exportSection === undefined) throw new Error('The WASM binary has no export section');
  const extra: number[] = [];
  const added: string[] = [];
  const addExport = (kind: number, index: number, label: string): void => {
    const name = new TextEncoder().encode(`${STATE_EXPORT_PREFIX}${label}_${index}`);
    extra.push(...leb(name.length), ...name, kind, ...leb(index));
    added.push(`${STATE_EXPORT_PREFIX}${label}_${index}`);
  };
  for (const index of mutableGlobals) addExport(3, index, 'global');
  for (let i = 0; i < definedTables; i++) addExport(1, importedTables + i, 'table');
  const count = readLeb(binary, exportSection.start);
  const body = [
    ...leb(count.value + added.length),
    ...binary.subarray(count.next, exportSection.end),
    ...extra,
  ];
  const parts: Uint8Array[] = [binary.subarray(0, 8)];
  for (const section of sections) {
    if (section.id === 7) parts.push(Uint8Array.from([7, ...leb(body.length)]), Uint8Array.from(body));
    else parts.push(binary.subarray(section.headerStart, section.end));
  }
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let o = 0;
  for (const part of parts) {
    out.set(part, o);
    o += part.length;
  }
  return { binary: out, added };
}

/** The parts of Emscripten's FS object the reset reads and writes. */
export interface ResetFs {
  root: FsNodeLike;
  nameTable: (FsNodeLike | null | undefined)[];
  streams: (object | null | undefined)[];
  nextInode: number;
  currentPath: string;
  isDir(mode: number): boolean;
  isFile(mode: number): boolean;
}

interface FsNodeLike {
  mode: number;
  contents?: unknown;
  usedBytes?: number;
  mounted?: { root: FsNodeLike } | null;
  name_next?: FsNodeLike | null | undefined;
}

/**
 * State of Emscripten's JavaScript glue, outside the FS object, that a guest changes through the
 * open doors (a syscall's JS implementation keeps it in an object of the glue, not in memory).
 */
export interface ResetGlue {
  /**
   * Name counters, each the `current` property of a function (PIPEFS.nextname, SOCKFS.nextname):
   * `os.readlink("/proc/self/fd/N")` of a pipe says "pipe[K]", K = pipes made before on this worker.
   */
  readonly counters: readonly { current?: number }[];
  /** TTY.ttys: per terminal device, its line buffers (`input`, `output`: arrays) and ops. */
  readonly ttys: Record<string, object>;
}

/** What the reset needs from the interpreter: its instance, imported mutable globals, FS and glue. */
export interface ResetTarget {
  readonly exports: WebAssembly.Exports;
  /** The module's imported globals (GOT entries), by import name. */
  readonly importedGlobals: ReadonlyMap<string, WebAssembly.Global>;
  readonly fs: ResetFs;
  readonly glue: ResetGlue;
}

interface NodeImage {
  readonly node: FsNodeLike;
  /** Own properties except `contents` (restored from `entries` / `bytes`). */
  readonly props: [string, unknown][];
  readonly entries?: [string, FsNodeLike][];
  readonly contents?: unknown;
  readonly bytes?: Uint8Array;
}

interface StreamImage {
  readonly stream: Record<string, unknown>;
  readonly props: [string, unknown][];
  readonly shared: [string, unknown][] | undefined;
}

function ownProps(object: object, skip: readonly string[] = []): [string, unknown][] {
  return Object.keys(object)
    .filter((key) => !skip.includes(key))
    .map((key) => [key, (object as Record<string, unknown>)[key]]);
}

function putProps(object: object, props: readonly [string, unknown][], skip: readonly string[] = []): void {
  const target = object as Record<string, unknown>;
  const keep = new Set(props.map(([key]) => key));
  for (const key of Object.keys(target)) {
    if (!keep.has(key) && !skip.includes(key)) delete target[key];
  }
  for (const [key, value] of props) {
    if (target[key] !== value) target[key] = value;
  }
}

function sameProps(
  object: object,
  props: readonly [string, unknown][],
  skip: readonly string[] = [],
): boolean {
  const keys = Object.keys(object).filter((key) => !skip.includes(key));
  if (keys.length !== props.length) return false;
  const target = object as Record<string, unknown>;
  for (let i = 0; i < props.length; i++) {
    const [key, value] = props[i]!;
    if (keys[i] !== key || !Object.is(target[key], value)) return false;
  }
  return true;
}

function sameEntries(contents: unknown, entries: readonly [string, FsNodeLike][]): boolean {
  if (typeof contents !== 'object' || contents === null) return false;
  const keys = Object.keys(contents);
  if (keys.length !== entries.length) return false;
  const dir = contents as Record<string, unknown>;
  for (let i = 0; i < entries.length; i++) {
    const [name, node] = entries[i]!;
    if (keys[i] !== name || dir[name] !== node) return false;
  }
  return true;
}

function bytesOf(node: FsNodeLike): Uint8Array | undefined {
  const contents = node.contents;
  if (!(contents instanceof Uint8Array)) return undefined;
  return contents.subarray(0, node.usedBytes ?? contents.length);
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/** Element by element, holes included (`some` would skip the holes of a sparse array). */
function sameSlots(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const NODE_SKIP = ['contents'] as const;

/** An object's own properties, arrays copied (a terminal's line buffers are arrays changed in place). */
function propsWithArrays(object: object): [string, unknown][] {
  return ownProps(object).map(([key, value]) => [key, Array.isArray(value) ? value.slice() : value]);
}

function putPropsWithArrays(object: object, props: readonly [string, unknown][]): void {
  putProps(
    object,
    props.map(([key, value]) => [key, Array.isArray(value) ? value.slice() : value]),
  );
}

function samePropsWithArrays(object: object, props: readonly [string, unknown][]): boolean {
  const keys = Object.keys(object);
  if (keys.length !== props.length) return false;
  const target = object as Record<string, unknown>;
  for (let i = 0; i < props.length; i++) {
    const [key, value] = props[i]!;
    const now = target[key];
    if (keys[i] !== key) return false;
    if (Array.isArray(value)) {
      if (!Array.isArray(now) || !sameSlots(now, value)) return false;
    } else if (!Object.is(now, value)) return false;
  }
  return true;
}

/**
 * Granularity of the golden memory: the image keeps only its non-zero chunks, and a restore
 * compares before it writes, chunk by chunk. 64 KiB: small enough that a zero chunk the guest
 * never touched stays the kernel's zero page (read, never written, so never resident), large
 * enough that the ~480 comparisons of a 30 MiB heap cost little more than one memcmp of it.
 */
export const MEMORY_CHUNK = 64 * 1024;
const ZERO_CHUNK = new Uint8Array(MEMORY_CHUNK);

/**
 * The golden linear memory, sparse: `data` holds the non-zero chunks, concatenated; `at[i]` is the
 * offset in `data` of chunk i, or -1 when chunk i is all zero. A zero chunk then costs no memory in
 * the image, and (restore writes only what differs) none in the worker's linear memory either.
 */
class SparseMemory {
  readonly bytes: number;
  private readonly at: Int32Array;
  private readonly data: Uint8Array;

  constructor(view: Uint8Array) {
    this.bytes = view.length;
    const chunks = Math.ceil(view.length / MEMORY_CHUNK);
    this.at = new Int32Array(chunks).fill(-1);
    let stored = 0;
    for (let i = 0; i < chunks; i++) {
      const chunk = chunkOf(view, i);
      if (isZero(chunk)) continue;
      this.at[i] = stored;
      stored += chunk.length;
    }
    // Zero-filled and never written where the image is zero: its zero pages cost no memory.
    this.data = new Uint8Array(stored);
    for (let i = 0; i < chunks; i++) {
      const offset = this.at[i]!;
      if (offset < 0) continue;
      const chunk = chunkOf(view, i);
      writeDifferingPages(this.data.subarray(offset, offset + chunk.length), chunk);
    }
  }

  /** Bytes the image holds. */
  get storedBytes(): number {
    return this.data.length;
  }

  /** The image's chunk i (a view), or undefined when it is all zero. */
  chunk(i: number, length: number): Uint8Array | undefined {
    const offset = this.at[i]!;
    return offset < 0 ? undefined : this.data.subarray(offset, offset + length);
  }

  /**
   * Puts memory back to the image, writing only the chunks that differ (and zeroing any non-zero
   * chunk of memory grown since). Returns the number of chunks written.
   */
  restore(view: Uint8Array): number {
    let written = 0;
    const chunks = Math.ceil(view.length / MEMORY_CHUNK);
    for (let i = 0; i < chunks; i++) {
      const current = chunkOf(view, i);
      const golden = i < this.at.length ? this.chunk(i, current.length) : undefined;
      if (golden === undefined) {
        if (!isZero(current)) {
          writeDifferingPages(current);
          written++;
        }
      } else if (Buffer.compare(current, golden) !== 0) {
        writeDifferingPages(current, golden);
        written++;
      }
    }
    return written;
  }

  /** The first byte where memory differs from the image (grown memory must be zero), or -1. */
  firstDifference(view: Uint8Array): number {
    const chunks = Math.ceil(view.length / MEMORY_CHUNK);
    for (let i = 0; i < chunks; i++) {
      const current = chunkOf(view, i);
      const golden = i < this.at.length ? this.chunk(i, current.length) : undefined;
      const expected = golden ?? ZERO_CHUNK.subarray(0, current.length);
      if (Buffer.compare(current, expected) !== 0) {
        let at = 0;
        while (current[at] === expected[at]) at++;
        return i * MEMORY_CHUNK + at;
      }
    }
    return -1;
  }
}

function chunkOf(view: Uint8Array, i: number): Uint8Array {
  return view.subarray(i * MEMORY_CHUNK, Math.min((i + 1) * MEMORY_CHUNK, view.length));
}

function isZero(chunk: Uint8Array): boolean {
  return Buffer.compare(chunk, ZERO_CHUNK.subarray(0, chunk.length)) === 0;
}

/**
 * The image of one interpreter at a moment with no guest frame on the stack (after boot, the doors
 * closed and fresh() run). Holds copies, never views: nothing the guest does later changes it.
 */
export class GoldenImage {
  private readonly memory: WebAssembly.Memory;
  private readonly heap: SparseMemory;
  private readonly globals: [WebAssembly.Global, unknown][] = [];
  private readonly tables: [WebAssembly.Table, unknown[]][] = [];
  private readonly nodes: NodeImage[] = [];
  private readonly nameTable: (FsNodeLike | null | undefined)[];
  private readonly hashed: [FsNodeLike, FsNodeLike | null | undefined][] = [];
  private readonly streams: (object | null | undefined)[];
  private readonly streamImages: StreamImage[] = [];
  private readonly nextInode: number;
  private readonly currentPath: string;
  private readonly counters: [{ current?: number }, number | undefined][];
  private readonly ttys: [string, object, [string, unknown][]][];
  /** Sizes, for readiness facts and the report. */
  readonly facts: Record<string, number>;
  /** How long each part of the last restore took (ms), for readiness details. */
  readonly lastTimes: Record<string, number> = {};
  /** How many chunks of linear memory the last restore wrote (MEMORY_CHUNK bytes each). */
  lastChunksWritten = 0;

  constructor(private readonly target: ResetTarget) {
    const { exports, fs } = target;
    const memory = exports.memory;
    if (!(memory instanceof WebAssembly.Memory)) throw new Error('Cannot take the golden image: no memory');
    this.memory = memory;
    this.heap = new SparseMemory(new Uint8Array(memory.buffer));
    let fileBytes = 0;
    for (const [name, value] of Object.entries(exports)) {
      if (!name.startsWith(STATE_EXPORT_PREFIX)) continue;
      if (value instanceof WebAssembly.Global) this.globals.push([value, value.value]);
      else if (value instanceof WebAssembly.Table) {
        const items: unknown[] = [];
        for (let i = 0; i < value.length; i++) items.push(value.get(i));
        this.tables.push([value, items]);
      }
    }
    if (this.globals.length === 0 || this.tables.length === 0)
      throw new Error(
        'Cannot take the golden image: the module does not export its hidden state (patch missing)',
      );
    for (const global of target.importedGlobals.values()) this.globals.push([global, global.value]);
    // MEMFS: every node reachable from the root (mounts included), with its properties and bytes.
    const seen = new Set<FsNodeLike>();
    const walk = (node: FsNodeLike): void => {
      if (seen.has(node)) return;
      seen.add(node);
      const props = ownProps(node, NODE_SKIP);
      if (fs.isDir(node.mode) && typeof node.contents === 'object' && node.contents !== null) {
        const entries = Object.entries(node.contents as Record<string, FsNodeLike>);
        this.nodes.push({ node, props, entries });
        for (const [, child] of entries) walk(child);
      } else {
        const bytes = bytesOf(node);
        fileBytes += bytes?.length ?? 0;
        this.nodes.push(
          bytes === undefined
            ? { node, props, contents: node.contents }
            : { node, props, bytes: bytes.slice() },
        );
      }
      if (node.mounted) walk(node.mounted.root);
    };
    walk(fs.root);
    this.nameTable = fs.nameTable.slice();
    for (const head of this.nameTable) {
      for (let node = head; node; node = node.name_next) this.hashed.push([node, node.name_next]);
    }
    this.streams = fs.streams.slice();
    for (const stream of this.streams) {
      if (stream === null || stream === undefined) continue;
      const record = stream as Record<string, unknown>;
      const shared = record.shared;
      this.streamImages.push({
        stream: record,
        props: ownProps(record),
        shared: typeof shared === 'object' && shared !== null ? ownProps(shared) : undefined,
      });
    }
    this.nextInode = fs.nextInode;
    this.currentPath = fs.currentPath;
    this.counters = target.glue.counters.map((counter) => [counter, counter.current]);
    this.ttys = Object.entries(target.glue.ttys).map(([dev, tty]) => [dev, tty, propsWithArrays(tty)]);
    this.facts = {
      memoryBytes: this.heap.bytes,
      memoryStoredBytes: this.heap.storedBytes,
      globals: this.globals.length,
      tableSlots: this.tables.reduce((n, [, items]) => n + items.length, 0),
      fsNodes: this.nodes.length,
      fsFileBytes: fileBytes,
    };
  }

  /**
   * Puts every part back (except those in `skip`, a test-only knob). Returns the parts that cannot
   * be put back (a table that grew: tables never shrink), in which case the worker must go.
   */
  restore(skip: ReadonlySet<ResetPart> = new Set()): string[] {
    const unrestorable: string[] = [];
    const { fs } = this.target;
    let t = performance.now();
    const lap = (part: string): void => {
      const now = performance.now();
      this.lastTimes[part] = now - t;
      t = now;
    };
    if (!skip.has('memory')) {
      // Memory never shrinks: what grew is zeroed (a worker that grew past the threshold is discarded).
      this.lastChunksWritten = this.heap.restore(new Uint8Array(this.memory.buffer));
    }
    lap('memory');
    if (!skip.has('globals')) {
      for (const [global, value] of this.globals) {
        if (!Object.is(global.value, value)) global.value = value;
      }
    }
    lap('globals');
    if (!skip.has('tables')) {
      for (const [table, items] of this.tables) {
        if (table.length !== items.length) {
          unrestorable.push(`a table grew from ${items.length} to ${table.length} slots`);
          continue;
        }
        for (let i = 0; i < items.length; i++) {
          if (table.get(i) !== items[i]) table.set(i, items[i]);
        }
      }
    }
    lap('tables');
    if (!skip.has('files')) {
      for (const image of this.nodes) {
        const node = image.node;
        putProps(node, image.props, NODE_SKIP);
        if (image.entries !== undefined) {
          if (!sameEntries(node.contents, image.entries)) node.contents = Object.fromEntries(image.entries);
        } else if (image.bytes !== undefined) {
          if (!sameBytes(bytesOf(node), image.bytes)) node.contents = image.bytes.slice();
        } else if (node.contents !== image.contents) {
          node.contents = image.contents;
        }
      }
      fs.nameTable = this.nameTable.slice();
      for (const [node, next] of this.hashed) {
        if (node.name_next !== next) node.name_next = next;
      }
      fs.nextInode = this.nextInode;
    }
    if (!skip.has('descriptors')) {
      fs.streams = this.streams.slice();
      for (const image of this.streamImages) {
        putProps(image.stream, image.props);
        const shared = image.stream.shared;
        if (image.shared !== undefined && typeof shared === 'object' && shared !== null)
          putProps(shared, image.shared);
      }
    }
    if (!skip.has('cwd')) fs.currentPath = this.currentPath;
    if (!skip.has('glue')) {
      for (const [counter, value] of this.counters) {
        if (value === undefined) delete counter.current;
        else counter.current = value;
      }
      const ttys = this.target.glue.ttys as Record<string, object>;
      for (const dev of Object.keys(ttys)) delete ttys[dev];
      for (const [dev, tty, props] of this.ttys) {
        putPropsWithArrays(tty, props);
        ttys[dev] = tty;
      }
    }
    lap('files');
    return unrestorable;
  }

  /** Compares every part with the image; returns what differs (empty: identical). */
  verify(): string[] {
    const found: string[] = [];
    const { fs } = this.target;
    const view = new Uint8Array(this.memory.buffer);
    const at = this.heap.firstDifference(view);
    if (at >= this.heap.bytes) found.push('grown linear memory is not zero');
    else if (at >= 0) found.push(`linear memory differs (first at byte ${at})`);
    const globals = this.globals.filter(([global, value]) => !Object.is(global.value, value)).length;
    if (globals > 0) found.push(`${globals} global(s) differ`);
    for (const [table, items] of this.tables) {
      if (table.length !== items.length) found.push(`a table has ${table.length} slots, not ${items.length}`);
      let differ = 0;
      for (let i = 0; i < Math.min(items.length, table.length); i++) if (table.get(i) !== items[i]) differ++;
      if (differ > 0) found.push(`${differ} table slot(s) differ`);
    }
    // The filesystem: the same nodes, properties, directory entries and bytes, reachable from the root.
    let nodes = 0;
    let files = 0;
    for (const image of this.nodes) {
      const node = image.node;
      if (!sameProps(node, image.props, NODE_SKIP)) nodes++;
      else if (image.entries !== undefined ? !sameEntries(node.contents, image.entries) : false) nodes++;
      else if (image.bytes !== undefined ? !sameBytes(bytesOf(node), image.bytes) : false) files++;
      else if (image.entries === undefined && image.bytes === undefined && node.contents !== image.contents)
        nodes++;
    }
    if (nodes > 0) found.push(`${nodes} filesystem node(s) differ`);
    if (files > 0) found.push(`${files} file(s) hold other bytes`);
    const table = fs.nameTable;
    if (!sameSlots(table, this.nameTable)) found.push("the filesystem's name table differs");
    else if (this.hashed.some(([node, next]) => node.name_next !== next))
      found.push("the filesystem's name chains differ");
    if (fs.nextInode !== this.nextInode) found.push('the inode counter differs');
    const streams = fs.streams;
    if (!sameSlots(streams, this.streams)) found.push('the open file descriptors differ');
    else if (
      this.streamImages.some(
        (image) =>
          !sameProps(image.stream, image.props) ||
          (image.shared !== undefined && !sameProps(image.stream.shared as object, image.shared)),
      )
    )
      found.push("an open descriptor's state differs");
    if (fs.currentPath !== this.currentPath) found.push('the working directory differs');
    if (this.counters.some(([counter, value]) => counter.current !== value))
      found.push("the glue's pipe or socket name counter differs");
    const ttys = this.target.glue.ttys as Record<string, object>;
    if (
      Object.keys(ttys).length !== this.ttys.length ||
      this.ttys.some(([dev, tty, props]) => ttys[dev] !== tty || !samePropsWithArrays(tty, props))
    )
      found.push("a terminal's line buffer differs");
    return found;
  }
}

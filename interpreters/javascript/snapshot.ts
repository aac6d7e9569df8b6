// Heap snapshots of a QuickJS instance: one runtime + context is built per WASM instance, its
// memory is copied once, and before every call the memory is put back byte for byte, so that each
// call meets a never-used runtime and context (as if just created) for ~5 µs instead of ~300 µs of
// creating and disposing one.
//
// Why this is exact: the instance's whole mutable state is its linear memory plus one WASM global,
// the C stack pointer (the module has exactly one global; its function table is never written and
// not exported). Between calls no WASM frame is active and the stack pointer is back at its base,
// which is checked before every restore. Memory is restored in three parts: [0, lowEnd) (data and
// bss: the allocator's state and the heap-top word among them), the heap up to the snapshot's heap
// top, and zeros from there up to wherever the call took the heap top (it never moves down in this
// build). The C stack between lowEnd and its base holds only dead frames between calls.
//
// What would go stale outside memory is handled by the caller (runner.ts): handles made during a
// call are dropped, never disposed (disposing would free restored memory); host functions are all
// created before the snapshot and the library's freeHostRef is disabled (a guest that deletes
// console and lets it be collected would otherwise unregister a function the restored heap still
// uses); the context's lazily cached handles are created before the snapshot.
//
// QuickJS seeds Math.random per context from gettimeofday (millisecond resolution: back-to-back
// contexts often got the same sequence); here every restore writes a fresh seed from
// crypto.getRandomValues into the context's random state.
//
// The layout facts (export names, stack size) belong to one build of the engine: they are listed by
// the SHA-256 of its .wasm file, and the heap-top word and random-state offset are rediscovered and
// self-tested in every worker. An unknown build, or any failed check, means the runner falls back
// to a new runtime and context per call (runner.ts).

import type { QuickJSContext } from 'quickjs-emscripten-core';
import { writeDifferingPages } from '../../src/executor/host/page-writes.js';

/** Builds whose layout is known: export names (minified by emscripten) and the C stack size. */
export const KNOWN_BUILDS: Readonly<
  Record<
    string,
    {
      readonly stackPointer: string;
      readonly malloc: string;
      readonly free: string;
      readonly stackBytes: number;
    }
  >
> = {
  // @jitl/quickjs-wasmfile-release-sync 0.32.0 (emscripten-module.wasm)
  '105c3bed22d457e43e3d1c3c1c6959fda62a8fe06f0fc8a985303c3a2be72232': {
    stackPointer: 'Oa', // emscripten_stack_get_current: global.get 0
    malloc: 'v',
    free: 'M',
    stackBytes: 5 * 1024 * 1024,
  },
};

export interface RawExports {
  readonly getSP: () => number;
  readonly malloc: (bytes: number) => number;
  readonly free: (pointer: number) => void;
}

/** Picks the raw exports of a known build out of an instance's exports; undefined if not usable. */
export function rawExports(
  build: (typeof KNOWN_BUILDS)[string],
  exports: WebAssembly.Exports,
): RawExports | undefined {
  const fn = (name: string) => {
    const f = exports[name];
    return typeof f === 'function' ? (f as (...args: number[]) => number) : undefined;
  };
  const getSP = fn(build.stackPointer);
  const malloc = fn(build.malloc);
  const free = fn(build.free);
  if (getSP === undefined || malloc === undefined || free === undefined) return undefined;
  return { getSP: () => getSP(), malloc: (n) => malloc(n), free: (p) => void free(p) };
}

/** Where things are in one build's memory: learnt once per worker, checked by every snapshot. */
export interface Layout {
  /** The C stack pointer between calls; the heap starts here. */
  readonly stackBase: number;
  /** End of data + bss (= stackBase - stack size): restored whole. */
  readonly lowEnd: number;
  /** Address of the word holding the heap top (the sbrk break). */
  readonly heapTopAddress: number;
  /** Offset of the context's 64-bit Math.random state inside JSContext. */
  readonly randomOffset: number;
}

class SnapshotError extends Error {}

const u32 = (memory: WebAssembly.Memory, address: number): number =>
  new Uint32Array(memory.buffer, address, 1)[0]!;

/**
 * Finds the heap-top word: the only word of [0, lowEnd) that rises past two big blocks the
 * allocator takes from the system and does not move back when the last one is freed (the
 * allocator's own top-chunk pointer does). Leaves the heap dirty: restore afterwards.
 */
function findHeapTop(memory: WebAssembly.Memory, raw: RawExports, lowEnd: number): number {
  const words = () => new Uint32Array(memory.buffer, 0, lowEnd >> 2).slice();
  let candidates: number[] | undefined;
  let last = 0;
  for (const size of [1 << 20, 2 << 20]) {
    const before = words();
    last = raw.malloc(size);
    if (last === 0) throw new SnapshotError('heap-top discovery: malloc failed');
    const after = words();
    const end = memory.buffer.byteLength;
    const hits: number[] = [];
    for (let i = 0; i < after.length; i++) {
      if (after[i]! > before[i]! && after[i]! >= last + size && after[i]! <= end) hits.push(i);
    }
    candidates = candidates === undefined ? hits : candidates.filter((i) => hits.includes(i));
  }
  const before = words();
  raw.free(last);
  const after = words();
  const found = (candidates ?? []).filter((i) => after[i] === before[i]);
  if (found.length !== 1) throw new SnapshotError(`heap-top discovery: ${found.length} candidates`);
  return found[0]! * 4;
}

/** One xorshift64* step and its double, as QuickJS's Math.random computes them. */
function xorshift(state: bigint): [next: bigint, value: number] {
  let s = state;
  s ^= s >> 12n;
  s ^= (s << 25n) & 0xffffffffffffffffn;
  s ^= s >> 27n;
  const out = (s * 0x2545f4914f6cdd1dn) & 0xffffffffffffffffn;
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, (0x3ffn << 52n) | (out >> 12n), true);
  return [s, view.getFloat64(0, true) - 1];
}

/**
 * Finds the context's random state: the 8 bytes Math.random() changes and a no-op call does not,
 * confirmed by predicting Math.random() from them, also after writing seeds of our own. Leaves the
 * heap dirty: restore afterwards.
 */
function findRandomState(
  memory: WebAssembly.Memory,
  context: QuickJSContext,
  contextPointer: number,
): number {
  const WINDOW = 2048;
  const window = () => new Uint8Array(memory.buffer, contextPointer, WINDOW).slice();
  const view = () => new DataView(memory.buffer);
  const random = context.unwrapResult(context.evalCode('(function () { return Math.random() })'));
  const noop = context.unwrapResult(context.evalCode('(function () { return 0.5 })'));
  const call = (f: typeof random) =>
    context.getNumber(context.unwrapResult(context.callFunction(f, context.undefined)));
  const changed = (a: Uint8Array, b: Uint8Array) => {
    const offsets: number[] = [];
    for (let i = 0; i < WINDOW; i += 8)
      if (a.subarray(i, i + 8).some((x, j) => x !== b[i + j])) offsets.push(i);
    return offsets;
  };
  const w0 = window();
  call(noop);
  const w1 = window();
  call(random);
  const w2 = window();
  const noise = new Set(changed(w0, w1));
  for (const offset of changed(w1, w2).filter((o) => !noise.has(o))) {
    let predicted = true;
    for (const seed of [undefined, 0x123456789abcdefn, 0xfedcba9876543210n]) {
      if (seed !== undefined) view().setBigUint64(contextPointer + offset, seed, true);
      const [next, value] = xorshift(view().getBigUint64(contextPointer + offset, true));
      if (call(random) !== value || view().getBigUint64(contextPointer + offset, true) !== next)
        predicted = false;
    }
    if (predicted) return offset;
  }
  throw new SnapshotError('random-state discovery: not found');
}

/** The memory image of a ready sandbox, and the means to put it back. */
export class HeapSnapshot {
  private readonly low: Uint8Array;
  private readonly heap: Uint8Array;
  private readonly heapTop: number;
  private readonly seeds = new BigUint64Array(256);
  private seedIndex = this.seeds.length;

  private constructor(
    private readonly memory: WebAssembly.Memory,
    private readonly raw: RawExports,
    readonly layout: Layout,
    private readonly contextPointer: number,
  ) {
    const bytes = new Uint8Array(memory.buffer);
    this.heapTop = u32(memory, layout.heapTopAddress);
    if (this.heapTop < layout.stackBase || this.heapTop > bytes.length) {
      throw new SnapshotError('heap top out of range');
    }
    this.low = bytes.slice(0, layout.lowEnd);
    this.heap = bytes.slice(layout.stackBase, this.heapTop);
  }

  /**
   * Snapshots a sandbox that is ready for its call. `known` is the layout learnt by an earlier
   * instance in this worker; without it the layout is discovered and the result self-tested with
   * `exercise` (a call that dirties globals, prototypes and the heap). Throws when anything does
   * not hold.
   */
  static take(options: {
    readonly memory: WebAssembly.Memory;
    readonly raw: RawExports;
    readonly stackBytes: number;
    readonly context: QuickJSContext;
    readonly contextPointer: number;
    readonly known: Layout | undefined;
    readonly exercise: () => unknown;
  }): HeapSnapshot {
    const { memory, raw, context, contextPointer, known } = options;
    const stackBase = raw.getSP();
    if (known !== undefined) {
      if (stackBase !== known.stackBase)
        throw new SnapshotError('stack base differs from the first instance');
      return new HeapSnapshot(memory, raw, known, contextPointer);
    }
    const lowEnd = stackBase - options.stackBytes;
    if (lowEnd <= 0) throw new SnapshotError('stack larger than the layout allows');
    // Discovery dirties the heap: keep a full image to come back to. Put back only the pages that
    // differ: writing the whole image would make every page of the 16 MiB memory resident for the
    // worker's life, the never-touched zero pages too (page-writes.ts).
    const image = new Uint8Array(memory.buffer).slice();
    const putBack = () => {
      const bytes = new Uint8Array(memory.buffer);
      writeDifferingPages(bytes.subarray(0, image.length), image);
      writeDifferingPages(bytes.subarray(image.length));
    };
    const heapTopAddress = findHeapTop(memory, raw, lowEnd);
    putBack();
    const randomOffset = findRandomState(memory, context, contextPointer);
    putBack();
    const layout: Layout = { stackBase, lowEnd, heapTopAddress, randomOffset };
    const snapshot = new HeapSnapshot(memory, raw, layout, contextPointer);
    snapshot.selfTest(image, options.exercise);
    return snapshot;
  }

  /**
   * Puts memory back as it was at the snapshot and gives the context a fresh Math.random seed.
   * Throws (the instance must then be dropped) when a WASM frame was left active.
   */
  restore(): void {
    if (this.raw.getSP() !== this.layout.stackBase) throw new SnapshotError('stack pointer not at its base');
    const bytes = new Uint8Array(this.memory.buffer);
    const top = u32(this.memory, this.layout.heapTopAddress);
    bytes.set(this.low, 0);
    bytes.set(this.heap, this.layout.stackBase);
    if (top > this.heapTop) bytes.fill(0, this.heapTop, Math.min(top, bytes.length));
    if (this.seedIndex === this.seeds.length) {
      crypto.getRandomValues(this.seeds);
      this.seedIndex = 0;
    }
    // The xorshift state must not be zero.
    const seed = this.seeds[this.seedIndex++] || 1n;
    new DataView(this.memory.buffer).setBigUint64(this.contextPointer + this.layout.randomOffset, seed, true);
  }

  /**
   * After a dirtying call and a restore, every byte of memory must equal the snapshot's image,
   * except the dead C stack and the reseeded random state.
   */
  private selfTest(image: Uint8Array, exercise: () => unknown): void {
    exercise();
    if (u32(this.memory, this.layout.heapTopAddress) <= this.heapTop) {
      throw new SnapshotError('self-test: the heap top did not move');
    }
    this.restore();
    const now = Buffer.from(this.memory.buffer);
    const was = Buffer.alloc(now.length);
    was.set(image.subarray(0, now.length));
    // The context (and its new seed) lives in the heap. Compared natively, range by range: the
    // dead C stack and the seed are left out.
    const seed = this.contextPointer + this.layout.randomOffset;
    if (seed < this.layout.stackBase) throw new SnapshotError('self-test: the context is not in the heap');
    for (const [from, to] of [
      [0, this.layout.lowEnd],
      [this.layout.stackBase, seed],
      [seed + 8, now.length],
    ] as const) {
      if (!now.subarray(from, to).equals(was.subarray(from, to))) {
        throw new SnapshotError(`self-test: memory in [${from}, ${to}) differs after restore`);
      }
    }
  }
}

// The golden image of reset in place (interpreters/python/reset.ts) on a small module built here and
// a filesystem shaped like Emscripten's MEMFS: each part a guest could change — memory (also grown),
// a mutable global the module does not export, a funcref and an externref table it does not export,
// file bytes, directory entries, node properties, the path hash table, the inode counter, the
// descriptors, the cwd, and the glue's pipe-name counter and terminal line buffers — is found by verify() when changed, put back by restore(), and found
// again when restore() leaves that part out. The globals and tables cannot be changed by a Python
// guest through the doors, so the end-to-end test (reset.test.ts) cannot reach them: this one does.

import { describe, expect, it } from 'vitest';
import {
  exportHiddenState,
  GoldenImage,
  MEMORY_CHUNK,
  RESET_PARTS,
  type ResetFs,
  type ResetPart,
} from '../../interpreters/python/reset.js';

async function buildModule(): Promise<WebAssembly.Instance> {
  const binaryen = (await import('binaryen')).default;
  const m = new binaryen.Module();
  try {
    m.setFeatures(binaryen.Features.ReferenceTypes | binaryen.Features.BulkMemory);
    m.setMemory(1, 4, 'memory');
    m.addGlobal('g', binaryen.i32, true, m.i32.const(7));
    m.addGlobal('k', binaryen.i32, false, m.i32.const(1));
    m.addFunction('f', binaryen.none, binaryen.none, [], m.nop());
    m.addFunction('h', binaryen.none, binaryen.none, [], m.nop());
    m.addFunctionExport('h', 'h');
    // binaryen's typings predate the table type argument.
    const addTable = m.addTable.bind(m) as unknown as (n: string, i: number, x: number, t: number) => void;
    addTable('t', 2, 10, binaryen.funcref);
    m.addActiveElementSegment('t', 'seg', ['f'], m.i32.const(0));
    addTable('e', 2, 10, binaryen.externref);
    expect(m.validate()).toBeTruthy();
    // Nothing but the memory and h is exported: the patch must add the global and both tables.
    const { binary, added } = exportHiddenState(m.emitBinary());
    expect(added).toEqual([
      '__polyeval_state_global_0',
      '__polyeval_state_table_0',
      '__polyeval_state_table_1',
    ]);
    return new WebAssembly.Instance(new WebAssembly.Module(binary));
  } finally {
    m.dispose();
  }
}

interface Node {
  name: string;
  mode: number;
  parent: Node;
  id: number;
  mtime: number;
  contents: unknown;
  usedBytes?: number;
  name_next?: Node | null;
  mounted: null;
}

const DIR = 0o040755;
const FILE = 0o100644;

/** A small filesystem with Emscripten's shape: /, /tmp, /tmp/a (3 bytes), one open stream. */
function buildFs(): { fs: ResetFs; tmp: Node; file: Node } {
  const node = (name: string, mode: number, parent: Node | undefined, id: number): Node => {
    const n = { name, mode, id, mtime: 1, contents: undefined, mounted: null } as unknown as Node;
    n.parent = parent ?? n;
    return n;
  };
  const root = node('/', DIR, undefined, 1);
  const tmp = node('tmp', DIR, root, 2);
  const file = node('a', FILE, tmp, 3);
  root.contents = { tmp };
  tmp.contents = { a: file };
  file.contents = Uint8Array.from([1, 2, 3, 0]);
  file.usedBytes = 3;
  const nameTable: (Node | null | undefined)[] = new Array(8);
  nameTable[1] = root;
  nameTable[2] = tmp;
  tmp.name_next = file;
  file.name_next = null;
  const fs: ResetFs = {
    root,
    nameTable,
    streams: [{ node: file, shared: { position: 0, flags: 0 } }],
    nextInode: 4,
    currentPath: '/',
    isDir: (mode) => (mode & 0o170000) === 0o040000,
    isFile: (mode) => (mode & 0o170000) === 0o100000,
  };
  return { fs, tmp, file };
}

/** `before` shapes the memory before the image is taken (the module starts with one zero page). */
async function fixture(before?: (memory: WebAssembly.Memory) => void) {
  const instance = await buildModule();
  before?.(instance.exports.memory as WebAssembly.Memory);
  const { fs, tmp, file } = buildFs();
  // Emscripten's shapes: PIPEFS.nextname.current (absent until the first pipe), TTY.ttys[dev].
  const nextname = Object.assign(() => '', {}) as (() => string) & { current?: number };
  const tty = { input: [] as number[], output: [] as number[], ops: {} };
  const ttys: Record<string, object> = { 1280: tty };
  const got = new WebAssembly.Global({ value: 'i32', mutable: true }, 5);
  const image = new GoldenImage({
    exports: instance.exports,
    importedGlobals: new Map([['GOT.x', got]]),
    fs,
    glue: { counters: [nextname], ttys },
  });
  const e = instance.exports;
  const memory = e.memory as WebAssembly.Memory;
  const global = e.__polyeval_state_global_0 as WebAssembly.Global;
  const funcs = e.__polyeval_state_table_0 as WebAssembly.Table;
  const refs = e.__polyeval_state_table_1 as WebAssembly.Table;
  /** One change per part, as a guest (or a bug) could leave it. */
  const change: Record<ResetPart, () => void> = {
    memory: () => {
      new Uint8Array(memory.buffer)[100] = 42;
      memory.grow(1);
      new Uint8Array(memory.buffer)[65_536 + 5] = 1;
    },
    globals: () => {
      global.value = 8;
      got.value = 6;
    },
    tables: () => {
      funcs.set(1, e.h);
      refs.set(0, { leaked: true });
    },
    files: () => {
      (file.contents as Uint8Array)[0] = 9;
      const created = { ...tmp, name: 'b', id: 4, parent: tmp } as Node;
      (tmp.contents as Record<string, Node>).b = created;
      fs.nameTable[3] = created;
      tmp.mtime = 2;
      fs.nextInode = 5;
    },
    descriptors: () => {
      (fs.streams[0] as { shared: { position: number } }).shared.position = 2;
      fs.streams[1] = { node: file, shared: { position: 0, flags: 0 } };
    },
    cwd: () => {
      fs.currentPath = '/tmp';
    },
    glue: () => {
      nextname.current = 3;
      tty.output.push(115, 101, 99);
      ttys[1536] = { input: [], output: [], ops: {} };
    },
  };
  return { image, change, fs, memory, global, funcs, refs, got, file, nextname, tty, ttys };
}

describe('the golden image', () => {
  it('is identical to the state it was taken from', async () => {
    const { image } = await fixture();
    expect(image.verify()).toEqual([]);
    expect(image.facts).toMatchObject({ globals: 2, tableSlots: 4, fsNodes: 3, fsFileBytes: 3 });
  });

  // mutation: any part's loop in GoldenImage.restore() or check in verify() removed → its case fails.
  it.each(RESET_PARTS)(
    'finds a change to %s, puts it back, and finds it again when the reset leaves it out',
    async (part) => {
      const { image, change } = await fixture();
      change[part]();
      const found = image.verify();
      expect(found.length).toBeGreaterThan(0);
      expect(image.restore()).toEqual([]);
      expect(image.verify()).toEqual([]);
      change[part]();
      image.restore(new Set([part]));
      expect(image.verify()).toEqual(found);
    },
  );

  it('puts back the exact values, slots, bytes and streams', async () => {
    const { image, change, fs, memory, global, funcs, refs, got, file, nextname, tty, ttys } =
      await fixture();
    const f0 = funcs.get(0);
    for (const part of RESET_PARTS) change[part]();
    expect(image.restore()).toEqual([]);
    const view = new Uint8Array(memory.buffer);
    expect(view[100]).toBe(0);
    expect(view.subarray(65_536).every((b) => b === 0)).toBe(true);
    expect([global.value, got.value]).toEqual([7, 5]);
    expect([funcs.get(0), funcs.get(1), refs.get(0)]).toEqual([f0, null, null]);
    expect(Array.from(file.contents as Uint8Array).slice(0, file.usedBytes)).toEqual([1, 2, 3]);
    expect(Object.keys((fs.root.contents as { tmp: { contents: object } }).tmp.contents)).toEqual(['a']);
    expect(fs.nameTable[3]).toBeUndefined();
    expect(fs.streams.length).toBe(1);
    expect([fs.nextInode, fs.currentPath]).toEqual([4, '/']);
    expect(['current' in nextname, tty.output, Object.keys(ttys)]).toEqual([false, [], ['1280']]);
    expect(ttys[1280]).toBe(tty);
  });

  // The image keeps memory sparsely and a restore writes only the chunks that differ, so that a
  // zero chunk the guest never touched is never written (never made resident): still byte for byte.
  it('keeps only non-zero memory chunks and restores exactly, writing only the chunks that differ', async () => {
    const { image, memory } = await fixture((m) => {
      m.grow(3);
      const view = new Uint8Array(m.buffer);
      view[MEMORY_CHUNK + 10] = 3;
      view[4 * MEMORY_CHUNK - 1] = 5;
    });
    expect(image.facts).toMatchObject({ memoryBytes: 4 * MEMORY_CHUNK, memoryStoredBytes: 2 * MEMORY_CHUNK });
    expect(image.restore()).toEqual([]);
    expect(image.lastChunksWritten).toBe(0);
    const view = new Uint8Array(memory.buffer);
    view[MEMORY_CHUNK + 10] = 4; // in a non-zero chunk of the image
    view[2 * MEMORY_CHUNK + 7] = 1; // in a zero chunk of the image
    expect(image.verify()).toEqual([`linear memory differs (first at byte ${MEMORY_CHUNK + 10})`]);
    image.restore(new Set(RESET_PARTS.filter((part) => part !== 'memory')));
    expect(image.lastChunksWritten).toBe(2);
    expect([view[MEMORY_CHUNK + 10], view[2 * MEMORY_CHUNK + 7], view[4 * MEMORY_CHUNK - 1]]).toEqual([
      3, 0, 5,
    ]);
    expect(image.verify()).toEqual([]);
    view[2 * MEMORY_CHUNK + 7] = 1;
    expect(image.verify()).toEqual([`linear memory differs (first at byte ${2 * MEMORY_CHUNK + 7})`]);
  });

  it('says a table that grew cannot be put back (the worker must go)', async () => {
    const { image, funcs } = await fixture();
    funcs.grow(1);
    expect(image.restore()).toEqual(['a table grew from 2 to 3 slots']);
    expect(image.verify()).toContain('a table has 3 slots, not 2');
  });
});

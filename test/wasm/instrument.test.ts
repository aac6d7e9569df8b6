// The byte-level instrumenter and the in-memory WASI, in-process (no workers): what the rewrite
// adds and keeps, how it refuses shapes the sandbox does not support, and how the WASI shim answers
// hostile pointers.

import { describe, expect, it } from 'vitest';
import {
  checkImports,
  INTERNAL,
  inspectModule,
  instrumentModule,
  isComponent,
  ModuleRejected,
  STATUS_MEMORY_LIMIT,
} from '../../interpreters/wasm/instrument.js';
import { Wasi } from '../../interpreters/wasm/wasi.js';
import { wat } from './helpers.js';
import { IMPORTS_ENV, IMPORTS_WRONG_SIGNATURE } from './modules.js';

const options = { tableElements: 1000, maxInitialPages: 2048 };

async function instrument(text: string) {
  const bytes = await wat(text);
  const info = inspectModule(bytes);
  checkImports(info);
  const out = instrumentModule(bytes, info, options);
  return { info, out, module: new WebAssembly.Module(out.bytes) };
}

function instantiate(module: WebAssembly.Module, memory?: WebAssembly.Memory, fuel = 1_000_000n) {
  const exports = new WebAssembly.Instance(module, { polyeval: memory === undefined ? {} : { memory } })
    .exports;
  (exports[INTERNAL.fuel] as WebAssembly.Global).value = fuel;
  return exports as Record<string, unknown> & WebAssembly.Exports;
}

describe('instrumentModule', () => {
  it('turns the memory into an import, adds fuel and status globals, keeps every export', async () => {
    const { out, module } = await instrument(`(module
      (memory (export "mem") 2 10)
      (func (export "f") (result i32) (i32.const 7)))`);
    expect(out.memory).toEqual({ initial: 2, maximum: 10 });
    expect(WebAssembly.Module.imports(module)).toEqual([
      { module: 'polyeval', name: 'memory', kind: 'memory' },
    ]);
    const names = WebAssembly.Module.exports(module).map((e) => e.name);
    expect(names).toEqual(expect.arrayContaining(['mem', 'f', INTERNAL.fuel, INTERNAL.status]));
    const memory = new WebAssembly.Memory({ initial: 2, maximum: 4 });
    const e = instantiate(module, memory);
    expect((e.f as () => number)()).toBe(7);
    expect(e.mem).toBe(memory);
  });

  it('counts one unit per function entry and loop iteration, and traps when fuel runs out', async () => {
    const { out, module } = await instrument(`(module
      (func (export "count") (param $n i32) (local $i i32)
        (loop $l
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (local.get $n))))))`);
    expect(out.loops).toBe(1);
    const e = instantiate(module, undefined, 1000n);
    (e.count as (n: number) => void)(10);
    expect((e[INTERNAL.fuel] as WebAssembly.Global).value).toBe(1000n - 11n);
    expect(() => (e.count as (n: number) => void)(10_000)).toThrow(WebAssembly.RuntimeError);
    expect((e[INTERNAL.fuel] as WebAssembly.Global).value).toBeLessThan(0n);
  });

  it('moves the start function to an export, run by the host after fuel is set', async () => {
    const { out, module } = await instrument(`(module
      (memory 1)
      (func $init (i32.store (i32.const 0) (i32.const 99)))
      (start $init)
      (func (export "get") (result i32) (i32.load (i32.const 0))))`);
    expect(out.hasStart).toBe(true);
    const e = instantiate(module, new WebAssembly.Memory({ initial: 1 }));
    expect((e.get as () => number)()).toBe(0); // not run by instantiation any more
    (e[INTERNAL.start] as () => void)();
    expect((e.get as () => number)()).toBe(99);
  });

  it('tells a growth refused by the cap (status, trap) from one past the module maximum (-1)', async () => {
    const { out, module } = await instrument(`(module
      (memory 1 100)
      (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))`);
    expect(out.growSites).toBe(1);
    const e = instantiate(module, new WebAssembly.Memory({ initial: 1, maximum: 10 }));
    const grow = e.grow as (n: number) => number;
    expect(grow(4)).toBe(1);
    expect(grow(500)).toBe(-1); // 505 > 100: the module's own maximum, plain WebAssembly semantics
    expect((e[INTERNAL.status] as WebAssembly.Global).value).toBe(0);
    expect(() => grow(50)).toThrow(WebAssembly.RuntimeError); // within 100, over the cap of 10
    expect((e[INTERNAL.status] as WebAssembly.Global).value).toBe(STATUS_MEMORY_LIMIT);
  });

  it('lowers table maxima to the limit and refuses tables that start above it', async () => {
    const { module } = await instrument(`(module
      (table $t 1 funcref)
      (func (export "grow") (param i32) (result i32) (table.grow $t (ref.null func) (local.get 0))))`);
    const e = instantiate(module);
    expect((e.grow as (n: number) => number)(10)).toBe(1);
    expect((e.grow as (n: number) => number)(5000)).toBe(-1);
    await expect(instrument('(module (table 5000 funcref))')).rejects.toBeInstanceOf(ModuleRejected);
  });

  it('refuses memories the sandbox does not support, and initial sizes above the ceiling', async () => {
    await expect(instrument('(module (memory 4096))')).rejects.toThrow(/memory starts at 4096 pages/);
    const shared = await wat('(module (memory 1 1 shared))').catch(() => undefined);
    if (shared !== undefined) {
      expect(() => instrumentModule(shared, inspectModule(shared), options)).toThrow(/Shared memories/);
    }
  });

  it('makes loops around bulk operations call an empty helper (V8 cannot terminate them otherwise)', async () => {
    const { module } = await instrument(`(module
      (memory 1)
      (func (export "fill") (param $n i32) (local $i i32)
        (loop $l
          (memory.fill (i32.const 0) (i32.const 7) (i32.const 16))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (local.get $n)))))
      (func (export "plain") (param $n i32) (local $i i32)
        (loop $l (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (local.get $n))))))`);
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1 });
    const e = instantiate(module, memory);
    (e.fill as (n: number) => void)(5);
    expect(new Uint8Array(memory.buffer)[15]).toBe(7);
    // The helper is one more function than the module declared, and only bulk loops call it.
    const wasiless = await wat('(module (func (export "f") (loop $l (br $l))))');
    const plainOnly = instrumentModule(wasiless, inspectModule(wasiless), options);
    const withBulk = await wat(
      '(module (memory 1) (func (export "f") (loop $l (memory.fill (i32.const 0) (i32.const 0) (i32.const 1)) (br $l))))',
    );
    const bulk = instrumentModule(withBulk, inspectModule(withBulk), options);
    const functions = (bytes: Uint8Array) => inspectModule(bytes).functionTypeIndices.length;
    expect(functions(plainOnly.bytes)).toBe(1);
    // memory.grow helper (the module has a memory and code) + the tick helper
    expect(functions(bulk.bytes)).toBe(3);
  });

  it('keeps modules with exceptions, SIMD, tail calls and bulk memory valid', async () => {
    const { module } = await instrument(`(module
      (memory 1)
      (tag $e (param i32))
      (func $t (param i32) (result i32) (return_call $u (local.get 0)))
      (func $u (param i32) (result i32) (local.get 0))
      (func (export "f") (result i32) (local $v v128)
        (local.set $v (i8x16.splat (i32.const 3)))
        (memory.fill (i32.const 0) (i32.const 1) (i32.const 16))
        (try (result i32)
          (do (throw $e (i32.const 5)))
          (catch $e (i32.add (call $t (i8x16.extract_lane_u 0 (local.get $v)))))
        )))`);
    const e = instantiate(module, new WebAssembly.Memory({ initial: 1 }));
    expect((e.f as () => number)()).toBe(8);
  });
});

describe('checkImports', () => {
  it('names every import outside WASI preview1, or with the wrong signature', async () => {
    expect(() => checkImports(inspectModule(new Uint8Array(0x00)))).toThrow();
    const env = await wat(IMPORTS_ENV);
    expect(() => checkImports(inspectModule(env))).toThrow(/"env\.something"/);
    const wrong = await wat(IMPORTS_WRONG_SIGNATURE);
    expect(() => checkImports(inspectModule(wrong))).toThrow(
      /fd_write.*WASI defines \(i32, i32, i32, i32\) -> \(i32\)/,
    );
    const memory = await wat('(module (import "env" "memory" (memory 1)))');
    expect(() => checkImports(inspectModule(memory))).toThrow(/"env\.memory" \(a memory/);
  });

  it('recognizes a component by its layer field', () => {
    expect(isComponent(new Uint8Array([0, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00]))).toBe(true);
    expect(isComponent(new Uint8Array([0, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]))).toBe(false);
  });
});

describe('Wasi', () => {
  function begin(wasi: Wasi, memory: WebAssembly.Memory, written: string[] = []) {
    wasi.begin(memory, {
      stdin: new TextEncoder().encode('[1,2]\n'),
      captureStdout: false,
      outputLimit: 100,
      deadline: performance.now() + 10_000,
      write: (stream, text) => {
        written.push(`${stream}:${text}`);
        return true;
      },
    });
  }
  type Fn = (...args: (number | bigint)[]) => number;

  it('answers EFAULT for pointers outside memory instead of throwing', () => {
    const wasi = new Wasi();
    const memory = new WebAssembly.Memory({ initial: 1 });
    begin(wasi, memory);
    const fdWrite = wasi.imports.fd_write as unknown as Fn;
    expect(fdWrite(1, 65530, 1, 0)).toBe(21);
    expect(fdWrite(1, 0, 1, 70_000)).toBe(21);
    expect((wasi.imports.random_get as unknown as Fn)(65000, 1000)).toBe(21);
    expect((wasi.imports.clock_time_get as unknown as Fn)(0, 0n, -1)).toBe(21);
    wasi.end();
  });

  it('reads stdin in pieces and streams output', () => {
    const wasi = new Wasi();
    const memory = new WebAssembly.Memory({ initial: 1 });
    const written: string[] = [];
    begin(wasi, memory, written);
    const view = new DataView(memory.buffer);
    view.setUint32(0, 100, true);
    view.setUint32(4, 4, true);
    const fdRead = wasi.imports.fd_read as unknown as Fn;
    expect(fdRead(0, 0, 1, 8)).toBe(0);
    expect(view.getUint32(8, true)).toBe(4);
    expect(fdRead(0, 0, 1, 8)).toBe(0);
    expect(view.getUint32(8, true)).toBe(2);
    expect(new TextDecoder().decode(new Uint8Array(memory.buffer, 100, 2))).toBe(']\n');
    expect(fdRead(0, 0, 1, 8)).toBe(0);
    expect(view.getUint32(8, true)).toBe(0);
    expect(fdRead(3, 0, 1, 8)).toBe(8);
    view.setUint32(4, 2, true);
    expect((wasi.imports.fd_write as unknown as Fn)(2, 0, 1, 8)).toBe(0);
    const end = wasi.end();
    expect(written).toEqual(['stderr:]\n']);
    expect(end.stop).toBeUndefined();
  });

  it('stops the guest through proc_exit without touching the host', () => {
    const wasi = new Wasi();
    begin(wasi, new WebAssembly.Memory({ initial: 1 }));
    expect(() => (wasi.imports.proc_exit as unknown as Fn)(42)).toThrow(/guest stopped/);
    expect(() => (wasi.imports.sched_yield as unknown as Fn)()).toThrow(/guest stopped/);
    expect(wasi.end().stop).toEqual({ kind: 'exit', code: 42 });
  });

  it('answers ENOSYS for what it does not implement, and no preopens', () => {
    const wasi = new Wasi();
    begin(wasi, new WebAssembly.Memory({ initial: 1 }));
    expect((wasi.imports.proc_raise as unknown as Fn)(9)).toBe(52);
    expect((wasi.imports.sock_accept as unknown as Fn)(3, 0, 0)).toBe(52);
    expect((wasi.imports.fd_prestat_get as unknown as Fn)(3, 0)).toBe(8);
    wasi.end();
  });
});

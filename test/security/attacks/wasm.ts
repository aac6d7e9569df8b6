// Attacks on the raw WebAssembly executor (V8's WebAssembly in worker threads, our in-memory WASI
// preview1, a byte-level instrumenter for fuel and the memory cap). The list — forbidden
// imports, memory growth, table growth, proc_exit, fd tricks, deep recursion, a looping start
// function, module bombs — is run here against the canaries; test/wasm/executor.test.ts and
// test/wasm/http.test.ts test the same limits in more detail (exact output cut, fuel figures,
// recycled memories) and several modules below are theirs (test/wasm/modules.ts). New here: import
// names that are Object's own members, imports the sandbox itself uses, exception handlers that
// catch our stops, descriptor and pointer tricks on every WASI entry, and compile-time bombs.

import { expect } from 'vitest';
import {
  DEEP_RECURSION,
  GROW_TO_1GIB,
  IMPORTS_ENV,
  LONG_NATIVE,
  MEMORY_BOMB,
  START_LOOP,
  SWALLOW_OUTPUT_LIMIT,
  TABLE_BOMB,
  TABLE_GROWTH,
} from '../../wasm/modules.js';
import { evaluateAttack } from '../attack-builders.js';
import type { Attack } from '../harness.js';

const W = 'wasi_snapshot_preview1';

const wasm = (spec: Omit<Parameters<typeof evaluateAttack>[0], 'language'>): Attack =>
  evaluateAttack({ language: 'wasm', ...spec });

// A tiny binary builder for modules wabt would refuse to write (bombs).
function leb(value: number): number[] {
  const out: number[] = [];
  let n = value;
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return out;
}
const section = (id: number, bytes: number[]): number[] => [id, ...leb(bytes.length), ...bytes];
const binary = (...sections: number[][]): string =>
  Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...sections.flat()]).toString('base64');
const TYPE_VOID = section(1, [1, 0x60, 0, 0]); // one type: () -> ()
const exportFunc = (name: string, index: number): number[] =>
  section(7, [1, ...leb(name.length), ...Buffer.from(name), 0x00, ...leb(index)]);

/** A function body: one local declaration of 2^32 - 1 i32 locals, then end. */
const LOCALS_BOMB = [1, ...leb(0xffffffff), 0x7f, 0x0b];

/** WASI errno of each descriptor trick, packed one byte each (see the check). */
const FD_TRICKS = `(module
  (import "${W}" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "${W}" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "${W}" "fd_close" (func $fd_close (param i32) (result i32)))
  (import "${W}" "fd_renumber" (func $fd_renumber (param i32 i32) (result i32)))
  (import "${W}" "fd_seek" (func $fd_seek (param i32 i64 i32 i32) (result i32)))
  (import "${W}" "random_get" (func $random_get (param i32 i32) (result i32)))
  (import "${W}" "sock_accept" (func $sock_accept (param i32 i32 i32) (result i32)))
  (import "${W}" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (memory 2)
  (func $push (param $acc i64) (param $errno i32) (result i64)
    (i64.or (i64.shl (local.get $acc) (i64.const 8)) (i64.extend_i32_u (local.get $errno))))
  (func (export "f") (result i64) (local $acc i64)
    (i32.store (i32.const 0) (i32.const 100))
    (i32.store (i32.const 4) (i32.const 5))
    (local.set $acc (call $push (local.get $acc) (call $fd_write (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8))))
    (local.set $acc (call $push (local.get $acc) (call $fd_write (i32.const 3) (i32.const 0) (i32.const 1) (i32.const 8))))
    (local.set $acc (call $push (local.get $acc) (call $fd_write (i32.const 1) (i32.const 131070) (i32.const 1) (i32.const 8))))
    (local.set $acc (call $push (local.get $acc) (call $fd_read (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
    (local.set $acc (call $push (local.get $acc) (call $fd_renumber (i32.const 1) (i32.const 2))))
    (local.set $acc (call $push (local.get $acc) (call $random_get (i32.const 0) (i32.const 200000))))
    (local.set $acc (call $push (local.get $acc) (call $sock_accept (i32.const 3) (i32.const 0) (i32.const 0))))
    (local.set $acc (call $push (local.get $acc)
      (call $path_open (i32.const 1) (i32.const 0) (i32.const 0) (i32.const 11) (i32.const 0) (i64.const -1) (i64.const -1) (i32.const 0) (i32.const 200))))
    (drop (call $fd_close (i32.const 1)))
    (drop (call $fd_seek (i32.const 1) (i64.const 0) (i32.const 0) (i32.const 16)))
    (local.get $acc)))`;

export const WASM_ATTACKS: readonly Attack[] = [
  // Imports outside WASI, and the kinds the sandbox supplies itself.
  wasm({
    id: 'wasm-forbidden-import',
    title: 'imports env.something (test/wasm modules.ts IMPORTS_ENV)',
    result: 'SYNTAX_ERROR at registration, naming the import',
    code: IMPORTS_ENV,
    fn: 'f',
    codes: ['SYNTAX_ERROR'],
    check: (body) => expect(body.error.message).toContain('env.something'),
  }),
  // Imports of the kinds the sandbox supplies itself: a memory (under our own import name), a table, a global.
  wasm({
    id: 'wasm-import-sandbox-internals',
    title: "imports the sandbox's own polyeval.memory, a table and a global",
    result: 'SYNTAX_ERROR: the sandbox supplies the memory itself and imports nothing else',
    code: `(module
      (import "polyeval" "memory" (memory 1))
      (import "env" "table" (table 1 funcref))
      (import "${W}" "g" (global i32))
      (func (export "f") (result i32) (i32.const 1)))`,
    fn: 'f',
    codes: ['SYNTAX_ERROR'],
    check: (body) => expect(body.error.message).toContain('polyeval.memory'),
  }),
  // Finding: the allow-list was a plain object, so "constructor", "__proto__" and "toString"
  // found Object's members; the module was refused only by accident (a TypeError, whose message
  // leaked into the answer).
  wasm({
    id: 'wasm-import-object-members',
    title: 'imports wasi_snapshot_preview1.constructor / __proto__ / toString',
    result: 'SYNTAX_ERROR naming each import as not part of WASI',
    finding: "Object's own members passed the allow-list lookup; the module failed on a host TypeError",
    code: `(module
      (import "${W}" "constructor" (func $a (param i32) (result i32)))
      (import "${W}" "__proto__" (func $b (param i32) (result i32)))
      (import "${W}" "toString" (func $c))
      (func (export "f") (result i32) (call $a (i32.const 5))))`,
    fn: 'f',
    codes: ['SYNTAX_ERROR'],
    check: (body) => {
      expect(body.error.message).toContain('"wasi_snapshot_preview1.constructor" (not part of WASI');
      expect(body.error.message).not.toContain('Cannot read properties');
    },
  }),
  // Export names the sandbox reserves for its own instrumentation.
  wasm({
    id: 'wasm-reserved-exports',
    title: 'exports "polyeval.fuel" to shadow the fuel counter',
    result: 'SYNTAX_ERROR: the name is reserved',
    code: '(module (global (export "polyeval.fuel") (mut i64) (i64.const 0)) (func (export "f")))',
    fn: 'f',
    codes: ['SYNTAX_ERROR'],
  }),
  // Memory growth towards 1 GiB, 4 MiB at a time (each growth goes through the helper that knows our cap).
  wasm({
    id: 'wasm-memory-growth',
    title: 'memory grown 4 MiB at a time towards 1 GiB (GROW_TO_1GIB)',
    result: 'MEMORY_LIMIT',
    code: GROW_TO_1GIB,
    fn: 'grow',
    codes: ['MEMORY_LIMIT'],
  }),
  // Table growth: tables live in the worker's JS heap, so their maxima are lowered at registration.
  wasm({
    id: 'wasm-table-growth',
    title: 'table.grow by 2^31 elements (TABLE_GROWTH)',
    result: 'the growth fails with -1 (tables are capped); the worker lives on',
    code: TABLE_GROWTH,
    fn: 'grow',
    args: [2 ** 31 - 1],
    check: (body) => expect(body).toMatchObject({ ok: true, value: -1 }),
  }),
  // Module bombs: huge declared sizes in a few bytes.
  wasm({
    id: 'wasm-module-bomb-memory',
    title: 'declares a 4 GiB initial memory (MEMORY_BOMB)',
    result: 'MEMORY_LIMIT at registration',
    code: MEMORY_BOMB,
    fn: 'f',
    codes: ['MEMORY_LIMIT'],
  }),
  // A table declared far over the operator's table limit.
  wasm({
    id: 'wasm-module-bomb-table',
    title: 'declares a 5,000,000-element table (TABLE_BOMB)',
    result: 'refused at registration',
    code: TABLE_BOMB,
    fn: 'f',
    codes: ['MEMORY_LIMIT', 'SYNTAX_ERROR'],
  }),
  // A function body declaring 2^32 - 1 locals: 12 bytes that ask the compiler for 16 GiB.
  wasm({
    id: 'wasm-module-bomb-locals',
    title: 'a 12-byte function body declaring 2^32-1 locals',
    result: 'SYNTAX_ERROR from the validator; nothing allocated',
    code: binary(
      TYPE_VOID,
      section(3, [1, 0]),
      exportFunc('f', 0),
      section(10, [1, ...leb(LOCALS_BOMB.length), ...LOCALS_BOMB]),
    ),
    fn: 'f',
    codes: ['SYNTAX_ERROR'],
  }),
  // A code section that claims 2^28 function bodies in a few bytes.
  wasm({
    id: 'wasm-module-bomb-counts',
    title: 'function and code sections claiming 2^28 entries in a few bytes',
    result: 'SYNTAX_ERROR (truncated module); no loop over the claimed count',
    code: binary(TYPE_VOID, section(3, [...leb(2 ** 28), 0]), section(10, [...leb(2 ** 28), 2, 0, 0x0b])),
    fn: 'f',
    codes: ['SYNTAX_ERROR'],
  }),
  // 100,000 nested blocks: recursion in any tool that walks expressions (validator, instrumenter,
  // binaryen's optimizer when deployed).
  {
    id: 'wasm-module-bomb-nesting',
    title: '100,000 nested blocks, run inline and deployed (binaryen optimizes deployed modules)',
    result: 'compiled and run, inline and deployed; the compile worker survives',
    timeoutMs: 120_000,
    async run(h) {
      const depth = 100_000;
      const body = [0, ...Array(depth).fill([0x02, 0x40]).flat(), ...Array(depth).fill(0x0b), 0x0b];
      const code = binary(
        TYPE_VOID,
        section(3, [1, 0]),
        exportFunc('f', 0),
        section(10, [1, ...leb(body.length), ...body]),
      );
      // Valid and tiny once walked: it compiles and runs inline, and deploys (binaryen's optimizer
      // folds it to a few bytes) and runs from the deployed module too. No outcome is waved through.
      // mutation (not in npm run mutate): interpreters/wasm/instrument.ts walking nested blocks
      // recursively, one JS frame per block → a stack overflow at 100,000 levels instead of the
      // value, and this attack fails.
      const inline = await h.evaluate('wasm', code, { fn: 'f', limits: { timeoutMs: 10_000 } });
      expect(inline.status).toBe(200);
      expect(inline.body).toMatchObject({ ok: true, value: null });
      const deployed = await h.request('POST', '/v1/modules', {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ language: 'wasm', code }),
      });
      expect(deployed.status, deployed.text.slice(0, 300)).toBe(201);
      expect(deployed.body).toMatchObject({ ok: true, functions: { f: '() -> ()' } });
      const run = await h.request('POST', '/v1/evaluate', {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ language: 'wasm', module: deployed.body.id, function: 'f', args: [] }),
      });
      expect(run.body).toMatchObject({ ok: true, value: null });
    },
  },
  // A start function runs during instantiation: it is moved to an export the host calls under fuel.
  wasm({
    id: 'wasm-start-loop',
    title: 'a start function that loops (START_LOOP)',
    result: 'TIMEOUT (the start function runs under fuel)',
    code: START_LOOP,
    fn: 'f',
    limits: { timeoutMs: 500 },
    codes: ['TIMEOUT'],
  }),
  // Recursion without end: the thread's stack, not the service's.
  wasm({
    id: 'wasm-deep-recursion',
    title: 'unbounded recursion (DEEP_RECURSION)',
    result: 'RUNTIME_ERROR (stack overflow)',
    code: DEEP_RECURSION,
    fn: 'down',
    args: [0],
    codes: ['RUNTIME_ERROR', 'TIMEOUT'],
  }),
  // Finding: V8's baseline code for a loop whose body is one long bulk operation never honoured
  // worker.terminate(): the watchdog answered TIMEOUT, but the old worker thread spun on forever
  // (one core and 64 MiB per call, and on Node 24 process.exit then hung on that thread).
  wasm({
    id: 'wasm-long-native',
    title: 'memory.fill of 64 MiB in a loop: no instruction for fuel to count (LONG_NATIVE)',
    result: 'TIMEOUT, and the worker thread is really gone (thread count back to baseline)',
    finding: 'the terminated worker kept running: a leaked thread spinning at 100% CPU per call',
    code: LONG_NATIVE,
    fn: 'fill',
    limits: { timeoutMs: 500 },
    codes: ['TIMEOUT'],
  }),
  // The same hole with memory.copy.
  wasm({
    id: 'wasm-bulk-loops-memory',
    title: 'a loop of memory.copy over 64 MiB',
    result: 'TIMEOUT; no thread left behind',
    finding: 'same as wasm-long-native: every bulk operation had it',
    code: `(module (memory 1024)
      (func (export "copy") (loop $a (memory.copy (i32.const 0) (i32.const 1) (i32.const 67108863)) (br $a))))`,
    fn: 'copy',
    limits: { timeoutMs: 500 },
    codes: ['TIMEOUT'],
  }),
  // The same hole with table.fill (tables of up to the 100,000-element cap).
  wasm({
    id: 'wasm-bulk-loops-table',
    title: 'a loop of table.fill over 100,000 elements',
    result: 'TIMEOUT; no thread left behind',
    finding: 'same as wasm-long-native',
    code: `(module (table 100000 funcref)
      (func (export "tfill") (loop $a (table.fill (i32.const 0) (ref.null func) (i32.const 100000)) (br $a))))`,
    fn: 'tfill',
    limits: { timeoutMs: 500 },
    codes: ['TIMEOUT'],
  }),
  // proc_exit must end only the guest (node:wasi ended the whole host process with the guest's code).
  wasm({
    id: 'wasm-proc-exit',
    title: 'proc_exit(42) from a command',
    result: 'RUNTIME_ERROR with exitCode 42; only the guest ends',
    code: `(module (import "${W}" "proc_exit" (func $exit (param i32))) (memory 1)
      (func (export "_start") (call $exit (i32.const 42))))`,
    codes: ['RUNTIME_ERROR'],
    check: (body) => expect(body.error.exitCode).toBe(42),
  }),
  // Exception handling: catch our proc_exit/output stop and carry on forever.
  wasm({
    id: 'wasm-catch-proc-exit',
    title: 'catch_all around proc_exit and around the output cap, then loop',
    result: 'the recorded stop decides: RUNTIME_ERROR (exit) — fuel is emptied so the loop traps',
    code: `(module (import "${W}" "proc_exit" (func $exit (param i32))) (memory 1)
      (func (export "_start") (loop $forever (try (do (call $exit (i32.const 7))) (catch_all)) (br $forever))))`,
    limits: { timeoutMs: 2000 },
    codes: ['RUNTIME_ERROR'],
    check: (body) => expect(body.error.exitCode).toBe(7),
  }),
  // The output cap's stop thrown through the guest and caught by it, forever.
  wasm({
    id: 'wasm-swallow-output-limit',
    title: 'catch_all around an endless stream of writes (SWALLOW_OUTPUT_LIMIT)',
    result: 'OUTPUT_LIMIT',
    code: SWALLOW_OUTPUT_LIMIT,
    codes: ['OUTPUT_LIMIT'],
  }),
  // Descriptor and pointer tricks on the WASI surface.
  wasm({
    id: 'wasm-fd-tricks',
    title:
      'write to stdin/fd 3, read from stdout, renumber, close stdout, seek, out-of-bounds buffers, sockets, path_open on stdout',
    result: 'a WASI errno for each (BADF, INVAL, FAULT, NOSYS, NOTCAPABLE), never a host exception',
    code: FD_TRICKS,
    fn: 'f',
    check: (body, text) => {
      expect(body.ok).toBe(true);
      // The packed i64 is beyond 2^53: read its digits from the raw text (JSON.parse would round).
      const errnos: number[] = [];
      let v = BigInt.asUintN(64, BigInt(/"value":(-?\d+)/.exec(text)![1]!));
      for (let i = 0; i < 8; i++) {
        errnos.unshift(Number(v & 255n));
        v >>= 8n;
      }
      // fd_write(0), fd_write(3), fd_write(iovs past the end), fd_read(1), fd_renumber,
      // random_get(past the end), sock_accept, path_open(stdout)
      expect(errnos).toEqual([8, 8, 21, 28, 52, 21, 52, 76]);
    },
  }),
  // poll_oneoff with the most subscriptions, each a clock past the deadline.
  wasm({
    id: 'wasm-poll-flood',
    title: 'poll_oneoff with 4096 clock subscriptions sleeping past the deadline, in a loop',
    result: 'TIMEOUT at the deadline',
    code: `(module (import "${W}" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32))) (memory 8)
      (func (export "f") (local $i i32)
        (loop $fill
          (i64.store (i32.add (i32.mul (local.get $i) (i32.const 48)) (i32.const 24)) (i64.const 60000000000))
          (i32.store (i32.add (i32.mul (local.get $i) (i32.const 48)) (i32.const 16)) (i32.const 1))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $fill (i32.lt_u (local.get $i) (i32.const 4096))))
        (loop $forever (drop (call $poll (i32.const 0) (i32.const 262144) (i32.const 4096) (i32.const 524000))) (br $forever))))`,
    fn: 'f',
    limits: { timeoutMs: 500 },
    codes: ['TIMEOUT'],
  }),
  // Environment and arguments through WASI: the host's are never handed over.
  wasm({
    id: 'wasm-environment',
    title: 'environ_sizes_get/args_sizes_get looking for the host environment',
    result: '0 variables, 0 arguments',
    code: `(module
      (import "${W}" "environ_sizes_get" (func $env (param i32 i32) (result i32)))
      (import "${W}" "args_sizes_get" (func $args (param i32 i32) (result i32)))
      (memory 1)
      (func (export "f") (result i32)
        (drop (call $env (i32.const 0) (i32.const 4)))
        (drop (call $args (i32.const 8) (i32.const 12)))
        (i32.add (i32.add (i32.load (i32.const 0)) (i32.load (i32.const 4)))
                 (i32.add (i32.load (i32.const 8)) (i32.load (i32.const 12))))))`,
    fn: 'f',
    check: (body) => expect(body).toMatchObject({ ok: true, value: 0 }),
  }),
];

// WebAssembly text sources of the modules the wasm tests (and the wasm benchmark) run. Each is a
// small, readable program; the tests assemble them (executor: from text, or as base64 binaries).

const WASI = 'wasi_snapshot_preview1';

/** Imports of the WASI functions the modules below use. */
const imports = {
  fd_read: `(import "${WASI}" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))`,
  fd_write: `(import "${WASI}" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))`,
  proc_exit: `(import "${WASI}" "proc_exit" (func $proc_exit (param i32)))`,
  path_open: `(import "${WASI}" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))`,
  fd_prestat_get: `(import "${WASI}" "fd_prestat_get" (func $fd_prestat_get (param i32 i32) (result i32)))`,
  clock_time_get: `(import "${WASI}" "clock_time_get" (func $clock_time_get (param i32 i64 i32) (result i32)))`,
  random_get: `(import "${WASI}" "random_get" (func $random_get (param i32 i32) (result i32)))`,
  args_sizes_get: `(import "${WASI}" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))`,
  environ_sizes_get: `(import "${WASI}" "environ_sizes_get" (func $environ_sizes_get (param i32 i32) (result i32)))`,
  poll_oneoff: `(import "${WASI}" "poll_oneoff" (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))`,
};

/** (func $write (param $fd i32) (param $ptr i32) (param $len i32) (result i32)): one fd_write, errno back. */
const writeHelper = `
  (func $write (param $fd i32) (param $ptr i32) (param $len i32) (result i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8)))`;

/**
 * A WASI command that echoes its input: stdin holds the JSON array of arguments, stdout gets the
 * text between the outer brackets (so one argument comes back as itself). stdin is read in a loop
 * into a 1 MiB buffer at offset 1024.
 */
export const ECHO_COMMAND = `(module
  ${imports.fd_read}
  ${imports.fd_write}
  (memory (export "memory") 17)
  (func (export "_start")
    (local $len i32) (local $n i32) (local $start i32) (local $end i32)
    (block $done
      (loop $read
        (i32.store (i32.const 0) (i32.add (i32.const 1024) (local.get $len)))
        (i32.store (i32.const 4) (i32.sub (i32.const 1048576) (local.get $len)))
        (br_if $done (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
        (local.set $n (i32.load (i32.const 8)))
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $len (i32.add (local.get $len) (local.get $n)))
        (br $read)))
    (local.set $start (i32.const 1024))
    (local.set $end (i32.add (i32.const 1024) (local.get $len)))
    (block $trimmed
      (loop $trim
        (br_if $trimmed (i32.le_u (local.get $end) (local.get $start)))
        (br_if $trimmed (i32.gt_u (i32.load8_u (i32.sub (local.get $end) (i32.const 1))) (i32.const 32)))
        (local.set $end (i32.sub (local.get $end) (i32.const 1)))
        (br $trim)))
    (i32.store (i32.const 0) (i32.add (local.get $start) (i32.const 1)))
    (i32.store (i32.const 4) (i32.sub (i32.sub (local.get $end) (local.get $start)) (i32.const 2)))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`;

/** Exported arithmetic: add (i32), add64 (i64), mul (f64), fmax (f32), pair (two results). */
export const ARITHMETIC = `(module
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "add64") (param i64 i64) (result i64) (i64.add (local.get 0) (local.get 1)))
  (func (export "mul") (param f64 f64) (result f64) (f64.mul (local.get 0) (local.get 1)))
  (func (export "fmax") (param f32 f32) (result f32) (f32.max (local.get 0) (local.get 1)))
  (func (export "pair") (param i32) (result i32 i64) (local.get 0) (i64.extend_i32_s (local.get 0)))
  (func (export "nothing"))
  (func (export "nan") (result f64) (f64.div (f64.const 0) (f64.const 0)))
  (func (export "boom") (result i32) unreachable)
  (func (export "vector") (param v128) (result i32) (i32.const 0))
  (global (export "notfunc") i32 (i32.const 1)))`;

/** Loops forever in an exported function. */
export const SPIN = `(module
  (func (export "spin") (loop $forever (br $forever))))`;

/** A start function that loops forever: instantiation itself never ends. */
export const START_LOOP = `(module
  (func $start (loop $forever (br $forever)))
  (start $start)
  (func (export "f") (result i32) (i32.const 1)))`;

/**
 * Fills 64 MiB of memory over and over: one fuel unit per pass, ~10 ms of native memset each, so
 * only the watchdog (terminate the worker) stops it.
 */
export const LONG_NATIVE = `(module
  (memory 1024)
  (func (export "fill") (loop $again (memory.fill (i32.const 0) (i32.const 7) (i32.const 67108864)) (br $again))))`;

/** Grows its memory 4 MiB at a time until it holds 1 GiB, then returns its size in pages. */
export const GROW_TO_1GIB = `(module
  (memory 0)
  (func (export "grow") (result i32)
    (block $done
      (loop $more
        (br_if $done (i32.ge_u (memory.size) (i32.const 16384)))
        (if (i32.eq (memory.grow (i32.const 64)) (i32.const -1)) (then (return (i32.const -1))))
        (br $more)))
    (memory.size)))`;

/** Declares a 4 GiB initial memory: a "bomb" refused at registration. */
export const MEMORY_BOMB = `(module (memory 65536) (func (export "f") (result i32) (i32.const 1)))`;

/** Starts with 256 MiB: over the default 128 MiB limit, fine under a 512 MiB one. */
export const BIG_INITIAL_MEMORY = `(module (memory 4096) (func (export "size") (result i32) (memory.size)))`;

/** A table that grows on request, and one declared far too large. */
export const TABLE_GROWTH = `(module
  (table $t 1 funcref)
  (func (export "grow") (param i32) (result i32) (table.grow $t (ref.null func) (local.get 0)))
  (func (export "size") (result i32) (table.size $t)))`;
export const TABLE_BOMB = `(module (table 5000000 funcref) (func (export "f") (result i32) (i32.const 1)))`;

/** A command that writes `size` bytes of "x" to stdout (or stderr), 64 KiB at a time, then "AFTER". */
export function flood(fd: 1 | 2, totalBytes: number): string {
  const chunks = Math.ceil(totalBytes / 65536);
  return `(module
  ${imports.fd_write}
  (memory 2)
  ${writeHelper}
  (func (export "_start") (local $i i32)
    (memory.fill (i32.const 65536) (i32.const 120) (i32.const 65536))
    (i32.store (i32.const 64) (i32.const 0x45544641)) ;; "AFTE"
    (i32.store8 (i32.const 68) (i32.const 82)) ;; "R"
    (block $done
      (loop $more
        (br_if $done (i32.ge_u (local.get $i) (i32.const ${chunks})))
        (drop (call $write (i32.const ${fd}) (i32.const 65536) (i32.const 65536)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $more)))
    (drop (call $write (i32.const 2) (i32.const 64) (i32.const 5)))))`;
}

/** Writes "bye" to stderr and "partial" to stdout, then exits with the given code. */
export function exitWith(code: number): string {
  return `(module
  ${imports.fd_write}
  ${imports.proc_exit}
  (memory 1)
  (data (i32.const 100) "bye\\n")
  (data (i32.const 200) "partial")
  ${writeHelper}
  (func (export "_start")
    (drop (call $write (i32.const 2) (i32.const 100) (i32.const 4)))
    (drop (call $write (i32.const 1) (i32.const 200) (i32.const 7)))
    (call $proc_exit (i32.const ${code}))
    unreachable))`;
}

/** Writes `text` (a WAT string literal body) to stdout and returns normally. */
export function printCommand(text: string): string {
  const length = Buffer.byteLength(JSON.parse(`"${text}"`) as string);
  return `(module
  ${imports.fd_write}
  (memory 1)
  (data (i32.const 100) "${text}")
  ${writeHelper}
  (func (export "_start") (drop (call $write (i32.const 1) (i32.const 100) (i32.const ${length})))))`;
}

/** Imports something outside WASI. */
export const IMPORTS_ENV = `(module
  (import "env" "something" (func $something (param i32) (result i32)))
  (func (export "f") (result i32) (call $something (i32.const 1))))`;

/** Imports fd_write with the wrong signature. */
export const IMPORTS_WRONG_SIGNATURE = `(module
  (import "${WASI}" "fd_write" (func $fd_write (param i32) (result i32)))
  (func (export "f") (result i32) (call $fd_write (i32.const 1))))`;

/**
 * Tries to open /etc/passwd through every directory descriptor a preopen scan would find, and
 * reports what it got: "open" returns path_open's errno with fd 3 (the first preopen) and with
 * fd 0; "prestat" returns fd_prestat_get's errno for fd 3.
 */
export const PATH_OPEN = `(module
  ${imports.path_open}
  ${imports.fd_prestat_get}
  (memory 1)
  (data (i32.const 100) "/etc/passwd")
  (func (export "open") (param $dirfd i32) (result i32)
    (call $path_open (local.get $dirfd) (i32.const 1) (i32.const 100) (i32.const 11)
      (i32.const 0) (i64.const -1) (i64.const -1) (i32.const 0) (i32.const 200)))
  (func (export "opened") (result i32) (i32.load (i32.const 200)))
  (func (export "prestat") (param i32) (result i32) (call $fd_prestat_get (local.get 0) (i32.const 300))))`;

/** Keeps a counter in memory and in a global; each call bumps both and returns memory + 1000 × global. */
export const COUNTER = `(module
  (memory 1)
  (global $g (mut i32) (i32.const 0))
  (data (i32.const 200) "\\2a")
  (func (export "bump") (result i32)
    (i32.store (i32.const 100) (i32.add (i32.load (i32.const 100)) (i32.const 1)))
    (global.set $g (i32.add (global.get $g) (i32.const 1)))
    (i32.store8 (i32.const 200) (i32.add (i32.load8_u (i32.const 200)) (i32.const 1)))
    (i32.add (i32.load (i32.const 100)) (i32.mul (global.get $g) (i32.const 1000))))
  (func (export "data") (result i32) (i32.load8_u (i32.const 200)))
  (func (export "dirty") (result i32) (local $i i32) (local $sum i32)
    ;; sums the first 64 KiB, then scribbles over it: a recycled memory must come back zeroed
    (block $done (loop $more
      (br_if $done (i32.ge_u (local.get $i) (i32.const 65536)))
      (local.set $sum (i32.add (local.get $sum) (i32.load8_u (local.get $i))))
      (i32.store8 (local.get $i) (i32.const 255))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $more)))
    (local.get $sum)))`;

/** Recurses without end. */
export const DEEP_RECURSION = `(module
  (func $down (export "down") (param i32) (result i32)
    (i32.add (call $down (i32.add (local.get 0) (i32.const 1))) (i32.const 1))))`;

/** Reports WASI facts: [argc, environ count, clock ok, random ok] as JSON on stdout. */
export const WASI_FACTS = `(module
  ${imports.fd_write}
  ${imports.args_sizes_get}
  ${imports.environ_sizes_get}
  ${imports.clock_time_get}
  ${imports.random_get}
  (memory 1)
  ${writeHelper}
  (func (export "_start")
    (drop (call $args_sizes_get (i32.const 16) (i32.const 20)))
    (drop (call $environ_sizes_get (i32.const 24) (i32.const 28)))
    (drop (call $clock_time_get (i32.const 0) (i64.const 1) (i32.const 32)))
    (drop (call $random_get (i32.const 40) (i32.const 16)))
    ;; "[a,e,c,r]" with single digits
    (i32.store8 (i32.const 100) (i32.const 91))
    (i32.store8 (i32.const 101) (i32.add (i32.const 48) (i32.load (i32.const 16))))
    (i32.store8 (i32.const 102) (i32.const 44))
    (i32.store8 (i32.const 103) (i32.add (i32.const 48) (i32.load (i32.const 24))))
    (i32.store8 (i32.const 104) (i32.const 44))
    (i32.store8 (i32.const 105) (i32.add (i32.const 48) (i64.gt_u (i64.load (i32.const 32)) (i64.const 1600000000000000000))))
    (i32.store8 (i32.const 106) (i32.const 44))
    (i32.store8 (i32.const 107) (i32.add (i32.const 48)
      (i32.or (i64.ne (i64.load (i32.const 40)) (i64.const 0)) (i64.ne (i64.load (i32.const 48)) (i64.const 0)))))
    (i32.store8 (i32.const 108) (i32.const 93))
    (drop (call $write (i32.const 1) (i32.const 100) (i32.const 9)))))`;

/** Sleeps through poll_oneoff for the given number of milliseconds (relative monotonic clock). */
export const SLEEP = `(module
  ${imports.poll_oneoff}
  (memory 1)
  (func (export "sleep") (param $ms i64) (result i32)
    ;; subscription at 0: userdata 7, tag 0 (clock), clock id 1, timeout ns, precision 0, flags 0
    (i64.store (i32.const 0) (i64.const 7))
    (i32.store8 (i32.const 8) (i32.const 0))
    (i32.store (i32.const 16) (i32.const 1))
    (i64.store (i32.const 24) (i64.mul (local.get $ms) (i64.const 1000000)))
    (i64.store (i32.const 32) (i64.const 0))
    (i32.store16 (i32.const 40) (i32.const 0))
    (drop (call $poll_oneoff (i32.const 0) (i32.const 100) (i32.const 1) (i32.const 200)))
    ;; events written, and the event's userdata
    (i32.add (i32.mul (i32.load (i32.const 200)) (i32.const 100)) (i32.wrap_i64 (i64.load (i32.const 100))))))`;

/** Catches every exception around an endless stream of writes: the output cap must still hold. */
export const SWALLOW_OUTPUT_LIMIT = `(module
  ${imports.fd_write}
  (memory 2)
  ${writeHelper}
  (func (export "_start")
    (memory.fill (i32.const 1024) (i32.const 121) (i32.const 4096))
    (loop $forever
      (try
        (do (drop (call $write (i32.const 2) (i32.const 1024) (i32.const 4096))))
        (catch_all))
      (br $forever))))`;

/** A WASI reactor: _initialize sets state that the export reads. */
export const REACTOR = `(module
  (global $ready (mut i32) (i32.const 0))
  (func (export "_initialize") (global.set $ready (i32.const 41)))
  (func (export "get") (result i32) (i32.add (global.get $ready) (i32.const 1))))`;

/**
 * A module binaryen is slow to optimize: `locals` locals all set before any is read, so local
 * coalescing (quadratic in the locals live at once) takes ~50 s at 20,000 (13 s at 10,000, 3 s at
 * 5,000) on a 2-core machine, while it compiles without the optimizer in milliseconds. `variant`
 * changes the constants (distinct modules of the same cost).
 */
export function slowToOptimize(locals: number, variant = 0): string {
  const sets = Array.from({ length: locals }, (_, i) => `(local.set ${i} (i32.const ${i + variant}))`).join(
    '\n',
  );
  const sums = Array.from({ length: locals - 1 }, (_, i) => `(local.get ${i + 1}) i32.add`).join('\n');
  return `(module (func (export "main") (result i32) (local ${'i32 '.repeat(locals)})\n${sets}\n(local.get 0)\n${sums}))`;
}

// One Lua 5.4 virtual machine: an instance of the Lua WebAssembly module that the wasmoon package
// ships (glue.wasm, Lua compiled with emscripten), hosted with our own imports instead of the
// package's JavaScript glue. The module imports 27 functions; each is implemented here, and none
// reaches the host: no files (every open fails with EACCES), no environment, no shell (system()
// reports none), no network (the module has no socket imports at all), stdout/stderr through the
// call's capped output. The module's memory grows only through `emscripten_resize_heap` (it has no
// memory.grow instruction), so the memory limit is enforced here, outside the guest. A count hook
// (a JavaScript function placed in the module's function table) checks the deadline, and stops
// the guest by throwing a JavaScript exception, which unwinds past every Lua pcall. A VM serves
// one call and is then dropped.

import type { CallIo } from '../../src/executor/host/worker-runtime.js';

/** Why the host stopped the guest. */
export type StopReason = 'timeout' | 'output' | 'memory';

/** Thrown through the guest's frames to stop it; never caught by Lua (only longjmps are). */
export class GuestStopped extends Error {
  constructor(readonly reason: StopReason) {
    super(`guest stopped: ${reason}`);
  }
}

/** Thrown when the guest calls os.exit. */
export class GuestExited extends Error {
  constructor(readonly code: number) {
    super(`guest exited with status ${code}`);
  }
}

/** Thrown when the C code aborts (a Lua panic: an error outside any protected call). */
export class GuestAborted extends Error {}

/** The Lua C API functions and emscripten helpers the host uses (raw exports: pointers are numbers). */
export interface LuaExports {
  readonly memory: WebAssembly.Memory;
  readonly __indirect_function_table: WebAssembly.Table;
  __wasm_call_ctors(): void;
  emscripten_stack_init?(): void;
  malloc(size: number): number;
  free(ptr: number): void;
  fflush(stream: number): number;
  stackSave(): number;
  stackRestore(sp: number): void;
  setThrew(threw: number, value: number): void;
  luaL_newstate(): number;
  luaL_openlibs(L: number): void;
  luaL_loadbufferx(L: number, buffer: number, size: number, name: number, mode: number): number;
  luaL_traceback(L: number, L1: number, msg: number, level: number): void;
  lua_close(L: number): void;
  lua_gettop(L: number): number;
  lua_settop(L: number, index: number): void;
  lua_pushvalue(L: number, index: number): void;
  lua_checkstack(L: number, n: number): number;
  lua_type(L: number, index: number): number;
  lua_isinteger(L: number, index: number): number;
  lua_tonumberx(L: number, index: number, isnum: number): number;
  lua_tointegerx(L: number, index: number, isnum: number): bigint;
  lua_toboolean(L: number, index: number): number;
  lua_tolstring(L: number, index: number, len: number): number;
  lua_touserdata(L: number, index: number): number;
  lua_topointer(L: number, index: number): number;
  lua_rawlen(L: number, index: number): number;
  lua_rawequal(L: number, a: number, b: number): number;
  lua_pushnil(L: number): void;
  lua_pushnumber(L: number, n: number): void;
  lua_pushinteger(L: number, n: bigint): void;
  lua_pushlstring(L: number, s: number, len: number): number;
  lua_pushboolean(L: number, b: number): void;
  lua_pushlightuserdata(L: number, p: number): void;
  lua_createtable(L: number, narr: number, nrec: number): void;
  lua_rawget(L: number, index: number): number;
  lua_rawgeti(L: number, index: number, n: bigint): number;
  lua_rawset(L: number, index: number): void;
  lua_rawseti(L: number, index: number, n: bigint): void;
  lua_getmetatable(L: number, index: number): number;
  lua_setmetatable(L: number, index: number): number;
  lua_next(L: number, index: number): number;
  lua_pcallk(L: number, nargs: number, nresults: number, msgh: number, ctx: number, k: number): number;
  lua_sethook(L: number, hook: number, mask: number, count: number): void;
}

export const LUA = {
  OK: 0,
  ERRRUN: 2,
  ERRSYNTAX: 3,
  ERRMEM: 4,
  ERRERR: 5,
  TNONE: -1,
  TNIL: 0,
  TBOOLEAN: 1,
  TLIGHTUSERDATA: 2,
  TNUMBER: 3,
  TSTRING: 4,
  TTABLE: 5,
  TFUNCTION: 6,
  TUSERDATA: 7,
  TTHREAD: 8,
  MULTRET: -1,
  MASKCOUNT: 8,
  /** -LUAI_MAXSTACK - 1000 */
  REGISTRYINDEX: -1_001_000,
  RIDX_GLOBALS: 2n,
} as const;

const PAGE = 64 * 1024;
/** Instructions between two runs of the count hook (a deadline check costs ~0.1 µs). */
const HOOK_COUNT = 10_000;

// A module that imports one JavaScript function of type (i32, i32) -> () and exports it: the exported
// function can be stored in a WebAssembly table, which is how a lua_Hook made of JavaScript gets a
// C function pointer (what emscripten's addFunction does).
const TRAMPOLINE = new Uint8Array([
  0x00,
  0x61,
  0x73,
  0x6d,
  0x01,
  0x00,
  0x00,
  0x00, // magic, version
  0x01,
  0x06,
  0x01,
  0x60,
  0x02,
  0x7f,
  0x7f,
  0x00, // type section: (i32, i32) -> ()
  0x02,
  0x07,
  0x01,
  0x01,
  0x65,
  0x01,
  0x66,
  0x00,
  0x00, // import "e" "f" as function 0
  0x07,
  0x05,
  0x01,
  0x01,
  0x66,
  0x00,
  0x00, // export "f" = function 0
]);
let trampolineModule: WebAssembly.Module | undefined;

const ERRNO = { EACCES: 2, EBADF: 8, ENOSYS: 52, ENOTTY: 59, ESPIPE: 70 } as const;

/** The call a VM is serving: where its output goes and when it must stop. */
export interface Session {
  readonly io: CallIo;
  /** Bytes the module's memory may grow to. */
  readonly memoryCap: number;
}

export class LuaVm {
  readonly exports: LuaExports;
  readonly L: number;
  /** Set when the host stopped the guest (the exception that did it may have been swallowed by C). */
  stopped: StopReason | undefined;
  /** Set when a heap growth was refused: the guest reached the memory limit. */
  memoryRefused = false;
  private session: Session | undefined;
  private readonly decoders = [new TextDecoder(), new TextDecoder()];
  private readonly utc: number;

  /**
   * @param module the Lua module, with its memory imported (memory-import.ts)
   * @param memory the memory to run on: fresh, or zeroed after an earlier VM
   */
  constructor(module: WebAssembly.Module, memory: WebAssembly.Memory) {
    let exports: LuaExports | undefined;
    const vm = () => exports!;
    const u8 = () => new Uint8Array(vm().memory.buffer);
    const view = () => new DataView(vm().memory.buffer);
    const enosys = () => -ERRNO.ENOSYS;
    const env = {
      abort: () => {
        throw new GuestAborted('Lua aborted');
      },
      // emscripten's setjmp/longjmp: Lua's error handling longjmps through JavaScript exceptions; a
      // longjmp is the number Infinity, anything else (our GuestStopped) unwinds past the catch.
      invoke_vii: (index: number, a: number, b: number) => {
        const sp = vm().stackSave();
        try {
          (vm().__indirect_function_table.get(index) as (a: number, b: number) => void)(a, b);
        } catch (error) {
          vm().stackRestore(sp);
          if (error !== Number.POSITIVE_INFINITY) throw error;
          vm().setThrew(1, 0);
        }
      },
      _emscripten_throw_longjmp: () => {
        throw Number.POSITIVE_INFINITY;
      },
      emscripten_resize_heap: (requested: number) => {
        const bytes = requested >>> 0;
        const memory = vm().memory;
        const cap = this.session?.memoryCap ?? memory.buffer.byteLength;
        if (bytes > cap) {
          this.memoryRefused = true;
          return 0;
        }
        // Grow in steps of at least 1 MiB (fewer grow calls), never past the cap.
        const target = Math.min(cap, Math.max(bytes, memory.buffer.byteLength + 1024 * 1024));
        try {
          memory.grow(Math.ceil((target - memory.buffer.byteLength) / PAGE));
          return 1;
        } catch {
          this.memoryRefused = true;
          return 0;
        }
      },
      // No shell: system(NULL) says none exists, system(cmd) fails.
      system: (command: number) => (command === 0 ? 0 : -1),
      exit: (code: number) => {
        throw new GuestExited(code);
      },
      emscripten_date_now: () => Date.now(),
      _emscripten_get_now_is_monotonic: () => 1,
      // Files: nothing can be opened, removed, renamed or read.
      __syscall_openat: () => -ERRNO.EACCES,
      __syscall_unlinkat: () => -ERRNO.EACCES,
      __syscall_rmdir: () => -ERRNO.EACCES,
      __syscall_renameat: () => -ERRNO.EACCES,
      __syscall_readlinkat: () => -ERRNO.EACCES,
      __syscall_fcntl64: () => 0,
      __syscall_ioctl: () => -ERRNO.ENOTTY,
      __syscall_dup3: enosys,
      // Time: UTC only (the host's zone is not the guest's business).
      _tzset_js: (timezone: number, daylight: number, stdName: number, dstName: number) => {
        view().setInt32(timezone, 0, true);
        view().setInt32(daylight, 0, true);
        u8().set([0x55, 0x54, 0x43, 0], stdName);
        u8().set([0x55, 0x54, 0x43, 0], dstName);
      },
      _gmtime_js: (time: bigint, tm: number) => this.writeTm(Number(time) * 1000, tm),
      _localtime_js: (time: bigint, tm: number) => this.writeTm(Number(time) * 1000, tm),
      _mktime_js: (tm: number) => {
        const d = view();
        const ms = Date.UTC(
          d.getInt32(tm + 20, true) + 1900,
          d.getInt32(tm + 16, true),
          d.getInt32(tm + 12, true),
          d.getInt32(tm + 8, true),
          d.getInt32(tm + 4, true),
          d.getInt32(tm, true),
        );
        if (Number.isNaN(ms)) return -1n;
        this.writeTm(ms, tm);
        return BigInt(Math.floor(ms / 1000));
      },
      strftime: (s: number, max: number, format: number, tm: number) => {
        const text = strftime(this.readCString(format), this.readTm(tm));
        const bytes = new TextEncoder().encode(text);
        if (bytes.length + 1 > max) return 0;
        u8().set(bytes, s);
        u8()[s + bytes.length] = 0;
        return bytes.length;
      },
    };
    const wasi = {
      fd_write: (fd: number, iovs: number, count: number, written: number) => {
        if (fd !== 1 && fd !== 2) return ERRNO.EBADF;
        let total = 0;
        for (let i = 0; i < count; i++) {
          const ptr = view().getUint32(iovs + i * 8, true);
          const len = view().getUint32(iovs + i * 8 + 4, true);
          total += len;
          const text = this.decoders[fd - 1]!.decode(u8().subarray(ptr, ptr + len), { stream: true });
          const session = this.session;
          if (
            session !== undefined &&
            text !== '' &&
            !session.io.write(fd === 1 ? 'stdout' : 'stderr', text)
          ) {
            this.stop('output');
          }
        }
        view().setUint32(written, total, true);
        return 0;
      },
      // stdin is empty.
      fd_read: (_fd: number, _iovs: number, _count: number, read: number) => {
        view().setUint32(read, 0, true);
        return 0;
      },
      fd_close: () => 0,
      fd_seek: () => ERRNO.ESPIPE,
      environ_sizes_get: (count: number, size: number) => {
        view().setUint32(count, 0, true);
        view().setUint32(size, 0, true);
        return 0;
      },
      environ_get: () => 0,
    };
    const instance = new WebAssembly.Instance(module, {
      env: { ...env, memory },
      wasi_snapshot_preview1: wasi,
    });
    exports = instance.exports as unknown as LuaExports;
    exports.emscripten_stack_init?.();
    exports.__wasm_call_ctors();

    trampolineModule ??= new WebAssembly.Module(TRAMPOLINE);
    const hook = new WebAssembly.Instance(trampolineModule, { e: { f: () => this.onHook() } });
    const table = exports.__indirect_function_table;
    const hookIndex = table.grow(1);
    table.set(hookIndex, hook.exports.f as () => void);

    this.exports = exports;
    this.utc = this.cString('UTC');
    this.L = exports.luaL_newstate();
    if (this.L === 0) throw new Error('Cannot create a Lua state');
    exports.luaL_openlibs(this.L);
    exports.lua_sethook(this.L, hookIndex, LUA.MASKCOUNT, HOOK_COUNT);
  }

  /** Attaches the call; from now on output and memory growth are the call's. */
  begin(session: Session): void {
    this.session = session;
  }

  /** Flushes the C library's buffered output (io.write without a newline) into the call's output. */
  flush(): void {
    if (this.stopped !== undefined) return;
    try {
      this.exports.fflush(0);
    } catch {
      // Output over the limit while flushing: the call is already stopped.
    }
  }

  /** Bytes of linear memory the VM holds. */
  get memoryBytes(): number {
    return this.exports.memory.buffer.byteLength;
  }

  private onHook(): void {
    const session = this.session;
    if (session === undefined) return;
    if (this.stopped !== undefined) this.stop(this.stopped);
    if (this.memoryRefused) this.stop('memory');
    if (performance.now() > session.io.deadline) this.stop('timeout');
  }

  private stop(reason: StopReason): never {
    this.stopped ??= reason;
    throw new GuestStopped(this.stopped);
  }

  // --- memory helpers --------------------------------------------------------------------------

  bytes(): Uint8Array {
    return new Uint8Array(this.exports.memory.buffer);
  }

  /** Copies bytes into a fresh malloc'd block (NUL-terminated); the caller frees it. */
  alloc(data: Uint8Array): number {
    const ptr = this.exports.malloc(data.length + 1);
    if (ptr === 0) throw new GuestStopped('memory');
    const heap = this.bytes();
    heap.set(data, ptr);
    heap[ptr + data.length] = 0;
    return ptr;
  }

  cString(text: string): number {
    return this.alloc(new TextEncoder().encode(text));
  }

  readCString(ptr: number): string {
    const heap = this.bytes();
    let end = ptr;
    while (heap[end] !== 0) end++;
    return new TextDecoder().decode(heap.subarray(ptr, end));
  }

  /** The bytes of the Lua string at `index` (which must be a string: numbers would be converted). */
  stringBytes(index: number, scratch: number): Uint8Array {
    const ptr = this.exports.lua_tolstring(this.L, index, scratch);
    const length = new DataView(this.exports.memory.buffer).getUint32(scratch, true);
    return this.bytes().subarray(ptr, ptr + length);
  }

  private writeTm(ms: number, tm: number): void {
    const d = new Date(ms);
    const view = new DataView(this.exports.memory.buffer);
    const start = Date.UTC(d.getUTCFullYear(), 0, 1);
    const fields = [
      d.getUTCSeconds(),
      d.getUTCMinutes(),
      d.getUTCHours(),
      d.getUTCDate(),
      d.getUTCMonth(),
      d.getUTCFullYear() - 1900,
      d.getUTCDay(),
      Math.floor((ms - start) / 86_400_000),
      0,
    ];
    for (const [i, v] of fields.entries()) view.setInt32(tm + i * 4, v, true);
    view.setInt32(tm + 36, 0, true); // tm_gmtoff
    view.setUint32(tm + 40, this.utc, true); // tm_zone
  }

  private readTm(tm: number): Date {
    const view = new DataView(this.exports.memory.buffer);
    const f = (i: number) => view.getInt32(tm + i * 4, true);
    return new Date(Date.UTC(f(5) + 1900, f(4), f(3), f(2), f(1), f(0)));
  }
}

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

/** The common strftime conversions, in UTC (os.date). */
function strftime(format: string, d: Date): string {
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  const start = Date.UTC(d.getUTCFullYear(), 0, 1);
  const conversions: Record<string, () => string> = {
    a: () => DAYS[d.getUTCDay()]!.slice(0, 3),
    A: () => DAYS[d.getUTCDay()]!,
    b: () => MONTHS[d.getUTCMonth()]!.slice(0, 3),
    B: () => MONTHS[d.getUTCMonth()]!,
    c: () =>
      `${conversions.a!()} ${conversions.b!()} ${String(d.getUTCDate()).padStart(2)} ${conversions.X!()} ${d.getUTCFullYear()}`,
    d: () => pad(d.getUTCDate()),
    D: () => `${conversions.m!()}/${conversions.d!()}/${conversions.y!()}`,
    e: () => String(d.getUTCDate()).padStart(2),
    F: () => `${d.getUTCFullYear()}-${conversions.m!()}-${conversions.d!()}`,
    H: () => pad(d.getUTCHours()),
    I: () => pad(((d.getUTCHours() + 11) % 12) + 1),
    j: () => pad(Math.floor((d.getTime() - start) / 86_400_000) + 1, 3),
    m: () => pad(d.getUTCMonth() + 1),
    M: () => pad(d.getUTCMinutes()),
    n: () => '\n',
    p: () => (d.getUTCHours() < 12 ? 'AM' : 'PM'),
    S: () => pad(d.getUTCSeconds()),
    t: () => '\t',
    T: () => conversions.X!(),
    u: () => String(d.getUTCDay() === 0 ? 7 : d.getUTCDay()),
    w: () => String(d.getUTCDay()),
    x: () => conversions.D!(),
    X: () => `${conversions.H!()}:${conversions.M!()}:${conversions.S!()}`,
    y: () => pad(d.getUTCFullYear() % 100),
    Y: () => String(d.getUTCFullYear()),
    z: () => '+0000',
    Z: () => 'UTC',
    '%': () => '%',
  };
  return format.replace(/%[EO]?(.)/g, (match, c: string) => conversions[c]?.() ?? match);
}

// The Lua sandbox, inside a worker thread. Every call gets a never-used VM (a new instance of the Lua
// module with its own memory, a new lua_State, the standard libraries and the prelude): nothing a
// call does can be seen by the next, not even through a corrupted heap. The next VM is built while
// the worker is idle (~1 ms), off the caller's critical path. Arguments go in and the result comes
// out through the Lua C API (no JSON text inside the guest), so user code cannot tamper with the
// encoding. Time: the VM's count hook stops the guest at the deadline, past any pcall; the pool's
// watchdog, which terminates this thread, is the guarantee (long C functions such as a pathological
// string.find never reach the hook).

import type { Call, GuestError, Outcome } from '../../src/executor/contract.js';
import { safeName, safeText } from '../../src/executor/echo.js';
import { outputLimitError, timeoutError } from '../../src/executor/host/limit-errors.js';
import { type CallIo, type RunResult, serveWorker } from '../../src/executor/host/worker-runtime.js';
import {
  checkJsonBounds,
  JsonLimitError,
  type JsonValue,
  REQUEST_BOUNDS,
  stringifyJson,
} from '../../src/executor/json-value.js';
import { GuestAborted, GuestExited, GuestStopped, LUA, LuaVm, type StopReason } from './lua-vm.js';
import { PRELUDE } from './prelude.js';

export interface RunnerData {
  /** The Lua module with its memory imported (memory-import.ts). */
  readonly wasmModule: WebAssembly.Module;
  readonly packageVersion: string;
  /** Pages the module starts with (its own declaration). */
  readonly initialPages: number;
  /** The operator's memory ceiling in pages: the hard maximum of every VM's memory. */
  readonly maximumPages: number;
}

const USER_CHUNK = 'user.lua';
/** Stack slots the prelude leaves for the whole call. */
const SLOT = { handler: 1, arrayMt: 2, objectMt: 3 } as const;
const MAX_DEPTH = 1000;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const MiB = 1024 * 1024;

/** A value that cannot be carried: becomes INVALID_ARGUMENT or INVALID_RESULT. */
class Refused extends Error {}
/** The result is larger than the output limit. */
class TooLarge extends Error {}

/** Builds a VM with the prelude run; the stack then holds SLOT.*. */
function prepare(data: RunnerData): LuaVm {
  const memory = new WebAssembly.Memory({ initial: data.initialPages, maximum: data.maximumPages });
  const vm = new LuaVm(data.wasmModule, memory);
  const { exports: lua, L } = vm;
  const code = new TextEncoder().encode(PRELUDE);
  const source = vm.alloc(code);
  const name = vm.cString('=polyeval');
  const mode = vm.cString('t');
  try {
    if (lua.luaL_loadbufferx(L, source, code.length, name, mode) !== LUA.OK) {
      throw new Error(`The Lua prelude does not compile: ${readMessage(vm, -1).message}`);
    }
    lua.lua_pushlightuserdata(L, 0);
    for (const seed of crypto.getRandomValues(new BigInt64Array(2))) lua.lua_pushinteger(L, seed);
    if (lua.lua_pcallk(L, 3, 3, 0, 0, 0) !== LUA.OK) {
      throw new Error(`The Lua prelude failed: ${readMessage(vm, -1).message}`);
    }
  } finally {
    for (const p of [source, name, mode]) lua.free(p);
  }
  return vm;
}

serveWorker<RunnerData>((data) => {
  let next: LuaVm | undefined = prepare(data);
  return {
    engineVersion: `Lua 5.4 (wasmoon ${data.packageVersion})`,
    run(call: Call, io: CallIo): RunResult {
      const vm = next ?? prepare(data);
      next = undefined;
      vm.begin({ io, memoryCap: call.limits.memoryMb * MiB });
      let outcome: Outcome;
      try {
        outcome = execute(vm, call);
        vm.flush();
      } catch (error) {
        vm.flush();
        outcome = { ok: false, error: hostFailure(vm, call, error) };
      }
      if (!outcome.ok && outcome.error.code !== 'OUTPUT_LIMIT' && vm.stopped === 'output') {
        outcome = { ok: false, error: outputLimitError(call) };
      }
      return { outcome, memoryBytes: vm.memoryBytes };
    },
    idle() {
      next ??= prepare(data);
    },
  };
});

/** Maps an exception that unwound out of the VM to the guest error it stands for. */
function hostFailure(vm: LuaVm, call: Call, error: unknown): GuestError {
  const name = call.function;
  const reason: StopReason | undefined =
    error instanceof GuestStopped ? error.reason : (vm.stopped ?? (vm.memoryRefused ? 'memory' : undefined));
  if (reason !== undefined) return limitError(call, reason);
  if (error instanceof GuestExited) {
    return {
      code: 'RUNTIME_ERROR',
      message: `Cannot run "${name}": the code called os.exit(${error.code})`,
      exitCode: error.code,
    };
  }
  if (error instanceof RangeError) {
    return { code: 'RUNTIME_ERROR', message: `Cannot run "${name}": stack overflow in the interpreter` };
  }
  const detail = error instanceof GuestAborted ? 'the interpreter aborted' : (error as Error).message;
  return {
    code: 'SANDBOX_CRASH',
    message: `Cannot run "${name}": the Lua VM failed (${detail}); it was replaced`,
  };
}

function limitError(call: Call, reason: StopReason): GuestError {
  switch (reason) {
    case 'timeout':
      return timeoutError(call);
    case 'memory':
      return {
        code: 'MEMORY_LIMIT',
        message: `Cannot run "${call.function}": memory limit of ${call.limits.memoryMb} MiB exceeded`,
      };
    case 'output':
      return outputLimitError(call);
  }
}

function execute(vm: LuaVm, call: Call): Outcome {
  const { exports: lua, L } = vm;
  const name = call.function;

  // Load the user's code (text only) as the chunk "user.lua".
  const code = new TextEncoder().encode(call.code ?? '');
  const source = vm.alloc(code);
  const chunkName = vm.cString(`=${USER_CHUNK}`);
  const mode = vm.cString('t');
  const loaded = lua.luaL_loadbufferx(L, source, code.length, chunkName, mode);
  for (const p of [source, chunkName, mode]) lua.free(p);
  if (loaded !== LUA.OK) return { ok: false, error: luaError(vm, call, loaded, 'load the code for') };
  const ran = lua.lua_pcallk(L, 0, 0, SLOT.handler, 0, 0);
  if (ran !== LUA.OK) return { ok: false, error: luaError(vm, call, ran, 'load the code for') };

  // The entry is a global function, read raw (a metatable on _G cannot run code here).
  lua.lua_rawgeti(L, LUA.REGISTRYINDEX, LUA.RIDX_GLOBALS);
  pushString(vm, name);
  lua.lua_rawget(L, -2);
  if (lua.lua_type(L, -1) !== LUA.TFUNCTION) {
    return {
      ok: false,
      error: {
        code: 'ENTRY_NOT_FOUND',
        message: `Cannot find function "${safeName(name)}": the code does not define it as a global function`,
      },
    };
  }
  try {
    call.args.forEach((arg, i) => {
      push(vm, arg, 0, `argument ${i + 1}`);
    });
  } catch (error) {
    if (!(error instanceof Refused)) throw error;
    return { ok: false, error: { code: 'INVALID_ARGUMENT', message: `Cannot pass ${error.message}` } };
  }
  const status = lua.lua_pcallk(L, call.args.length, 1, SLOT.handler, 0, 0);
  if (status !== LUA.OK) return { ok: false, error: luaError(vm, call, status, 'run') };
  if (vm.memoryRefused) return { ok: false, error: limitError(call, 'memory') };

  const scratch = lua.malloc(8);
  try {
    const budget = { left: call.limits.outputBytes };
    const value = read(vm, lua.lua_gettop(L), '', 0, new Set(), budget, scratch);
    const text = stringifyJson(value);
    if (Buffer.byteLength(text) > call.limits.outputBytes) throw new TooLarge();
    checkJsonBounds(text, REQUEST_BOUNDS);
    return { ok: true, value };
  } catch (error) {
    if (error instanceof JsonLimitError) {
      return {
        ok: false,
        error: {
          code: 'OUTPUT_LIMIT',
          message: `Cannot return the result of "${safeName(name)}": ${error.message} (results are held to the bounds of requests)`,
        },
      };
    }
    if (error instanceof Refused)
      return { ok: false, error: { code: 'INVALID_RESULT', message: error.message } };
    if (error instanceof TooLarge) {
      return {
        ok: false,
        error: {
          code: 'OUTPUT_LIMIT',
          message: `Cannot return the result of "${name}": it is larger than the output limit of ${call.limits.outputBytes} bytes`,
        },
      };
    }
    throw error;
  } finally {
    lua.free(scratch);
  }
}

/**
 * The message handler's output at `index`: the message, then (after a NUL) the traceback. A
 * syntax error has no traceback (the handler did not run), and its message may quote a NUL of the
 * code: it is not split.
 */
function readMessage(vm: LuaVm, index: number, traced = true): { message: string; traceback: string } {
  const { exports: lua, L } = vm;
  if (lua.lua_type(L, index) !== LUA.TSTRING) return { message: '(no error message)', traceback: '' };
  const scratch = lua.malloc(8);
  const text = new TextDecoder().decode(vm.stringBytes(index, scratch));
  lua.free(scratch);
  const cut = traced ? text.lastIndexOf('\0') : -1;
  return cut < 0
    ? { message: text, traceback: '' }
    : { message: text.slice(0, cut), traceback: text.slice(cut + 1) };
}

const POSITION = new RegExp(`^${USER_CHUNK.replace('.', '\\.')}:(\\d+): `);
const FRAME = new RegExp(`${USER_CHUNK.replace('.', '\\.')}:(\\d+):`);

/** Turns a failed load or pcall (status + message on the stack) into a GuestError. */
function luaError(vm: LuaVm, call: Call, status: number, action: string): GuestError {
  if (vm.stopped !== undefined) return limitError(call, vm.stopped);
  if (status === LUA.ERRMEM || vm.memoryRefused) return limitError(call, 'memory');
  const { message: raw, traceback } = readMessage(vm, -1, status !== LUA.ERRSYNTAX);
  const name = call.function;
  const own = POSITION.exec(raw);
  const frames = traceback
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith(`${USER_CHUNK}:`));
  const fromStack = frames.map((f) => FRAME.exec(f)).find((m) => m !== null);
  const lineText = own?.[1] ?? fromStack?.[1];
  const line = lineText === undefined ? undefined : Number(lineText);
  const message = own === null ? raw : raw.slice(own[0].length);
  const at = line === undefined ? '' : ` (line ${line})`;
  return {
    code: status === LUA.ERRSYNTAX ? 'SYNTAX_ERROR' : 'RUNTIME_ERROR',
    // The message quotes the code (a token, a string): made safe to echo (NUL, bidi, size).
    message: safeText(`Cannot ${action} "${safeName(name)}": ${message}${at}`),
    ...(line === undefined ? {} : { line }),
    ...(frames.length === 0 ? {} : { stack: frames.join('\n') }),
  };
}

function pushString(vm: LuaVm, text: string): void {
  const bytes = new TextEncoder().encode(text);
  const ptr = vm.alloc(bytes);
  vm.exports.lua_pushlstring(vm.L, ptr, bytes.length);
  vm.exports.free(ptr);
}

/**
 * Pushes a JSON value as a Lua value: null → nil at the top level and json.null inside arrays and
 * objects (so they keep their shape), integers → Lua integers (64-bit), other numbers → floats,
 * arrays and objects → tables marked with the array or object metatable.
 */
function push(vm: LuaVm, value: JsonValue, depth: number, where: string): void {
  const { exports: lua, L } = vm;
  if (lua.lua_checkstack(L, 4) === 0) throw new Refused(`${where}: it is nested too deeply`);
  if (value === null) {
    if (depth === 0) lua.lua_pushnil(L);
    else lua.lua_pushlightuserdata(L, 0);
  } else if (typeof value === 'boolean') {
    lua.lua_pushboolean(L, value ? 1 : 0);
  } else if (typeof value === 'number') {
    if (Number.isSafeInteger(value)) lua.lua_pushinteger(L, BigInt(value));
    else lua.lua_pushnumber(L, value);
  } else if (typeof value === 'bigint') {
    if (value < INT64_MIN || value > INT64_MAX) {
      throw new Refused(`${where}: the integer ${value} does not fit in Lua's 64-bit integers`);
    }
    lua.lua_pushinteger(L, value);
  } else if (typeof value === 'string') {
    pushString(vm, value);
  } else if (Array.isArray(value)) {
    lua.lua_createtable(L, value.length, 0);
    value.forEach((item, i) => {
      push(vm, item, depth + 1, where);
      lua.lua_rawseti(L, -2, BigInt(i + 1));
    });
    lua.lua_pushvalue(L, SLOT.arrayMt);
    lua.lua_setmetatable(L, -2);
  } else {
    const keys = Object.keys(value);
    lua.lua_createtable(L, 0, keys.length);
    for (const key of keys) {
      pushString(vm, key);
      push(vm, value[key]!, depth + 1, where);
      lua.lua_rawset(L, -3);
    }
    lua.lua_pushvalue(L, SLOT.objectMt);
    lua.lua_setmetatable(L, -2);
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** A table key as JSON text: it must be UTF-8 like every string in the result. */
function utf8Key(bytes: Uint8Array, where: string): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    throw new Refused(`Cannot return ${where}: a key is not valid UTF-8 (JSON keys are Unicode text)`);
  }
}
const TYPE_NAMES: Record<number, string> = {
  [LUA.TFUNCTION]: 'a function',
  [LUA.TUSERDATA]: 'a userdata',
  [LUA.TTHREAD]: 'a coroutine',
  [LUA.TLIGHTUSERDATA]: 'a light userdata',
  [LUA.TTABLE]: 'a table',
  [LUA.TBOOLEAN]: 'a boolean',
};

/**
 * Reads the Lua value at absolute stack index `index` as JSON. Tables are read raw (metamethods never
 * run): one marked json.array is an array of its 1..#t, one marked json.object an object; an
 * unmarked table is an array when its keys are 1..n (holes allowed, as null, up to half), an object
 * when its keys are strings, and an empty unmarked table is an empty array.
 */
function read(
  vm: LuaVm,
  index: number,
  path: string,
  depth: number,
  seen: Set<number>,
  budget: { left: number },
  scratch: number,
): JsonValue {
  const { exports: lua, L } = vm;
  const where = path === '' ? 'the result' : `result${path}`;
  const spend = (n: number) => {
    budget.left -= n;
    if (budget.left < 0) throw new TooLarge();
  };
  const type = lua.lua_type(L, index);
  switch (type) {
    case LUA.TNIL:
      spend(4);
      return null;
    case LUA.TBOOLEAN:
      spend(5);
      return lua.lua_toboolean(L, index) !== 0;
    case LUA.TLIGHTUSERDATA:
      if (lua.lua_touserdata(L, index) === 0) {
        spend(4);
        return null; // json.null
      }
      throw new Refused(`Cannot return a light userdata in ${where}`);
    case LUA.TNUMBER: {
      spend(8);
      if (lua.lua_isinteger(L, index) !== 0) {
        const n = lua.lua_tointegerx(L, index, 0);
        return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
      }
      const n = lua.lua_tonumberx(L, index, 0);
      if (Number.isNaN(n)) throw new Refused(`Cannot return NaN in ${where}: JSON has no NaN or Infinity`);
      if (!Number.isFinite(n)) {
        throw new Refused(
          `Cannot return ${n > 0 ? 'Infinity' : '-Infinity'} in ${where}: JSON has no NaN or Infinity`,
        );
      }
      return Object.is(n, -0) ? 0 : n;
    }
    case LUA.TSTRING: {
      const bytes = vm.stringBytes(index, scratch);
      spend(bytes.length + 2);
      try {
        return UTF8.decode(bytes);
      } catch {
        throw new Refused(
          `Cannot return ${where}: the string is not valid UTF-8 (JSON strings are Unicode text)`,
        );
      }
    }
    case LUA.TTABLE:
      break;
    default:
      throw new Refused(`Cannot return ${TYPE_NAMES[type] ?? 'a value of an unknown type'} in ${where}`);
  }

  const pointer = lua.lua_topointer(L, index);
  if (seen.has(pointer)) throw new Refused(`Cannot return ${where}: it contains a cycle`);
  if (depth >= MAX_DEPTH || lua.lua_checkstack(L, 4) === 0) {
    throw new Refused(`Cannot return ${where}: it is nested deeper than ${MAX_DEPTH} levels`);
  }
  seen.add(pointer);
  let marker: 'array' | 'object' | undefined;
  if (lua.lua_getmetatable(L, index) !== 0) {
    if (lua.lua_rawequal(L, -1, SLOT.arrayMt) !== 0) marker = 'array';
    else if (lua.lua_rawequal(L, -1, SLOT.objectMt) !== 0) marker = 'object';
    lua.lua_settop(L, -2);
  }
  spend(2);
  let result: JsonValue;
  if (marker === 'array') {
    const length = lua.lua_rawlen(L, index);
    const items: JsonValue[] = [];
    for (let i = 1; i <= length; i++) {
      lua.lua_rawgeti(L, index, BigInt(i));
      items.push(read(vm, lua.lua_gettop(L), `${path}[${i}]`, depth + 1, seen, budget, scratch));
      lua.lua_settop(L, -2);
      spend(1);
    }
    result = items;
  } else {
    // One pass over the raw entries; the shape is decided from the keys.
    const byIndex = new Map<number, JsonValue>();
    const byName = new Map<string, JsonValue>();
    lua.lua_pushnil(L);
    while (lua.lua_next(L, index) !== 0) {
      const valueIndex = lua.lua_gettop(L);
      const keyType = lua.lua_type(L, valueIndex - 1);
      if (keyType === LUA.TSTRING) {
        const key = utf8Key(vm.stringBytes(valueIndex - 1, scratch), where);
        spend(key.length + 4);
        byName.set(key, read(vm, valueIndex, `${path}.${key}`, depth + 1, seen, budget, scratch));
      } else if (keyType === LUA.TNUMBER && lua.lua_isinteger(L, valueIndex - 1) !== 0) {
        const key = lua.lua_tointegerx(L, valueIndex - 1, 0);
        if (key < 1n || key > 2n ** 31n)
          throw new Refused(`Cannot return ${where}: it has the table key ${key}`);
        spend(1);
        byIndex.set(Number(key), read(vm, valueIndex, `${path}[${key}]`, depth + 1, seen, budget, scratch));
      } else {
        throw new Refused(
          `Cannot return ${where}: it has a key that is ${TYPE_NAMES[keyType] ?? 'a float'}, not a string or integer`,
        );
      }
      lua.lua_settop(L, -2);
    }
    if (marker === 'object' || (byIndex.size === 0 && byName.size > 0)) {
      // No prototype: a "__proto__" key is then a key like any other, not a prototype to set.
      const object: Record<string, JsonValue> = Object.create(null);
      for (const [k, v] of byIndex) object[String(k)] = v;
      for (const [k, v] of byName) object[k] = v;
      result = object;
    } else if (byName.size > 0) {
      throw new Refused(`Cannot return ${where}: the table mixes array indexes and string keys`);
    } else {
      let length = 0;
      for (const k of byIndex.keys()) length = Math.max(length, k);
      if (length > 2 * byIndex.size + 10) {
        throw new Refused(
          `Cannot return ${where}: the table is a sparse array (${byIndex.size} values up to index ${length})`,
        );
      }
      result = Array.from({ length }, (_, i) => byIndex.get(i + 1) ?? null);
    }
  }
  seen.delete(pointer);
  return result;
}

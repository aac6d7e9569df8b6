// Inspection and instrumentation of core WebAssembly modules, at the byte level.
//
// inspectModule() reads what the executor needs to know (types, imports, exports, memories, tables,
// start function) from a module V8 has already validated. instrumentModule() then rewrites it so
// that the sandbox can hold it to its limits:
//   - fuel: a mutable i64 global is decremented at every function entry and loop header, and the
//     code traps (`unreachable`, which guest exception handlers cannot catch) when it goes negative;
//     the host sets the budget before any guest code runs and reads what is left afterwards;
//   - memory: the module's own memory becomes an import (`polyeval.memory`), so that each call
//     supplies a memory whose maximum is the call's limit (and can recycle it);
//   - memory.grow: every site calls a helper that tells a failure caused by our cap (status global
//     set to 1, then a trap: MEMORY_LIMIT) from one caused by the module's own declared maximum
//     (-1, as the specification says);
//   - tables: declared maxima are lowered to the operator's table limit;
//   - start function: the start section is removed and the function exported, so that the host
//     sets the fuel budget before calling it (a start function that loops is stopped by fuel too);
//   - bulk operations: in a function that uses one (memory.fill/copy/init, table.fill/copy/init/
//     grow, the GC proposal's array.new/fill/copy/init), every loop header also calls an empty
//     helper function. Measured on Node 20 and 24: V8's baseline (Liftoff) code for a loop whose
//     body is a long bulk operation (memory.fill of 4 MiB or more) never honoured
//     worker.terminate(), so the watchdog could not stop it and the worker thread spun forever;
//     a call to a wasm function in the loop gives V8 the stack check it needs.
// Nothing else moves: no function, global, memory or table index changes (new functions and
// globals are appended at the end of their index spaces, and no import other than a memory is
// added), so element segments, names and code keep their meaning. We rewrite bytes rather than go
// through binaryen's IR because the IR walk had to cover ~100 expression kinds (the JS API has no
// generic child iterator and lacks wrappers for several), binaryen does not read every module V8
// accepts, and a byte-level pass is ~100x faster; binaryen remains the optional optimizer.

import { safeName } from '../../src/executor/echo.js';
import { BinaryFormatError, Reader, Writer } from './binary.js';
import { formatSignature, WASI_FUNCTIONS, WASI_MODULE } from './wasi-surface.js';

export type ValType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128' | 'ref';

export interface FuncType {
  readonly params: readonly ValType[];
  readonly results: readonly ValType[];
}

export type ExternKind = 'function' | 'table' | 'memory' | 'global' | 'tag';
const EXTERN_KINDS: readonly ExternKind[] = ['function', 'table', 'memory', 'global', 'tag'];

export interface Limits {
  readonly min: number;
  readonly max: number | null;
  readonly shared: boolean;
  readonly is64: boolean;
  readonly customPageSize: boolean;
}

export interface ImportInfo {
  readonly module: string;
  readonly name: string;
  readonly kind: ExternKind;
  /** Function imports: their type. */
  readonly type?: FuncType | null;
}

export interface ExportInfo {
  readonly name: string;
  readonly kind: ExternKind;
  readonly index: number;
}

interface Section {
  readonly id: number;
  /** Offset of the section id byte. */
  readonly headerStart: number;
  /** Offsets of the payload. */
  readonly start: number;
  readonly end: number;
}

interface TableEntry {
  /** Bytes before the limits (`0x40 0x00 reftype` or `reftype`). */
  readonly prefix: Uint8Array;
  readonly limits: Limits;
  /** Bytes after the limits (the init expression of the GC form), possibly empty. */
  readonly suffix: Uint8Array;
}

export interface ModuleInfo {
  readonly sections: readonly Section[];
  readonly types: readonly (FuncType | null)[];
  readonly imports: readonly ImportInfo[];
  readonly importedFunctionCount: number;
  readonly importedGlobalCount: number;
  /** Type index of each defined function. */
  readonly functionTypeIndices: readonly number[];
  readonly tables: readonly TableEntry[];
  readonly memories: readonly Limits[];
  readonly definedGlobalCount: number;
  readonly exports: readonly ExportInfo[];
  readonly start: number | null;
}

/** A module that is valid WebAssembly but cannot be accepted here; the message names the reason. */
export class ModuleRejected extends Error {
  constructor(
    message: string,
    readonly reason: 'imports' | 'memory' | 'table' | 'unsupported' = 'unsupported',
  ) {
    super(message);
    this.name = 'ModuleRejected';
  }
}

const SECTION = {
  custom: 0,
  type: 1,
  import: 2,
  function: 3,
  table: 4,
  memory: 5,
  global: 6,
  export: 7,
  start: 8,
  element: 9,
  code: 10,
  data: 11,
  dataCount: 12,
  tag: 13,
} as const;

/** Position of each known section in the required order (the tag section sits before globals). */
const SECTION_RANK: Readonly<Record<number, number>> = {
  1: 1,
  2: 2,
  3: 3,
  4: 4,
  5: 5,
  13: 6,
  6: 7,
  7: 8,
  8: 9,
  9: 10,
  12: 11,
  10: 12,
  11: 13,
};

export const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d] as const;
const CORE_VERSION = [0x01, 0x00, 0x00, 0x00] as const;

export function isCoreModule(bytes: Uint8Array): boolean {
  return (
    bytes.length >= 8 &&
    WASM_MAGIC.every((b, i) => bytes[i] === b) &&
    CORE_VERSION.every((b, i) => bytes[i + 4] === b)
  );
}

/** A component (component-model binary): same magic, layer 1 in the version field. */
export function isComponent(bytes: Uint8Array): boolean {
  return (
    bytes.length >= 8 && WASM_MAGIC.every((b, i) => bytes[i] === b) && bytes[6] === 0x01 && bytes[7] === 0x00
  );
}

// ---------------------------------------------------------------------------------------------
// Types

const NUMERIC: Readonly<Record<number, ValType>> = {
  127: 'i32',
  126: 'i64',
  125: 'f32',
  124: 'f64',
  123: 'v128',
};

function readValType(r: Reader): ValType {
  const byte = r.peek();
  const numeric = NUMERIC[byte];
  if (numeric !== undefined) {
    r.pos++;
    return numeric;
  }
  if (byte === 0x63 || byte === 0x64) {
    r.pos++;
    r.sleb(); // heap type
    return 'ref';
  }
  // Abstract reference shorthands (funcref, externref, anyref, exnref...) are single negative bytes.
  if (byte >= 0x40 && byte <= 0x7f) {
    r.pos++;
    return 'ref';
  }
  return r.fail(`Unknown value type 0x${byte.toString(16)}`);
}

function readStorageType(r: Reader): void {
  const byte = r.peek();
  if (byte === 0x78 || byte === 0x77) r.pos++;
  else readValType(r);
}

function readCompositeType(r: Reader): FuncType | null {
  const form = r.u8();
  switch (form) {
    case 0x60: {
      const params: ValType[] = [];
      for (let n = r.u32(); n > 0; n--) params.push(readValType(r));
      const results: ValType[] = [];
      for (let n = r.u32(); n > 0; n--) results.push(readValType(r));
      return { params, results };
    }
    case 0x5f:
      for (let n = r.u32(); n > 0; n--) {
        readStorageType(r);
        r.u8();
      }
      return null;
    case 0x5e:
      readStorageType(r);
      r.u8();
      return null;
    case 0x5d: // continuation type (stack switching)
      r.sleb();
      return null;
    default:
      return r.fail(`Unknown type form 0x${form.toString(16)}`);
  }
}

function readSubType(r: Reader): FuncType | null {
  const byte = r.peek();
  if (byte === 0x50 || byte === 0x4f) {
    r.pos++;
    for (let n = r.u32(); n > 0; n--) r.u32();
  }
  return readCompositeType(r);
}

function readExternKind(r: Reader): ExternKind {
  const byte = r.u8();
  return EXTERN_KINDS[byte] ?? r.fail(`Unknown external kind ${byte}`);
}

function readLimits(r: Reader): Limits {
  const flags = r.u8();
  if (flags > 0x0f) r.fail(`Unknown limits flags 0x${flags.toString(16)}`);
  const is64 = (flags & 0x04) !== 0;
  const min = is64 ? r.u64() : r.u32();
  const max = (flags & 0x01) !== 0 ? (is64 ? r.u64() : r.u32()) : null;
  const customPageSize = (flags & 0x08) !== 0;
  if (customPageSize) r.u32();
  return { min, max, shared: (flags & 0x02) !== 0, is64, customPageSize };
}

// ---------------------------------------------------------------------------------------------
// Instructions

/** Reads a block type: empty, a value type, or a type index. */
function skipBlockType(r: Reader): void {
  const byte = r.peek();
  if (byte === 0x63 || byte === 0x64) {
    r.pos++;
    r.sleb();
  } else {
    r.sleb();
  }
}

function skipMemarg(r: Reader): void {
  const align = r.u32();
  if ((align & 0x40) !== 0) r.u32(); // memory index (multi-memory)
  r.skipLeb(); // offset (u64 for 64-bit memories)
}

/**
 * Skips the immediates of the instruction whose opcode was just read. Returns false for an opcode
 * this file does not know (the caller refuses the module rather than guess its length).
 */
function skipImmediates(r: Reader, op: number): boolean {
  if (op >= 0x45 && op <= 0xc4) return true; // numeric operators
  switch (op) {
    case 0x00: // unreachable
    case 0x01: // nop
    case 0x05: // else
    case 0x0a: // throw_ref
    case 0x0b: // end
    case 0x0f: // return
    case 0x19: // catch_all
    case 0x1a: // drop
    case 0x1b: // select
    case 0xd1: // ref.is_null
    case 0xd3: // ref.eq
    case 0xd4: // ref.as_non_null
      return true;
    case 0x02: // block
    case 0x03: // loop
    case 0x04: // if
    case 0x06: // try (legacy exceptions)
      skipBlockType(r);
      return true;
    case 0x07: // catch
    case 0x08: // throw
    case 0x09: // rethrow
    case 0x0c: // br
    case 0x0d: // br_if
    case 0x10: // call
    case 0x12: // return_call
    case 0x14: // call_ref
    case 0x15: // return_call_ref
    case 0x18: // delegate
    case 0x20: // local.get
    case 0x21: // local.set
    case 0x22: // local.tee
    case 0x23: // global.get
    case 0x24: // global.set
    case 0x25: // table.get
    case 0x26: // table.set
    case 0x3f: // memory.size
    case 0x40: // memory.grow
    case 0xd2: // ref.func
    case 0xd5: // br_on_null
    case 0xd6: // br_on_non_null
      r.u32();
      return true;
    case 0x0e: // br_table
      for (let n = r.u32(); n > 0; n--) r.u32();
      r.u32();
      return true;
    case 0x11: // call_indirect
    case 0x13: // return_call_indirect
      r.u32();
      r.u32();
      return true;
    case 0x1c: // select t*
      for (let n = r.u32(); n > 0; n--) readValType(r);
      return true;
    case 0x1f: // try_table
      skipBlockType(r);
      for (let n = r.u32(); n > 0; n--) {
        const kind = r.u8();
        if (kind === 0x00 || kind === 0x01) r.u32();
        else if (kind !== 0x02 && kind !== 0x03) return false;
        r.u32();
      }
      return true;
    case 0x41: // i32.const
    case 0x42: // i64.const
      r.skipLeb();
      return true;
    case 0x43: // f32.const
      r.skip(4);
      return true;
    case 0x44: // f64.const
      r.skip(8);
      return true;
    case 0xd0: // ref.null
      r.sleb();
      return true;
    case 0xfb:
      return skipGcImmediates(r, r.u32());
    case 0xfc:
      return skipMiscImmediates(r, r.u32());
    case 0xfd:
      return skipSimdImmediates(r, r.u32());
    case 0xfe: {
      const sub = r.u32();
      if (sub === 0x03)
        r.u8(); // atomic.fence
      else if (sub <= 0x02 || (sub >= 0x10 && sub <= 0x4e)) skipMemarg(r);
      else return false;
      return true;
    }
    default:
      if (op >= 0x28 && op <= 0x3e) {
        skipMemarg(r);
        return true;
      }
      return false;
  }
}

function skipGcImmediates(r: Reader, sub: number): boolean {
  switch (sub) {
    case 0: // struct.new
    case 1: // struct.new_default
    case 6: // array.new
    case 7: // array.new_default
    case 11: // array.get
    case 12: // array.get_s
    case 13: // array.get_u
    case 14: // array.set
    case 16: // array.fill
      r.u32();
      return true;
    case 2: // struct.get
    case 3:
    case 4:
    case 5: // struct.set
    case 8: // array.new_fixed
    case 9: // array.new_data
    case 10: // array.new_elem
    case 17: // array.copy
    case 18: // array.init_data
    case 19: // array.init_elem
      r.u32();
      r.u32();
      return true;
    case 15: // array.len
    case 26: // any.convert_extern
    case 27: // extern.convert_any
    case 28: // ref.i31
    case 29: // i31.get_s
    case 30: // i31.get_u
      return true;
    case 20: // ref.test
    case 21:
    case 22: // ref.cast
    case 23:
      r.sleb();
      return true;
    case 24: // br_on_cast
    case 25: // br_on_cast_fail
      r.u8();
      r.u32();
      r.sleb();
      r.sleb();
      return true;
    default:
      return false;
  }
}

function skipMiscImmediates(r: Reader, sub: number): boolean {
  if (sub <= 7) return true; // saturating truncations
  switch (sub) {
    case 8: // memory.init
    case 10: // memory.copy
    case 12: // table.init
    case 14: // table.copy
      r.u32();
      r.u32();
      return true;
    case 9: // data.drop
    case 11: // memory.fill
    case 13: // elem.drop
    case 15: // table.grow
    case 16: // table.size
    case 17: // table.fill
      r.u32();
      return true;
    default:
      return false;
  }
}

function skipSimdImmediates(r: Reader, sub: number): boolean {
  if (sub <= 11 || sub === 92 || sub === 93) {
    skipMemarg(r);
    return true;
  }
  if (sub === 12 || sub === 13) {
    r.skip(16);
    return true;
  }
  if (sub >= 21 && sub <= 34) {
    r.u8();
    return true;
  }
  if (sub >= 84 && sub <= 91) {
    skipMemarg(r);
    r.u8();
    return true;
  }
  return sub <= 0x113;
}

function unknownOpcode(op: number, at: number): never {
  throw new ModuleRejected(
    `The module uses an instruction the sandbox cannot instrument (opcode 0x${op.toString(16)} at byte ${at})`,
  );
}

/** Skips a constant expression up to and including its final `end`. */
function skipConstExpr(r: Reader): void {
  for (;;) {
    const at = r.pos;
    const op = r.u8();
    if (op === 0x0b) return;
    if (!skipImmediates(r, op)) unknownOpcode(op, at);
  }
}

// ---------------------------------------------------------------------------------------------
// Inspection

/** Reads the parts of a (validated) core module the executor needs. */
export function inspectModule(bytes: Uint8Array): ModuleInfo {
  if (!isCoreModule(bytes)) throw new BinaryFormatError('Not a core WebAssembly module', 0);
  const r = new Reader(bytes, 8);
  const sections: Section[] = [];
  const types: (FuncType | null)[] = [];
  const imports: ImportInfo[] = [];
  const functionTypeIndices: number[] = [];
  const tables: TableEntry[] = [];
  const memories: Limits[] = [];
  const exports: ExportInfo[] = [];
  let importedFunctionCount = 0;
  let importedGlobalCount = 0;
  let definedGlobalCount = 0;
  let start: number | null = null;

  while (!r.done) {
    const headerStart = r.pos;
    const id = r.u8();
    const size = r.u32();
    const sectionStart = r.pos;
    const end = sectionStart + size;
    if (end > bytes.length) r.fail('Section extends past the end of the module');
    sections.push({ id, headerStart, start: sectionStart, end });
    const s = new Reader(bytes, sectionStart, end);
    switch (id) {
      case SECTION.type:
        for (let n = s.u32(); n > 0; n--) {
          if (s.peek() === 0x4e) {
            s.pos++;
            for (let m = s.u32(); m > 0; m--) types.push(readSubType(s));
          } else {
            types.push(readSubType(s));
          }
        }
        break;
      case SECTION.import:
        for (let n = s.u32(); n > 0; n--) {
          const module = s.name();
          const name = s.name();
          const kind = readExternKind(s);
          if (kind === 'function') {
            const typeIndex = s.u32();
            imports.push({ module, name, kind, type: types[typeIndex] ?? null });
            importedFunctionCount++;
            continue;
          }
          if (kind === 'table') {
            readValType(s);
            readLimits(s);
          } else if (kind === 'memory') {
            readLimits(s);
          } else if (kind === 'global') {
            readValType(s);
            s.u8();
            importedGlobalCount++;
          } else {
            s.u8();
            s.u32();
          }
          imports.push({ module, name, kind });
        }
        break;
      case SECTION.function:
        for (let n = s.u32(); n > 0; n--) functionTypeIndices.push(s.u32());
        break;
      case SECTION.table:
        for (let n = s.u32(); n > 0; n--) {
          const entryStart = s.pos;
          if (s.peek() === 0x40) {
            s.pos++;
            if (s.u8() !== 0x00) s.fail('Malformed table entry');
          }
          readValType(s);
          const prefix = bytes.slice(entryStart, s.pos);
          const limits = readLimits(s);
          const suffixStart = s.pos;
          if (bytes[entryStart] === 0x40) skipConstExpr(s);
          tables.push({ prefix, limits, suffix: bytes.slice(suffixStart, s.pos) });
        }
        break;
      case SECTION.memory:
        for (let n = s.u32(); n > 0; n--) memories.push(readLimits(s));
        break;
      case SECTION.global:
        definedGlobalCount = s.u32();
        break;
      case SECTION.export:
        for (let n = s.u32(); n > 0; n--) {
          const name = s.name();
          const kind = readExternKind(s);
          exports.push({ name, kind, index: s.u32() });
        }
        break;
      case SECTION.start:
        start = s.u32();
        break;
      default:
        break;
    }
    r.pos = end;
  }
  return {
    sections,
    types,
    imports,
    importedFunctionCount,
    importedGlobalCount,
    functionTypeIndices,
    tables,
    memories,
    definedGlobalCount,
    exports,
    start,
  };
}

/** The type of a function by its index in the function index space. */
export function functionType(info: ModuleInfo, index: number): FuncType | null {
  if (index < info.importedFunctionCount) {
    return info.imports.filter((i) => i.kind === 'function')[index]?.type ?? null;
  }
  const typeIndex = info.functionTypeIndices[index - info.importedFunctionCount];
  return typeIndex === undefined ? null : (info.types[typeIndex] ?? null);
}

/**
 * Refuses imports outside the WASI preview1 surface (or with another signature), naming each one.
 * @throws ModuleRejected
 */
export function checkImports(info: ModuleInfo): void {
  const problems: string[] = [];
  for (const imp of info.imports) {
    // Names come from the module: quoted short and safe (a 3 MB name was once echoed whole).
    const label = `"${safeName(`${imp.module}.${imp.name}`)}"`;
    if (imp.kind !== 'function') {
      problems.push(
        `${label} (a ${imp.kind}: the sandbox supplies the memory itself and imports nothing else)`,
      );
      continue;
    }
    // hasOwn: an import named "constructor" or "__proto__" must not find Object's own members.
    const expected =
      imp.module === WASI_MODULE && Object.hasOwn(WASI_FUNCTIONS, imp.name)
        ? WASI_FUNCTIONS[imp.name]
        : undefined;
    if (expected === undefined) {
      problems.push(`${label} (not part of WASI preview1, ${WASI_MODULE})`);
      continue;
    }
    const actual = imp.type;
    const same =
      actual != null &&
      actual.params.length === expected[0].length &&
      actual.results.length === expected[1].length &&
      actual.params.every((p, i) => p === expected[0][i]) &&
      actual.results.every((p, i) => p === expected[1][i]);
    if (!same) {
      const got = actual == null ? 'a non-function type' : formatSignature(actual.params, actual.results);
      problems.push(
        `${label} (declared as ${got}, WASI defines ${formatSignature(expected[0], expected[1])})`,
      );
    }
  }
  if (problems.length > 0) {
    const shown = problems.slice(0, 5).join('; ');
    const more = problems.length > 5 ? `; and ${problems.length - 5} more` : '';
    throw new ModuleRejected(
      `The module imports what the sandbox does not provide: ${shown}${more}`,
      'imports',
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Instrumentation

export const INTERNAL = {
  importModule: 'polyeval',
  memory: 'memory',
  fuel: 'polyeval.fuel',
  status: 'polyeval.status',
  start: 'polyeval.start',
} as const;

/** Value of the status global when a memory.grow failed because of the sandbox's cap. */
export const STATUS_MEMORY_LIMIT = 1;

export interface InstrumentOptions {
  /** Most table elements a module may declare as initial size (per table); maxima are lowered to it. */
  readonly tableElements: number;
  /** Most memory pages a module may declare as initial size (the operator's memory ceiling). */
  readonly maxInitialPages: number;
}

/** 0xFC sub-opcodes whose cost grows with an operand: memory.init/copy/fill, table.init/copy/grow/fill. */
const BULK_MISC = new Set([8, 10, 11, 12, 14, 15, 17]);
/** 0xFB sub-opcodes that allocate or fill arrays of a given length. */
const BULK_GC = new Set([6, 7, 9, 10, 16, 17, 18, 19]);

/** Whether a function body (after its locals) holds a bulk operation; see BULK_MISC and BULK_GC. */
function hasBulkOperation(bytes: Uint8Array, start: number, end: number): boolean {
  const r = new Reader(bytes, start, end);
  while (r.pos < end) {
    const at = r.pos;
    const op = r.u8();
    if (op === 0xfc || op === 0xfb) {
      const sub = r.u32();
      if ((op === 0xfc ? BULK_MISC : BULK_GC).has(sub)) return true;
      if (!(op === 0xfc ? skipMiscImmediates(r, sub) : skipGcImmediates(r, sub))) unknownOpcode(op, at);
    } else if (!skipImmediates(r, op)) {
      unknownOpcode(op, at);
    }
  }
  return false;
}

export interface Instrumented {
  readonly bytes: Uint8Array<ArrayBuffer>;
  /** The module's memory as declared (now imported from polyeval.memory), or null if it has none. */
  readonly memory: { readonly initial: number; readonly maximum: number | null } | null;
  /** Whether the start function was moved to the `polyeval.start` export. */
  readonly hasStart: boolean;
  readonly loops: number;
  readonly growSites: number;
}

const WASM_PAGES_MAX = 65536;

function concat(parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function encodeLimits(w: Writer, min: number, max: number | null): void {
  w.u8(max === null ? 0x00 : 0x01).u32(min);
  if (max !== null) w.u32(max);
}

/** Replaces the leading entry count of a vector section and appends entries. */
function extendVector(
  bytes: Uint8Array,
  section: Section | undefined,
  extra: readonly Uint8Array[],
): Uint8Array {
  const w = new Writer();
  if (section === undefined) {
    w.u32(extra.length);
  } else {
    const r = new Reader(bytes, section.start, section.end);
    const count = r.u32();
    w.u32(count + extra.length).bytes(bytes.subarray(r.pos, section.end));
  }
  for (const e of extra) w.bytes(e);
  return w.finish();
}

/**
 * Rewrites a module (already validated, imports already checked) for the sandbox.
 * @throws ModuleRejected for modules whose shape the sandbox does not support or allow
 */
export function instrumentModule(
  bytes: Uint8Array,
  info: ModuleInfo,
  options: InstrumentOptions,
): Instrumented {
  if (info.memories.length > 1) {
    throw new ModuleRejected('Modules with more than one memory are not supported', 'unsupported');
  }
  const mem = info.memories[0];
  if (mem !== undefined) {
    if (mem.is64) throw new ModuleRejected('64-bit memories (memory64) are not supported', 'unsupported');
    if (mem.shared) throw new ModuleRejected('Shared memories (threads) are not supported', 'unsupported');
    if (mem.customPageSize)
      throw new ModuleRejected('Custom memory page sizes are not supported', 'unsupported');
    if (mem.min > options.maxInitialPages) {
      throw new ModuleRejected(
        `The module's memory starts at ${mem.min} pages (${formatMiB(mem.min)}), over the limit of ${options.maxInitialPages} pages (${formatMiB(options.maxInitialPages)})`,
        'memory',
      );
    }
  }
  for (const [i, t] of info.tables.entries()) {
    if (t.limits.is64) throw new ModuleRejected('64-bit tables are not supported', 'unsupported');
    if (t.limits.min > options.tableElements) {
      throw new ModuleRejected(
        `Table ${i} starts with ${t.limits.min} elements, over the limit of ${options.tableElements}`,
        'table',
      );
    }
  }
  const reserved = new Set<string>([INTERNAL.fuel, INTERNAL.status, INTERNAL.start]);
  for (const e of info.exports) {
    if (reserved.has(e.name))
      throw new ModuleRejected(`The export name "${e.name}" is reserved by the sandbox`);
  }

  const section = (id: number): Section | undefined => info.sections.find((s) => s.id === id);
  const codeSection = section(SECTION.code);
  const totalFunctions = info.importedFunctionCount + info.functionTypeIndices.length;
  const fuelGlobal = info.importedGlobalCount + info.definedGlobalCount;
  const statusGlobal = fuelGlobal + 1;
  const needsGrowHelper = mem !== undefined && codeSection !== undefined;
  const growHelper = totalFunctions; // appended after every existing function
  const growHelperType = info.types.length;

  // --- code: fuel at function entries and loop headers, memory.grow through the helper
  const fuelCheck = new Writer(32)
    .u8(0x23)
    .u32(fuelGlobal)
    .u8(0x42)
    .u8(0x01)
    .u8(0x7d)
    .u8(0x24)
    .u32(fuelGlobal)
    .u8(0x23)
    .u32(fuelGlobal)
    .u8(0x42)
    .u8(0x00)
    .u8(0x53)
    .u8(0x04)
    .u8(0x40)
    .u8(0x00)
    .u8(0x0b)
    .finish();
  const growCall = new Writer(8).u8(0x10).u32(growHelper).finish();
  // The empty helper that loop headers call in functions with bulk operations (see the header).
  const tickHelper = growHelper + (needsGrowHelper ? 1 : 0);
  const tickHelperType = growHelperType + (needsGrowHelper ? 1 : 0);
  const tickCall = new Writer(8).u8(0x10).u32(tickHelper).finish();
  let needsTickHelper = false;
  let loops = 0;
  let growSites = 0;
  let newCode: Uint8Array | undefined;
  if (codeSection !== undefined) {
    // First pass: which functions hold a bulk operation (their loops call the tick helper).
    const bulk: boolean[] = [];
    const scan = new Reader(bytes, codeSection.start, codeSection.end);
    for (let f = scan.u32(); f > 0; f--) {
      const bodySize = scan.u32();
      const bodyEnd = scan.pos + bodySize;
      const b = new Reader(bytes, scan.pos, bodyEnd);
      for (let n = b.u32(); n > 0; n--) {
        b.u32();
        readValType(b);
      }
      bulk.push(hasBulkOperation(bytes, b.pos, bodyEnd));
      scan.pos = bodyEnd;
    }
    needsTickHelper = bulk.some(Boolean);
    const r = new Reader(bytes, codeSection.start, codeSection.end);
    const count = r.u32();
    const out = new Writer(codeSection.end - codeSection.start + count * 24 + 64);
    out.u32(count + (needsGrowHelper ? 1 : 0) + (needsTickHelper ? 1 : 0));
    for (let f = 0; f < count; f++) {
      const bodySize = r.u32();
      const bodyStart = r.pos;
      const bodyEnd = bodyStart + bodySize;
      const b = new Reader(bytes, bodyStart, bodyEnd);
      for (let n = b.u32(); n > 0; n--) {
        b.u32();
        readValType(b);
      }
      const loopHeader = bulk[f] ? concat([fuelCheck, tickCall]) : fuelCheck;
      const body = new Writer(bodySize + 32);
      body.bytes(bytes.subarray(bodyStart, b.pos)).bytes(fuelCheck);
      let copied = b.pos;
      while (b.pos < bodyEnd) {
        const at = b.pos;
        const op = b.u8();
        if (op === 0x03) {
          skipBlockType(b);
          body.bytes(bytes.subarray(copied, b.pos)).bytes(loopHeader);
          copied = b.pos;
          loops++;
        } else if (op === 0x40) {
          const memIndex = b.u32();
          if (needsGrowHelper && memIndex === 0) {
            body.bytes(bytes.subarray(copied, at)).bytes(growCall);
            copied = b.pos;
            growSites++;
          }
        } else if (!skipImmediates(b, op)) {
          unknownOpcode(op, at);
        }
      }
      body.bytes(bytes.subarray(copied, bodyEnd));
      out.sized(body.finish());
      r.pos = bodyEnd;
    }
    if (needsGrowHelper) out.sized(growHelperBody(mem.max ?? WASM_PAGES_MAX, statusGlobal));
    if (needsTickHelper) out.sized(new Uint8Array([0x00, 0x0b])); // (func): no locals, end
    newCode = out.finish();
  }

  // --- the other rewritten sections
  const replaced = new Map<number, Uint8Array | null>();
  const newTypes: Uint8Array[] = [];
  const newFunctions: Uint8Array[] = [];
  if (needsGrowHelper) {
    newTypes.push(new Writer(8).u8(0x60).u32(1).u8(0x7f).u32(1).u8(0x7f).finish()); // (i32) -> i32
    newFunctions.push(new Writer(8).u32(growHelperType).finish());
  }
  if (needsTickHelper) {
    newTypes.push(new Writer(8).u8(0x60).u32(0).u32(0).finish()); // () -> ()
    newFunctions.push(new Writer(8).u32(tickHelperType).finish());
  }
  if (newTypes.length > 0) {
    replaced.set(SECTION.type, extendVector(bytes, section(SECTION.type), newTypes));
    replaced.set(SECTION.function, extendVector(bytes, section(SECTION.function), newFunctions));
  }
  if (newCode !== undefined) replaced.set(SECTION.code, newCode);
  if (mem !== undefined) {
    const imp = new Writer(32).name(INTERNAL.importModule).name(INTERNAL.memory).u8(0x02);
    encodeLimits(imp, mem.min, mem.max);
    replaced.set(SECTION.import, extendVector(bytes, section(SECTION.import), [imp.finish()]));
    replaced.set(SECTION.memory, null);
  }
  if (info.tables.length > 0) {
    const w = new Writer().u32(info.tables.length);
    for (const t of info.tables) {
      const max = Math.min(t.limits.max ?? Number.POSITIVE_INFINITY, options.tableElements);
      w.bytes(t.prefix);
      encodeLimits(w, t.limits.min, max);
      w.bytes(t.suffix);
    }
    replaced.set(SECTION.table, w.finish());
  }
  const fuelDef = new Writer(8).u8(0x7e).u8(0x01).u8(0x42).u8(0x00).u8(0x0b).finish();
  const statusDef = new Writer(8).u8(0x7f).u8(0x01).u8(0x41).u8(0x00).u8(0x0b).finish();
  replaced.set(SECTION.global, extendVector(bytes, section(SECTION.global), [fuelDef, statusDef]));
  const newExports = [
    new Writer(32).name(INTERNAL.fuel).u8(0x03).u32(fuelGlobal).finish(),
    new Writer(32).name(INTERNAL.status).u8(0x03).u32(statusGlobal).finish(),
  ];
  if (info.start !== null) {
    newExports.push(new Writer(32).name(INTERNAL.start).u8(0x00).u32(info.start).finish());
    replaced.set(SECTION.start, null);
  }
  replaced.set(SECTION.export, extendVector(bytes, section(SECTION.export), newExports));

  // --- reassemble: original order, rewritten sections in place, new ones where the order wants them
  const parts: Uint8Array[] = [bytes.subarray(0, 8)];
  const present = new Set(info.sections.map((s) => s.id));
  const pending = [...replaced.keys()].filter((id) => !present.has(id) && replaced.get(id) !== null);
  pending.sort((a, b) => SECTION_RANK[a]! - SECTION_RANK[b]!);
  const emit = (id: number, content: Uint8Array): void => {
    parts.push(new Writer(content.length + 6).u8(id).sized(content).finish());
  };
  for (const s of info.sections) {
    const rank = SECTION_RANK[s.id];
    if (rank !== undefined) {
      while (pending.length > 0 && SECTION_RANK[pending[0]!]! < rank) {
        const id = pending.shift()!;
        emit(id, replaced.get(id)!);
      }
    }
    if (replaced.has(s.id) && s.id !== SECTION.custom) {
      const content = replaced.get(s.id);
      if (content !== null && content !== undefined) emit(s.id, content);
    } else {
      parts.push(bytes.subarray(s.headerStart, s.end));
    }
  }
  for (const id of pending) emit(id, replaced.get(id)!);

  return {
    bytes: concat(parts),
    memory: mem === undefined ? null : { initial: mem.min, maximum: mem.max },
    hasStart: info.start !== null,
    loops,
    growSites,
  };
}

/**
 * (func (param $delta i32) (result i32) (local $r i32)
 *   (local.set $r (memory.grow (local.get $delta)))
 *   (if (i32.eq (local.get $r) (i32.const -1))
 *     ;; Within the module's own maximum, only the sandbox's cap can refuse: report it and trap.
 *     (if (i64.le_u (i64.add (i64.extend_i32_u (memory.size)) (i64.extend_i32_u (local.get $delta)))
 *                   (i64.const $ownMax))
 *       (global.set $status (i32.const 1)) (unreachable)))
 *   (local.get $r))
 */
function growHelperBody(ownMaxPages: number, statusGlobal: number): Uint8Array {
  return new Writer(64)
    .u32(1)
    .u32(1)
    .u8(0x7f) // one i32 local
    .u8(0x20)
    .u32(0)
    .u8(0x40)
    .u8(0x00)
    .u8(0x22)
    .u32(1)
    .u8(0x41)
    .u8(0x7f)
    .u8(0x46)
    .u8(0x04)
    .u8(0x40)
    .u8(0x3f)
    .u8(0x00)
    .u8(0xad)
    .u8(0x20)
    .u32(0)
    .u8(0xad)
    .u8(0x7c)
    .u8(0x42)
    .s64(BigInt(ownMaxPages))
    .u8(0x58)
    .u8(0x04)
    .u8(0x40)
    .u8(0x41)
    .u8(0x01)
    .u8(0x24)
    .u32(statusGlobal)
    .u8(0x00)
    .u8(0x0b)
    .u8(0x0b)
    .u8(0x20)
    .u32(1)
    .u8(0x0b)
    .finish();
}

export function formatMiB(pages: number): string {
  const mib = (pages * 65536) / 1048576;
  return `${Number.isInteger(mib) ? mib : mib.toFixed(2)} MiB`;
}

// JSON values to and from WebAssembly numbers, for the exported-function convention. i32 takes an
// integer in [-2^31, 2^32) (both signed and unsigned readings are accepted; results come back
// signed, as WebAssembly's JS API gives them); i64 takes any integer in [-2^63, 2^64) — beyond
// 2^53 it arrives as a bigint and goes back as one, so nothing is rounded; f32 and f64 take any
// number. Anything else (strings, booleans, null, arrays, v128 or reference parameters) is refused.

import type { JsonValue } from '../../src/executor/json-value.js';
import type { FuncType, ValType } from './instrument.js';

export type WasmNumber = number | bigint;

type Converted<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly message: string };

const I32_MIN = -(2 ** 31);
const I32_MAX_UNSIGNED = 2 ** 32 - 1;
const I64_MIN = -(2n ** 63n);
const I64_MAX_UNSIGNED = 2n ** 64n - 1n;

function describe(value: JsonValue): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'boolean') return `${value}`;
  return String(value);
}

function convert(type: ValType, value: JsonValue): WasmNumber | string {
  switch (type) {
    case 'i32':
      if (
        typeof value === 'number' &&
        Number.isInteger(value) &&
        value >= I32_MIN &&
        value <= I32_MAX_UNSIGNED
      ) {
        return value | 0;
      }
      return `an integer from ${I32_MIN} to ${I32_MAX_UNSIGNED} (i32)`;
    case 'i64': {
      let big: bigint | undefined;
      if (typeof value === 'bigint') big = value;
      else if (typeof value === 'number' && Number.isSafeInteger(value)) big = BigInt(value);
      if (big !== undefined && big >= I64_MIN && big <= I64_MAX_UNSIGNED) return BigInt.asIntN(64, big);
      return `an integer from ${I64_MIN} to ${I64_MAX_UNSIGNED} (i64)`;
    }
    case 'f32':
    case 'f64':
      if (typeof value === 'number') return value;
      if (typeof value === 'bigint') return Number(value);
      return `a number (${type})`;
    default:
      return `a ${type} value, which JSON cannot carry`;
  }
}

/** Converts JSON arguments for a call to an export of type `type`. */
export function toWasmArgs(
  name: string,
  type: FuncType,
  args: readonly JsonValue[],
): Converted<WasmNumber[]> {
  const signature = `(${type.params.join(', ')})`;
  if (args.length !== type.params.length) {
    const n = type.params.length;
    return {
      ok: false,
      message: `Cannot call "${name}": it takes ${n} argument${n === 1 ? '' : 's'} ${signature}, got ${args.length}`,
    };
  }
  const values: WasmNumber[] = [];
  for (const [i, param] of type.params.entries()) {
    const converted = convert(param, args[i]!);
    if (typeof converted === 'string') {
      return {
        ok: false,
        message: `Cannot call "${name}": argument ${i + 1} must be ${converted}, got ${describe(args[i]!)}`,
      };
    }
    values.push(converted);
  }
  return { ok: true, value: values };
}

function fromWasm(type: ValType, value: unknown): JsonValue | string {
  switch (type) {
    case 'i32':
      return typeof value === 'number' ? value : 'an i32 result that is not a number';
    case 'i64':
      if (typeof value !== 'bigint') return 'an i64 result that is not a bigint';
      return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
        ? Number(value)
        : value;
    case 'f32':
    case 'f64':
      if (typeof value !== 'number') return `an ${type} result that is not a number`;
      return Number.isFinite(value) ? value : `${value} (${type}), which JSON cannot carry`;
    default:
      return `a ${type} result, which JSON cannot carry`;
  }
}

/** Converts what an export returned: nothing → null, one value → it, several → an array. */
export function fromWasmResult(
  name: string,
  results: readonly ValType[],
  value: unknown,
): Converted<JsonValue> {
  const values = results.length === 1 ? [value] : results.length === 0 ? [] : (value as unknown[]);
  const out: JsonValue[] = [];
  for (const [i, type] of results.entries()) {
    const converted = fromWasm(type, values[i]);
    if (typeof converted === 'string') {
      return { ok: false, message: `Cannot return from "${name}": it returned ${converted}` };
    }
    out.push(converted);
  }
  if (results.length === 0) return { ok: true, value: null };
  if (results.length === 1) return { ok: true, value: out[0]! };
  return { ok: true, value: out };
}

// JSON values as the service carries them: plain JSON, except that integers outside the safe range
// (|n| > 2^53 - 1) are bigint so that they survive losslessly from the wire to the guest and back.
// Also the "tagged" text form used to move such values through guest engines whose JSON.parse
// would round big integers: a bigint is the string "\u0000n<digits>", and a string that
// itself starts with "\u0000" gets one more "\u0000" in front, so the mapping is exact both ways.

import { parse as losslessParse, stringify as losslessStringify } from 'lossless-json';

export type JsonValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | JsonValue[]
  | { [key: string]: JsonValue };

const UNSAFE_INTEGER_HINT = /\d{16}/;

function parseNumber(text: string): number | bigint {
  if (/^-?\d+$/.test(text)) {
    const n = Number(text);
    return Number.isSafeInteger(n) ? n : BigInt(text);
  }
  return Number(text);
}

/**
 * Parses JSON text; integers beyond 2^53 become bigint. Plain JSON.parse is used unless the text
 * contains a run of 16+ digits, so ordinary bodies pay nothing for losslessness.
 * @throws SyntaxError on invalid JSON (and RangeError on nesting too deep for the parser)
 */
export function parseJson(text: string): JsonValue {
  if (!UNSAFE_INTEGER_HINT.test(text)) return JSON.parse(text) as JsonValue;
  return losslessParse(text, null, parseNumber) as JsonValue;
}

/** Serializes a value that may hold bigints; bigints are written as JSON integers. */
export function stringifyJson(value: unknown, space?: number): string {
  if (!containsBigInt(value, 0)) return JSON.stringify(value, null, space) ?? 'null';
  return losslessStringify(value, null, space) ?? 'null';
}

function containsBigInt(value: unknown, depth: number): boolean {
  if (typeof value === 'bigint') return true;
  if (value === null || typeof value !== 'object' || depth > 10_000) return false;
  if (Array.isArray(value)) return value.some((v) => containsBigInt(v, depth + 1));
  for (const key in value) {
    if (containsBigInt((value as Record<string, unknown>)[key], depth + 1)) return true;
  }
  return false;
}

const NUL = '\u0000';

/** Encodes a value as tagged JSON text (see the header). */
export function toTaggedJson(value: JsonValue): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'bigint') return `${NUL}n${v.toString()}`;
    if (typeof v === 'string' && v.startsWith(NUL)) return NUL + v;
    return v;
  });
}

/** Decodes tagged JSON text produced by toTaggedJson or by a guest's equivalent. */
export function fromTaggedJson(text: string): JsonValue {
  return JSON.parse(text, (_key, v: unknown) => {
    if (typeof v === 'string' && v.startsWith(NUL)) {
      if (v[1] === 'n') return BigInt(v.slice(2));
      return v.slice(1);
    }
    return v;
  }) as JsonValue;
}

/** Depth of nesting of a JSON value (a scalar is 0); stops counting past `max`. */
export function jsonDepth(value: unknown, max: number): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (d > deepest) deepest = d;
    if (deepest > max) return deepest;
    if (v !== null && typeof v === 'object') {
      for (const child of Object.values(v)) stack.push([child, d + 1]);
    }
  }
  return deepest;
}

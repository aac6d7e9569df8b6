// JSON values as the service carries them: plain JSON, except that integers outside the safe range
// (|n| > 2^53 - 1) are bigint so that they survive losslessly from the wire to the guest and back.
// Also the "tagged" text form used to move such values through guest engines whose JSON.parse
// would round big integers: a bigint is the string "\u0000n<digits>", and a string that
// itself starts with "\u0000" gets one more "\u0000" in front, so the mapping is exact both ways.

import { randomBytes } from 'node:crypto';

const NUL = '\u0000';

/** A value as the service carries it (see the header). */
export type JsonValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | JsonValue[]
  | { [key: string]: JsonValue };

/**
 * Bounds on the shape of JSON text, checked by one linear scan before anything is built. Parsing
 * runs on the HTTP thread, and what costs there is structure, not bytes: an 8 MiB string parses
 * in ~5 ms, but 8 MiB of numbers take ~110 ms, an object of 700k keys ~290 ms (and as much again
 * to copy to a worker), and BigInt() of a 4,000,000-digit literal seconds (quadratic).
 */
export interface JsonBounds {
  /** Nesting of arrays and objects. */
  readonly maxDepth: number;
  /** Values and keys in the whole text. */
  readonly maxValues: number;
  /** Keys of one object (wide objects are the costliest to build and to copy). */
  readonly maxKeys: number;
  /** Digits of one number literal (CPython bounds int() of text to 4300 digits for the same reason). */
  readonly maxDigits: number;
}

/** Bounds for request bodies: generous for real calls, cheap (< 10 ms of parsing) at the worst. */
export const REQUEST_BOUNDS: JsonBounds = {
  maxDepth: 10_000,
  maxValues: 100_000,
  maxKeys: 10_000,
  maxDigits: 4_300,
};

/** JSON text that is well-formed as far as the scan sees but exceeds a bound. */
export class JsonLimitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JsonLimitError';
  }
}

const UNBOUNDED: JsonBounds = {
  maxDepth: Number.POSITIVE_INFINITY,
  maxValues: Number.POSITIVE_INFINITY,
  maxKeys: Number.POSITIVE_INFINITY,
  maxDigits: Number.POSITIVE_INFINITY,
};

/** Where the tagged rewrite must touch the text: big integer literals and strings starting with NUL. */
interface Scan {
  readonly values: number;
  /** [start, end) of integer literals beyond 2^53, and positions of `"` opening a NUL-led string value. */
  readonly edits: ([number, number] | number)[];
}

const BACKSLASH = 92;
const QUOTE = 34;

/** Index of the `"` closing the string whose opening `"` is at `open`, or -1. */
function closingQuote(text: string, open: number): number {
  let j = text.indexOf('"', open + 1);
  while (j !== -1) {
    let k = j - 1;
    while (text.charCodeAt(k) === BACKSLASH) k--;
    if ((j - 1 - k) % 2 === 0) return j;
    j = text.indexOf('"', j + 1);
  }
  return -1;
}

function isKey(text: string, close: number): boolean {
  for (let i = close + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x3a) return true;
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return false;
  }
  return false;
}

/**
 * One pass over the text that counts what the bounds bound and finds what the tagged rewrite
 * needs. It is not a validator: what it does not understand it skips, and JSON.parse then reports.
 * Strings are crossed with indexOf (native), so an 8 MiB string costs well under a millisecond.
 * @throws JsonLimitError
 */
function scan(text: string, bounds: JsonBounds): Scan {
  const edits: ([number, number] | number)[] = [];
  // Keys counted so far in each open container (-1 for arrays).
  const open: number[] = [];
  let values = 0;
  const value = (): void => {
    if (++values > bounds.maxValues) {
      throw new JsonLimitError(`it holds more than ${bounds.maxValues} values`);
    }
  };
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      value();
      const close = closingQuote(text, i);
      if (close === -1) break;
      if (text.startsWith('\\u0000', i + 1) && !isKey(text, close)) edits.push(i);
      i = close;
    } else if (c === 0x7b || c === 0x5b) {
      value();
      if (open.length >= bounds.maxDepth) {
        throw new JsonLimitError(`it is nested deeper than ${bounds.maxDepth} levels`);
      }
      open.push(c === 0x7b ? 0 : -1);
    } else if (c === 0x7d || c === 0x5d) {
      open.pop();
    } else if (c === 0x3a) {
      const top = open.length - 1;
      const keys = (open[top] ?? -1) + 1;
      if (keys > bounds.maxKeys) throw new JsonLimitError(`an object has more than ${bounds.maxKeys} keys`);
      if (keys > 0) open[top] = keys;
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      value();
      const start = i;
      let digits = 0;
      let integer = true;
      for (; i < n; i++) {
        const d = text.charCodeAt(i);
        if (d >= 0x30 && d <= 0x39) {
          if (++digits > bounds.maxDigits) {
            throw new JsonLimitError(`a number has more than ${bounds.maxDigits} digits`);
          }
        } else if (d === 0x2e || d === 0x65 || d === 0x45) integer = false;
        else if (d !== 0x2d && d !== 0x2b) break;
      }
      // 2^53 - 1 has 16 digits: beyond that an integer is never safe, at 16 it may be.
      if (
        integer &&
        (digits > 16 || (digits === 16 && !Number.isSafeInteger(Number(text.slice(start, i)))))
      ) {
        edits.push([start, i]);
      }
      i--;
    } else if (c === 0x74 || c === 0x66 || c === 0x6e) {
      value();
    }
  }
  return { values, edits };
}

/** The text with big integers as tagged strings and NUL-led strings escaped once more (see the header). */
function rewrite(text: string, edits: Scan['edits']): string {
  const parts: string[] = [];
  let at = 0;
  for (const edit of edits) {
    if (typeof edit === 'number') {
      parts.push(text.slice(at, edit + 1), '\\u0000');
      at = edit + 1;
    } else {
      parts.push(text.slice(at, edit[0]), '"\\u0000n', text.slice(edit[0], edit[1]), '"');
      at = edit[1];
    }
  }
  parts.push(text.slice(at));
  return parts.join('');
}

/**
 * Parses JSON text; integers beyond 2^53 become bigint. The text is scanned once first (bounds,
 * and where the big integers are); plain JSON.parse does the parsing, with a reviver only when
 * the text holds a big integer or a string that starts with NUL.
 * @throws SyntaxError on invalid JSON, JsonLimitError past a bound
 */
export function parseJson(text: string, bounds: JsonBounds = UNBOUNDED): JsonValue {
  return parseJsonCounted(text, bounds).value;
}

/**
 * Checks JSON text against bounds without parsing it. Runners check a result's text this way in
 * their worker: a result comes back to the HTTP thread as a structured clone and is written out
 * there, and a wide one (300k keys in 4 MiB) held that thread for most of a second.
 * @throws JsonLimitError
 */
export function checkJsonBounds(text: string, bounds: JsonBounds): void {
  scan(text, bounds);
}

/** parseJson that also says how many values and keys it read (for budgets shared by several texts). */
export function parseJsonCounted(text: string, bounds: JsonBounds): { value: JsonValue; values: number } {
  const { values, edits } = scan(text, bounds);
  if (!edits.some((e) => typeof e !== 'number')) return { value: JSON.parse(text) as JsonValue, values };
  return { value: fromTaggedJson(rewrite(text, edits)), values };
}

/** Serializes a value that may hold bigints; bigints are written as JSON integers. */
export function stringifyJson(value: unknown, space?: number): string {
  if (!containsBigInt(value, 0)) return JSON.stringify(value, null, space) ?? 'null';
  // Bigints become strings carrying a fresh random tag, which are then unwrapped in the text:
  // JSON.stringify runs natively where a JS serializer (lossless-json's) took several times longer
  // on a result of many bigints. No input can forge the tag: it is drawn for this call.
  const tag = `${randomBytes(9).toString('base64url')}n`;
  const text = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? `${tag}${v}` : v), space);
  return text.replace(new RegExp(`"${tag}(-?\\d+)"`, 'g'), '$1');
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

// Avro request bodies (application/octet-stream), decoded with avsc. Four versions exist:
//   0.0.1  unversioned: the bare ZObject (a union of Z6, Z9, Z99 and Z1 records);
//   0.0.2  1 byte length + "0.0.2", then {reentrant: boolean, zobject: ZObject};
//   0.0.3  the same prefix, then {reentrant, codingLanguage, codeString, functionName,
//          functionArguments: map of ZObject};
//   0.0.4  as 0.0.3 with remainingTime (a double, milliseconds) after reentrant.
// The record layouts follow function-schemata (Z1/Z6/Z9/Z99.avsc); 0.0.3 and 0.0.4 were read off
// the golden vectors it produced. Before avsc sees a body, scan() walks it with bounds checks: a
// forged block count would otherwise make avsc loop for billions of iterations, and very deep
// nesting would exhaust the stack. The walk also holds a body to the bounds JSON bodies have
// (REQUEST_BOUNDS: entries in all, keys per map, and the JSON inside quotes), because decoding
// runs on the HTTP thread: a map of 700k entries held it for most of a second.

import avro from 'avsc';
import { type JsonBounds, JsonLimitError, parseJsonCounted, REQUEST_BOUNDS } from '../executor/json-value.js';

const Z6 = { type: 'record', namespace: 'ztypes', name: 'Z6', fields: [{ name: 'Z6K1', type: 'string' }] };
const Z9 = { type: 'record', namespace: 'ztypes', name: 'Z9', fields: [{ name: 'Z9K1', type: 'string' }] };
const Z99 = { type: 'record', namespace: 'ztypes', name: 'Z99', fields: [{ name: 'Z99K1', type: 'string' }] };
const Z1 = {
  type: 'record',
  namespace: 'ztypes',
  name: 'Z1',
  fields: [
    {
      name: 'valueMap',
      type: { type: 'map', values: ['ztypes.Z1', 'ztypes.Z6', 'ztypes.Z9', 'ztypes.Z99'] },
    },
  ],
};
/** A ZObject: the union the request schemas use (its order differs from the one inside Z1). */
const ZOBJECT_UNION = [Z6, Z9, Z99, Z1];

const flatFields = [
  { name: 'codingLanguage', type: 'string' },
  { name: 'codeString', type: 'string' },
  { name: 'functionName', type: 'string' },
  { name: 'functionArguments', type: { type: 'map', values: ZOBJECT_UNION } },
];

// A fresh options object per type: avsc keeps its registry of names in the object it is given.
const options = (): { wrapUnions: true } => ({ wrapUnions: true });
const TYPES = {
  '0.0.1': avro.Type.forSchema(ZOBJECT_UNION as avro.Schema, options()),
  '0.0.2': avro.Type.forSchema(
    {
      type: 'record',
      namespace: 'ztypes',
      name: 'ZOBJECT',
      fields: [
        { name: 'reentrant', type: 'boolean' },
        { name: 'zobject', type: ZOBJECT_UNION },
      ],
    } as avro.Schema,
    options(),
  ),
  '0.0.3': avro.Type.forSchema(
    {
      type: 'record',
      namespace: 'ztypes',
      name: 'FUNCTION_CALL_V003',
      fields: [{ name: 'reentrant', type: 'boolean' }, ...flatFields],
    } as avro.Schema,
    options(),
  ),
  '0.0.4': avro.Type.forSchema(
    {
      type: 'record',
      namespace: 'ztypes',
      name: 'FUNCTION_CALL_V004',
      fields: [
        { name: 'reentrant', type: 'boolean' },
        { name: 'remainingTime', type: 'double' },
        ...flatFields,
      ],
    } as avro.Schema,
    options(),
  ),
};

export type AvroVersion = keyof typeof TYPES;
export const AVRO_VERSIONS = Object.keys(TYPES) as AvroVersion[];

/**
 * Nesting (records within records) a body may have: a normal-form list of n items is n deep.
 * avsc decodes recursively and, before its code is optimized, ran out of stack near 3,000 levels
 * here (under the test runner); deeper bodies would still fail cleanly, with a less useful message.
 */
export const MAX_AVRO_DEPTH = 2_000;

export class AvroDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AvroDecodeError';
  }
}

/** A decoded body, with ZObjects back in normal form (as JSON values, not yet validated). */
export type AvroRequest =
  | { readonly version: '0.0.1'; readonly zobject: unknown }
  | { readonly version: '0.0.2'; readonly reentrant: boolean; readonly zobject: unknown }
  | {
      readonly version: '0.0.3' | '0.0.4';
      readonly reentrant: boolean;
      readonly remainingTime?: number;
      readonly codingLanguage: string;
      readonly codeString: string;
      readonly functionName: string;
      readonly functionArguments: Readonly<Record<string, unknown>>;
    };

/**
 * Splits a body into its version and Avro payload. A versioned body starts with a byte n in
 * 1..32 and n bytes of "major.minor.patch"; an unversioned 0.0.1 body never does, because its
 * first byte is a union index, and those are even.
 */
export function splitVersion(body: Uint8Array): { version: string; payload: Uint8Array } {
  const n = body[0] ?? 0;
  if (n >= 1 && n <= 32 && body.length > n) {
    const text = Buffer.from(body.subarray(1, 1 + n)).toString('latin1');
    if (/^\d+\.\d+\.\d+$/.test(text)) return { version: text, payload: body.subarray(1 + n) };
  }
  return { version: '0.0.1', payload: body };
}

/** @throws AvroDecodeError */
export function decodeAvroRequest(body: Uint8Array): AvroRequest {
  const { version, payload } = splitVersion(body);
  if (!Object.hasOwn(TYPES, version)) {
    throw new AvroDecodeError(
      `Unsupported Avro request version "${version}"; supported: ${AVRO_VERSIONS.join(', ')}`,
    );
  }
  const v = version as AvroVersion;
  const buffer = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const budget = { values: REQUEST_BOUNDS.maxValues - scan(buffer, v, REQUEST_BOUNDS) };
  const recover = (wrapped: unknown): unknown => recoverZObject(wrapped, budget);
  let raw: unknown;
  try {
    raw = TYPES[v].fromBuffer(buffer);
  } catch (error) {
    throw new AvroDecodeError(`Invalid Avro ${v} body: ${(error as Error).message}`);
  }
  const record = raw as Record<string, unknown>;
  switch (v) {
    case '0.0.1':
      return { version: v, zobject: recover(raw) };
    case '0.0.2':
      return { version: v, reentrant: record.reentrant as boolean, zobject: recover(record.zobject) };
    default: {
      const args: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(record.functionArguments as Record<string, unknown>)) {
        args[key] = recover(value);
      }
      return {
        version: v,
        reentrant: record.reentrant as boolean,
        ...(v === '0.0.4' ? { remainingTime: record.remainingTime as number } : {}),
        codingLanguage: record.codingLanguage as string,
        codeString: record.codeString as string,
        functionName: record.functionName as string,
        functionArguments: args,
      };
    }
  }
}

/**
 * The wrapped union form avsc produces → a normal-form ZObject (as function-schemata does).
 * `budget` is the values the JSON of quotes may still hold (shared by every quote of the body).
 */
function recoverZObject(wrapped: unknown, budget: { values: number }): unknown {
  const recover = (inner: unknown): unknown => recoverZObject(inner, budget);
  const w = wrapped as Record<string, Record<string, unknown>>;
  if (w['ztypes.Z6'] !== undefined) return { Z1K1: 'Z6', Z6K1: w['ztypes.Z6'].Z6K1 };
  if (w['ztypes.Z9'] !== undefined) return { Z1K1: 'Z9', Z9K1: w['ztypes.Z9'].Z9K1 };
  if (w['ztypes.Z99'] !== undefined) {
    let quoted: unknown;
    try {
      const parsed = parseJsonCounted(w['ztypes.Z99'].Z99K1 as string, {
        ...REQUEST_BOUNDS,
        maxValues: budget.values,
      });
      budget.values -= parsed.values;
      quoted = parsed.value;
    } catch (error) {
      if (error instanceof JsonLimitError)
        throw new AvroDecodeError(`Cannot decode a quote (Z99): ${error.message}`);
      throw new AvroDecodeError('A quote (Z99) does not hold JSON');
    }
    return { Z1K1: { Z1K1: 'Z9', Z9K1: 'Z99' }, Z99K1: quoted };
  }
  const z1 = w['ztypes.Z1'];
  if (z1 === undefined) throw new AvroDecodeError('A ZObject must be one of ztypes.Z1, Z6, Z9, Z99');
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(z1.valueMap as Record<string, unknown>))
    out[key] = recover(value);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Bounds-checked walk of a body, mirroring the schemas above (no objects are built).

class Cursor {
  pos = 0;
  /** Map entries read so far (bounded by `bounds.maxValues`). */
  entries = 0;
  constructor(
    private readonly buf: Buffer,
    readonly bounds: JsonBounds,
  ) {}

  /** Counts `count` more entries, of a map that already had `before`; returns the map's new total. */
  count(before: number, count: number): number {
    this.entries += count;
    if (this.entries > this.bounds.maxValues) {
      throw new AvroDecodeError(`Cannot decode the body: it holds more than ${this.bounds.maxValues} values`);
    }
    if (before + count > this.bounds.maxKeys) {
      throw new AvroDecodeError(`Cannot decode the body: a map has more than ${this.bounds.maxKeys} keys`);
    }
    return before + count;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  long(): number {
    let result = 0;
    let shift = 1;
    for (let i = 0; i < 10; i++) {
      const byte = this.buf[this.pos++];
      if (byte === undefined) throw new AvroDecodeError('Truncated Avro body');
      result += (byte & 0x7f) * shift;
      if ((byte & 0x80) === 0) {
        if (!Number.isSafeInteger(result)) throw new AvroDecodeError('Avro integer out of range');
        return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
      }
      shift *= 128;
    }
    throw new AvroDecodeError('Avro integer too long');
  }

  skip(n: number): void {
    if (n < 0 || n > this.remaining) throw new AvroDecodeError('Truncated Avro body');
    this.pos += n;
  }

  string(): void {
    this.skip(this.long());
  }

  boolean(): void {
    const byte = this.buf[this.pos++];
    if (byte !== 0 && byte !== 1) throw new AvroDecodeError('Invalid Avro boolean');
  }
}

/** Walks a map; `item` reads one value. Block counts are checked against the bytes left. */
function scanMap(cursor: Cursor, item: () => void): void {
  let size = 0;
  for (;;) {
    let count = cursor.long();
    if (count === 0) return;
    if (count < 0) {
      count = -count;
      cursor.long(); // block size in bytes
    }
    // Every entry takes at least two bytes (key length, union index).
    if (count * 2 > cursor.remaining) throw new AvroDecodeError('Avro map block count exceeds the body');
    size = cursor.count(size, count);
    for (let i = 0; i < count; i++) {
      cursor.string();
      item();
    }
  }
}

/** Walks a ZObject union; `order` maps a branch index to its record (they differ by position). */
function scanZObject(cursor: Cursor, order: readonly string[]): void {
  // Explicit stack of open maps: entries left in the current block, and entries so far, per level.
  const stack: number[] = [];
  const sizes: number[] = [];
  const openValue = (names: readonly string[]): void => {
    const branch = names[cursor.long()];
    if (branch === undefined) throw new AvroDecodeError('Invalid Avro union branch');
    if (branch !== 'Z1') {
      cursor.string();
      return;
    }
    if (stack.length >= MAX_AVRO_DEPTH)
      throw new AvroDecodeError(`ZObject nested deeper than ${MAX_AVRO_DEPTH} levels`);
    stack.push(0);
    sizes.push(0);
  };
  const INNER = ['Z1', 'Z6', 'Z9', 'Z99'];
  openValue(order);
  while (stack.length > 0) {
    const top = stack.length - 1;
    if (stack[top] === 0) {
      let count = cursor.long();
      if (count === 0) {
        stack.pop();
        sizes.pop();
        continue;
      }
      if (count < 0) {
        count = -count;
        cursor.long();
      }
      if (count * 2 > cursor.remaining) throw new AvroDecodeError('Avro map block count exceeds the body');
      sizes[top] = cursor.count(sizes[top] ?? 0, count);
      stack[top] = count;
    }
    stack[top]!--;
    cursor.string();
    openValue(INNER);
  }
}

const OUTER = ['Z6', 'Z9', 'Z99', 'Z1'];

/** Walks a body; returns the map entries it holds. */
function scan(buf: Buffer, version: AvroVersion, bounds: JsonBounds): number {
  const cursor = new Cursor(buf, bounds);
  if (version === '0.0.1') {
    scanZObject(cursor, OUTER);
  } else {
    cursor.boolean();
    if (version === '0.0.2') {
      scanZObject(cursor, OUTER);
    } else {
      if (version === '0.0.4') cursor.skip(8);
      cursor.string();
      cursor.string();
      cursor.string();
      scanMap(cursor, () => scanZObject(cursor, OUTER));
    }
  }
  if (cursor.remaining !== 0) throw new AvroDecodeError('Trailing bytes after the Avro record');
  return cursor.entries;
}

// ---------------------------------------------------------------------------------------------
// Encoding, for clients and tests (the reverse of decodeAvroRequest).

function wrap(node: unknown): unknown {
  if (typeof node !== 'object' || node === null || Array.isArray(node)) {
    throw new TypeError('encodeAvroRequest takes ZObjects in normal form');
  }
  const n = node as Record<string, unknown>;
  if (n.Z1K1 === 'Z6') return { 'ztypes.Z6': { Z6K1: n.Z6K1 } };
  if (n.Z1K1 === 'Z9') return { 'ztypes.Z9': { Z9K1: n.Z9K1 } };
  const type = n.Z1K1 as Record<string, unknown> | undefined;
  // A quote is {Z1K1: Z99, Z99K1}; a Z99-typed object with another key is an ordinary record.
  if (
    type?.Z1K1 === 'Z9' &&
    type.Z9K1 === 'Z99' &&
    Object.keys(n).length === 2 &&
    Object.hasOwn(n, 'Z99K1')
  ) {
    return { 'ztypes.Z99': { Z99K1: JSON.stringify(n.Z99K1) } };
  }
  const valueMap: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(n)) valueMap[key] = wrap(value);
  return { 'ztypes.Z1': { valueMap } };
}

/** Encodes a request body of `version` (with the version prefix, except for 0.0.1). */
export function encodeAvroRequest(version: AvroVersion, request: Record<string, unknown>): Buffer {
  let payload: Buffer;
  if (version === '0.0.1') {
    payload = TYPES[version].toBuffer(wrap(request));
  } else if (version === '0.0.2') {
    payload = TYPES[version].toBuffer({
      reentrant: request.reentrant ?? false,
      zobject: wrap(request.zobject),
    });
  } else {
    const args: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(request.functionArguments as Record<string, unknown>))
      args[key] = wrap(value);
    payload = TYPES[version].toBuffer({
      reentrant: request.reentrant ?? false,
      ...(version === '0.0.4' ? { remainingTime: request.remainingTime ?? 0 } : {}),
      codingLanguage: request.codingLanguage,
      codeString: request.codeString,
      functionName: request.functionName,
      functionArguments: args,
    });
  }
  if (version === '0.0.1') return payload;
  const prefix = Buffer.from(version, 'latin1');
  return Buffer.concat([Buffer.from([prefix.length]), prefix, payload]);
}

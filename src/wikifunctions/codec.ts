// The host side of the "zobject" value codec: normal-form ZObjects ⇄ the JSON values a guest
// runner revives into native values. The guest-side shapes (see docs/wikifunctions.md):
//   {"\u0000pair": [first, second]}           ↔ ZPair (K1, K2)
//   {"\u0000map": [[key, value], ...]}        ↔ Map / dict
//   {"\u0000zobject": {"Z1K1": type, ...}}    ↔ ZObject (its keys; Z1K1 is raw canonical JSON)
//   null ↔ Z21 · string ↔ Z6 · boolean ↔ Z40 · array ↔ Z881 · bigint ↔ Z13518 / Z16683
// Arguments are converted by their own Z1K1; results by the declared return type where there is
// one, else by inference, as the reference evaluator did (a list's element type is the common type
// of its items, else Z1; an integer is a natural number when it is not negative, else an integer).
// Failures are CodecError values that say which Z5xx type describes them.

import type { JsonValue } from '../executor/json-value.js';
import {
  canonicalize,
  isObject,
  isZReference,
  isZString,
  KEY_PATTERN,
  listItems,
  listType,
  makeList,
  mapType,
  normalize,
  pairType,
  type ResolvedType,
  resolveType,
  typeArgument,
  typeKey,
  typeNodeOf,
  type ZNode,
  ZObjectFormatError,
  zRef,
  zString,
} from './zobject.js';

export const PAIR_TAG = '\u0000pair';
export const MAP_TAG = '\u0000map';
export const ZOBJECT_TAG = '\u0000zobject';

const SIGN_POSITIVE = 'Z16660';
const SIGN_ZERO = 'Z16661';
const SIGN_NEGATIVE = 'Z16662';
const NATURAL = 'Z13518';
const INTEGER = 'Z16683';
const SIGN = 'Z16659';

/** A value that cannot cross the codec. `kind` picks the Z5xx error the envelope reports. */
export class CodecError extends Error {
  constructor(
    message: string,
    readonly kind: 'argument' | 'unserializable' | 'mismatch',
    readonly details: {
      /** For mismatches: the declared type and the type the value has. */
      readonly expected?: ZNode;
      readonly actual?: ZNode;
      /** For mismatches: the returned value, serialized by inference. */
      readonly value?: ZNode;
    } = {},
  ) {
    super(message);
    this.name = 'CodecError';
  }
}

function describe(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  let text: string;
  try {
    text = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

// ---------------------------------------------------------------------------------------------
// ZObject → guest value

/**
 * Converts an argument (normal form) to the value the guest receives. `declared` is the argument's
 * declared type (Z17K1), used where the value alone is ambiguous (a Z9 reference to Z41/Z42).
 * @throws CodecError (kind 'argument')
 */
export function toGuestValue(node: ZNode, declared?: ZNode | string): JsonValue {
  try {
    return toGuest(node, declared);
  } catch (error) {
    if (error instanceof RangeError) throw new CodecError('The argument is nested too deeply', 'argument');
    if (error instanceof ZObjectFormatError) throw new CodecError(error.message, 'argument');
    throw error;
  }
}

function toGuest(node: ZNode, declared: ZNode | string | undefined): JsonValue {
  if (isZString(node)) return node.Z6K1;
  if (isZReference(node)) {
    if (resolveType(declared).zid === 'Z40' && (node.Z9K1 === 'Z41' || node.Z9K1 === 'Z42'))
      return node.Z9K1 === 'Z41';
    return { [ZOBJECT_TAG]: { Z1K1: 'Z9', Z9K1: node.Z9K1 } };
  }
  const type = resolveType(node.Z1K1);
  switch (type.zid) {
    case 'Z21':
      return null;
    case 'Z40':
      return booleanOf(node);
    case 'Z39':
      return textOf(node.Z39K1, 'Z39K1');
    case 'Z86':
      return textOf(node.Z86K1, 'Z86K1');
    case 'Z881': {
      const elementType = typeArgument(type, 'Z881K1');
      return listItems(node).map((item) => toGuest(item, elementType));
    }
    case 'Z10':
      return listItems(node, ['Z10K1', 'Z10K2']).map((item) => toGuest(item, undefined));
    case 'Z882':
      return {
        [PAIR_TAG]: [
          toGuest(child(node, 'K1'), typeArgument(type, 'Z882K1')),
          toGuest(child(node, 'K2'), typeArgument(type, 'Z882K2')),
        ],
      };
    case 'Z883': {
      const keyType = typeArgument(type, 'Z883K1');
      const valueType = typeArgument(type, 'Z883K2');
      const pairs = node.K1 === undefined ? [] : listItems(child(node, 'K1'));
      return {
        [MAP_TAG]: pairs.map((pair) => [
          toGuest(child(pair, 'K1'), keyType),
          toGuest(child(pair, 'K2'), valueType),
        ]),
      };
    }
    case NATURAL:
      return naturalOf(node);
    case INTEGER:
      return integerOf(node);
    default:
      return genericToGuest(node, type);
  }
}

function child(node: ZNode, key: string): ZNode {
  const value = node[key];
  if (typeof value !== 'object')
    throw new CodecError(`The ${key} of a ${typeName(node)} is missing`, 'argument');
  return value;
}

function typeName(node: ZNode): string {
  return resolveType(node.Z1K1).zid ?? 'ZObject';
}

function textOf(node: ZNode | string | undefined, key: string): string {
  if (isZString(node)) return node.Z6K1;
  if (isZReference(node)) return node.Z9K1;
  throw new CodecError(`${key} must be a string`, 'argument');
}

function booleanOf(node: ZNode): boolean {
  let value: ZNode | string | undefined = node.Z40K1;
  for (let i = 0; i < 8 && typeof value === 'object' && !isZReference(value); i++) value = value.Z40K1;
  const zid = isZReference(value) ? value.Z9K1 : value;
  if (zid === 'Z41') return true;
  if (zid === 'Z42') return false;
  throw new CodecError('A Boolean (Z40) must be Z41 or Z42', 'argument');
}

function naturalOf(node: ZNode): bigint {
  const digits = textOf(node[`${NATURAL}K1`], `${NATURAL}K1`);
  if (!/^\d{1,100000}$/.test(digits)) {
    throw new CodecError(
      `A natural number (${NATURAL}) must be decimal digits, got ${describe(digits)}`,
      'argument',
    );
  }
  return BigInt(digits);
}

function integerOf(node: ZNode): bigint {
  let sign: ZNode | string | undefined = node[`${INTEGER}K1`];
  for (let i = 0; i < 8 && typeof sign === 'object' && !isZReference(sign); i++) sign = sign[`${SIGN}K1`];
  const signZid = isZReference(sign) ? sign.Z9K1 : sign;
  const magnitude = child(node, `${INTEGER}K2`);
  const absolute = resolveType(magnitude.Z1K1).zid === NATURAL ? naturalOf(magnitude) : undefined;
  if (absolute === undefined)
    throw new CodecError(`${INTEGER}K2 must be a natural number (${NATURAL})`, 'argument');
  if (signZid === SIGN_POSITIVE || signZid === SIGN_ZERO) return absolute;
  if (signZid === SIGN_NEGATIVE) return -absolute;
  throw new CodecError(
    `${INTEGER}K1 must be a sign (${SIGN_POSITIVE}, ${SIGN_ZERO} or ${SIGN_NEGATIVE})`,
    'argument',
  );
}

function genericToGuest(node: ZNode, type: ResolvedType): JsonValue {
  const keys: Record<string, JsonValue> = {};
  const declaredKeys = keyTypes(type);
  for (const [key, value] of Object.entries(node)) {
    if (key === 'Z1K1') {
      keys.Z1K1 = canonicalize(value) as JsonValue;
    } else if (type.zid === 'Z99' && key === 'Z99K1') {
      keys.Z99K1 = canonicalize(value) as JsonValue; // a quote stays raw
    } else if (typeof value === 'string') {
      keys[key] = value;
    } else {
      keys[key] = toGuest(value, declaredKeys.get(key));
    }
  }
  return { [ZOBJECT_TAG]: keys };
}

/** Key → declared type, from an inline Z4's key declarations (Z4K2 list of Z3). */
function keyTypes(type: ResolvedType): Map<string, ZNode | string> {
  const types = new Map<string, ZNode | string>();
  const declarations = type.z4?.Z4K2;
  if (typeof declarations !== 'object') return types;
  for (const z3 of listItems(declarations)) {
    const key = z3.Z3K2;
    const keyType = z3.Z3K1;
    if (isZString(key) && keyType !== undefined) types.set(key.Z6K1, keyType);
  }
  return types;
}

// ---------------------------------------------------------------------------------------------
// guest value → ZObject

/**
 * Converts a guest's result to a normal-form ZObject. `expected` is the declared return type
 * (Z8K2); without one (or with Z1) the type is inferred from the value.
 * @throws CodecError (kind 'unserializable' or 'mismatch')
 */
export function fromGuestValue(value: JsonValue, expected?: ZNode | string): ZNode {
  try {
    return fromGuest(value, expected);
  } catch (error) {
    if (error instanceof RangeError)
      throw new CodecError('Could not serialize the result: it is nested too deeply', 'unserializable');
    if (error instanceof ZObjectFormatError) {
      throw new CodecError(
        `Could not serialize the result: it holds a malformed ZObject: ${error.message}`,
        'unserializable',
      );
    }
    throw error;
  }
}

type Tagged =
  | { readonly tag: 'pair'; readonly first: JsonValue; readonly second: JsonValue }
  | { readonly tag: 'map'; readonly entries: readonly (readonly [JsonValue, JsonValue])[] }
  | { readonly tag: 'zobject'; readonly keys: Readonly<Record<string, JsonValue>> }
  | { readonly tag: 'raw'; readonly object: Readonly<Record<string, JsonValue>> };

/** Reads a tagged value; undefined for anything that is not an object. */
function untag(value: JsonValue): Tagged | undefined {
  if (!isObject(value)) return undefined;
  const object = value as Record<string, JsonValue>;
  const keys = Object.keys(object);
  const tagKey = keys.length === 1 && keys[0]!.startsWith('\u0000') ? keys[0]! : undefined;
  if (tagKey === undefined) return { tag: 'raw', object };
  const body = object[tagKey]!;
  if (tagKey === PAIR_TAG) {
    if (!Array.isArray(body) || body.length !== 2) throw unserializable('a malformed pair', value);
    return { tag: 'pair', first: body[0]!, second: body[1]! };
  }
  if (tagKey === MAP_TAG) {
    if (!Array.isArray(body) || !body.every((e) => Array.isArray(e) && e.length === 2)) {
      throw unserializable('a malformed map', value);
    }
    return { tag: 'map', entries: (body as JsonValue[][]).map((e) => [e[0]!, e[1]!] as const) };
  }
  if (tagKey === ZOBJECT_TAG) {
    if (!isObject(body)) throw unserializable('a malformed ZObject', value);
    for (const key of Object.keys(body)) {
      if (key !== 'Z1K1' && !KEY_PATTERN.test(key)) {
        throw new CodecError(
          `Could not serialize the result: a ZObject has the invalid key ${describe(key)}`,
          'unserializable',
        );
      }
    }
    return { tag: 'zobject', keys: body as Record<string, JsonValue> };
  }
  throw unserializable('an object with an unknown tag', value);
}

function unserializable(what: string, value: unknown): CodecError {
  return new CodecError(
    `Could not serialize the result: ${what} (${describe(value)}) has no ZObject type`,
    'unserializable',
  );
}

function fromGuest(value: JsonValue, expected: ZNode | string | undefined): ZNode {
  const type = resolveType(expected);
  switch (type.zid) {
    case undefined:
    case 'Z1':
      return infer(value);
    case 'Z6':
      if (typeof value === 'string') return zString(value);
      break;
    case 'Z40':
      if (typeof value === 'boolean') return boolean(value);
      break;
    case 'Z21':
      if (value === null) return { Z1K1: zRef('Z21') };
      break;
    case 'Z39':
    case 'Z86':
      if (typeof value === 'string') return { Z1K1: zRef(type.zid), [`${type.zid}K1`]: zString(value) };
      break;
    case NATURAL: {
      const n = integral(value);
      if (n !== undefined && n >= 0n) return natural(n);
      break;
    }
    case INTEGER: {
      const n = integral(value);
      if (n !== undefined) return integer(n);
      break;
    }
    case 'Z881':
      if (Array.isArray(value)) {
        const elementType = typeArgument(type, 'Z881K1') ?? zRef('Z1');
        return makeList(
          listType(elementType),
          value.map((item) => fromGuest(item, elementType)),
        );
      }
      break;
    case 'Z882': {
      const tagged = untag(value);
      if (tagged?.tag === 'pair') {
        const first = typeArgument(type, 'Z882K1') ?? zRef('Z1');
        const second = typeArgument(type, 'Z882K2') ?? zRef('Z1');
        return {
          Z1K1: pairType(first, second),
          K1: fromGuest(tagged.first, first),
          K2: fromGuest(tagged.second, second),
        };
      }
      break;
    }
    case 'Z883': {
      const tagged = untag(value);
      if (tagged?.tag === 'map') {
        const keyType = typeArgument(type, 'Z883K1') ?? zRef('Z1');
        const valueType = typeArgument(type, 'Z883K2') ?? zRef('Z1');
        return typedMap(
          keyType,
          valueType,
          tagged.entries.map(([k, v]) => [fromGuest(k, keyType), fromGuest(v, valueType)] as const),
        );
      }
      break;
    }
  }
  // Any declared type also takes a ZObject the guest built (or passed through) of that type.
  const tagged = untag(value);
  if (
    tagged?.tag === 'zobject' ||
    (tagged?.tag === 'raw' && Object.hasOwn(tagged.object, 'Z1K1')) ||
    (tagged?.tag === 'map' && looksLikeZObject(tagged.entries))
  ) {
    const node = infer(value, typeof expected === 'string' ? zRef(expected) : expected);
    if (sameIdentity(typeNodeOf(node), expected)) return node;
  }
  return mismatch(value, expected!);
}

function sameIdentity(actual: ZNode, expected: ZNode | string | undefined): boolean {
  const a = resolveType(actual).zid;
  const e = resolveType(expected).zid;
  return a === undefined || e === undefined || a === e;
}

function mismatch(value: JsonValue, expected: ZNode | string): never {
  const expectedNode = typeof expected === 'string' ? zRef(expected) : expected;
  const expectedName = resolveType(expected).zid ?? 'the declared type';
  let inferred: ZNode | undefined;
  try {
    inferred = infer(value);
  } catch (error) {
    if (!(error instanceof CodecError)) throw error;
    throw new CodecError(`${error.message}; the function declares ${expectedName}`, 'unserializable');
  }
  const actual = typeNodeOf(inferred);
  const actualName = resolveType(actual).zid ?? 'another type';
  const detail = isRangeProblem(value, expected) ? ` (${describe(value)} is out of range)` : '';
  throw new CodecError(
    `Return type mismatch: the function declares ${expectedName} but returned ${actualName}${detail}`,
    'mismatch',
    { expected: expectedNode, actual, value: inferred },
  );
}

function isRangeProblem(value: JsonValue, expected: ZNode | string): boolean {
  return resolveType(expected).zid === NATURAL && integral(value) !== undefined;
}

/** A bigint, or a number that is a safe integer (accepted where an integer type is declared). */
function integral(value: JsonValue): bigint | undefined {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  return undefined;
}

function boolean(value: boolean): ZNode {
  return { Z1K1: zRef('Z40'), Z40K1: zRef(value ? 'Z41' : 'Z42') };
}

function natural(n: bigint): ZNode {
  return { Z1K1: zRef(NATURAL), [`${NATURAL}K1`]: zString(n.toString()) };
}

function integer(n: bigint): ZNode {
  const sign = n > 0n ? SIGN_POSITIVE : n < 0n ? SIGN_NEGATIVE : SIGN_ZERO;
  return {
    Z1K1: zRef(INTEGER),
    [`${INTEGER}K1`]: { Z1K1: zRef(SIGN), [`${SIGN}K1`]: zRef(sign) },
    [`${INTEGER}K2`]: natural(n < 0n ? -n : n),
  };
}

function typedMap(
  keyType: ZNode | string,
  valueType: ZNode | string,
  entries: readonly (readonly [ZNode, ZNode])[],
): ZNode {
  const entryType = pairType(keyType, valueType);
  const pairs = entries.map(([k, v]): ZNode => ({ Z1K1: entryType, K1: k, K2: v }));
  return { Z1K1: mapType(keyType, valueType), K1: makeList(listType(entryType), pairs) };
}

/** The common type of some ZObjects, or Z1 when they differ or there are none. */
function commonType(nodes: readonly ZNode[]): ZNode {
  if (nodes.length === 0) return zRef('Z1');
  const first = typeNodeOf(nodes[0]!);
  const key = typeKey(first);
  return nodes.every((n) => typeKey(typeNodeOf(n)) === key) ? first : zRef('Z1');
}

/** Serializes a value by its own shape; `fallbackType` types a ZObject that carries no Z1K1. */
function infer(value: JsonValue, fallbackType?: ZNode): ZNode {
  if (typeof value === 'string') return zString(value);
  if (typeof value === 'boolean') return boolean(value);
  if (value === null) return { Z1K1: zRef('Z21') };
  // Without a declared type, an integer gets the most specific type that holds it: flat requests
  // (Avro 0.0.3/0.0.4) carry no return type, and natural numbers are the common case.
  if (typeof value === 'bigint') return value >= 0n ? natural(value) : integer(value);
  if (typeof value === 'number') {
    throw new CodecError(
      `Could not serialize the result: the number ${describe(value)} has no ZObject type; ` +
        `return a string, or an integer for the integer types (${NATURAL}, ${INTEGER})`,
      'unserializable',
    );
  }
  if (Array.isArray(value)) {
    const items = value.map((item) => infer(item));
    return makeList(listType(commonType(items)), items);
  }
  const tagged = untag(value)!;
  switch (tagged.tag) {
    case 'pair': {
      const first = infer(tagged.first);
      const second = infer(tagged.second);
      return { Z1K1: pairType(typeNodeOf(first), typeNodeOf(second)), K1: first, K2: second };
    }
    case 'map': {
      if (looksLikeZObject(tagged.entries)) return normalize(plainJson(value));
      const entries = tagged.entries.map(([k, v]) => [infer(k), infer(v)] as const);
      return typedMap(commonType(entries.map(([k]) => k)), commonType(entries.map(([, v]) => v)), entries);
    }
    case 'zobject':
      return zobjectFromGuest(tagged.keys, fallbackType);
    case 'raw':
      if (Object.hasOwn(tagged.object, 'Z1K1')) return normalize(tagged.object);
      throw new CodecError(
        `Could not serialize the result: a plain object (${describe(value)}) is not a ZObject; ` +
          'return a ZObject, a ZPair or a map, or a ZObject as JSON with a Z1K1',
        'unserializable',
      );
  }
}

function zobjectFromGuest(keys: Readonly<Record<string, JsonValue>>, fallbackType: ZNode | undefined): ZNode {
  const rawType = keys.Z1K1 === undefined ? undefined : plainJson(keys.Z1K1);
  let type: ZNode;
  if (rawType === undefined || rawType === null) {
    if (fallbackType === undefined) {
      throw new CodecError(
        'Could not serialize the result: a ZObject without a type (Z1K1)',
        'unserializable',
      );
    }
    type = fallbackType;
  } else {
    type = normalize(rawType);
    if (isZString(type))
      throw unserializable('a ZObject whose type (Z1K1) is neither a ZID nor a type', keys);
  }
  const resolved = resolveType(type);
  if (resolved.zid === 'Z6' || resolved.zid === 'Z9') {
    // A reference or string the guest received as a ZObject and hands back: its key is raw text.
    const key = `${resolved.zid}K1`;
    const text = keys[key];
    if (typeof text !== 'string') throw unserializable(`a ${resolved.zid} without ${key}`, keys);
    return normalize({ Z1K1: resolved.zid, [key]: text });
  }
  const declared = keyTypes(resolved);
  const node: ZNode = { Z1K1: type };
  for (const [key, value] of Object.entries(keys)) {
    if (key === 'Z1K1') continue;
    if (resolved.zid === 'Z99' && key === 'Z99K1') {
      node.Z99K1 = normalize(plainJson(value));
    } else {
      node[key] = fromGuest(value, declared.get(key));
    }
  }
  return node;
}

/**
 * A map whose keys are all ZObject keys, Z1K1 among them, is a ZObject written as a dictionary (a
 * guest whose JSON objects are its maps, as Python's, returns raw ZObjects that way).
 */
function looksLikeZObject(entries: readonly (readonly [JsonValue, JsonValue])[]): boolean {
  return (
    entries.some(([k]) => k === 'Z1K1') &&
    entries.every(([k]) => typeof k === 'string' && (k === 'Z1K1' || KEY_PATTERN.test(k)))
  );
}

/** Raw JSON (a type, a quote, a raw ZObject) with any map encoding of its objects undone. */
function plainJson(value: JsonValue): JsonValue {
  if (Array.isArray(value)) return value.map(plainJson);
  if (!isObject(value)) return value;
  const object = value as Record<string, JsonValue>;
  const entries = object[MAP_TAG];
  if (Object.keys(object).length === 1 && Array.isArray(entries)) {
    const out: Record<string, JsonValue> = {};
    for (const entry of entries) {
      if (!Array.isArray(entry) || typeof entry[0] !== 'string') return value;
      out[entry[0]] = plainJson(entry[1]!);
    }
    return out;
  }
  const out: Record<string, JsonValue> = {};
  for (const [key, child] of Object.entries(object)) out[key] = plainJson(child);
  return out;
}

// ZObjects in normal form: the building blocks every other Wikifunctions module uses. Normal form
// spells every string as a Z6 and every reference as a Z9 object, and nests typed lists (Z881) as
// K1/K2 chains, so a list of n items is n levels deep: everything here that walks a list walks it
// with a loop, and stringifyZObject writes JSON without recursion (JSON.stringify gives up near
// 4,000 levels). Requests may also come in canonical form (plain strings, arrays): normalize()
// accepts both and validates keys, so nothing that reaches a guest can carry a forged codec tag.

/** A ZObject in normal form: an object whose leaves are strings (Z6K1, Z9K1 and the Z1K1 of those two). */
export interface ZNode {
  [key: string]: ZNode | string;
}

/** Global (Z123K1) or local (K1) key. */
export const KEY_PATTERN = /^(?:Z[1-9]\d*)?K[1-9]\d*$/;
/** A reference as canonical form writes it. */
export const REFERENCE_PATTERN = /^[A-Z][1-9]\d*$/;

/** Raised for input that is not a well-formed ZObject; `path` says where (e.g. `Z7K1.Z8K1.K2`). */
export class ZObjectFormatError extends Error {
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(path === '' ? message : `${message} (at ${path})`);
    this.name = 'ZObjectFormatError';
  }
}

export function zString(value: string): ZNode {
  return { Z1K1: 'Z6', Z6K1: value };
}

export function zRef(zid: string): ZNode {
  return { Z1K1: 'Z9', Z9K1: zid };
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isZString(node: unknown): node is { Z1K1: 'Z6'; Z6K1: string } {
  return isObject(node) && node.Z1K1 === 'Z6' && typeof node.Z6K1 === 'string';
}

export function isZReference(node: unknown): node is { Z1K1: 'Z9'; Z9K1: string } {
  return isObject(node) && node.Z1K1 === 'Z9' && typeof node.Z9K1 === 'string';
}

/** A function call type such as Z881(Z6): `{Z1K1: Z7, Z7K1: Z881, Z881K1: Z6}`. */
export function typeCall(zid: string, args: Readonly<Record<string, ZNode | string>>): ZNode {
  const call: ZNode = { Z1K1: zRef('Z7'), Z7K1: zRef(zid) };
  for (const [key, value] of Object.entries(args))
    call[key] = typeof value === 'string' ? zRef(value) : value;
  return call;
}

export const listType = (element: ZNode | string): ZNode => typeCall('Z881', { Z881K1: element });
export const pairType = (first: ZNode | string, second: ZNode | string): ZNode =>
  typeCall('Z882', { Z882K1: first, Z882K2: second });
export const mapType = (key: ZNode | string, value: ZNode | string): ZNode =>
  typeCall('Z883', { Z883K1: key, Z883K2: value });

/** What a type (a Z1K1 value, a Z17K1 or a Z8K2) stands for. */
export interface ResolvedType {
  /** The type's identity (Z6, Z881, Z10000...), when it can be told. */
  readonly zid: string | undefined;
  /** For generic types such as Z881(Z6): the function call whose keys hold the type arguments. */
  readonly call?: ZNode;
  /** For an inline type definition: the Z4, whose Z4K2 declares the keys. */
  readonly z4?: ZNode;
}

/** Resolves a type given as a string, a Z9 reference, a function call (Z7) or an inline Z4. */
export function resolveType(type: ZNode | string | undefined, depth = 0): ResolvedType {
  if (type === undefined || depth > 32) return { zid: undefined };
  if (typeof type === 'string') return { zid: type };
  if (isZReference(type)) return { zid: type.Z9K1 };
  const kind = resolveType(type.Z1K1, depth + 1).zid;
  if (kind === 'Z7') {
    const callee = resolveType(type.Z7K1, depth + 1);
    return { zid: callee.zid, call: type };
  }
  if (kind === 'Z4') {
    const identity = resolveType(type.Z4K1, depth + 1);
    return { ...identity, z4: type };
  }
  return { zid: undefined };
}

/** The type argument `key` (e.g. Z881K1) of a resolved generic type, if there is one. */
export function typeArgument(type: ResolvedType, key: string): ZNode | string | undefined {
  return type.call?.[key];
}

/** The type of a normal-form ZObject as a type node (a bare 'Z6' becomes a Z9 reference). */
export function typeNodeOf(node: ZNode): ZNode {
  const type = node.Z1K1;
  if (type === undefined) return zRef('Z1');
  return typeof type === 'string' ? zRef(type) : type;
}

/** Items of a typed list (K1/K2 chain) or of a legacy Z10 list (Z10K1/Z10K2), walked with a loop. */
export function listItems(list: ZNode, keys: readonly [string, string] = ['K1', 'K2']): ZNode[] {
  const [headKey, tailKey] = keys;
  const items: ZNode[] = [];
  let tail: ZNode | string | undefined = list;
  while (typeof tail === 'object') {
    const head: ZNode | string | undefined = tail[headKey];
    if (head === undefined) break;
    if (typeof head === 'string') throw new ZObjectFormatError('A list item must be a ZObject', '');
    items.push(head);
    tail = tail[tailKey];
  }
  return items;
}

/** Builds a typed list in normal form; every cell shares the one type node. */
export function makeList(type: ZNode, items: readonly ZNode[]): ZNode {
  let list: ZNode = { Z1K1: type };
  for (let i = items.length - 1; i >= 0; i--) list = { Z1K1: type, K1: items[i]!, K2: list };
  return list;
}

function checkKey(key: string, path: string): void {
  if (!KEY_PATTERN.test(key)) {
    throw new ZObjectFormatError(`Invalid key "${key.slice(0, 80)}"`, path);
  }
}

const join = (path: string, key: string): string => (path === '' ? key : `${path}.${key}`);

/**
 * Converts a ZObject in canonical or normal form (or a mix) to normal form, validating it on the
 * way: keys must be ZObject keys, leaves must be strings, every object needs a Z1K1. Typed-list
 * chains are followed with a loop, so long lists do not grow the stack.
 * @throws ZObjectFormatError
 */
export function normalize(value: unknown, path = ''): ZNode {
  if (typeof value === 'string') return REFERENCE_PATTERN.test(value) ? zRef(value) : zString(value);
  if (Array.isArray(value)) return normalizeArray(value, path);
  if (!isObject(value)) {
    throw new ZObjectFormatError(
      `A ZObject must not be ${value === null ? 'null' : `a ${typeof value}`}`,
      path,
    );
  }
  if (value.Z1K1 === 'Z6' || value.Z1K1 === 'Z9') return normalizeTerminal(value, path);
  // Follow the chain through K2 (typed lists) or Z10K2 (legacy lists) iteratively.
  const root: ZNode = {};
  let source: Record<string, unknown> = value;
  let target = root;
  let here = path;
  for (;;) {
    if (!Object.hasOwn(source, 'Z1K1')) throw new ZObjectFormatError('A ZObject needs a type (Z1K1)', here);
    let next: { key: string; value: Record<string, unknown> } | undefined;
    for (const [key, child] of Object.entries(source)) {
      if (key !== 'Z1K1') checkKey(key, here);
      if (
        (key === 'K2' || key === 'Z10K2') &&
        isObject(child) &&
        child.Z1K1 !== 'Z6' &&
        child.Z1K1 !== 'Z9'
      ) {
        next = { key, value: child };
        target[key] = ''; // placeholder that keeps the key in its place
        continue;
      }
      target[key] = normalize(child, join(here, key));
    }
    if (next === undefined) return root;
    const child: ZNode = {};
    target[next.key] = child;
    target = child;
    source = next.value;
    here = join(here, next.key);
  }
}

function normalizeTerminal(value: Record<string, unknown>, path: string): ZNode {
  const key = value.Z1K1 === 'Z6' ? 'Z6K1' : 'Z9K1';
  const inner = value[key];
  const extra = Object.keys(value).filter((k) => k !== 'Z1K1' && k !== key);
  if (typeof inner !== 'string' || extra.length > 0) {
    const what = value.Z1K1 === 'Z6' ? 'a string (Z6)' : 'a reference (Z9)';
    throw new ZObjectFormatError(`Malformed ${what}: it needs exactly Z1K1 and ${key}, a string`, path);
  }
  if (key === 'Z9K1' && !REFERENCE_PATTERN.test(inner)) {
    throw new ZObjectFormatError(`"${inner.slice(0, 80)}" does not look like a reference`, path);
  }
  return key === 'Z6K1' ? zString(inner) : zRef(inner);
}

function normalizeArray(value: readonly unknown[], path: string): ZNode {
  // Canonical typed list: the first element is the element type. A bare [] is taken as Z881(Z1).
  const elementType = value.length === 0 ? zRef('Z1') : normalize(value[0], join(path, '0'));
  const items = value.slice(1).map((item, i) => normalize(item, join(path, String(i + 1))));
  return makeList(listType(elementType), items);
}

/**
 * Converts a normal-form ZObject to canonical form (references and plain strings as strings,
 * typed lists as arrays whose first element is the element type). Used for the raw parts a guest
 * sees (a ZObject's Z1K1), because canonical form is the one people read and write.
 */
export function canonicalize(node: ZNode | string): unknown {
  if (typeof node === 'string') return node;
  if (isZReference(node)) return node.Z9K1;
  if (isZString(node)) return REFERENCE_PATTERN.test(node.Z6K1) ? { Z1K1: 'Z6', Z6K1: node.Z6K1 } : node.Z6K1;
  const type = resolveType(node.Z1K1);
  if (type.zid === 'Z881' && type.call !== undefined && typeof node.Z1K1 === 'object') {
    const elementType = typeArgument(type, 'Z881K1') ?? zRef('Z1');
    return [canonicalize(elementType), ...listItems(node).map((item) => canonicalize(item))];
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) out[key] = canonicalize(value);
  return out;
}

/** JSON text of a normal-form ZObject, written without recursion so that long lists are fine. */
export function stringifyZObject(root: ZNode | string): string {
  if (typeof root === 'string') return JSON.stringify(root);
  const out: string[] = ['{'];
  const stack: { node: ZNode; keys: string[]; index: number }[] = [
    { node: root, keys: Object.keys(root), index: 0 },
  ];
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    if (frame.index >= frame.keys.length) {
      out.push('}');
      stack.pop();
      continue;
    }
    const key = frame.keys[frame.index]!;
    if (frame.index > 0) out.push(',');
    frame.index++;
    out.push(JSON.stringify(key), ':');
    const value = frame.node[key]!;
    if (typeof value === 'string') {
      out.push(JSON.stringify(value));
    } else {
      out.push('{');
      stack.push({ node: value, keys: Object.keys(value), index: 0 });
    }
  }
  return out.join('');
}

/** A stable text key for a type node (sorted keys), to tell whether two types are the same. */
export function typeKey(node: ZNode | string): string {
  if (typeof node === 'string') return JSON.stringify(node);
  if (isZReference(node)) return JSON.stringify(node.Z9K1);
  const keys = Object.keys(node).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${typeKey(node[k]!)}`).join(',')}}`;
}

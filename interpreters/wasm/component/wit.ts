// The types of a component's exported functions, and JSON ⇄ JS values for them.
//
// parseWorldExports() reads the WIT text that wasm-tools prints for a component's root world
// (`componentWit`, run in the transpile child) and keeps what a caller may name: top-level
// `export name: func(...) -> T;` with the types the world defines (record, variant, enum, flags,
// type aliases), and exported interfaces by name (`wasi:cli/run@…` makes a command). Types it does
// not model (resources, handles, futures, streams) make the function uncallable, with the reason.
// The parser is hand-written because the only well-kept WIT parser here is wasm-tools' own, which
// answers with text; this one only needs the printed form of one world, which wasm-tools keeps
// regular (one item per line, canonical spelling).
//
// The JSON convention (README "Components"): integers are JSON integers (s64/u64 exact beyond 2^53,
// range-checked here because jco wraps out-of-range values silently), floats are numbers, char and
// string are strings, list and tuple are arrays, record is an object keyed by the WIT field names,
// option is null or the value, result is {"ok": v} or {"err": e}, variant is {"tag": case, "val": v}
// (no "val" for a case without payload), enum is its case name, flags is an array of set flag names.
// toGuest() checks and converts a JSON argument to what jco's glue expects; fromGuest() converts a
// returned value back (typed arrays, bigints, camelCase record fields, {tag, val} forms).

import type { JsonValue } from '../../../src/executor/json-value.js';

export type WitType =
  | { readonly kind: 'bool' | 'char' | 'string' | 'f32' | 'f64' }
  | { readonly kind: 'int'; readonly bits: 8 | 16 | 32 | 64; readonly signed: boolean }
  | { readonly kind: 'list'; readonly of: WitType }
  | { readonly kind: 'option'; readonly of: WitType }
  | { readonly kind: 'result'; readonly ok: WitType | null; readonly err: WitType | null }
  | { readonly kind: 'tuple'; readonly of: readonly WitType[] }
  | { readonly kind: 'record'; readonly fields: readonly { name: string; type: WitType }[] }
  | { readonly kind: 'variant'; readonly cases: readonly { name: string; type: WitType | null }[] }
  | { readonly kind: 'enum'; readonly cases: readonly string[] }
  | { readonly kind: 'flags'; readonly names: readonly string[] };

export interface WitFunction {
  readonly params: readonly { readonly name: string; readonly type: WitType }[];
  readonly result: WitType | null;
}

export interface WorldExports {
  /** Callable top-level functions by name. */
  readonly functions: Readonly<Record<string, WitFunction>>;
  /** Top-level functions that cannot be called from JSON, with the reason. */
  readonly unsupported: Readonly<Record<string, string>>;
  /** Exported interfaces (`wasi:cli/run@0.2.12`, `my:pkg/iface`...). */
  readonly interfaces: readonly string[];
}

const PRIMITIVES: Readonly<Record<string, WitType>> = {
  bool: { kind: 'bool' },
  char: { kind: 'char' },
  string: { kind: 'string' },
  f32: { kind: 'f32' },
  f64: { kind: 'f64' },
  float32: { kind: 'f32' },
  float64: { kind: 'f64' },
  s8: { kind: 'int', bits: 8, signed: true },
  s16: { kind: 'int', bits: 16, signed: true },
  s32: { kind: 'int', bits: 32, signed: true },
  s64: { kind: 'int', bits: 64, signed: true },
  u8: { kind: 'int', bits: 8, signed: false },
  u16: { kind: 'int', bits: 16, signed: false },
  u32: { kind: 'int', bits: 32, signed: false },
  u64: { kind: 'int', bits: 64, signed: false },
};

class Unsupported extends Error {}

/** Tokens: identifiers (with %, -, :, /, @, .), punctuation. */
function tokenize(text: string): string[] {
  const tokens: string[] = [];
  // A colon belongs to a name only when a name character follows it (`wasi:cli/run@0.2.12`), not
  // in `add: func`.
  const re =
    /\s+|\/\/[^\n]*|\/\*[\s\S]*?\*\/|(->|[{}()<>,:;=_*]|[%A-Za-z0-9][A-Za-z0-9\-/@.+]*(?::[A-Za-z0-9][A-Za-z0-9\-/@.+]*)*)|(.)/g;
  let m: RegExpExecArray | null = re.exec(text);
  while (m !== null) {
    if (m[1] !== undefined) tokens.push(m[1]);
    else if (m[2] !== undefined) tokens.push(m[2]);
    m = re.exec(text);
  }
  return tokens;
}

const plain = (id: string): string => (id.startsWith('%') ? id.slice(1) : id);

/** Reads the root world of `wit` (wasm-tools' printed form). */
export function parseWorldExports(wit: string): WorldExports {
  const t = tokenize(wit);
  let i = t.indexOf('world');
  if (i < 0) throw new Error('The component has no world');
  while (i < t.length && t[i] !== '{') i++;
  i++;
  const named = new Map<string, WitType | Unsupported>();
  const pendingExports: { name: string; start: number }[] = [];
  const functions: Record<string, WitFunction> = {};
  const unsupported: Record<string, string> = {};
  const interfaces: string[] = [];
  const skipItem = (from: number): number => {
    let depth = 0;
    let j = from;
    for (; j < t.length; j++) {
      if (t[j] === '{') depth++;
      else if (t[j] === '}') {
        if (depth === 0) return j; // end of the world: the item had no terminator
        depth--;
        if (depth === 0) return j + 1;
      } else if (t[j] === ';' && depth === 0) return j + 1;
    }
    return j;
  };
  const list = (from: number, close: string): [string[][], number] => {
    // Splits tokens up to the matching `close` into comma-separated groups.
    const groups: string[][] = [[]];
    let depth = 0;
    let j = from;
    for (; j < t.length; j++) {
      const tok = t[j]!;
      if (depth === 0 && tok === close) break;
      if (tok === '(' || tok === '<' || tok === '{') depth++;
      if (tok === ')' || tok === '>' || tok === '}') depth--;
      if (depth === 0 && tok === ',') groups.push([]);
      else groups[groups.length - 1]!.push(tok);
    }
    return [groups.filter((g) => g.length > 0), j + 1];
  };
  while (i < t.length && t[i] !== '}') {
    const word = t[i]!;
    if (word === 'record' || word === 'variant' || word === 'enum' || word === 'flags') {
      const name = plain(t[i + 1]!);
      const [groups, next] = list(i + 3, '}');
      try {
        named.set(name, definition(word, groups, named));
      } catch (error) {
        named.set(name, error instanceof Unsupported ? error : new Unsupported(String(error)));
      }
      i = next;
    } else if (word === 'type' && t[i + 2] === '=') {
      const name = plain(t[i + 1]!);
      const end = skipItem(i);
      try {
        named.set(name, typeOf(t.slice(i + 3, end - 1), named));
      } catch (error) {
        named.set(name, error instanceof Unsupported ? error : new Unsupported(String(error)));
      }
      i = end;
    } else if (word === 'resource') {
      named.set(plain(t[i + 1]!), new Unsupported(`resource ${plain(t[i + 1]!)}`));
      i = skipItem(i);
    } else if (word === 'export' && t[i + 2] === ':' && t[i + 3] === 'func') {
      pendingExports.push({ name: plain(t[i + 1]!), start: i + 4 });
      i = skipItem(i);
    } else if (word === 'export' && t[i + 2] === ';') {
      interfaces.push(t[i + 1]!);
      i += 3;
    } else if (word === 'export') {
      // An inline interface export or a form not modelled: named, but not callable.
      unsupported[plain(t[i + 1]!)] = 'an exported interface defined inline';
      i = skipItem(i);
    } else {
      i = skipItem(i);
    }
  }
  for (const { name, start } of pendingExports) {
    try {
      if (t[start] !== '(') throw new Unsupported('an unexpected function form');
      const [groups, next] = list(start + 1, ')');
      const params = groups.map((g) => {
        if (g[1] !== ':') throw new Unsupported('an unexpected parameter form');
        return { name: plain(g[0]!), type: typeOf(g.slice(2), named) };
      });
      let result: WitType | null = null;
      if (t[next] === '->') {
        let end = next + 1;
        let depth = 0;
        while (end < t.length && !(depth === 0 && t[end] === ';')) {
          if (t[end] === '<' || t[end] === '(') depth++;
          if (t[end] === '>' || t[end] === ')') depth--;
          end++;
        }
        result = typeOf(t.slice(next + 1, end), named);
      }
      functions[name] = { params, result };
    } catch (error) {
      unsupported[name] = error instanceof Unsupported ? error.message : String(error);
    }
  }
  return { functions, unsupported, interfaces };
}

function definition(kind: string, groups: string[][], named: Map<string, WitType | Unsupported>): WitType {
  switch (kind) {
    case 'record':
      return {
        kind: 'record',
        fields: groups.map((g) => ({ name: plain(g[0]!), type: typeOf(g.slice(2), named) })),
      };
    case 'variant':
      return {
        kind: 'variant',
        cases: groups.map((g) => ({
          name: plain(g[0]!),
          type: g[1] === '(' ? typeOf(g.slice(2, g.length - 1), named) : null,
        })),
      };
    case 'enum':
      return { kind: 'enum', cases: groups.map((g) => plain(g[0]!)) };
    default:
      return { kind: 'flags', names: groups.map((g) => plain(g[0]!)) };
  }
}

function typeOf(tokens: readonly string[], named: Map<string, WitType | Unsupported>): WitType {
  let pos = 0;
  const read = (): WitType => {
    const head = tokens[pos++];
    if (head === undefined) throw new Unsupported('a missing type');
    const primitive = PRIMITIVES[head];
    if (primitive !== undefined) return primitive;
    const args = (): WitType[] => {
      const out: WitType[] = [];
      if (tokens[pos] !== '<') return out;
      pos++;
      while (tokens[pos] !== '>') {
        if (tokens[pos] === '_') {
          pos++;
          out.push(null as unknown as WitType);
        } else out.push(read());
        if (tokens[pos] === ',') pos++;
        else if (tokens[pos] !== '>') throw new Unsupported('an unexpected type form');
      }
      pos++;
      return out;
    };
    switch (head) {
      case 'list': {
        const [of] = args();
        if (of === undefined || of === null) throw new Unsupported('a list without element type');
        return { kind: 'list', of };
      }
      case 'option': {
        const [of] = args();
        if (of === undefined || of === null) throw new Unsupported('an option without type');
        if (of.kind === 'option')
          throw new Unsupported('option<option<…>> (JSON null cannot tell the levels)');
        return { kind: 'option', of };
      }
      case 'result': {
        const a = args();
        return { kind: 'result', ok: a[0] ?? null, err: a[1] ?? null };
      }
      case 'tuple':
        return { kind: 'tuple', of: args() };
      case 'borrow':
      case 'own':
      case 'future':
      case 'stream':
      case 'error-context':
        throw new Unsupported(`a ${head} type`);
      default: {
        const found = named.get(plain(head));
        if (found === undefined) throw new Unsupported(`the type ${plain(head)}, defined outside the world`);
        if (found instanceof Unsupported) throw found;
        return found;
      }
    }
  };
  const type = read();
  if (pos !== tokens.length) throw new Unsupported('an unexpected type form');
  return type;
}

/**
 * jco's JS name of a WIT identifier (record fields, flags, exports): heck's lowerCamelCase, which
 * lower-cases each word and capitalises the first letter of all but the first, so the acronym words
 * WIT allows come out as `x-ABC` → `xAbc`, `http-URL-x9` → `httpUrlX9`. (It kept acronyms as they
 * were, `xABC`: such a record field was lowered from undefined and dropped from results, such a
 * flag was never set or read — found by the acceptance attack run.)
 */
export function camel(name: string): string {
  return name
    .split('-')
    .map((word, i) => {
      const lower = word.toLowerCase();
      return i === 0 ? lower : lower.charAt(0).toUpperCase() + lower.slice(1);
    })
    .join('');
}

export function describeType(type: WitType | null): string {
  if (type === null) return '_';
  switch (type.kind) {
    case 'int':
      return `${type.signed ? 's' : 'u'}${type.bits}`;
    case 'list':
    case 'option':
      return `${type.kind}<${describeType(type.of)}>`;
    case 'result':
      return `result<${describeType(type.ok)}, ${describeType(type.err)}>`;
    case 'tuple':
      return `tuple<${type.of.map(describeType).join(', ')}>`;
    case 'record':
    case 'variant':
    case 'enum':
    case 'flags':
      return type.kind;
    default:
      return type.kind;
  }
}

export class ValueError extends Error {}

const isObject = (v: unknown): v is Record<string, JsonValue> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const TYPED_LISTS: Readonly<Record<string, (n: number) => unknown>> = {
  u8: (n) => new Uint8Array(n),
  s8: (n) => new Int8Array(n),
  u16: (n) => new Uint16Array(n),
  s16: (n) => new Int16Array(n),
  u32: (n) => new Uint32Array(n),
  s32: (n) => new Int32Array(n),
  u64: (n) => new BigUint64Array(n),
  s64: (n) => new BigInt64Array(n),
  f32: (n) => new Float32Array(n),
  f64: (n) => new Float64Array(n),
};

/**
 * Checks a JSON value against `type` and converts it to what jco's glue lowers.
 * @throws ValueError naming where (`at`) and what was expected
 */
export function toGuest(type: WitType, value: JsonValue, at: string): unknown {
  const fail = (expected: string): never => {
    throw new ValueError(`${at} must be ${expected}`);
  };
  switch (type.kind) {
    case 'bool':
      return typeof value === 'boolean' ? value : fail('a boolean');
    case 'string':
      return typeof value === 'string' ? value : fail('a string');
    case 'char':
      return typeof value === 'string' && [...value].length === 1 && !/[\uD800-\uDFFF]/.test(value)
        ? value
        : fail('a string of one Unicode scalar value (char)');
    case 'f32':
    case 'f64':
      if (typeof value === 'number') return value;
      if (typeof value === 'bigint') return Number(value);
      return fail(`a number (${type.kind})`);
    case 'int': {
      const min = type.signed ? -(2n ** BigInt(type.bits - 1)) : 0n;
      const max = type.signed ? 2n ** BigInt(type.bits - 1) - 1n : 2n ** BigInt(type.bits) - 1n;
      let big: bigint | undefined;
      if (typeof value === 'bigint') big = value;
      else if (typeof value === 'number' && Number.isInteger(value)) big = BigInt(value);
      if (big === undefined || big < min || big > max)
        fail(`an integer from ${min} to ${max} (${describeType(type)})`);
      return type.bits === 64 ? big : Number(big);
    }
    case 'list': {
      if (!Array.isArray(value)) return fail(`an array (${describeType(type)})`);
      const items = value.map((v, n) => toGuest(type.of, v, `${at}[${n}]`));
      const make = type.of.kind === 'int' ? TYPED_LISTS[describeType(type.of)] : TYPED_LISTS[type.of.kind];
      if (make === undefined) return items;
      const typed = make(items.length) as { [n: number]: unknown };
      items.forEach((v, n) => {
        typed[n] = v;
      });
      return typed;
    }
    case 'option':
      return value === null ? undefined : toGuest(type.of, value, at);
    case 'result': {
      if (!isObject(value)) return fail('{"ok": value} or {"err": value} (result)');
      const keys = Object.keys(value);
      // A side without a type carries null only: anything else would be dropped.
      if (keys.length === 1 && keys[0] === 'ok') {
        if (type.ok === null && value.ok !== null)
          return fail('{"ok": null} (this result carries no ok value)');
        return { tag: 'ok', val: type.ok === null ? undefined : toGuest(type.ok, value.ok!, `${at}.ok`) };
      }
      if (keys.length === 1 && keys[0] === 'err') {
        if (type.err === null && value.err !== null)
          return fail('{"err": null} (this result carries no error value)');
        return {
          tag: 'err',
          val: type.err === null ? undefined : toGuest(type.err, value.err!, `${at}.err`),
        };
      }
      return fail('{"ok": value} or {"err": value} (result)');
    }
    case 'tuple':
      if (!Array.isArray(value) || value.length !== type.of.length)
        return fail(`an array of ${type.of.length} (${describeType(type)})`);
      return type.of.map((t, n) => toGuest(t, value[n]!, `${at}[${n}]`));
    case 'record': {
      if (!isObject(value)) return fail('an object (record)');
      const out: Record<string, unknown> = {};
      for (const f of type.fields) {
        if (!Object.hasOwn(value, f.name)) fail(`an object with the field "${f.name}"`);
        out[camel(f.name)] = toGuest(f.type, value[f.name]!, `${at}.${f.name}`);
      }
      const extra = Object.keys(value).find((k) => !type.fields.some((f) => f.name === k));
      if (extra !== undefined) fail(`a record without the field "${extra.slice(0, 60)}"`);
      return out;
    }
    case 'variant': {
      const names = type.cases.map((c) => c.name).join(', ');
      if (!isObject(value) || typeof value.tag !== 'string')
        return fail(`{"tag": one of ${names}, "val": …}`);
      const found = type.cases.find((c) => c.name === value.tag);
      if (found === undefined) return fail(`{"tag": one of ${names}, "val": …}`);
      // Data the type has no place for is refused, not dropped (as a record's extra field is).
      const extra = Object.keys(value).find((k) => k !== 'tag' && (k !== 'val' || found.type === null));
      if (extra !== undefined)
        return fail(
          found.type === null
            ? `{"tag": "${found.name}"} without "${extra.slice(0, 60)}" (the case carries no value)`
            : `{"tag": "${found.name}", "val": …} without "${extra.slice(0, 60)}"`,
        );
      if (found.type === null) return { tag: found.name };
      return { tag: found.name, val: toGuest(found.type, value.val ?? null, `${at}.val`) };
    }
    case 'enum':
      return typeof value === 'string' && type.cases.includes(value)
        ? value
        : fail(`one of ${type.cases.map((c) => `"${c}"`).join(', ')}`);
    case 'flags': {
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && type.names.includes(v)))
        return fail(`an array of flag names among ${type.names.join(', ')}`);
      return Object.fromEntries(type.names.map((n) => [camel(n), value.includes(n)]));
    }
  }
}

/**
 * Converts a value the glue lifted back to JSON.
 * @throws ValueError when the value cannot be JSON (NaN, infinities)
 */
export function fromGuest(type: WitType | null, value: unknown, at = 'the result'): JsonValue {
  if (type === null) return null;
  switch (type.kind) {
    case 'bool':
    case 'string':
    case 'char':
      return value as JsonValue;
    case 'f32':
    case 'f64':
      if (typeof value !== 'number' || !Number.isFinite(value))
        throw new ValueError(`${at} is ${String(value)}, which JSON cannot carry`);
      return value;
    case 'int':
      return typeof value === 'bigint' &&
        value >= BigInt(Number.MIN_SAFE_INTEGER) &&
        value <= BigInt(Number.MAX_SAFE_INTEGER)
        ? Number(value)
        : (value as JsonValue);
    case 'list':
      return Array.from(value as ArrayLike<unknown>, (v, n) => fromGuest(type.of, v, `${at}[${n}]`));
    case 'option':
      return value === undefined || value === null ? null : fromGuest(type.of, value, at);
    case 'result': {
      const r = value as { tag: string; val?: unknown };
      if (r.tag === 'ok') return { ok: fromGuest(type.ok, r.val, `${at}.ok`) };
      return { err: fromGuest(type.err, r.val, `${at}.err`) };
    }
    case 'tuple':
      return type.of.map((t, n) => fromGuest(t, (value as unknown[])[n], `${at}[${n}]`));
    case 'record': {
      const r = value as Record<string, unknown>;
      const out: Record<string, JsonValue> = {};
      for (const f of type.fields) {
        // A field the glue did not lift is our naming gone wrong: an error, never a dropped field.
        if (!Object.hasOwn(r, camel(f.name))) throw new ValueError(`${at} has no field "${f.name}"`);
        out[f.name] = fromGuest(f.type, r[camel(f.name)], `${at}.${f.name}`);
      }
      return out;
    }
    case 'variant': {
      const v = value as { tag: string; val?: unknown };
      const found = type.cases.find((c) => c.name === v.tag);
      if (found === undefined || found.type === null) return { tag: String(v.tag) };
      return { tag: found.name, val: fromGuest(found.type, v.val, `${at}.val`) };
    }
    case 'enum':
      return String(value);
    case 'flags': {
      const r = value as Record<string, unknown>;
      return type.names.filter((n) => r[camel(n)] === true);
    }
  }
}

// Guest-side JavaScript for the QuickJS sandbox. QuickJS compiles eagerly and slowly (~0.1 ms per KB
// on these machines, where the rest of a call costs ~0.2 ms), so what runs on every call is kept
// tiny and the rest is compiled only when a call needs it:
//
// - CAPTURE runs before the user's code in every fresh context: it takes the built-ins the host
//   needs later (user code may overwrite JSON, Array.isArray, prototypes...) into an array that
//   only the host holds a handle to.
// - TAGGED_DECODER runs only when arguments hold big integers or strings starting with "\u0000".
// - ENCODER runs only when the result is an object or array (primitives are read by the host).
//
// Tagged JSON (src/executor/json-value.ts): a bigint is "\u0000n<digits>", a string starting with
// "\u0000" gets one more in front. The encoder returns "v" + tagged JSON, "e" + why the value
// cannot be returned (INVALID_RESULT: functions, symbols, cycles, NaN/Infinity, undefined inside
// arrays, class instances, Map/Set...: JSON cannot carry them faithfully, so we refuse rather than
// guess), or "o" when the text would pass the output limit.

/** Indexes into the captured array. */
export const CAPTURED = { parse: 0 } as const;

export const CAPTURE = `[JSON.parse, JSON.stringify, Array.isArray, Object.getPrototypeOf, Object.prototype, Object.keys,
Reflect.apply, Number.isFinite, String.prototype.charCodeAt, String.prototype.slice, Object.getOwnPropertyDescriptor,
Symbol.prototype.toString, BigInt]`;

/** (captured) => decode(text): JSON.parse with the tagged-JSON reviver. */
export const TAGGED_DECODER = `(function (c) {
  'use strict';
  const parse = c[0], apply = c[6], charCodeAt = c[8], slice = c[9], BigIntCtor = c[12];
  return (text) => parse(text, (k, v) =>
    typeof v === 'string' && v.length > 0 && apply(charCodeAt, v, [0]) === 0
      ? apply(charCodeAt, v, [1]) === 110 ? BigIntCtor(apply(slice, v, [2])) : apply(slice, v, [1])
      : v);
})`;

/** (captured) => encode(value, maxLength) → "v…" | "e…" | "o". */
export const ENCODER = String.raw`(function (c) {
  'use strict';
  const stringify = c[1], isArray = c[2], getProto = c[3], objectProto = c[4], keysOf = c[5], apply = c[6];
  const isFinite = c[7], charCodeAt = c[8], describe = c[10], symbolToString = c[11];
  const FAIL = {}, TOO_LARGE = {};
  let failure = '', limit = 0, size = 0;
  const fail = (m) => { failure = m; throw FAIL; };
  const where = (p) => (p === '' ? 'the result' : 'result' + p);
  const typeName = (v) => {
    const proto = getProto(v);
    const ctor = proto === null ? undefined : describe(proto, 'constructor');
    const name = ctor !== undefined && typeof ctor.value === 'function' ? ctor.value.name : '';
    return typeof name === 'string' && name !== '' ? name : 'object';
  };
  function enc(v, path, context, stack) {
    switch (typeof v) {
      case 'string':
        size += v.length;
        if (size > limit) throw TOO_LARGE;
        return stringify(v.length > 0 && apply(charCodeAt, v, [0]) === 0 ? '\u0000' + v : v);
      case 'number':
        if (!isFinite(v)) fail('Cannot return ' + v + ' in ' + where(path) + ': JSON has no NaN or Infinity');
        return stringify(v);
      case 'boolean': return v ? 'true' : 'false';
      case 'bigint': return stringify('\u0000n' + v);
      case 'undefined':
        if (context === 'top') return 'null';
        if (context === 'property') return undefined;
        return fail('Cannot return undefined in ' + where(path) + ': JSON arrays cannot hold undefined');
      case 'function': return fail('Cannot return a function in ' + where(path));
      case 'symbol': return fail('Cannot return ' + apply(symbolToString, v, []) + ' in ' + where(path));
    }
    if (v === null) return 'null';
    if (stack.length >= 1000) fail('Cannot return ' + where(path) + ': it is nested deeper than 1000 levels');
    for (let i = 0; i < stack.length; i++) if (stack[i] === v) fail('Cannot return ' + where(path) + ': it contains a cycle');
    const array = isArray(v);
    const proto = array ? null : getProto(v);
    // toJSON is honoured for class instances (Date...), not for arrays and plain objects, so that a
    // toJSON planted on Array.prototype or Object.prototype cannot replace a result wholesale.
    if (!array && proto !== objectProto && proto !== null) {
      if (typeof v.toJSON === 'function') return enc(apply(v.toJSON, v, [path]), path, context, stack);
      fail('Cannot return ' + where(path) + ': a ' + typeName(v) + ' is not a plain object, array or primitive');
    }
    stack[stack.length] = v;
    let out;
    if (array) {
      out = '[';
      for (let i = 0, n = v.length; i < n; i++) {
        out += (i > 0 ? ',' : '') + enc(v[i], path + '[' + i + ']', 'array', stack);
        if ((size += 1) > limit) throw TOO_LARGE;
      }
      out += ']';
    } else {
      out = '{';
      const keys = keysOf(v);
      for (let i = 0; i < keys.length; i++) {
        const text = enc(v[keys[i]], path + '.' + keys[i], 'property', stack);
        if (text === undefined) continue;
        out += (out.length > 1 ? ',' : '') + stringify(keys[i]) + ':' + text;
        if ((size += keys[i].length + 4) > limit) throw TOO_LARGE;
      }
      out += '}';
    }
    stack.length = stack.length - 1;
    return out;
  }
  return (value, maxLength) => {
    limit = maxLength;
    size = 0;
    try {
      return 'v' + enc(value, '', 'top', []);
    } catch (error) {
      if (error === FAIL) return 'e' + failure;
      if (error === TOO_LARGE) return 'o';
      throw error;
    }
  };
})`;

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
export const CAPTURED = { parse: 0, stringify: 1, slice: 9 } as const;

export const CAPTURE = `[JSON.parse, JSON.stringify, Array.isArray, Object.getPrototypeOf, Object.prototype, Object.keys,
Reflect.apply, Number.isFinite, String.prototype.charCodeAt, String.prototype.slice, Object.getOwnPropertyDescriptor,
Symbol.prototype.toString, BigInt, Object.hasOwn]`;

/**
 * (captured, zclasses?) => decode(text): JSON.parse with the tagged-JSON reviver. With the "zobject"
 * codec's classes it also revives {"\u0000pair": [a, b]} as ZPair, {"\u0000map": [[k, v]...]} as
 * Map and {"\u0000zobject": {...}} as ZObject (see src/wikifunctions/codec.ts).
 */
export const TAGGED_DECODER = `(function (c, z) {
  'use strict';
  const parse = c[0], apply = c[6], charCodeAt = c[8], slice = c[9], BigIntCtor = c[12], keysOf = c[5];
  const isArray = c[2], hasOwn = c[13];
  const revive = z === undefined ? undefined : (v) => {
    const keys = keysOf(v);
    if (keys.length !== 1) return v;
    if (keys[0] === '\\u0000pair' && isArray(v[keys[0]])) return new z[0](v[keys[0]][0], v[keys[0]][1]);
    if (keys[0] === '\\u0000map' && isArray(v[keys[0]])) return new z[2](v[keys[0]]);
    if (keys[0] === '\\u0000zobject') return new z[1](v[keys[0]]);
    return v;
  };
  return (text) => parse(text, (k, v) => {
    if (typeof v === 'string' && v.length > 0 && apply(charCodeAt, v, [0]) === 0) {
      return apply(charCodeAt, v, [1]) === 110 ? BigIntCtor(apply(slice, v, [2])) : apply(slice, v, [1]);
    }
    return revive !== undefined && v !== null && typeof v === 'object' && !isArray(v) ? revive(v) : v;
  });
})`;

/**
 * The "zobject" codec's guest classes, defined as globals before the user's code (user code builds
 * results with \`new ZPair(a, b)\` and may construct ZObjects). Returns [ZPair, ZObject, Map,
 * Map.prototype.forEach] for the decoder and encoder, which keep these identities even if user code
 * reassigns the globals.
 */
export const ZCLASSES = `(function () {
  'use strict';
  class ZPair {
    constructor(K1, K2) {
      this.K1 = K1;
      this.K2 = K2;
    }
  }
  class ZObject {
    constructor(kwargs, Z1K1) {
      if (Z1K1 !== undefined) this.Z1K1 = Z1K1;
      if (kwargs instanceof Map) kwargs.forEach((v, k) => { this[k] = v; });
      else if (kwargs !== null && typeof kwargs === 'object') Object.assign(this, kwargs);
    }
  }
  for (const [name, value] of [['ZPair', ZPair], ['ZObject', ZObject]]) {
    Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
  }
  return [ZPair, ZObject, Map, Map.prototype.forEach];
})()`;

/** (captured, zclasses?) => encode(value, maxLength) → "v…" | "e…" | "o". */
export const ENCODER = String.raw`(function (c, z) {
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
    if (z !== undefined && !array && proto !== objectProto && proto !== null) {
      // The "zobject" codec's native values, recognised by the identities captured before user code.
      if (proto === z[0].prototype) {
        stack[stack.length] = v;
        const out = '{"\\u0000pair":[' + enc(v.K1, path + '.K1', 'array', stack) + ',' + enc(v.K2, path + '.K2', 'array', stack) + ']}';
        stack.length = stack.length - 1;
        return out;
      }
      if (proto === z[2].prototype) {
        stack[stack.length] = v;
        let out = '{"\\u0000map":[';
        let i = 0;
        apply(z[3], v, [(value, key) => {
          out += (i > 0 ? ',' : '') + '[' + enc(key, path + '.key', 'array', stack) + ',' + enc(value, path + '[' + i + ']', 'array', stack) + ']';
          i++;
        }]);
        stack.length = stack.length - 1;
        return out + ']}';
      }
      if (proto === z[1].prototype) {
        stack[stack.length] = v;
        let out = '{"\\u0000zobject":{';
        let first = true;
        const keys = keysOf(v);
        for (let i = 0; i < keys.length; i++) {
          const text = enc(v[keys[i]], path + '.' + keys[i], 'property', stack);
          if (text === undefined) continue;
          out += (first ? '' : ',') + stringify(keys[i]) + ':' + text;
          first = false;
        }
        stack.length = stack.length - 1;
        return out + '}}';
      }
    }
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

// Guest-side JavaScript evaluated in every fresh QuickJS context before the user's code. It captures
// the built-ins it needs first (user code may overwrite JSON, Array.isArray, prototypes...), installs
// `console`, and hands the host three closures that user code can never reach (they are returned to
// the host, not stored on any global): decode (tagged JSON → values), encode (value → tagged JSON or
// a failure), call (apply without touching Function.prototype).
//
// Tagged JSON (src/executor/json-value.ts): a bigint is "\u0000n<digits>", a string starting with
// "\u0000" gets one more in front. encode() returns "v" + text, or "e" + a failure message
// (INVALID_RESULT): functions, symbols, cycles, NaN/Infinity, undefined inside arrays, class
// instances, Map/Set... JSON cannot carry those faithfully, so we refuse rather than guess.

export const PRELUDE = String.raw`(function (hostWrite) {
  'use strict';
  const g = globalThis;
  const JSONparse = JSON.parse;
  const JSONstringify = JSON.stringify;
  const isArray = Array.isArray;
  const getProto = Object.getPrototypeOf;
  const objectProto = Object.prototype;
  const keysOf = Object.keys;
  const apply = Reflect.apply;
  const BigIntCtor = BigInt;
  const isFiniteNumber = Number.isFinite;
  const charCodeAt = String.prototype.charCodeAt;
  const sliceString = String.prototype.slice;
  const includes = String.prototype.includes;
  const symbolToString = Symbol.prototype.toString;
  const freeze = Object.freeze;
  const defineProperty = Object.defineProperty;
  const getOwnDescriptor = Object.getOwnPropertyDescriptor;
  const ErrorCtor = Error;
  const FAIL = freeze({});
  let failure = '';
  const fail = (message) => {
    failure = message;
    throw FAIL;
  };

  function decode(text) {
    if (!apply(includes, text, ['\\u0000'])) return JSONparse(text);
    return JSONparse(text, (key, value) => {
      if (typeof value === 'string' && value.length > 0 && apply(charCodeAt, value, [0]) === 0) {
        return apply(charCodeAt, value, [1]) === 110
          ? BigIntCtor(apply(sliceString, value, [2]))
          : apply(sliceString, value, [1]);
      }
      return value;
    });
  }

  function typeName(v) {
    if (v === null) return 'null';
    if (typeof v !== 'object') return typeof v;
    const proto = getProto(v);
    if (proto === null) return 'object';
    const ctor = getOwnDescriptor(proto, 'constructor');
    const name = ctor !== undefined && typeof ctor.value === 'function' ? ctor.value.name : '';
    return typeof name === 'string' && name !== '' ? name : 'object';
  }

  function where(path) {
    return path === '' ? 'the result' : 'result' + path;
  }

  // stack holds the objects on the current path (cycle detection); depth bounds recursion so a
  // deep result fails cleanly instead of overflowing the host's stack.
  function enc(v, path, context, stack) {
    switch (typeof v) {
      case 'string':
        return JSONstringify(v.length > 0 && apply(charCodeAt, v, [0]) === 0 ? '\u0000' + v : v);
      case 'number':
        if (!isFiniteNumber(v)) fail('Cannot return ' + v + ' in ' + where(path) + ': JSON has no NaN or Infinity');
        return JSONstringify(v);
      case 'boolean':
        return v ? 'true' : 'false';
      case 'bigint':
        return JSONstringify('\u0000n' + v);
      case 'undefined':
        if (context === 'top') return 'null';
        if (context === 'property') return undefined;
        return fail('Cannot return undefined in ' + where(path) + ': JSON arrays cannot hold undefined');
      case 'function':
        return fail('Cannot return a function in ' + where(path));
      case 'symbol':
        return fail('Cannot return ' + apply(symbolToString, v, []) + ' in ' + where(path));
    }
    if (v === null) return 'null';
    if (stack.length >= 1000) fail('Cannot return ' + where(path) + ': it is nested deeper than 1000 levels');
    for (let i = 0; i < stack.length; i++) {
      if (stack[i] === v) fail('Cannot return ' + where(path) + ': it contains a cycle');
    }
    if (typeof v.toJSON === 'function') {
      return enc(apply(v.toJSON, v, [path]), path, context, stack);
    }
    stack[stack.length] = v;
    let out;
    if (isArray(v)) {
      out = '[';
      const n = v.length;
      for (let i = 0; i < n; i++) {
        if (i > 0) out += ',';
        out += enc(v[i], path + '[' + i + ']', 'array', stack);
      }
      out += ']';
    } else {
      const proto = getProto(v);
      if (proto !== objectProto && proto !== null) {
        fail('Cannot return ' + where(path) + ': a ' + typeName(v) + ' is not a plain object, array or primitive');
      }
      out = '{';
      let first = true;
      const keys = keysOf(v);
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i];
        const text = enc(v[key], path + '.' + key, 'property', stack);
        if (text === undefined) continue;
        out += (first ? '' : ',') + JSONstringify(key) + ':' + text;
        first = false;
      }
      out += '}';
    }
    stack.length = stack.length - 1;
    return out;
  }

  function encode(value) {
    try {
      return 'v' + enc(value, '', 'top', []);
    } catch (error) {
      if (error === FAIL) return 'e' + failure;
      throw error;
    }
  }

  function show(v, depth) {
    switch (typeof v) {
      case 'string':
        return depth === 0 ? v : JSONstringify(v);
      case 'bigint':
        return '' + v + 'n';
      case 'symbol':
        return apply(symbolToString, v, []);
      case 'function':
        return '[Function: ' + (v.name || 'anonymous') + ']';
      case 'object':
        break;
      default:
        return '' + v;
    }
    if (v === null) return 'null';
    if (v instanceof ErrorCtor) return v.stack ? v.name + ': ' + v.message + '\n' + v.stack : v.name + ': ' + v.message;
    if (depth > 3) return isArray(v) ? '[Array]' : '[Object]';
    if (isArray(v)) {
      let out = '[';
      for (let i = 0; i < v.length && i < 100; i++) out += (i > 0 ? ', ' : ' ') + show(v[i], depth + 1);
      if (v.length > 100) out += ', ... ' + (v.length - 100) + ' more';
      return out + (v.length > 0 ? ' ]' : ']');
    }
    const keys = keysOf(v);
    const name = typeName(v);
    let out = name === 'Object' || name === 'object' ? '{' : name + ' {';
    for (let i = 0; i < keys.length && i < 100; i++) {
      out += (i > 0 ? ', ' : ' ') + keys[i] + ': ' + show(v[keys[i]], depth + 1);
    }
    return out + (keys.length > 0 ? ' }' : '}');
  }

  const writer = (stream) =>
    function () {
      let line = '';
      for (let i = 0; i < arguments.length; i++) line += (i > 0 ? ' ' : '') + show(arguments[i], 0);
      hostWrite(stream, line + '\n');
    };
  const console = freeze({
    log: writer('stdout'),
    info: writer('stdout'),
    debug: writer('stdout'),
    warn: writer('stderr'),
    error: writer('stderr'),
    trace: writer('stderr'),
  });
  defineProperty(g, 'console', { value: console, writable: true, configurable: true, enumerable: false });

  const call = (fn, args) => apply(fn, undefined, args);
  return freeze({ decode, encode, call });
})`;

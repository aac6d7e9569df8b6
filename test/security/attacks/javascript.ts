// Attacks on the JavaScript executor (QuickJS in WASM, in worker threads). Already covered
// elsewhere and not repeated here: plain loops, try/catch loops, (a+)+ backtracking, Array.join and
// indexOf on huge strings, BigInt squaring, memory balloons, Array.fill(3e8), await-null chains,
// deep recursion, deep JSON.parse, 100 MB of console output, swallowed output errors, 100 MB results
// (test/e2e/javascript.test.ts "limits"); globals surviving a call, no process/require/std/os, JSON
// overwritten before the result is read (test/e2e/javascript.test.ts "isolation"); conformance cases
// 043-059. What follows goes after the host boundary itself: the host functions we hand the guest
// (console), the host code that runs guest code on our behalf (argument decoding, console
// formatting, result encoding, error classification), and the guest hooks that code could trip on.

import { expect } from 'vitest';
import { evaluateAttack } from '../attack-builders.js';
import type { Attack } from '../harness.js';

const js = (spec: Omit<Parameters<typeof evaluateAttack>[0], 'language'>): Attack =>
  evaluateAttack({ language: 'javascript', ...spec });

export const JAVASCRIPT_ATTACKS: readonly Attack[] = [
  // console.log is a host function: its constructor chain must lead to the guest's own Function, and
  // code made from it must find no host global (process, require, the std/os modules).
  js({
    id: 'js-constructor-chain',
    title: 'host function constructor chain → Function("return process")',
    result: 'the guest realm only: no process, require, std, os',
    code: `function main() {
      const F = console.log.constructor;
      const g = F('return this')();
      return [F === Function, g === globalThis, F('return typeof process + typeof require + typeof std + typeof os')(),
        Object.getPrototypeOf(console.log) === Function.prototype]
    }`,
    check: (body) => {
      expect(body).toMatchObject({
        ok: true,
        value: [true, true, 'undefinedundefinedundefinedundefined', true],
      });
    },
  }),
  // Dynamic import() and the module loader: QuickJS would ask the host for a module; there is no
  // loader, so no file can be named.
  js({
    id: 'js-dynamic-import',
    title: 'import("os"), import("/etc/passwd") from a script',
    result: 'RUNTIME_ERROR: no module loader',
    code: 'async function main() { const m = await import("{{SECRET_FILE}}"); return String(m) }',
    codes: ['RUNTIME_ERROR'],
  }),
  // Prototype pollution aimed at the host's result reader: toJSON and accessors planted on
  // Object.prototype and Array.prototype must not replace or alter the result.
  js({
    id: 'js-proto-pollution-result',
    title: 'toJSON/getters planted on Object.prototype and Array.prototype',
    result: 'the real result, unaltered',
    code: `function main() {
      Object.prototype.toJSON = () => 'pwned';
      Array.prototype.toJSON = () => 'pwned';
      Object.defineProperty(Object.prototype, 'extra', { get() { return 'pwned' }, enumerable: true });
      return { a: [1, 2], b: { c: 'd' } };
    }`,
    check: (body) => expect(body).toMatchObject({ ok: true, value: { a: [1, 2], b: { c: 'd' } } }),
  }),
  // Every built-in the host's guest-side helpers use, replaced before the result is read: the
  // helpers hold the originals captured before user code ran.
  js({
    id: 'js-builtins-replaced',
    title: 'JSON, Object.keys, Array.isArray, Reflect.apply, getPrototypeOf, String.prototype replaced',
    result: 'the real result, unaltered',
    code: `function main() {
      JSON.stringify = () => '"pwned"'; JSON.parse = () => 'pwned';
      Object.keys = () => ['pwned']; Array.isArray = () => false; Reflect.apply = () => 'pwned';
      Object.getPrototypeOf = () => null; Object.getOwnPropertyDescriptor = () => undefined;
      String.prototype.slice = () => 'pwned'; String.prototype.charCodeAt = () => 0; Number.isFinite = () => false;
      return { list: [1, 'two', null, true], nested: { s: '\\u0000x' } };
    }`,
    check: (body) =>
      expect(body).toMatchObject({
        ok: true,
        value: { list: [1, 'two', null, true], nested: { s: '\u0000x' } },
      }),
  }),
  // Symbol hooks the engine consults implicitly: iteration, species, primitive conversion.
  js({
    id: 'js-symbol-hooks',
    title: 'Symbol.iterator, Symbol.species, Symbol.toPrimitive, Symbol.toStringTag rigged',
    result: 'the real result, unaltered',
    code: `function main() {
      Array.prototype[Symbol.iterator] = function* () { yield 'pwned' };
      Object.defineProperty(Array, Symbol.species, { get() { throw new Error('species') } });
      Object.prototype[Symbol.toPrimitive] = () => 'pwned';
      Object.prototype[Symbol.toStringTag] = 'Pwned';
      return [[1, 2], { k: 3 }];
    }`,
    check: (body) => expect(body).toMatchObject({ ok: true, value: [[1, 2], { k: 3 }] }),
  }),
  // Promise machinery rewired before the host awaits the result: the host reads the promise's
  // state natively and runs the job queue itself, so a rewired then() only changes the guest's
  // own value, never the host's control flow.
  js({
    id: 'js-promise-hooks',
    title: 'Promise.prototype.then and Symbol.species replaced before an async result is read',
    result: 'the async function settles as the language says; no hang',
    code: `async function main() {
      Promise.prototype.then = function () { for (;;) {} };
      Object.defineProperty(Promise, Symbol.species, { get() { for (;;) {} } });
      return 5;
    }`,
    limits: { timeoutMs: 1000 },
    // The host settles the promise by its state (getPromiseState and the job queue), never through
    // the guest's replaceable `then` or species: the value arrives, well inside the time limit.
    // mutation: interpreters/javascript/runner.ts, the settled value not read from the promise
    // state (`value = keep(state.value)` dropped) → no value 5 and this attack fails.
    check: (body) => expect(body).toMatchObject({ ok: true, value: 5, stdout: '', stderr: '' }),
  }),
  // A toJSON that throws while the host encodes the result.
  js({
    id: 'js-tojson-throws',
    title: 'class instance whose toJSON throws during result encoding',
    result: 'RUNTIME_ERROR with the guest message',
    code: 'class Bomb { toJSON() { throw new Error("boom") } } function main() { return { x: new Bomb() } }',
    codes: ['RUNTIME_ERROR'],
    check: (body) => expect(body.error.message).toContain('boom'),
  }),
  // A getter that never returns while the host encodes the result.
  js({
    id: 'js-getter-loops-in-result',
    title: 'getter that loops forever while the result is encoded',
    result: 'TIMEOUT',
    code: 'function main() { return { get x() { for (;;) {} } } }',
    limits: { timeoutMs: 500 },
    codes: ['TIMEOUT'],
  }),
  // A Proxy as the result: every trap runs guest code inside the encoder; looping traps.
  js({
    id: 'js-proxy-result',
    title: 'Proxy result whose ownKeys/get traps loop',
    result: 'TIMEOUT',
    code: 'function main() { return new Proxy({}, { ownKeys() { for (;;) {} }, get() { for (;;) {} } }) }',
    limits: { timeoutMs: 500 },
    codes: ['TIMEOUT'],
  }),
  // A toJSON that returns a fresh instance every time: unbounded recursion inside the encoder.
  js({
    id: 'js-tojson-recursion',
    title: 'toJSON returning a new instance forever (encoder recursion)',
    result: 'RUNTIME_ERROR (stack overflow), the worker stays usable',
    code: 'class R { toJSON() { return new R() } } function main() { return new R() }',
    limits: { timeoutMs: 5000 },
    codes: ['RUNTIME_ERROR'],
  }),
  // Finding: QuickJS's interrupt is uncatchable by the guest, but the host's own calls into the
  // guest (console formatting) caught it, so a getter that looped past the deadline inside
  // console.log let the call return ok: true after running out its time.
  js({
    id: 'js-timeout-swallowed-in-console',
    title: 'getter that loops inside console.log formatting, then return normally',
    result: 'TIMEOUT',
    finding:
      'the host caught the interrupt inside console formatting: the call ran to its deadline and then answered ok',
    code: 'function main() { console.log({ get x() { for (;;) {} } }); return 1 }',
    limits: { timeoutMs: 500 },
    codes: ['TIMEOUT'],
  }),
  // Same hole through error classification: the host reads the thrown error's message.
  js({
    id: 'js-timeout-swallowed-in-error',
    title: 'thrown error whose message getter loops while the host classifies it',
    result: 'TIMEOUT',
    finding: 'a limit hit while the host read the thrown error was reported as RUNTIME_ERROR',
    code: `function main() { const e = new Error('x'); Object.defineProperty(e, 'message', { get() { for (;;) {} } }); throw e }`,
    limits: { timeoutMs: 500 },
    codes: ['TIMEOUT'],
  }),
  // Re-entrancy: guest → host (console.log) → guest (toJSON) → host → ...
  js({
    id: 'js-console-reentrancy',
    title: 'toJSON that calls console.log on itself (guest → host → guest recursion)',
    result: 'bounded by the guest stack; the call completes, the worker survives',
    code: 'function main() { const o = { toJSON() { console.log(o); return 1 } }; console.log(o); return 1 }',
    // The innermost console.log finds the guest stack exhausted: its JSON.stringify throws and it
    // prints "[object]"; every level above then prints its toJSON's 1, and main returns 1.
    // mutation: interpreters/javascript/runner.ts show(), a throwing JSON.stringify rethrown into
    // the host instead of printed as "[object]" → the call fails and so does this attack.
    check: (body) => {
      expect(body).toMatchObject({ ok: true, value: 1, stderr: '' });
      expect(body.stdout).toMatch(/^\[object\]\n(?:1\n){10,}$/);
    },
  }),
  // Finding: a top-level BigInt result was copied out whatever its size (QuickJS BigInts reach
  // ~315,000 digits), past the output limit.
  js({
    id: 'js-bigint-result-over-limit',
    title: 'BigInt result of 85,000 digits under a 1,000-byte output limit',
    result: 'OUTPUT_LIMIT',
    finding: 'top-level BigInt results bypassed the output limit (an 84 KB answer under a 1 KB limit)',
    code: 'function main() { return 7n ** 100000n }',
    limits: { outputBytes: 1000, timeoutMs: 10_000 },
    codes: ['OUTPUT_LIMIT'],
  }),
  // Finding: console.log copied a whole 256 MB string into the worker before cutting it at the
  // output limit: the worker ran out of V8 heap (MEMORY_LIMIT after ~2 s, worker replaced).
  js({
    id: 'js-console-huge-string',
    title: 'console.log of a 256 MB string under a 64 KiB output limit',
    result: 'OUTPUT_LIMIT with exactly the first 64 KiB printed',
    finding: 'the whole string was copied out of the guest first: the worker died of V8 heap exhaustion',
    code: `function main() { console.log('x'.repeat(2 ** 28)); return 1 }`,
    limits: { memoryMb: 512, timeoutMs: 10_000 },
    codes: ['OUTPUT_LIMIT'],
    check: (body) => expect(body.stdout.length).toBe(65536),
  }),
  // The same through an object: the whole JSON used to be dumped into the host before the limit applied.
  js({
    id: 'js-console-huge-object',
    title: 'console.log of an object holding a 64 MB string',
    result: 'OUTPUT_LIMIT (the JSON text is measured inside the guest)',
    finding: 'the object was dumped whole into the host before the output limit applied',
    code: `function main() { console.log({ big: 'y'.repeat(2 ** 26) }); return 1 }`,
    limits: { memoryMb: 512, timeoutMs: 10_000 },
    codes: ['OUTPUT_LIMIT', 'MEMORY_LIMIT'],
  }),
  // A job queue that doubles at every step: the host runs the queue with the interrupt armed.
  js({
    id: 'js-microtask-flood',
    title: 'promise jobs that each enqueue two more (exponential job queue)',
    result: 'TIMEOUT or MEMORY_LIMIT',
    code: `async function main() { const f = () => { Promise.resolve().then(f); Promise.resolve().then(f) }; f(); await new Promise(() => {}) }`,
    limits: { timeoutMs: 1000 },
    codes: ['TIMEOUT', 'MEMORY_LIMIT'],
  }),
  // Built-ins that allocate in one call, past the WASM memory cap.
  js({
    id: 'js-huge-builtin-padend',
    title: "'ab'.padEnd(2 ** 29): one call allocating 1 GiB",
    result: 'MEMORY_LIMIT or RUNTIME_ERROR (invalid length)',
    code: `function main() { return 'ab'.padEnd(2 ** 29).length }`,
    codes: ['MEMORY_LIMIT', 'RUNTIME_ERROR'],
  }),
  // Typed arrays and Array.from asking for 2 GiB in one call each.
  js({
    id: 'js-huge-builtin-arraybuffer',
    title: 'new Uint8Array(2 ** 31) and Array.from({ length: 2 ** 31 })',
    result: 'MEMORY_LIMIT or RUNTIME_ERROR',
    code: `function main() { const a = new Uint8Array(2 ** 31); return Array.from({ length: 2 ** 31 }).length + a.length }`,
    codes: ['MEMORY_LIMIT', 'RUNTIME_ERROR'],
  }),
  // Typed-array bulk copies in a loop: each one is a single long memcpy/memset inside QuickJS's
  // WASM, and QuickJS consults its interrupt handler only every 10,000 operations.
  js({
    id: 'js-typed-array-bulk-loop',
    title: 'a loop of 128 MiB TypedArray set/fill/copyWithin',
    result: 'TIMEOUT; the worker thread is really gone',
    code: `function main() { const a = new Uint8Array(2 ** 27), b = new Uint8Array(2 ** 27);
      for (;;) { a.set(b); a.fill(7); a.copyWithin(0, 1) } }`,
    limits: { timeoutMs: 500, memoryMb: 512 },
    codes: ['TIMEOUT'],
  }),
  // Backtracking with a backreference and nested quantifiers over an alternation.
  js({
    id: 'js-regex-backreference',
    title: 'catastrophic regex with alternation and a backreference',
    result: 'TIMEOUT',
    code: `function main() { return /^(([a-z])+.?)*\\2$/.test('abcdefghijklmnopqrstuvwxyz'.repeat(3) + '!') }`,
    limits: { timeoutMs: 500 },
    codes: ['TIMEOUT'],
  }),
  // Side channels, the stance (docs/security.md): Date.now and Math.random are live (ordinary code
  // needs them); there is no high-resolution timer (no performance, no Atomics, no workers to build
  // one from SharedArrayBuffer), and nothing a guest can time belongs to another call.
  js({
    id: 'js-timers-side-channel',
    title: 'look for high-resolution timers: performance, Atomics, SharedArrayBuffer workers',
    result: 'no performance, no Atomics, no Worker; Date.now and Math.random only',
    code: `function main() { return [typeof performance, typeof Atomics, typeof Worker, typeof setTimeout,
      typeof Date.now(), typeof Math.random()] }`,
    check: (body) =>
      expect(body).toMatchObject({
        ok: true,
        value: ['undefined', 'undefined', 'undefined', 'undefined', 'number', 'number'],
      }),
  }),
  // The zobject codec's guest classes are writable globals: a guest rewires them and Map's
  // forEach; the host's encoder must still recognise the real values, and the next call must see
  // pristine classes.
  {
    id: 'js-zpair-pollution',
    title: 'ZPair/ZObject globals, their prototypes and Map.prototype.forEach rewired (zobject codec)',
    result: 'the pair is encoded from its real identity; the next call sees pristine classes',
    async run(h) {
      const first = await h.evaluate(
        'javascript',
        `function main() {
          const Real = ZPair;
          ZPair.prototype.polluted = true;
          ZPair.prototype.toJSON = () => 'pwned';
          globalThis.ZPair = class { constructor() { this.K1 = 'fake' } };
          Map.prototype.forEach = function () { throw new Error('forEach') };
          const p = new Real('a', 'b');
          return [p, new Map([['k', 'v']])];
        }`,
        { codec: 'zobject' },
      );
      expect(first.status).toBe(200);
      expect(first.body).toMatchObject({
        ok: true,
        value: [{ '\u0000pair': ['a', 'b'] }, { '\u0000map': [['k', 'v']] }],
      });
      const second = await h.evaluate(
        'javascript',
        'function main() { return [ZPair.prototype.polluted === undefined, typeof Map.prototype.forEach] }',
        { codec: 'zobject' },
      );
      expect(second.body).toMatchObject({ ok: true, value: [true, 'function'] });
    },
  },
  // A FinalizationRegistry callback that loops, left behind for the engine to run later: it must
  // never run outside a call's deadline (e.g. while the worker disposes the context).
  {
    id: 'js-finalizer-left-behind',
    title: 'FinalizationRegistry callback that loops, registered and left for later',
    result: 'never runs outside a call; the worker keeps serving',
    async run(h) {
      for (let i = 0; i < 3; i++) {
        const answer = await h.evaluate(
          'javascript',
          `const reg = new FinalizationRegistry(() => { for (;;) {} });
           function main() { for (let i = 0; i < 1e4; i++) reg.register({}, i); return 1 }`,
        );
        expect(answer.body.ok === true || answer.body.error?.code === 'TIMEOUT').toBe(true);
      }
    },
  },
  // console's methods are host functions, built once per snapshot: call them a million times with
  // objects the host must format, hoping to grow the host's handle tables or the restored heap.
  js({
    id: 'js-console-churn',
    title: 'console.log called up to 10^6 times with an object to format (host handles churned)',
    result: 'OUTPUT_LIMIT at the cap (or TIMEOUT); the worker keeps serving',
    code: `function main() { for (let i = 0; i < 1e6; i++) console.log({ i }); return 1 }`,
    limits: { timeoutMs: 3000 },
    check: (body) => {
      expect(body.ok).toBe(false);
      expect(['OUTPUT_LIMIT', 'TIMEOUT']).toContain(body.error.code);
    },
  }),
  // A revoked proxy handed to console.log and returned.
  js({
    id: 'js-revoked-proxy',
    title: 'revoked Proxy passed to console.log and returned',
    result: 'RUNTIME_ERROR (TypeError); the host formats it as [object]',
    code: 'function main() { const r = Proxy.revocable({}, {}); r.revoke(); console.log(r.proxy); return r.proxy }',
    codes: ['RUNTIME_ERROR'],
  }),
];

// Attacks on the Wikifunctions-compatible API (POST /:domain/v1/evaluate/): Avro bodies (hand-built
// here, byte by byte, so that they can lie), JSON ZObjects, and guest results made to trip the
// zobject codec on the way back. Covered elsewhere and not repeated: forged block counts,
// truncation, trailing bytes, bad union branches and booleans, the 2,000-level Avro depth limit
// (test/wikifunctions/avro.test.ts, in-process), the reference evaluator's cases and golden vectors
// (test/wikifunctions/e2e-*.test.ts), unknown languages as Z558 and result-size limits
// (test/wikifunctions/route.test.ts). Every evaluation outcome is an HTTP 200 envelope; an attack
// passes when it gets a Z22 with an error (never a 5xx), and the server is intact afterwards.

import { expect } from 'vitest';
import WebSocket from 'ws';
import { encodeAvroRequest } from '../../../src/wikifunctions/avro.js';
import { avroLong, avroString } from '../../helpers/avro-bytes.js';
import { summarizeError } from '../../wikifunctions/helpers.js';
import type { Attack, AttackContext, HttpAnswer } from '../harness.js';

const AVRO = { 'content-type': 'application/octet-stream' };
const JSON_TYPE = { 'content-type': 'application/json' };

const versioned = (version: string, payload: number[]): Buffer =>
  Buffer.from([version.length, ...Buffer.from(version, 'latin1'), ...payload]);
/** A 0.0.3 body: reentrant, codingLanguage, codeString, functionName, then `args` (raw map bytes). */
const flat = (fields: { language?: number[]; code?: number[]; name?: number[]; args?: number[] }): Buffer =>
  versioned('0.0.3', [
    0,
    ...(fields.language ?? avroString('javascript')),
    ...(fields.code ?? avroString('function f() { return "ok" }')),
    ...(fields.name ?? avroString('f')),
    ...(fields.args ?? [0]),
  ]);

async function post(h: AttackContext, body: string | Buffer, headers = JSON_TYPE): Promise<HttpAnswer> {
  return h.request('POST', '/1/v1/evaluate/', { body, headers });
}

/** The answer is an HTTP 200 Z22 carrying an error (a refused request or a failed evaluation). */
function expectZ22Error(answer: HttpAnswer, what: string): void {
  expect(answer.status, `${what}: ${answer.text.slice(0, 300)}`).toBe(200);
  expect(answer.body.Z1K1?.Z9K1 ?? answer.body.Z1K1, what).toBe('Z22');
  expect(summarizeError(answer.body), what).toBeDefined();
}

const flatJson = (
  args: Record<string, unknown>,
  code = 'function f(a) { return "ok" }',
  extra = {},
): string =>
  JSON.stringify({
    codingLanguage: 'javascript',
    codeString: code,
    functionName: 'f',
    functionArguments: args,
    ...extra,
  });

export const WIKIFUNCTIONS_ATTACKS: readonly Attack[] = [
  // Avro lengths that lie: a string claiming a gigabyte, a negative length, an 11-byte varint.
  {
    id: 'wf-avro-lying-lengths',
    title: 'Avro strings claiming 1 GB, −5 bytes and 2^70 bytes; an 11-byte varint',
    result: 'Z22 error (invalid request) at once; nothing allocated',
    async run(h) {
      const bodies = [
        flat({ language: [...avroLong(1_000_000_000n), ...Buffer.from('javascript')] }),
        flat({ code: [...avroLong(-5n), 0, 0, 0] }),
        flat({ name: [...avroLong(2n ** 70n), 0x66] }),
        flat({ language: [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01] }),
      ];
      for (const [i, body] of bodies.entries()) expectZ22Error(await post(h, body, AVRO), `body ${i}`);
    },
  },
  // Map block counts and sizes that lie (negative counts carry a byte size avsc may trust).
  {
    id: 'wf-avro-lying-blocks',
    title: 'functionArguments blocks claiming 2^40 and 2^30 entries; a block byte size of 2^50',
    result: 'Z22 error at once; no loop over a claimed count; a lying byte size is never trusted',
    async run(h) {
      const entry = [...avroString('K1'), 0, ...avroString('x')]; // key, union branch 0 (Z6), Z6K1
      const bodies = [
        flat({ args: [...avroLong(2n ** 40n), ...entry, 0] }),
        flat({ args: [...avroLong(-(2n ** 30n)), ...avroLong(3n), ...entry, 0] }),
      ];
      for (const [i, body] of bodies.entries()) expectZ22Error(await post(h, body, AVRO), `body ${i}`);
      // A true count with a byte size that lies: the size is never trusted (nothing skips by it).
      const honest = await post(
        h,
        flat({ args: [...avroLong(-1n), ...avroLong(2n ** 50n), ...entry, 0] }),
        AVRO,
      );
      expect(summarizeError(honest.body)).toBeUndefined();
    },
  },
  // Nesting: Z1 records inside Z1 records past the depth limit, in an unversioned (0.0.1) body.
  {
    id: 'wf-avro-deep-nesting',
    title: 'an unversioned body of 100,000 nested Z1 records',
    result: 'Z22 error (nested too deeply); the decoder never recurses that far',
    async run(h) {
      // Z1 is branch 3 of the outer union and branch 0 inside a valueMap.
      const depth = 100_000;
      const open = [...avroLong(1n), ...avroString('K1'), ...avroLong(0n)]; // one entry: key K1, branch Z1
      const body = Buffer.from([
        ...avroLong(3n),
        ...Array.from({ length: depth }, () => open).flat(),
        ...avroLong(0n),
        ...Array.from({ length: depth }, () => 0),
      ]);
      expectZ22Error(await post(h, body, AVRO), 'deep body');
    },
  },
  // Version prefixes that lie, and bodies sent with the other content type.
  {
    id: 'wf-avro-version-games',
    title:
      'version "99.9.9", "0.0.4" cut inside its double, NaN and −Infinity remainingTime, JSON as Avro and back',
    result: 'Z22 errors; remainingTime must be a finite number',
    async run(h) {
      const double = (n: number): number[] => {
        const b = Buffer.alloc(8);
        b.writeDoubleLE(n);
        return [...b];
      };
      const v4 = (t: number[]): Buffer =>
        versioned('0.0.4', [
          0,
          ...t,
          ...avroString('javascript'),
          ...avroString('function f() { return "ok" }'),
          ...avroString('f'),
          0,
        ]);
      expectZ22Error(await post(h, versioned('99.9.9', [0, 0]), AVRO), '99.9.9');
      expectZ22Error(await post(h, versioned('0.0.4', [0, 1, 2, 3]), AVRO), 'cut double');
      expectZ22Error(await post(h, v4(double(Number.NaN)), AVRO), 'NaN');
      const negative = await post(h, v4(double(Number.NEGATIVE_INFINITY)), AVRO);
      expectZ22Error(negative, '-Infinity');
      expectZ22Error(await post(h, Buffer.from(flatJson({})), AVRO), 'JSON as Avro');
      expectZ22Error(
        await post(h, encodeAvroRequest('0.0.3', JSON.parse(flatJson({}))), JSON_TYPE),
        'Avro as JSON',
      );
    },
  },
  // ZObjects nested deep through keys the normalizer recurses into (not list tails).
  {
    id: 'wf-json-deep-zobject',
    title: 'an argument nested 200,000 levels through Z1K1 and K1 keys',
    result: 'Z22 error (nested too deeply), no 500',
    async run(h) {
      const depth = 200_000;
      const viaType = `${'{"Z1K1":'.repeat(depth)}"Z6"${'}'.repeat(depth)}`;
      const viaKey = `${'{"Z1K1":"Z1","K1":'.repeat(depth)}"x"${'}'.repeat(depth)}`;
      for (const arg of [viaType, viaKey]) {
        const body = `{"codingLanguage":"javascript","codeString":"function f(a){return 'ok'}","functionName":"f","functionArguments":{"K1":${arg}}}`;
        expectZ22Error(await post(h, body), arg.slice(0, 20));
      }
    },
  },
  // A list as long as the body allows (normal form is as deep as it is long).
  {
    id: 'wf-json-long-list',
    title: 'a typed list of 100,000 strings (100,000 levels deep once normalized), echoed back',
    result: 'evaluated or refused by size; never a stack overflow or a 500',
    timeoutMs: 60_000,
    async run(h) {
      const list = JSON.stringify(['Z6', ...Array.from({ length: 100_000 }, () => 'a')]);
      const a = await post(h, flatJson({ K1: JSON.parse(list) }, 'function f(a) { return a }'));
      expect(a.status).toBe(200);
      expect(a.body.Z1K1?.Z9K1 ?? a.body.Z1K1).toBe('Z22');
    },
  },
  // Object's own member names where the API looks things up by key.
  {
    id: 'wf-prototype-keys',
    title: '"__proto__"/"constructor" as argument keys, ZObject keys and languages',
    result: 'Z22 errors or plain evaluation; the next honest call is unaffected',
    async run(h) {
      const bodies = [
        `{"codingLanguage":"javascript","codeString":"function f(a){return 'ok'}","functionName":"f","functionArguments":{"__proto__":{"Z1K1":"Z6","Z6K1":"x"},"constructor":{"Z1K1":"Z6","Z6K1":"y"}}}`,
        `{"codingLanguage":"javascript","codeString":"function f(a){return 'ok'}","functionName":"f","functionArguments":{"K1":{"Z1K1":"Z1","__proto__":{"Z1K1":"Z6","Z6K1":"x"}}}}`,
        `{"codingLanguage":"constructor","codeString":"x","functionName":"f"}`,
        `{"codingLanguage":"__proto__","codeString":"x","functionName":"f"}`,
        `{"codingLanguage":"javascript","codeString":"x","functionName":"constructor"}`,
      ];
      for (const body of bodies) {
        const a = await post(h, body);
        expect(a.status, body.slice(0, 80)).toBe(200);
      }
      const honest = await post(
        h,
        flatJson({ K1: { Z1K1: 'Z6', Z6K1: '5' } }, 'function f(a) { return a + "!" }'),
      );
      expect(summarizeError(honest.body)).toBeUndefined();
      expect(JSON.stringify(honest.body.Z22K1)).toContain('5!');
    },
  },
  // remainingTime at the edges (flat JSON form).
  {
    id: 'wf-remaining-time',
    title:
      'remainingTime 1e308, −1.8e12 (the 2023 orchestrator), −1, 0 and a string, with a function that loops',
    result:
      'never more than the default time (remainingTime is ignored by default, as the reference did); a string is refused',
    timeoutMs: 60_000,
    async run(h) {
      const loop = 'function f() { for (;;) {} }';
      // mutation: remainingTime honoured above the default time limit (no clamp) → the 1e308 call
      // runs until the test's own timeout, far past twice the baseline.
      // The baseline: the same loop with no remainingTime, under the default time limit. By default
      // remainingTime is ignored (as the reference did), so every value ends like the baseline.
      const baseline = await post(h, flatJson({}, loop));
      expect(summarizeError(baseline.body)?.type).toBe('Z575');
      const times = [`default limit ${Math.round(baseline.ms)} ms`];
      for (const t of [1e308, -1796604524704, -1, 0]) {
        const a = await post(h, flatJson({}, loop, { remainingTime: t }));
        expect(summarizeError(a.body)?.type, String(t)).toBe('Z575');
        times.push(`${t}: ${Math.round(a.ms)} ms`);
        expect(a.ms, String(t)).toBeLessThan(baseline.ms * 2 + 1_000);
      }
      console.log(`wf-remaining-time: ${times.join(', ')}`);
      expectZ22Error(await post(h, flatJson({}, loop, { remainingTime: '5' })), 'string');
    },
  },
  // Guest results made to forge the codec's tags or to trip the converter on the way back. Each is
  // refused with its own reason, read from the Z22's error: a Z22 alone would also be the answer of
  // a forged ZObject serialized as the guest wrote it.
  // mutation: src/wikifunctions/codec.ts, the ZObject key check (`!KEY_PATTERN.test(key)`) disabled
  // → the forged keys are serialized into a Z22 value and this attack fails.
  {
    id: 'wf-guest-forged-tags',
    title:
      'results carrying the codec tags by hand: bad ZObject keys, a "__proto__" key, malformed pairs and maps',
    result: 'Z22 error (cannot serialize) naming what is wrong; never 500',
    async run(h) {
      const refused: readonly (readonly [result: string, reason: string])[] = [
        [
          `({ '\\u0000zobject': { Z1K1: 'Z6', __proto__x: 1 } })`,
          'a ZObject has the invalid key "__proto__x"',
        ],
        [
          `JSON.parse('{"\\\\u0000zobject": {"Z1K1": "Z1", "__proto__": {"Z1K1": "Z6"}}}')`,
          'a ZObject has the invalid key "__proto__"',
        ],
        [
          `({ '\\u0000zobject': { Z1K1: 'Z10000', nonsense: 'x' } })`,
          'a ZObject has the invalid key "nonsense"',
        ],
        [`({ '\\u0000pair': [1] })`, 'a malformed pair'],
        [`({ '\\u0000map': [[1, 2, 3]] })`, 'a malformed map'],
        [`1.5`, 'the number 1.5 has no ZObject type'],
        [`new ZObject({ K1: 'x' })`, 'a ZObject without a type (Z1K1)'],
      ];
      for (const [result, reason] of refused) {
        const a = await post(h, flatJson({}, `function f() { return ${result} }`));
        expectZ22Error(a, result);
        expect(summarizeError(a.body)?.text, result).toContain(`Could not serialize the result: ${reason}`);
      }
      // A type 800 lists deep is a list type like any other: the converter walks it without
      // overflowing its stack and answers with a value, not a 500.
      const deep = `({ '\\u0000zobject': { Z1K1: ${'['.repeat(800)}'Z6'${']'.repeat(800)} } })`;
      const a = await post(h, flatJson({}, `function f() { return ${deep} }`));
      expect(a.status).toBe(200);
      expect(a.body.Z1K1?.Z9K1 ?? a.body.Z1K1).toBe('Z22');
      expect(summarizeError(a.body)).toBeUndefined();
    },
  },
  // A result whose envelope would be huge: a million-item list.
  {
    id: 'wf-guest-huge-result',
    title: 'a guest returning a list of 300,000 strings (an envelope of tens of MB)',
    result: 'refused by the output limit or the envelope limit; no 500, bounded time',
    timeoutMs: 60_000,
    async run(h) {
      const a = await post(
        h,
        flatJson({}, 'function f() { return Array.from({ length: 300000 }, (_, i) => "s" + i) }'),
      );
      expect(a.status).toBe(200);
      expect(summarizeError(a.body)).toBeDefined();
    },
  },
  // The door to other functions (Wikifunctions.Call) with no orchestrator configured, as the
  // harness runs: a guest that catches the refusal and keeps calling, calls from inside the
  // argument encoding, hostile arguments. Each must end with a Z507 quickly, never "ok".
  {
    id: 'wf-call-out-refused',
    title:
      'Wikifunctions.Call caught and retried 10,000 times, called from a getter while its arguments encode, with cyclic, 10 MB and Proxy arguments, reentrant or not',
    result: 'Z507 every time (a refused call-out ends the evaluation, caught or not); never "ok"',
    async run(h) {
      const codes = [
        'function f() { for (let i = 0; i < 10000; i++) { try { Wikifunctions.Call("Z801", {Z801K1: "x"}); } catch (e) {} } return "ok"; }',
        'function f() { const a = {}; Object.defineProperty(a, "Z801K1", { enumerable: true, get() { try { Wikifunctions.Call("Z801", {Z801K1: "in"}); } catch (e) {} return "x"; } }); try { Wikifunctions.Call("Z801", a); } catch (e) {} return "ok"; }',
        'function f() { const a = {}; a.Z801K1 = a; try { Wikifunctions.Call("Z801", a); } catch (e) {} try { Wikifunctions.Call("Z801", {Z801K1: "y".repeat(10000000)}); } catch (e) {} try { Wikifunctions.Call("Z801", new Proxy({}, { ownKeys() { throw 1; } })); } catch (e) {} Wikifunctions.Call("Z801", {}); return "ok"; }',
      ];
      for (const reentrant of [false, true]) {
        for (const [i, code] of codes.entries()) {
          const answer = await post(h, flatJson({}, code, { reentrant }));
          expectZ22Error(answer, `code ${i}, reentrant ${reentrant}`);
          expect(summarizeError(answer.body)?.type, `code ${i}`).toBe('Z507');
          expect(answer.ms, `code ${i}`).toBeLessThan(10_000);
        }
      }
    },
  },
  // The same door in Python: W.Call, and the device it writes (/dev/wikifunctions), which a guest
  // can open itself. The refusal crosses the worker, the sandbox host and the service.
  {
    id: 'wf-py-call-out-refused',
    title:
      'Python W.Call caught and retried 10,000 times, the call-out device written directly 10,000 times, cyclic, 10 MB and unserializable arguments, reentrant or not',
    result: 'Z507 every time (a refused call-out ends the evaluation, caught or not); never "ok"',
    async run(h) {
      const codes = [
        `def f():
    for i in range(10000):
        try:
            W.Call("Z801", Z801K1="x")
        except BaseException:
            pass
    return "ok"
`,
        `import os
def f():
    fd = os.open("/dev/wikifunctions", os.O_RDWR)
    for i in range(10000):
        try:
            os.write(fd, b"Z801\n{}")
            os.read(fd, 100)
        except BaseException:
            pass
    return "ok"
`,
        `def f():
    a = []
    a.append(a)
    for args in ({"Z801K1": a}, {"Z801K1": "y" * 10000000}, {"Z801K1": {1, 2}}):
        try:
            W.Call("Z801", **args)
        except BaseException:
            pass
    W.Call("Z801")
    return "ok"
`,
      ];
      for (const reentrant of [false, true]) {
        for (const [i, code] of codes.entries()) {
          const body = JSON.stringify({
            codingLanguage: 'python-3',
            codeString: code,
            functionName: 'f',
            functionArguments: {},
            reentrant,
          });
          const answer = await post(h, body);
          expectZ22Error(answer, `code ${i}, reentrant ${reentrant}`);
          expect(summarizeError(answer.body)?.type, `code ${i}`).toBe('Z507');
          expect(answer.ms, `code ${i}`).toBeLessThan(10_000);
        }
      }
    },
  },
  // The 2023 orchestrator's reentrance websocket, from a client that is not the orchestrator (or
  // a broken one): sockets by the hundred, frames before any call, binary, huge and unmasked ones,
  // and sockets raced in next to a reentrant request's own. No socket gets a call that may be
  // another's; every bad socket is closed; the service serves throughout.
  {
    id: 'wf-socket-rogue',
    title:
      'Reentrance websocket: 300 sockets at once, frames before any call (text, binary, 2 MB), rogue sockets opened next to a reentrant request that has its own',
    result:
      'sockets beyond 256 closed (1013), each bad frame closes its socket, the reentrant call is refused (Z507: which socket is whose cannot be told) and no socket sees it; a plain call is served',
    async run(h) {
      const url = `ws://127.0.0.1:${h.port}/`;
      const open = (): Promise<{ ws: WebSocket; frames: string[]; closed: Promise<number> }> =>
        new Promise((resolve) => {
          const ws = new WebSocket(url);
          const frames: string[] = [];
          ws.on('error', () => {});
          ws.on('message', (data) => {
            frames.push(String(data));
            h.saw(String(data));
          });
          const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
          ws.once('open', () => resolve({ ws, frames, closed }));
          ws.once('unexpected-response', () => resolve({ ws, frames, closed }));
          ws.once('close', () => resolve({ ws, frames, closed }));
        });
      const flood = await Promise.all(Array.from({ length: 300 }, open));
      const refused = await Promise.all(
        flood.map((s) => Promise.race([s.closed, new Promise<number>((r) => setTimeout(() => r(0), 2000))])),
      );
      expect(refused.filter((code) => code === 1013).length, 'sockets closed at the cap').toBe(44);
      const plain = await post(h, flatJson({}, 'function f() { return "still here"; }'));
      expect(plain.body.Z22K1, plain.text.slice(0, 300)).toEqual({ Z1K1: 'Z6', Z6K1: 'still here' });
      // Closed by the client; the server has let go of them once the close handshakes are done.
      for (const s of flood) s.ws.close();
      await Promise.all(flood.map((s) => s.closed));
      await new Promise((resolve) => setTimeout(resolve, 200));

      for (const [what, frame] of [
        ['text', 'call {"Z1K1":"Z7","Z7K1":"Z801"}'],
        ['binary', Buffer.from([1, 2, 3])],
        ['2 MB', 'x'.repeat(2 * 1024 * 1024)],
      ] as const) {
        const s = await open();
        s.ws.send(frame);
        expect(await s.closed, what).not.toBe(1000);
      }

      // Two rogue sockets wait; the reentrant request then comes with its own: three sockets, one
      // request, from one address. Nothing may be paired; the guest's call is refused typed.
      const rogues = [await open(), await open()];
      const body = flatJson(
        {},
        'function f() { return Wikifunctions.Call("Z801", {Z801K1: "secret argument"}); }',
        { reentrant: true },
      );
      const answering = post(h, body);
      const own = await open();
      const answer = await answering;
      expectZ22Error(answer, 'reentrant call among rogue sockets');
      expect(summarizeError(answer.body)?.type).toBe('Z507');
      expect(summarizeError(answer.body)?.text).toMatch(/wait to be paired/);
      for (const s of [...rogues, own]) {
        expect(s.frames, 'frames a socket received').toEqual([]);
        s.ws.terminate();
      }
    },
  },
];

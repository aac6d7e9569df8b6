// Attacks on WebAssembly components (interpreters/wasm/component/): transpiled at deploy time in a
// bounded child, run in the confined sandbox host with every core module instrumented like a raw
// module. Hostile components are assembled here from WAT + WIT with jco-transpile's own
// wasm-tools (parse, componentEmbed, componentNew), so each attack is its own small component:
// malformed and truncated binaries, huge export names, Object's own member names, more core modules
// than allowed, imports nothing provides, a start function that loops, memory and table bombs in a
// core module, the instrumenter's reserved names, s64 values jco would wrap, oversized uploads.
// test/wasm/components.test.ts runs the real toolchains' components (StarlingMonkey, QuickJS).

import { readFileSync } from 'node:fs';
import { componentEmbed, componentNew, parse } from '@bytecodealliance/jco-transpile/wasm-tools';
import { expect } from 'vitest';
import type { Attack, AttackContext, HttpAnswer } from '../harness.js';
import { raw as rawRequest, statusOf } from './http/wire.js';

const ADD = readFileSync(new URL('../../fixtures/components/add.wasm', import.meta.url));

/** A component of one core module (`coreWat`) exporting the functions of `world w` in `wit`. */
async function component(coreWat: string, wit: string): Promise<string> {
  const core = await parse(coreWat);
  const built = await componentNew(await componentEmbed({ binary: core, witSource: wit, world: 'w' }));
  return Buffer.from(built).toString('base64');
}

const F_WIT = 'package attack:c;\nworld w { export f: func() -> s32; }';

function evaluate(
  h: AttackContext,
  code: string,
  fn: string,
  args: unknown[] = [],
  limits?: Record<string, number>,
) {
  return h.evaluate('wasm', code, { fn, args, ...(limits === undefined ? {} : { limits }) });
}

function expectError(answer: HttpAnswer, code: string): void {
  expect(answer.status, answer.text.slice(0, 300)).toBe(200);
  expect(answer.body.ok, answer.text.slice(0, 300)).toBe(false);
  expect(answer.body.error.code, answer.body.error.message).toBe(code);
}

/** The honest call that must still be served after each attack: add.wasm's add(40, 2). */
async function expectServed(h: AttackContext): Promise<void> {
  const answer = await evaluate(h, ADD.toString('base64'), 'add', [40, 2]);
  expect(answer.body, answer.text.slice(0, 300)).toMatchObject({ ok: true, value: 42 });
}

const attack = (spec: Omit<Attack, 'run'> & { run: (h: AttackContext) => Promise<void> }): Attack => ({
  timeoutMs: 90_000,
  ...spec,
  async run(h) {
    await spec.run(h);
    await expectServed(h);
  },
});

export const WASM_COMPONENT_ATTACKS: readonly Attack[] = [
  attack({
    id: 'wasm-component-malformed',
    title: 'a component header followed by garbage, and add.wasm cut in half',
    result: 'SYNTAX_ERROR naming the component, from the transpile child',
    async run(h) {
      const garbage = Buffer.concat([
        Buffer.from([0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0]),
        Buffer.alloc(64, 0xff),
      ]);
      expectError(await evaluate(h, garbage.toString('base64'), 'f'), 'SYNTAX_ERROR');
      const cut = ADD.subarray(0, ADD.length >> 1).toString('base64');
      const answer = await evaluate(h, cut, 'add', [1, 2]);
      expectError(answer, 'SYNTAX_ERROR');
      expect(answer.body.error.message).toMatch(/component/);
    },
  }),
  attack({
    id: 'wasm-component-huge-export-name',
    title: 'exports a function whose name is 40,000 characters, then calls it and its prefix',
    result: 'deployed; every echo of the name cut short; calls answer ENTRY_NOT_FOUND',
    async run(h) {
      const name = `a${'-a'.repeat(20_000)}`;
      const code = await component(
        `(module (func (export "${name}") (result i32) (i32.const 7)))`,
        `package attack:c;\nworld w { export ${name}: func() -> s32; }`,
      );
      const deployed = await h.request('POST', '/v1/modules', {
        body: JSON.stringify({ language: 'wasm', code }),
        headers: { 'content-type': 'application/json' },
      });
      expect(deployed.status, deployed.text.slice(0, 300)).toBe(201);
      expect(deployed.text.length).toBeLessThan(4000);
      const missing = await evaluate(h, code, 'g');
      expectError(missing, 'ENTRY_NOT_FOUND');
      expect(missing.text.length).toBeLessThan(4000);
      // The API takes names of at most 256 characters: the export cannot be named, only refused.
      const prefix = await evaluate(h, code, name.slice(0, 255));
      expectError(prefix, 'ENTRY_NOT_FOUND');
    },
  }),
  attack({
    id: 'wasm-component-object-member-names',
    title: 'calls "constructor", "__proto__", "toString" and "hasOwnProperty" on add.wasm',
    result: 'ENTRY_NOT_FOUND for each: exports are looked up as own names only',
    async run(h) {
      for (const fn of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
        const answer = await evaluate(h, ADD.toString('base64'), fn, []);
        expectError(answer, 'ENTRY_NOT_FOUND');
      }
    },
  }),
  attack({
    id: 'wasm-component-many-core-modules',
    title: 'a component of 70 core modules (above COMPONENT_CORE_MODULES, 64)',
    result: 'SYNTAX_ERROR naming the limit, at deploy',
    async run(h) {
      let wat = '(component\n';
      for (let i = 0; i < 70; i++) {
        wat += `(core module $m${i} (func (export "f")))\n(core instance $i${i} (instantiate $m${i}))\n`;
      }
      const code = Buffer.from(await parse(`${wat})`)).toString('base64');
      const answer = await evaluate(h, code, 'f');
      expectError(answer, 'SYNTAX_ERROR');
      expect(answer.body.error.message).toMatch(/more than 64 core modules/);
    },
  }),
  attack({
    id: 'wasm-component-unknown-import',
    title: 'imports an interface nobody provides (attack:host/spawn)',
    result: 'SYNTAX_ERROR at deploy naming the import',
    async run(h) {
      const code = await component(
        `(module (import "attack:host/spawn" "run" (func $run (result i32)))
           (func (export "f") (result i32) (call $run)))`,
        'package attack:host;\ninterface spawn { run: func() -> s32; }\nworld w { import spawn; export f: func() -> s32; }',
      );
      const answer = await evaluate(h, code, 'f');
      expectError(answer, 'SYNTAX_ERROR');
      expect(answer.body.error.message).toContain('attack:host/spawn');
    },
  }),
  attack({
    id: 'wasm-component-start-loop',
    title: 'a core module whose start function loops forever',
    result: 'TIMEOUT (the start function runs after the fuel budget is set)',
    async run(h) {
      const code = await component(
        `(module (func $spin (loop $l (br $l))) (start $spin)
           (func (export "f") (result i32) (i32.const 1)))`,
        F_WIT,
      );
      expectError(await evaluate(h, code, 'f', [], { timeoutMs: 500 }), 'TIMEOUT');
    },
  }),
  attack({
    id: 'wasm-component-export-loop',
    title: 'an export that loops forever',
    result: 'TIMEOUT',
    async run(h) {
      const code = await component(
        '(module (func (export "f") (result i32) (loop $l (br $l)) (i32.const 1)))',
        F_WIT,
      );
      expectError(await evaluate(h, code, 'f', [], { timeoutMs: 500 }), 'TIMEOUT');
    },
  }),
  attack({
    id: 'wasm-component-memory-growth',
    title: 'a core module growing its memory 4 MiB at a time towards 1 GiB',
    result: 'MEMORY_LIMIT at the call limit (32 MiB)',
    async run(h) {
      const code = await component(
        `(module (memory 1 16384)
           (func (export "f") (result i32)
             (loop $l (br_if $l (i32.ne (memory.grow (i32.const 64)) (i32.const -1))))
             (memory.size)))`,
        F_WIT,
      );
      expectError(await evaluate(h, code, 'f', [], { memoryMb: 32 }), 'MEMORY_LIMIT');
    },
  }),
  attack({
    id: 'wasm-component-initial-memory',
    title: 'a core module whose memory starts at 4 GiB',
    result: 'MEMORY_LIMIT at deploy (the operator ceiling)',
    async run(h) {
      const code = await component(
        '(module (memory 65536) (func (export "f") (result i32) (i32.const 1)))',
        F_WIT,
      );
      expectError(await evaluate(h, code, 'f'), 'MEMORY_LIMIT');
    },
  }),
  attack({
    id: 'wasm-component-table-bomb',
    title: 'a core module with a table of 10,000,000 elements',
    result: 'SYNTAX_ERROR at deploy: over the table limit',
    async run(h) {
      const code = await component(
        '(module (table 10000000 funcref) (func (export "f") (result i32) (i32.const 1)))',
        F_WIT,
      );
      const answer = await evaluate(h, code, 'f');
      expectError(answer, 'SYNTAX_ERROR');
      expect(answer.body.error.message).toMatch(/over the limit/);
    },
  }),
  attack({
    id: 'wasm-component-reserved-export',
    title: 'a core module exporting "polyeval.fuel" to shadow the fuel counter',
    result: 'SYNTAX_ERROR: the name is reserved',
    async run(h) {
      const code = await component(
        `(module (global (export "polyeval.fuel") (mut i64) (i64.const 0))
           (func (export "f") (result i32) (i32.const 1)))`,
        F_WIT,
      );
      const answer = await evaluate(h, code, 'f');
      expectError(answer, 'SYNTAX_ERROR');
      expect(answer.body.error.message).toContain('reserved');
    },
  }),
  attack({
    id: 'wasm-component-deep-recursion',
    title: 'an export recursing without end',
    result: 'RUNTIME_ERROR (stack overflow) or TIMEOUT; the sandbox serves the next call',
    async run(h) {
      const code = await component(
        '(module (func $r (export "f") (result i32) (i32.add (call $r) (i32.const 1))))',
        F_WIT,
      );
      const answer = await evaluate(h, code, 'f', [], { timeoutMs: 2000 });
      expect(answer.body.ok).toBe(false);
      expect(['RUNTIME_ERROR', 'TIMEOUT']).toContain(answer.body.error.code);
    },
  }),
  attack({
    id: 'wasm-component-s64-wrap',
    title: "add.wasm's s64 export called with 2^64 - 1 and 2^63 (jco would wrap them to -1 and -2^63)",
    result: 'INVALID_ARGUMENT before the call',
    async run(h) {
      for (const big of ['18446744073709551615', '9223372036854775808']) {
        const answer = await h.request('POST', '/v1/evaluate', {
          body: `{"language":"wasm","code":"${ADD.toString('base64')}","function":"add","args":[${big},0]}`,
          headers: { 'content-type': 'application/json' },
        });
        expectError(answer, 'INVALID_ARGUMENT');
      }
    },
  }),
  attack({
    id: 'wasm-component-upload-limits',
    title:
      'binary uploads: declared over POLYEVAL_MODULE_BODY_LIMIT_BYTES, 9 MiB of zeros, without a language, a core module',
    result:
      '413 before the body; 422 (read under its own limit, not a module); 400 naming ?language; a raw module deployed',
    async run(h) {
      // Declared over the limit: refused before a byte of the body is read (raw: no body is sent).
      const big = await rawRequest(
        h,
        'POST /v1/modules?language=wasm HTTP/1.1\r\nHost: x\r\nContent-Type: application/wasm\r\n' +
          `Content-Length: ${40 * 2 ** 20}\r\nConnection: close\r\n\r\n`,
      );
      expect(statusOf(big.text)).toBe(413);
      // Above the JSON body limit (8 MiB) but under the upload limit: read, then judged as a module.
      const nine = await h.request('POST', '/v1/modules?language=wasm', {
        body: new Uint8Array(9 * 2 ** 20),
        headers: { 'content-type': 'application/wasm' },
      });
      expect(nine.status, nine.text.slice(0, 300)).toBe(422);
      const bare = await h.request('POST', '/v1/modules', {
        body: new Uint8Array(ADD),
        headers: { 'content-type': 'application/wasm' },
      });
      expect(bare.status).toBe(400);
      expect(bare.text).toContain('language');
      const core = await parse('(module (func (export "f") (result i32) (i32.const 5)))');
      const raw = await h.request('POST', '/v1/modules?language=wasm', {
        body: core,
        headers: { 'content-type': 'application/wasm' },
      });
      expect(raw.status, raw.text.slice(0, 300)).toBe(201);
      expect(raw.body.kind).toBe('library');
    },
  }),
  attack({
    id: 'wasm-component-list-past-memory',
    title:
      'exports return lists past their memory: a 2^31-element list<u16>, a list<s64> crossing the end, a list<f32> at a negative pointer, an unaligned list<u16>',
    result:
      'RUNTIME_ERROR "the component trapped (a list of N bytes at P lies outside the memory…)" for each (jco\'s own alignment check for the unaligned one); the in-bounds control answers',
    async run(h) {
      // retptr at 0 holds (ptr, len); each export writes its own pair.
      const pair = (name: string, ptr: number, len: number) =>
        `(func (export "${name}") (result i32)
           (i32.store (i32.const 0) (i32.const ${ptr})) (i32.store (i32.const 4) (i32.const ${len}))
           (i32.const 0))`;
      const code = await component(
        `(module (memory (export "memory") 1)
           ${pair('wide', 64, 0x7fffffff)} ${pair('crossing', 65528, 2)} ${pair('negative', -4, 1)}
           ${pair('unaligned', 65535, 1)} ${pair('control', 64, 2)})`,
        `package attack:c;
world w {
           export wide: func() -> list<u16>; export crossing: func() -> list<s64>;
           export negative: func() -> list<f32>; export unaligned: func() -> list<u16>;
           export control: func() -> list<u16>;
         }`,
      );
      // jco checks alignment itself.
      const unaligned = await evaluate(h, code, 'unaligned');
      expectError(unaligned, 'RUNTIME_ERROR');
      expect(unaligned.body.error.message).toMatch(/not aligned/);
      for (const fn of ['wide', 'crossing', 'negative']) {
        const answer = await evaluate(h, code, fn);
        expectError(answer, 'RUNTIME_ERROR');
        expect(answer.body.error.message).toMatch(
          /the component trapped \(a list of \d+ bytes at -?\d+ lies outside the memory of 65536 bytes\)/,
        );
      }
      const control = await evaluate(h, code, 'control');
      expect(control.body, control.text.slice(0, 300)).toMatchObject({ ok: true, value: [0, 0] });
    },
  }),
  // One returned value naming the same bytes many times (lift-meter.ts): each way the glue reads a
  // memory (a string's decode, a list of numbers' slice, a record's DataView reads), 8,000 list
  // entries each naming the whole 64 KiB memory; and, as the control, a result of a few entries
  // (up to 1 MiB lifted, 256 K records; 64 KiB of NULs is 384 KiB of JSON) under the meter's cap and the output limit, answered whole.
  ...(
    [
      ['list<string>', 'text (512 MB of strings)', 8],
      ['list<list<u8>>', 'copies of the memory (512 MB of buffers)', 16],
      ['list<list<r>>', 'records of one u8 (524 million objects)', 4],
    ] as const
  ).map(([type, what, few]) =>
    attack({
      id: `wasm-component-lift-amplification-${type.replace(/[<>]/g, (c) => (c === '<' ? '-' : '')).replace(/-+$/, '')}`,
      title: `a ${type} of 8000 entries each naming the whole 64 KiB memory: ${what} lifted from 64 KiB; ${few} entries as the control`,
      result:
        'MEMORY_LIMIT naming the lifted value, before the worker heap is reached (which could crash the sandbox host); the control answers every entry',
      async run(h) {
        const amplify = async (count: number) =>
          component(
            `(module (memory (export "memory") 1)
               (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) (i32.const 0))
               (func (export "f") (result i32) (local $i i32)
                 (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const ${count}))
                 (loop $l
                   (i32.store (i32.add (i32.const 16) (i32.mul (local.get $i) (i32.const 8))) (i32.const 0))
                   (i32.store (i32.add (i32.const 20) (i32.mul (local.get $i) (i32.const 8))) (i32.const 65536))
                   (local.set $i (i32.add (local.get $i) (i32.const 1)))
                   (br_if $l (i32.lt_u (local.get $i) (i32.const ${count}))))
                 (i32.const 0)))`,
            `package attack:c;\nworld w { record r { a: u8 } export f: func() -> ${type}; }`,
          );
        const answer = await evaluate(h, await amplify(8000), 'f');
        expectError(answer, 'MEMORY_LIMIT');
        expect(answer.body.error.message).toMatch(
          /the value it returned would take more than \d+ bytes once lifted/,
        );
        const control = await evaluate(h, await amplify(few), 'f', [], { outputBytes: 4 * 2 ** 20 });
        expect(control.body.ok, control.text.slice(0, 300)).toBe(true);
        expect(control.body.value).toHaveLength(few);
        for (const entry of control.body.value as (string | unknown[])[]) expect(entry.length).toBe(65536);
      },
    }),
  ),
  attack({
    id: 'wasm-component-deploy-flood',
    title:
      '14 distinct components deployed at once (above the transpile queue, POLYEVAL_WASM_TRANSPILE_QUEUE=2 here), a raw module called meanwhile',
    result:
      'each deployment 201 or 503 overloaded with Retry-After (at least one of each); the raw module is served during the flood',
    async run(h) {
      const codes = await Promise.all(
        Array.from({ length: 14 }, (_, i) =>
          component(`(module (func (export "f") (result i32) (i32.const ${1000 + i})))`, F_WIT),
        ),
      );
      const deploys = codes.map((code) =>
        h.request('POST', '/v1/modules', {
          body: JSON.stringify({ language: 'wasm', code }),
          headers: { 'content-type': 'application/json' },
        }),
      );
      const core = Buffer.from(await parse('(module (func (export "g") (result i32) (i32.const 9)))'));
      const raw = await evaluate(h, core.toString('base64'), 'g');
      expect(raw.body, raw.text.slice(0, 300)).toMatchObject({ ok: true, value: 9 });
      const answers = await Promise.all(deploys);
      for (const answer of answers) {
        expect([201, 503], answer.text.slice(0, 300)).toContain(answer.status);
        if (answer.status === 503) {
          expect(answer.body.type).toMatch(/overloaded$/);
          expect(answer.body.detail).toMatch(
            /Cannot transpile the component: \d+ deployments? (?:is|are) already waiting/,
          );
          expect(answer.headers['retry-after']).toBeDefined();
        }
      }
      expect(answers.filter((a) => a.status === 503).length).toBeGreaterThan(0);
      expect(answers.filter((a) => a.status === 201).length).toBeGreaterThan(0);
      // Once the queue has drained, a refused component deploys.
      const refused = codes[answers.findIndex((a) => a.status === 503)]!;
      const again = await h.request('POST', '/v1/modules', {
        body: JSON.stringify({ language: 'wasm', code: refused }),
        headers: { 'content-type': 'application/json' },
      });
      expect(again.status, again.text.slice(0, 300)).toBe(201);
    },
  }),
  attack({
    id: 'wasm-component-inherited-import-members',
    title:
      'imports Object.prototype names from known interfaces at version 9.9.9: `to-string`, `%constructor`, `value-of`, a resource method and a static `to-string`',
    result:
      'RUNTIME_ERROR naming the undefined import for each: no inherited member (toString, Object, Function) is a door',
    async run(h) {
      // A core module importing one function `name` of `iface` returning a string (retptr form).
      const stringImport = (iface: string, name: string, args = '') =>
        `(module (import "${iface}" "${name}" (func $t (param ${args} i32)))
           ${args === '' ? '' : '(import "wasi:cli/stdout@9.9.9" "get-stdout" (func $g (result i32)))'}
           (memory (export "memory") 1) (global $bump (mut i32) (i32.const 1024))
           (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) (local $r i32)
             (local.set $r (global.get $bump))
             (global.set $bump (i32.add (global.get $bump) (local.get 3))) (local.get $r))
           (func (export "f") (result i32)
             (call $t ${args === '' ? '' : '(call $g)'} (i32.const 64)) (i32.const 64)))`;
      const plain = (iface: string, fn: string) =>
        component(
          stringImport(`${iface}@9.9.9`, fn.replace('%', '')),
          `package attack:c;\npackage ${iface.split('/')[0]}@9.9.9 { interface ${iface.split('/')[1]} { ${fn}: func() -> string; } }
           world w { import ${iface}@9.9.9; export f: func() -> string; }`,
        );
      const streams = `package attack:c;
        package wasi:io@9.9.9 { interface streams { resource output-stream {
          to-string: func() -> string; %constructor: static func() -> string; } } }
        package wasi:cli@9.9.9 { interface stdout { use wasi:io/streams@9.9.9.{output-stream};
          get-stdout: func() -> output-stream; } }
        world w { import wasi:cli/stdout@9.9.9; export f: func() -> string; }`;
      const codes = [
        await plain('wasi:random/random', 'to-string'),
        await plain('wasi:random/random', '%constructor'),
        await plain('wasi:cli/stdout', 'value-of'),
        await component(
          stringImport('wasi:io/streams@9.9.9', '[method]output-stream.to-string', 'i32'),
          streams,
        ),
        await component(stringImport('wasi:io/streams@9.9.9', '[static]output-stream.constructor'), streams),
      ];
      for (const code of codes) {
        const answer = await evaluate(h, code, 'f');
        expectError(answer, 'RUNTIME_ERROR');
        expect(answer.body.error.message).toMatch(/undefined|is not a function/);
      }
    },
  }),
  attack({
    id: 'wasm-component-memory-sum',
    title:
      'one core module with an 8 MiB memory its start function fills, instantiated 24 times (192 MiB) under a 64 MiB limit; 4 times (32 MiB) as the control',
    result: 'MEMORY_LIMIT: the limit holds for all the memories of a call together; the control answers',
    async run(h) {
      const instances = async (n: number) => {
        let wat = `(component
          (core module $m (memory (export "mem") 128)
            (func $s (memory.fill (i32.const 0) (i32.const 1) (i32.const 8388608))) (start $s)
            (func (export "f") (result i32) (i32.const 1)))\n`;
        for (let i = 0; i < n; i++) wat += `(core instance $i${i} (instantiate $m))\n`;
        wat += '(func $f (result s32) (canon lift (core func $i0 "f"))) (export "f" (func $f)))';
        return Buffer.from(await parse(wat)).toString('base64');
      };
      const answer = await evaluate(h, await instances(24), 'f', [], { memoryMb: 64 });
      expectError(answer, 'MEMORY_LIMIT');
      expect(answer.body.stats.memoryBytes).toBeLessThanOrEqual(64 * 2 ** 20);
      const control = await evaluate(h, await instances(4), 'f', [], { memoryMb: 64 });
      expect(control.body, control.text.slice(0, 300)).toMatchObject({ ok: true, value: 1 });
    },
  }),
  attack({
    id: 'wasm-component-name-injection',
    title:
      "core export, import and synthetic-instance names built to break out of the glue's quotes: x'];globalThis.PWNED=1;// and siblings with \", `, \\, a line break, U+2028, ${ and */",
    result:
      'SYNTAX_ERROR at deploy naming the core module (the names jco prints unescaped are checked); no glue with the text is ever run',
    async run(h) {
      const esc = (n: string) => n.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
      const payloads = [
        "x'];globalThis.PWNED=1;//",
        'x"];globalThis.PWNED=1;//',
        'x`+(globalThis.PWNED=1)+`',
        'x\\',
        'x\n];globalThis.PWNED=1;//',
        'x\u2028globalThis.PWNED=1',
        'x$' + '{globalThis.PWNED=1}',
        'x*/globalThis.PWNED=1;/*',
      ];
      for (const weird of payloads) {
        const n = esc(weird);
        // The core export lifted as the component's "f".
        const exported = `(component
          (core module $m (func (export "${n}") (result i32) (i32.const 1)))
          (core instance $i (instantiate $m))
          (func $f (result s32) (canon lift (core func $i "${n}")))
          (export "f" (func $f)))`;
        // A synthetic core instance under that name, imported by a second core module.
        const imported = `(component
          (core module $a (func (export "g") (result i32) (i32.const 1)))
          (core instance $ia (instantiate $a))
          (core instance $s (export "g" (func $ia "g")))
          (core module $b (import "${n}" "g" (func $g (result i32))) (func (export "f") (result i32) (call $g)))
          (core instance $ib (instantiate $b (with "${n}" (instance $s))))
          (func $f (result s32) (canon lift (core func $ib "f")))
          (export "f" (func $f)))`;
        for (const wat of [exported, imported]) {
          const code = Buffer.from(await parse(wat)).toString('base64');
          const answer = await evaluate(h, code, 'f');
          expectError(answer, 'SYNTAX_ERROR');
          expect(answer.body.error.message).toMatch(
            /the name [\s\S]* holds a quote, backslash, line break or comment mark/,
          );
        }
      }
    },
  }),
];

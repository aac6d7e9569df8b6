// End-to-end behaviour of the JavaScript executor through the real server (a child process on a
// free port) and the real QuickJS engine: values, errors, and every limit attacked head-on. After
// each hostile call the same server must answer the next honest call.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectNextCallSucceeds } from '../helpers/calls.js';
import { expectResponsive, sampleLatency } from '../helpers/latency.js';
import { clockSeedOf } from '../helpers/quickjs-random.js';
import { postJson, type RunningServer, startServer } from '../helpers/server.js';

let server: RunningServer;
/** When the server was started: every context it made was made after this. */
let serverStartedAt: number;

beforeAll(async () => {
  serverStartedAt = Date.now();
  server = await startServer({ POLYEVAL_LANGUAGES: 'javascript', POLYEVAL_POOL_SIZE: '2' });
});
afterAll(async () => {
  await server?.close();
});

async function evaluate(code: string, extra: Record<string, unknown> = {}) {
  const { status, body } = await postJson(`${server.url}/v1/evaluate`, {
    language: 'javascript',
    code,
    function: 'main',
    ...extra,
  });
  expect(status).toBe(200);
  return body;
}

describe('values', () => {
  it('adds two numbers (the README example)', async () => {
    const body = await evaluate('function add(a, b) { return a + b }', { function: 'add', args: [2, 3] });
    expect(body).toMatchObject({ ok: true, value: 5, stdout: '', stderr: '' });
    expect(body.stats.durationMs).toBeGreaterThan(0);
    expect(body.stats.cpuMs).toBeGreaterThanOrEqual(0);
    expect(body.stats.memoryBytes).toBeGreaterThan(0);
    expect(body.limits).toMatchObject({ timeoutMs: 2000, memoryMb: 64, outputBytes: 65536 });
  });

  it('round-trips unicode strings: astral planes, combining marks, right-to-left text', async () => {
    const input = ['😀 𝄞 𠜎', 'e\u0301', 'سر دوراهی یک قلعه بود', '\u0000nul', 'a\u2028b'];
    const body = await evaluate('function main(xs) { return xs.map((s) => s + "|" + [...s].length) }', {
      args: [input],
    });
    expect(body.value).toEqual(input.map((s) => `${s}|${[...s].length}`));
  });

  it('returns nested values unchanged', async () => {
    const value = { a: [1, { b: [true, null, 'x'] }], c: { d: { e: -1.5 } }, f: [] };
    const body = await evaluate('function main(v) { return v }', { args: [value] });
    expect(body.value).toEqual(value);
  });

  it('carries integers beyond 2^53 losslessly in both directions, as BigInt inside the guest', async () => {
    const big = '123456789012345678901234567890';
    const { status, body } = await postJson(
      `${server.url}/v1/evaluate`,
      `{"language":"javascript","code":"function main(n) { return [typeof n, n * 2n, n] }","args":[${big}]}`,
    );
    expect(status).toBe(200);
    expect(body.ok).toBe(true);
    expect(body.value[0]).toBe('bigint');
    // JSON.parse in the test would round: check the raw text instead.
    const raw = await fetch(`${server.url}/v1/evaluate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `{"language":"js","code":"function main(n) { return n + 1n }","args":[${big}]}`,
    }).then((r) => r.text());
    expect(raw).toContain('"value":123456789012345678901234567891');
  });

  it('awaits an async function', async () => {
    const body = await evaluate(
      'async function main(x) { const y = await Promise.resolve(x); await null; return y * 2 }',
      { args: [21] },
    );
    expect(body).toMatchObject({ ok: true, value: 42 });
  });

  it('finds functions declared with const and arrow syntax', async () => {
    const body = await evaluate('const main = (a) => a.length', { args: ['four'] });
    expect(body).toMatchObject({ ok: true, value: 4 });
  });

  it('returns null for a function that returns nothing', async () => {
    const body = await evaluate('function main() {}');
    expect(body).toMatchObject({ ok: true, value: null });
  });

  it('captures console.log into stdout and console.error into stderr, apart', async () => {
    const body = await evaluate(
      'function main() { console.log("out", 1, {a: [1]}); console.error("err"); console.warn("warn"); return 0 }',
    );
    expect(body.stdout).toBe('out 1 { a: [ 1 ] }\n');
    expect(body.stderr).toBe('err\nwarn\n');
    expect(body.value).toBe(0);
  });

  it('refuses results JSON cannot carry, naming what is wrong', async () => {
    const cases: [string, RegExp][] = [
      ['function main() { return () => 1 }', /function/],
      ['function main() { const a = {}; a.self = a; return a }', /cycle/],
      ['function main() { return [undefined] }', /undefined/],
      ['function main() { return NaN }', /NaN/],
      ['class A {}; function main() { return new A() }', /a A is not a plain object/],
      ['function main() { return new Map() }', /Map/],
    ];
    for (const [code, message] of cases) {
      const body = await evaluate(code);
      expect(body.ok, code).toBe(false);
      expect(body.error.code, code).toBe('INVALID_RESULT');
      expect(body.error.message, code).toMatch(message);
    }
  });
});

describe('errors', () => {
  it('reports a syntax error with its line', async () => {
    const body = await evaluate('function main() {\n  return 1 +;\n}');
    expect(body.ok).toBe(false);
    expect(body.error).toMatchObject({ code: 'SYNTAX_ERROR', line: 2, type: 'SyntaxError' });
    expect(body.error.message).toMatch(/line 2/);
  });

  it('reports a thrown error with its message, type and line', async () => {
    const body = await evaluate('function main() {\n\n  throw new TypeError("no such thing");\n}');
    expect(body.error).toMatchObject({ code: 'RUNTIME_ERROR', type: 'TypeError', line: 3 });
    expect(body.error.message).toContain('TypeError: no such thing');
  });

  it('reports a thrown non-Error value', async () => {
    const body = await evaluate('function main() { throw { reason: "custom" } }');
    expect(body.error.code).toBe('RUNTIME_ERROR');
    expect(body.error.message).toContain('custom');
  });

  it('reports a rejected promise as a runtime error', async () => {
    const body = await evaluate('async function main() { await null; throw new RangeError("late") }');
    expect(body.error).toMatchObject({ code: 'RUNTIME_ERROR', type: 'RangeError' });
  });

  it('reports a missing function', async () => {
    const body = await evaluate('function other() {}');
    expect(body.error.code).toBe('ENTRY_NOT_FOUND');
    expect(body.error.message).toContain('"main"');
  });

  it('reports a promise that can never settle', async () => {
    const body = await evaluate('function main() { return new Promise(() => {}) }');
    expect(body.error.code).toBe('RUNTIME_ERROR');
    expect(body.error.message).toMatch(/never settles/);
  });
});

describe('isolation', () => {
  it('does not let a global set by one call survive into the next', async () => {
    const first = await evaluate(
      'globalThis.leak = 41; Object.prototype.polluted = 1; function main() { return 1 }',
    );
    expect(first.ok).toBe(true);
    // Same two workers: repeat so that both see a follow-up call.
    for (let i = 0; i < 4; i++) {
      const next = await evaluate('function main() { return [typeof leak, typeof ({}).polluted] }');
      expect(next.value).toEqual(['undefined', 'undefined']);
    }
  });

  it('leaves nothing of a call that deleted console, left jobs pending and grew the heap', async () => {
    const first = await evaluate(
      "delete globalThis.console; globalThis.big = 'x'.repeat(24 << 20); new Promise(() => {}); Promise.resolve().then(() => { globalThis.late = 1 }); function main() { return big.length }",
    );
    expect(first).toMatchObject({ ok: true, value: 24 << 20 });
    for (let i = 0; i < 4; i++) {
      const next = await evaluate(
        "function main() { console.log('hi'); return [typeof big, typeof late, Object.keys(globalThis).join()] }",
      );
      expect(next).toMatchObject({ ok: true, value: ['undefined', 'undefined', 'main'], stdout: 'hi\n' });
    }
  });

  it('gives the guest no host capabilities', async () => {
    const body = await evaluate(
      'function main() { return [typeof process, typeof require, typeof fetch, typeof std, typeof os, typeof setTimeout, typeof WebAssembly] }',
    );
    expect(body.value).toEqual([
      'undefined',
      'undefined',
      'undefined',
      'undefined',
      'undefined',
      'undefined',
      'undefined',
    ]);
  });

  it('is not fooled by user code that overwrites JSON before the result is read', async () => {
    const body = await evaluate(
      'JSON.stringify = () => "{\\"forged\\":true}"; JSON.parse = () => ({forged: true}); Array.prototype.toJSON = () => "x"; function main(a) { return [a, {b: 2}] }',
      { args: [1] },
    );
    expect(body).toMatchObject({ ok: true, value: [1, { b: 2 }] });
  });
});

describe('limits', () => {
  const timeoutMs = 1000;
  // The watchdog fires at deadline + 30 ms and terminating a worker takes ~10 ms; the rest of the
  // margin absorbs this shared machine's noise and the HTTP round trip.
  const margin = 1000;

  const hostile: [string, string, string[], Record<string, number>?][] = [
    ['an infinite loop', 'function main() { for (;;) {} }', ['TIMEOUT']],
    [
      'an infinite loop that catches everything',
      'function main() { for (;;) { try { for (;;) {} } catch (e) {} } }',
      ['TIMEOUT'],
    ],
    ['regex backtracking', 'function main() { return /^(a+)+$/.test("a".repeat(40) + "b") }', ['TIMEOUT']],
    [
      'a long built-in: new Array(2e8).join',
      'function main() { return new Array(2e8).join("a").length }',
      ['TIMEOUT', 'MEMORY_LIMIT'],
    ],
    [
      'a long built-in: indexOf on a huge string',
      'function main() { const s = "a".repeat(2 ** 24); let n = 0; for (;;) n += s.indexOf("b" + n) }',
      ['TIMEOUT', 'MEMORY_LIMIT'],
    ],
    // QuickJS caps BigInt size itself: a RangeError is as typed an answer as the two limits.
    [
      'a BigInt squaring loop',
      'function main() { let x = 3n; for (;;) x = x * x }',
      ['TIMEOUT', 'MEMORY_LIMIT', 'RUNTIME_ERROR'],
    ],
    [
      'a memory balloon',
      'function main() { const a = []; for (;;) a.push(new Array(1e5).fill(a.length)) }',
      ['MEMORY_LIMIT'],
      // Not a time limit case: a long deadline keeps a loaded machine from turning it into one.
      { timeoutMs: 5000 },
    ],
    [
      'Array.fill of a huge array',
      'function main() { return new Array(3e8).fill(1.5).length }',
      ['MEMORY_LIMIT', 'TIMEOUT'],
    ],
    ['an unbounded microtask chain', 'async function main() { for (;;) await null }', ['TIMEOUT']],
    [
      'deep recursion',
      'function f(n) { return f(n + 1) + 1 } function main() { return f(0) }',
      ['RUNTIME_ERROR'],
      // Not a time limit case: a long deadline keeps a loaded machine from turning it into one.
      { timeoutMs: 5000 },
    ],
    [
      'deep JSON.parse nesting',
      'function main() { return JSON.parse("[".repeat(1e6) + "]".repeat(1e6)) }',
      ['RUNTIME_ERROR', 'MEMORY_LIMIT'],
      // Not a time limit case: a long deadline keeps a loaded machine from turning it into one.
      { timeoutMs: 5000 },
    ],
    [
      '100 MB of console output',
      'function main() { const s = "x".repeat(1e6); for (let i = 0; i < 100; i++) console.log(s) }',
      ['OUTPUT_LIMIT'],
      // Not a time limit case: a long deadline keeps a loaded machine from turning it into one.
      { timeoutMs: 5000 },
    ],
    [
      'output that swallows the error',
      'function main() { for (;;) { try { console.log("y".repeat(1e4)) } catch (e) {} } }',
      ['OUTPUT_LIMIT'],
      // Not a time limit case: a long deadline keeps a loaded machine from turning it into one.
      { timeoutMs: 5000 },
    ],
    [
      'a 100 MB result',
      'function main() { return "x".repeat(1e8) }',
      // 256 MiB holds the string, and a long deadline keeps a loaded machine from timing out first
      // (building it takes ~0.3 s of CPU): the output limit is what must stop it.
      ['OUTPUT_LIMIT'],
      { memoryMb: 256, timeoutMs: 10_000 },
    ],
  ];

  for (const [name, code, codes, limits] of hostile) {
    it(`stops ${name} with a typed error within the deadline, then serves the next call`, async () => {
      const started = performance.now();
      const deadline = limits?.timeoutMs ?? timeoutMs;
      const body = await evaluate(code, { limits: { timeoutMs, ...limits } });
      const elapsed = performance.now() - started;
      expect(body.ok).toBe(false);
      expect(codes, `${body.error.code}: ${body.error.message}`).toContain(body.error.code);
      expect(body.error.message).toMatch(/^Cannot /);
      expect(elapsed, `answered after ${Math.round(elapsed)} ms with ${body.error.code}`).toBeLessThan(
        deadline + margin,
      );
      await expectNextCallSucceeds(server.url, 'javascript');
    });
  }

  it('keeps what was printed before the output limit, cut at the limit', async () => {
    const body = await evaluate('function main() { for (let i = 0; ; i++) console.log("line " + i) }', {
      limits: { outputBytes: 1000 },
    });
    expect(body.error.code).toBe('OUTPUT_LIMIT');
    expect(body.stdout.startsWith('line 0\nline 1\n')).toBe(true);
    expect(Buffer.byteLength(body.stdout)).toBe(1000);
  });

  it('keeps what was printed before a timeout', async () => {
    const body = await evaluate('function main() { console.log("before"); for (;;) {} }', {
      limits: { timeoutMs: 300 },
    });
    expect(body.error.code).toBe('TIMEOUT');
    expect(body.stdout).toBe('before\n');
  });

  it('refuses a result larger than the output limit', async () => {
    const body = await evaluate('function main() { return "x".repeat(70000) }');
    expect(body.error.code).toBe('OUTPUT_LIMIT');
  });

  it('clamps limits above the ceiling instead of honouring them', async () => {
    const body = await evaluate('function main() { return 1 }', {
      limits: { timeoutMs: 10 ** 9, memoryMb: 10 ** 6 },
    });
    expect(body.ok).toBe(true);
    expect(body.limits.timeoutMs).toBe(15000);
    expect(body.limits.memoryMb).toBe(512);
  });

  // Compared with the same server's idle /livez, not with a fixed number of ms.
  // mutation: guest code run on the service's own thread (its event loop blocked for the deadline)
  // → /livez waits for the spin and the median crosses the bound.
  it('answers /livez about as fast while two guests spin as when idle', async () => {
    const idle = await sampleLatency(`${server.url}/livez`, 9);
    const spinning = [1, 2].map(() =>
      evaluate('function main() { for (;;) {} }', { limits: { timeoutMs: 3000 } }),
    );
    await new Promise((r) => setTimeout(r, 300));
    const loaded = await sampleLatency(`${server.url}/livez`, 9);
    expectResponsive('/livez while two guests spin', idle, loaded);
    const results = await Promise.all(spinning);
    for (const r of results) expect(r.error.code).toBe('TIMEOUT');
  });
});

describe('sandbox reuse', () => {
  // Behaviour, not the engine's label: a restored snapshot has a crypto Math.random seed (a context
  // made for the call has a clock seed, see ../helpers/quickjs-random.ts), and nothing a call leaves
  // in the heap survives into the next.
  // mutation: interpreters/javascript/runner.ts, heap snapshots never used (no known build, as with
  // POLYEVAL_JAVASCRIPT_SNAPSHOTS=off) → every first Math.random() has a clock seed and this fails.
  it('restores a heap snapshot per call: a fresh crypto seed each time, no state kept', async () => {
    for (let i = 0; i < 3; i++) {
      const body = await evaluate(
        'globalThis.leak = (globalThis.leak ?? 0) + 1; function main() { return [Math.random(), leak] }',
      );
      expect(body).toMatchObject({ ok: true, value: [expect.any(Number), 1] });
      const seeded = clockSeedOf(body.value[0], serverStartedAt, Date.now());
      expect(seeded, 'the first Math.random() of the call has a clock seed').toBeUndefined();
    }
  });

  describe('with snapshots off (POLYEVAL_JAVASCRIPT_SNAPSHOTS=off): a new runtime and context per call', () => {
    let fresh: RunningServer;
    let freshStartedAt: number;
    beforeAll(async () => {
      freshStartedAt = Date.now();
      fresh = await startServer({
        POLYEVAL_LANGUAGES: 'javascript',
        POLYEVAL_POOL_SIZE: '1',
        POLYEVAL_JAVASCRIPT_SNAPSHOTS: 'off',
      });
    });
    afterAll(async () => {
      await fresh?.close();
    });
    const call = async (code: string) =>
      (await postJson(`${fresh.url}/v1/evaluate`, { language: 'javascript', code })).body;

    it('runs calls and keeps them apart', async () => {
      const languages = await fetch(`${fresh.url}/v1/languages`).then((r) => r.json());
      expect(JSON.stringify(languages)).toContain('runtime per call');
      expect(await call('globalThis.leak = 1; function main() { console.log("x"); return 2 }')).toMatchObject(
        {
          ok: true,
          value: 2,
          stdout: 'x\n',
        },
      );
      expect(await call('function main() { return typeof leak }')).toMatchObject({
        ok: true,
        value: 'undefined',
      });
    });

    // The observable the snapshot test above relies on, shown to work: here each call's context
    // was made by QuickJS, seeded from the clock of a recent millisecond.
    it('seeds each context from the clock (the observable of the snapshot test)', async () => {
      for (let i = 0; i < 3; i++) {
        const body = await call('function main() { return Math.random() }');
        expect(body.ok).toBe(true);
        expect(clockSeedOf(body.value, freshStartedAt, Date.now())).toBeGreaterThanOrEqual(freshStartedAt);
      }
    });
  });
});

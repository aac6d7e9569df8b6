// The wasm executor end to end below HTTP: one executor (two sandbox workers and the compile
// worker) for the whole file, real modules assembled from .wat, every limit, and after each bad
// case a check that the executor still serves the next call.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectExecutorServes } from '../helpers/calls.js';
import { call, startExecutor, type TestExecutor, watBase64 } from './helpers.js';
import {
  ARITHMETIC,
  BIG_INITIAL_MEMORY,
  COUNTER,
  DEEP_RECURSION,
  ECHO_COMMAND,
  exitWith,
  flood,
  GROW_TO_1GIB,
  IMPORTS_ENV,
  IMPORTS_WRONG_SIGNATURE,
  LONG_NATIVE,
  MEMORY_BOMB,
  PATH_OPEN,
  printCommand,
  REACTOR,
  SLEEP,
  SPIN,
  START_LOOP,
  SWALLOW_OUTPUT_LIMIT,
  TABLE_BOMB,
  TABLE_GROWTH,
  WASI_FACTS,
} from './modules.js';

let executor: TestExecutor;

// A low fuel rate, so that fuel (not the watchdog) stops plain loops even on a loaded machine; the
// default rate is measured in the benchmark, and the watchdog path has its own case below.
const FUEL_PER_MS = 20_000;

beforeAll(async () => {
  executor = await startExecutor({ FUEL_PER_MS: String(FUEL_PER_MS) });
});

afterAll(async () => {
  await executor?.close();
});

describe('WASI commands', () => {
  it('echo JSON through stdin and stdout', async () => {
    const value = { hello: 'wörld 😀', n: [1, 2.5, null, true], big: 2n ** 60n, nested: { e: [] } };
    const result = await call(executor, { code: ECHO_COMMAND }, 'main', [value]);
    expect(result.ok).toBe(true);
    expect(result).toMatchObject({ value, stdout: '', stderr: '' });
    expect(result.stats.exitCode).toBe(0);
    expect(result.stats.fuel).toBeGreaterThan(0);
  });

  it('reads the whole argument array from stdin, whatever its size', async () => {
    const big = Array.from({ length: 20_000 }, (_, i) => `item ${i}`);
    const result = await call(executor, { code: ECHO_COMMAND }, '_start', [big]);
    expect(result).toMatchObject({ ok: true, value: big });
  });

  it('reports proc_exit(42) as RUNTIME_ERROR with the exit code and stderr, and the host lives on', async () => {
    const result = await call(executor, { code: exitWith(42) }, 'main');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toMatchObject({ code: 'RUNTIME_ERROR', exitCode: 42 });
    expect(result.error.message).toContain('exited with code 42');
    expect(result.error.message).toContain('bye');
    expect(result.stderr).toBe('bye\n');
    expect(result.stdout).toBe('partial');
    expect(result.stats.exitCode).toBe(42);
    await expectExecutorServes(executor, 'wasm');
  });

  it('takes proc_exit(0) as success', async () => {
    const result = await call(executor, { code: exitWith(0) }, 'main');
    expect(result.ok).toBe(false); // "partial" is not JSON
    if (result.ok) return;
    expect(result.error.code).toBe('INVALID_RESULT');
    expect(result.stdout).toBe('partial');
  });

  it('calls stdout that is not JSON INVALID_RESULT, and shows it', async () => {
    const result = await call(executor, { code: printCommand('not json') }, 'main');
    expect(result).toMatchObject({ ok: false, error: { code: 'INVALID_RESULT' }, stdout: 'not json' });
    const empty = await call(executor, { code: printCommand('') }, 'main');
    expect(empty).toMatchObject({ ok: false, error: { code: 'INVALID_RESULT' } });
  });

  it('gives empty arguments and environment, a clock and random bytes', async () => {
    const result = await call(executor, { code: WASI_FACTS }, 'main');
    expect(result).toMatchObject({ ok: true, value: [0, 0, 1, 1] });
  });

  it('refuses path_open on /etc/passwd: no preopened directory exists', async () => {
    const module = { code: PATH_OPEN };
    const EBADF = 8;
    const ENOTCAPABLE = 76;
    expect(await call(executor, module, 'prestat', [3])).toMatchObject({ ok: true, value: EBADF });
    expect(await call(executor, module, 'open', [3])).toMatchObject({ ok: true, value: EBADF });
    expect(await call(executor, module, 'open', [0])).toMatchObject({ ok: true, value: ENOTCAPABLE });
    expect(await call(executor, module, 'opened')).toMatchObject({ ok: true, value: 0 });
  });

  it('sleeps through poll_oneoff, and a sleep past the deadline ends as TIMEOUT at the deadline', async () => {
    const short = await call(executor, { code: SLEEP }, 'sleep', [30]);
    expect(short).toMatchObject({ ok: true, value: 107 });
    expect(short.stats.durationMs).toBeGreaterThanOrEqual(25);
    const started = performance.now();
    const long = await call(executor, { code: SLEEP }, 'sleep', [60_000], { timeoutMs: 300 });
    expect(long).toMatchObject({ ok: false, error: { code: 'TIMEOUT' } });
    expect(performance.now() - started).toBeLessThan(3000);
    await expectExecutorServes(executor, 'wasm');
  });

  it('calls _initialize of a reactor before the export', async () => {
    expect(await call(executor, { code: REACTOR }, 'get')).toMatchObject({ ok: true, value: 42 });
  });
});

describe('exported functions', () => {
  it('add i32 and i64; 2^60 survives both ways', async () => {
    const code = await watBase64(ARITHMETIC);
    expect(await call(executor, { code }, 'add', [2, 3])).toMatchObject({ ok: true, value: 5 });
    expect(await call(executor, { code }, 'add', [-1, 4294967295])).toMatchObject({ ok: true, value: -2 });
    const big = await call(executor, { code }, 'add64', [2n ** 60n, 1]);
    expect(big).toMatchObject({ ok: true, value: 2n ** 60n + 1n });
    expect(await call(executor, { code }, 'add64', [2n ** 62n, 2n ** 62n])).toMatchObject({
      ok: true,
      value: -(2n ** 63n),
    });
    expect(await call(executor, { code }, 'add64', [40, 2])).toMatchObject({ ok: true, value: 42 });
  });

  it('f32, f64, several results and none', async () => {
    expect(await call(executor, { code: ARITHMETIC }, 'mul', [1.5, 4])).toMatchObject({ ok: true, value: 6 });
    expect(await call(executor, { code: ARITHMETIC }, 'fmax', [0.5, -3])).toMatchObject({
      ok: true,
      value: 0.5,
    });
    expect(await call(executor, { code: ARITHMETIC }, 'pair', [-7])).toMatchObject({
      ok: true,
      value: [-7, -7],
    });
    expect(await call(executor, { code: ARITHMETIC }, 'nothing')).toMatchObject({ ok: true, value: null });
  });

  it('refuses wrong argument types and counts as INVALID_ARGUMENT', async () => {
    for (const args of [['x', 1], [1], [1.5, 2], [2 ** 32, 0], [null, 1], [1, 2, 3]]) {
      const result = await call(executor, { code: ARITHMETIC }, 'add', args);
      expect(result, JSON.stringify(args)).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
    }
    const huge = await call(executor, { code: ARITHMETIC }, 'add64', [2n ** 64n, 0]);
    expect(huge).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
    const vector = await call(executor, { code: ARITHMETIC }, 'vector', [1]);
    expect(vector).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
  });

  it('reports a missing export (or a non-function one) as ENTRY_NOT_FOUND, naming what exists', async () => {
    const missing = await call(executor, { code: ARITHMETIC }, 'sub', [1, 2]);
    expect(missing).toMatchObject({ ok: false, error: { code: 'ENTRY_NOT_FOUND' } });
    if (!missing.ok) expect(missing.error.message).toContain('"add"');
    const global = await call(executor, { code: ARITHMETIC }, 'notfunc');
    expect(global).toMatchObject({ ok: false, error: { code: 'ENTRY_NOT_FOUND' } });
  });

  it('calls NaN INVALID_RESULT and a trap RUNTIME_ERROR with the wasm stack', async () => {
    const nan = await call(executor, { code: ARITHMETIC }, 'nan');
    expect(nan).toMatchObject({ ok: false, error: { code: 'INVALID_RESULT' } });
    const trap = await call(executor, { code: ARITHMETIC }, 'boom');
    expect(trap).toMatchObject({ ok: false, error: { code: 'RUNTIME_ERROR', type: 'trap' } });
    if (!trap.ok) {
      expect(trap.error.message).toContain('unreachable');
      expect(trap.error.stack).toMatch(/wasm/);
    }
    await expectExecutorServes(executor, 'wasm');
  });
});

describe('registration', () => {
  it('rejects an import outside WASI, naming it', async () => {
    const result = await call(executor, { code: IMPORTS_ENV }, 'f');
    expect(result).toMatchObject({ ok: false, error: { code: 'SYNTAX_ERROR' } });
    if (!result.ok) expect(result.error.message).toContain('env.something');
    const deployed = await executor.deploy!(IMPORTS_ENV);
    expect(deployed).toMatchObject({ error: { code: 'SYNTAX_ERROR' } });
    await expectExecutorServes(executor, 'wasm');
  });

  it('rejects a WASI import with the wrong signature', async () => {
    const result = await call(executor, { code: IMPORTS_WRONG_SIGNATURE }, 'f');
    expect(result).toMatchObject({ ok: false, error: { code: 'SYNTAX_ERROR' } });
    if (!result.ok)
      expect(result.error.message).toMatch(/wasi_snapshot_preview1\.fd_write.*\(i32\) -> \(i32\)/);
  });

  it('calls a garbage binary SYNTAX_ERROR with the validator message', async () => {
    const garbage = Buffer.from('this is not wasm at all').toString('base64');
    const result = await call(executor, { code: garbage }, 'f');
    expect(result).toMatchObject({ ok: false, error: { code: 'SYNTAX_ERROR' } });
    if (!result.ok) expect(result.error.message).toContain('magic');
    const valid = Buffer.from(await watBase64(ARITHMETIC), 'base64');
    const truncated = valid.subarray(0, valid.length - 5).toString('base64');
    const cut = await call(executor, { code: truncated }, 'add', [1, 2]);
    expect(cut).toMatchObject({ ok: false, error: { code: 'SYNTAX_ERROR' } });
    await expectExecutorServes(executor, 'wasm');
  });

  it('calls invalid text SYNTAX_ERROR at its line', async () => {
    const result = await call(
      executor,
      { code: '(module\n  (func (export "f") (result i32) (i32.add (i32.const 1))))' },
      'f',
    );
    expect(result).toMatchObject({ ok: false, error: { code: 'SYNTAX_ERROR', line: 2 } });
  });

  it('rejects a module bomb (4 GiB initial memory, a 5M-element table) cleanly', async () => {
    const memory = await call(executor, { code: MEMORY_BOMB }, 'f');
    expect(memory).toMatchObject({ ok: false, error: { code: 'MEMORY_LIMIT' } });
    const table = await call(executor, { code: TABLE_BOMB }, 'f');
    expect(table).toMatchObject({ ok: false, error: { code: 'MEMORY_LIMIT' } });
    await expectExecutorServes(executor, 'wasm');
  });

  it('deploys once, then runs by id; the same module deploys to the same id', async () => {
    const deployed = await executor.deploy!(ARITHMETIC);
    if ('error' in deployed) throw new Error(deployed.error.message);
    expect(deployed.id).toMatch(/^[0-9a-f]{64}$/);
    expect(deployed.details).toMatchObject({ kind: 'library', sizes: { originalBytes: expect.any(Number) } });
    const again = await executor.deploy!(ARITHMETIC);
    expect(again).toMatchObject({ id: deployed.id, details: { cached: true } });
    for (let i = 0; i < 5; i++) {
      expect(await call(executor, { module: deployed.id }, 'add', [i, 1])).toMatchObject({
        ok: true,
        value: i + 1,
      });
    }
    const echo = await executor.deploy!(await watBase64(ECHO_COMMAND));
    if ('error' in echo) throw new Error(echo.error.message);
    expect(echo.details).toMatchObject({ kind: 'wasi-command' });
    expect(await call(executor, { module: echo.id }, 'main', [{ a: 1 }])).toMatchObject({
      ok: true,
      value: { a: 1 },
    });
  });

  it('refuses an unknown module id as a service error', async () => {
    // The executor is the compiled one the registry loads (dist/): its ServiceError is that build's
    // class, so the error is recognised by its name and problem rather than by instanceof.
    await expect(call(executor, { module: 'f'.repeat(64) }, 'add', [1, 2])).rejects.toMatchObject({
      name: 'ServiceError',
      problem: 'unknown-module',
    });
  });
});

describe('limits', () => {
  it('stops an infinite loop with TIMEOUT, by fuel, and reports the fuel', async () => {
    const started = performance.now();
    const result = await call(executor, { code: SPIN }, 'spin', [], { timeoutMs: 1000 });
    const elapsed = performance.now() - started;
    expect(result).toMatchObject({ ok: false, error: { code: 'TIMEOUT' } });
    if (!result.ok) expect(result.error.message).toContain('fuel');
    expect(result.stats.fuel).toBe(1000 * FUEL_PER_MS);
    expect(elapsed).toBeLessThan(1000 + 2000);
    await expectExecutorServes(executor, 'wasm');
  });

  it('stops a start function that loops', async () => {
    const result = await call(executor, { code: START_LOOP }, 'f', [], { timeoutMs: 300 });
    expect(result).toMatchObject({ ok: false, error: { code: 'TIMEOUT' } });
    await expectExecutorServes(executor, 'wasm');
  });

  it('stops a long native operation (no guest instruction to count) through the watchdog', async () => {
    const started = performance.now();
    const result = await call(executor, { code: LONG_NATIVE }, 'fill', [], { timeoutMs: 300 });
    expect(result).toMatchObject({ ok: false, error: { code: 'TIMEOUT' } });
    expect(performance.now() - started).toBeLessThan(300 + 3000);
    await expectExecutorServes(executor, 'wasm');
  });

  it('stops growth towards 1 GiB at the memory limit with MEMORY_LIMIT', async () => {
    const result = await call(executor, { code: GROW_TO_1GIB }, 'grow', [], { memoryMb: 128 });
    expect(result).toMatchObject({ ok: false, error: { code: 'MEMORY_LIMIT' } });
    await expectExecutorServes(executor, 'wasm');
  });

  it('lets the same module reach 1 GiB when the call allows it: the cap is per call', async () => {
    const result = await call(executor, { code: GROW_TO_1GIB }, 'grow', [], {
      memoryMb: 1100,
      timeoutMs: 20_000,
    });
    expect(result).toMatchObject({ ok: true, value: 16384 });
    expect(result.stats.memoryBytes).toBe(1024 * 1024 * 1024);
  });

  it('refuses a module whose initial memory is over the call limit, and runs it under a larger one', async () => {
    const small = await call(executor, { code: BIG_INITIAL_MEMORY }, 'size', [], { memoryMb: 128 });
    expect(small).toMatchObject({ ok: false, error: { code: 'MEMORY_LIMIT' } });
    const large = await call(executor, { code: BIG_INITIAL_MEMORY }, 'size', [], { memoryMb: 512 });
    expect(large).toMatchObject({ ok: true, value: 4096 });
  });

  it('stops 100 MB of stdout at the output limit exactly, and the writer goes no further', async () => {
    const limit = 1_000_000;
    const started = performance.now();
    const result = await call(executor, { code: flood(1, 100_000_000) }, 'main', [], { outputBytes: limit });
    expect(result).toMatchObject({ ok: false, error: { code: 'OUTPUT_LIMIT' } });
    expect(Buffer.byteLength(result.stdout)).toBe(limit);
    expect(result.stderr).toBe('');
    expect(result.stdout).not.toContain('AFTER');
    expect(performance.now() - started).toBeLessThan(5000);
    await expectExecutorServes(executor, 'wasm');
  });

  it('caps stderr the same way', async () => {
    const result = await call(executor, { code: flood(2, 10_000_000) }, 'main', [], { outputBytes: 100_000 });
    expect(result).toMatchObject({ ok: false, error: { code: 'OUTPUT_LIMIT' } });
    expect(Buffer.byteLength(result.stderr)).toBe(100_000);
    expect(result.stderr).not.toContain('AFTER');
  });

  it('keeps OUTPUT_LIMIT even when the guest catches every exception', async () => {
    const result = await call(executor, { code: SWALLOW_OUTPUT_LIMIT }, 'main', [], {
      outputBytes: 10_000,
      timeoutMs: 1000,
    });
    expect(result).toMatchObject({ ok: false, error: { code: 'OUTPUT_LIMIT' } });
    expect(Buffer.byteLength(result.stderr)).toBe(10_000);
    await expectExecutorServes(executor, 'wasm');
  });

  it('turns deep recursion into RUNTIME_ERROR (stack overflow)', async () => {
    const result = await call(executor, { code: DEEP_RECURSION }, 'down', [0]);
    expect(result).toMatchObject({ ok: false, error: { code: 'RUNTIME_ERROR' } });
    if (!result.ok) expect(result.error.message).toContain('stack overflow');
    await expectExecutorServes(executor, 'wasm');
  });

  it('bounds table growth', async () => {
    expect(await call(executor, { code: TABLE_GROWTH }, 'grow', [10])).toMatchObject({ ok: true, value: 1 });
    const tooMany = await call(executor, { code: TABLE_GROWTH }, 'grow', [5_000_000]);
    expect(tooMany).toMatchObject({ ok: true, value: -1 });
    expect(await call(executor, { code: TABLE_GROWTH }, 'size')).toMatchObject({ ok: true, value: 1 });
    await expectExecutorServes(executor, 'wasm');
  });
});

describe('isolation between calls', () => {
  it('two calls share no memory, globals or data-segment changes', async () => {
    const module = { code: COUNTER };
    for (let i = 0; i < 12; i++) {
      expect(await call(executor, module, 'bump')).toMatchObject({ ok: true, value: 1001 });
      expect(await call(executor, module, 'data')).toMatchObject({ ok: true, value: 42 });
    }
  });

  it('a recycled memory comes back zeroed (but for the data segment)', async () => {
    for (let i = 0; i < 12; i++) {
      expect(await call(executor, { code: COUNTER }, 'dirty')).toMatchObject({ ok: true, value: 42 });
    }
  });

  it('serves calls in parallel on both workers', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => call(executor, { code: ARITHMETIC }, 'add', [i, i])),
    );
    expect(results.map((r) => (r.ok ? r.value : null))).toEqual(Array.from({ length: 20 }, (_, i) => 2 * i));
  });
});

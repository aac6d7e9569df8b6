// End-to-end behaviour of the Lua executor through the real server (a child process on a free port)
// and the real Lua 5.4 VM (wasmoon's glue.wasm): values, errors and every limit, each with its exact
// answer. After each hostile call the same server must answer the next honest call. What a guest
// cannot reach (files, environment, processes) is attacked in test/security/attacks/lua.ts.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectNextCallSucceeds } from '../helpers/calls.js';
import { postJson, type RunningServer, startServer } from '../helpers/server.js';

let server: RunningServer;

beforeAll(async () => {
  server = await startServer({ POLYEVAL_LANGUAGES: 'lua', POLYEVAL_POOL_SIZE: '2' });
});
afterAll(async () => {
  await server?.close();
});

/** One call; integers beyond 2^53 go out and come back exact (bigint). */
async function evaluate(code: string, extra: Record<string, unknown> = {}) {
  const { status, body } = await postJson(
    `${server.url}/v1/evaluate`,
    { language: 'lua', code, function: 'main', ...extra },
    {},
    { exact: true },
  );
  expect(status).toBe(200);
  return body;
}

describe('values', () => {
  it('adds two numbers', async () => {
    const body = await evaluate('function add(a, b) return a + b end', { function: 'add', args: [2, 3] });
    expect(body).toMatchObject({ ok: true, value: 5, stdout: '', stderr: '' });
    expect(body.language).toBe('lua');
  });

  it('round-trips JSON values through Lua tables, keeping null inside arrays and empty objects', async () => {
    const value = { a: [1, null, 'x', true, 1.5], b: {}, c: [], s: 'é🎉' };
    const body = await evaluate('function main(v) return v end', { args: [value] });
    expect(body).toMatchObject({ ok: true, value });
  });

  it('keeps a 64-bit integer beyond 2^53 exact', async () => {
    const body = await evaluate('function main(v) return v + 1 end', { args: [2n ** 53n + 1n] });
    expect(body).toMatchObject({ ok: true, value: 2n ** 53n + 2n });
  });

  // The manifest's skip of conformance case 022 says this refusal happens: it is checked here.
  it('refuses an integer beyond 64 bits with INVALID_ARGUMENT instead of rounding it', async () => {
    const body = await evaluate('function main(n) return n * 2 end', {
      args: [123456789012345678901234567890n],
    });
    expect(body).toMatchObject({
      ok: false,
      error: {
        code: 'INVALID_ARGUMENT',
        message:
          "Cannot pass argument 1: the integer 123456789012345678901234567890 does not fit in Lua's 64-bit integers",
      },
    });
  });

  it('keeps stdout and stderr apart', async () => {
    const body = await evaluate('function main() print("out", 1) io.stderr:write("err\\n") return true end');
    expect(body).toMatchObject({ ok: true, value: true, stdout: 'out\t1\n', stderr: 'err\n' });
  });

  it('refuses NaN as a result', async () => {
    const body = await evaluate('function main() return 0/0 end');
    expect(body.error).toEqual({
      code: 'INVALID_RESULT',
      message: 'Cannot return NaN in the result: JSON has no NaN or Infinity',
    });
  });
});

describe('errors', () => {
  it('reports a syntax error with its line', async () => {
    const body = await evaluate('function main()\n  return 1 +\nend');
    expect(body.error).toEqual({
      code: 'SYNTAX_ERROR',
      message: 'Cannot load the code for "main": unexpected symbol near \'end\' (line 3)',
      line: 3,
    });
  });

  it('reports error() with its message, line and the user frames', async () => {
    const body = await evaluate('function main()\n\n  error("boom")\nend');
    expect(body.error).toEqual({
      code: 'RUNTIME_ERROR',
      message: 'Cannot run "main": boom (line 3)',
      line: 3,
      stack: "user.lua:3: in function 'main'",
    });
  });

  it("reports the VM's own errors as RUNTIME_ERROR", async () => {
    const body = await evaluate('function main() local t = nil; return t.x end');
    expect(body.error).toMatchObject({
      code: 'RUNTIME_ERROR',
      message: 'Cannot run "main": attempt to index a nil value (local \'t\') (line 1)',
      line: 1,
    });
  });

  it('reports a missing entry and a non-function entry as ENTRY_NOT_FOUND', async () => {
    for (const code of ['function other() end', 'main = 5']) {
      const body = await evaluate(code);
      expect(body.error, code).toEqual({
        code: 'ENTRY_NOT_FOUND',
        message: 'Cannot find function "main": the code does not define it as a global function',
      });
    }
  });

  it('reports os.exit as RUNTIME_ERROR with its exit code', async () => {
    const body = await evaluate('function main() os.exit(3) end');
    expect(body.error).toEqual({
      code: 'RUNTIME_ERROR',
      message: 'Cannot run "main": the code called os.exit(3)',
      exitCode: 3,
    });
  });
});

describe('limits', () => {
  it('stops an endless loop at the time limit', async () => {
    const body = await evaluate('function main() print("before") while true do end end', {
      limits: { timeoutMs: 500 },
    });
    expect(body).toMatchObject({
      ok: false,
      error: { code: 'TIMEOUT', message: 'Cannot run "main": time limit of 500 ms exceeded' },
      stdout: 'before\n',
    });
    await expectNextCallSucceeds(server.url, 'lua');
  });

  it('stops a pcall-wrapped endless loop at the time limit (the hook cannot be caught)', async () => {
    const body = await evaluate(
      'function main() while true do pcall(function() while true do end end) end end',
      {
        limits: { timeoutMs: 500 },
      },
    );
    expect(body.error).toEqual({
      code: 'TIMEOUT',
      message: 'Cannot run "main": time limit of 500 ms exceeded',
    });
    await expectNextCallSucceeds(server.url, 'lua');
  });

  it('stops a memory balloon at the memory limit', async () => {
    const body = await evaluate(
      'function main() local t = {} for i = 1, 1e9 do t[i] = string.rep("x", 1000) .. i end end',
      // Not a time limit case: a long deadline keeps a loaded machine from turning it into one.
      { limits: { timeoutMs: 10_000, memoryMb: 64 } },
    );
    expect(body.error).toEqual({
      code: 'MEMORY_LIMIT',
      message: 'Cannot run "main": memory limit of 64 MiB exceeded',
    });
    // mutation: interpreters/lua/runner.ts, the VM's memory cap 4× the call's limit → the heap
    // grows to 256 MiB (the message alone would not tell) and this fails.
    expect(body.stats.memoryBytes).toBeLessThanOrEqual(64 * 2 ** 20);
    await expectNextCallSucceeds(server.url, 'lua');
  });

  it('stops printing at the output limit, keeping exactly the bytes under it', async () => {
    const body = await evaluate('function main() for i = 0, 1e9 do print("line " .. i) end end', {
      limits: { outputBytes: 1000 },
    });
    expect(body.error).toEqual({
      code: 'OUTPUT_LIMIT',
      message: 'Cannot run "main": output limit of 1000 bytes exceeded',
    });
    expect(body.stdout.startsWith('line 0\nline 1\n')).toBe(true);
    expect(Buffer.byteLength(body.stdout)).toBe(1000);
    await expectNextCallSucceeds(server.url, 'lua');
  });

  it('refuses a result larger than the output limit', async () => {
    const body = await evaluate('function main() return string.rep("x", 70000) end');
    expect(body.error).toEqual({
      code: 'OUTPUT_LIMIT',
      message: 'Cannot return the result of "main": it is larger than the output limit of 65536 bytes',
    });
  });

  it('keeps nothing between calls', async () => {
    const first = await evaluate('leak = 1; string.leak = 2; function main() return leak end');
    expect(first).toMatchObject({ ok: true, value: 1 });
    for (let i = 0; i < 3; i++) {
      const body = await evaluate('function main() return { type(leak), type(string.leak) } end');
      expect(body).toMatchObject({ ok: true, value: ['nil', 'nil'] });
    }
  });
});

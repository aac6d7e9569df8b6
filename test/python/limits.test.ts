// Limits of the Python executor, enforced from outside the guest, through the real server: every
// case ends with the right code within deadline + a generous margin, a killed call still returns
// what it printed, and the next call succeeds. (Margins are loose on purpose: this machine is
// shared and noisy; speed is measured in scripts/bench-python.ts, never asserted here.)

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson, type RunningServer, startServer } from '../helpers/server.js';

let server: RunningServer;

beforeAll(async () => {
  server = await startServer({ POLYEVAL_LANGUAGES: 'python', POLYEVAL_POOL_SIZE: '2' });
});
afterAll(async () => {
  await server?.close();
});

const MARGIN_MS = 3000;

async function evaluate(
  code: string,
  limits: Record<string, number> = {},
  fn = 'f',
): Promise<{ body: any; ms: number }> {
  const started = performance.now();
  const r = await postJson(`${server.url}/v1/evaluate`, {
    language: 'python',
    code,
    function: fn,
    args: [],
    limits,
  });
  expect(r.status).toBe(200);
  return { body: r.body, ms: performance.now() - started };
}

async function expectLimit(
  code: string,
  limits: Record<string, number>,
  codes: string[],
): Promise<{ body: any; ms: number }> {
  const result = await evaluate(code, limits);
  expect(result.body.ok).toBe(false);
  expect(codes).toContain(result.body.error.code);
  const next = await evaluate('def f():\n    return sum(range(10))\n');
  expect(next.body).toMatchObject({ ok: true, value: 45 });
  return result;
}

describe('time', () => {
  it('stops an infinite loop', async () => {
    const { ms } = await expectLimit('def f():\n    while True:\n        pass\n', { timeoutMs: 500 }, [
      'TIMEOUT',
    ]);
    expect(ms).toBeLessThan(500 + MARGIN_MS);
  });

  it('stops a loop that catches BaseException (the interrupt is swallowed; the worker is terminated)', async () => {
    const code =
      'def f():\n    while True:\n        try:\n            while True:\n                pass\n        except BaseException:\n            pass\n';
    const { ms } = await expectLimit(code, { timeoutMs: 500 }, ['TIMEOUT']);
    expect(ms).toBeLessThan(500 + MARGIN_MS);
  });

  it('stops time.sleep', async () => {
    const { ms } = await expectLimit('import time\ndef f():\n    time.sleep(60)\n', { timeoutMs: 500 }, [
      'TIMEOUT',
    ]);
    expect(ms).toBeLessThan(500 + MARGIN_MS);
  });

  it('stops 10**10**8 (one long C operation)', async () => {
    const { ms } = await expectLimit('def f():\n    return len(str(10**10**8))\n', { timeoutMs: 1000 }, [
      'TIMEOUT',
    ]);
    expect(ms).toBeLessThan(1000 + MARGIN_MS);
  });

  it('a stopped call still returns what it printed', async () => {
    const { body } = await expectLimit(
      'import time\ndef f():\n    print("before the loop")\n    while True:\n        time.sleep(0.01)\n',
      { timeoutMs: 500 },
      ['TIMEOUT'],
    );
    expect(body.stdout).toContain('before the loop');
  });
});

describe('memory', () => {
  it('a growing list of bytearrays ends with MEMORY_LIMIT', async () => {
    const { body } = await expectLimit(
      'def f():\n    x = []\n    while True:\n        x.append(bytearray(10**6))\n',
      { memoryMb: 96, timeoutMs: 10_000 },
      ['MEMORY_LIMIT'],
    );
    expect(body.error.message).toMatch(/memory/i);
  });

  it('deep recursion with a raised recursion limit is a clean RecursionError', async () => {
    const code =
      'import sys\nsys.setrecursionlimit(10**6)\ndef r(n):\n    return r(n + 1)\ndef f():\n    return r(0)\n';
    const { body } = await expectLimit(code, { timeoutMs: 10_000 }, ['RUNTIME_ERROR']);
    expect(body.error.type).toBe('RecursionError');
    expect(body.error.line).toBe(4);
  });

  it('json.loads of deeply nested text is parsed or a clean RecursionError', async () => {
    for (const depth of [100_000, 1_000_000]) {
      const code = `import json\ndef f():\n    data = json.loads('[' * ${depth} + ']' * ${depth})\n    return 'parsed'\n`;
      const { body } = await evaluate(code, { timeoutMs: 10_000 });
      if (body.ok) expect(body.value).toBe('parsed');
      else expect(body.error).toMatchObject({ code: 'RUNTIME_ERROR', type: 'RecursionError' });
      const next = await evaluate('def f():\n    return sum(range(10))\n');
      expect(next.body).toMatchObject({ ok: true, value: 45 });
    }
  });

  it('a nested result deeper than the converter allows is INVALID_RESULT', async () => {
    const code = "import json\ndef f():\n    return json.loads('[' * 100000 + ']' * 100000)\n";
    const { body } = await expectLimit(code, { timeoutMs: 10_000 }, ['INVALID_RESULT', 'RUNTIME_ERROR']);
    expect(body.error.message).toMatch(/nested|Recursion/);
  });

  it('files written to the in-memory filesystem count against the quota', async () => {
    const code =
      "def f():\n    with open('/tmp/big', 'wb') as fh:\n        while True:\n            fh.write(b'x' * 10**6)\n";
    const { body } = await expectLimit(code, { memoryMb: 64, timeoutMs: 10_000 }, ['MEMORY_LIMIT']);
    expect(body.error.message).toContain('quota');
  });

  it('bytes left in a pipe count against the quota', async () => {
    const code =
      "import os\ndef f():\n    r, w = os.pipe()\n    while True:\n        os.write(w, b'x' * 65536)\n";
    const { body } = await expectLimit(code, { memoryMb: 64, timeoutMs: 10_000 }, ['MEMORY_LIMIT']);
    expect(body.error.message).toContain('quota');
  });
});

describe('output', () => {
  it('100 MB of print is cut at the output limit, and what fits is returned', async () => {
    const code = "def f():\n    for _ in range(100_000):\n        print('x' * 1000)\n";
    const { body, ms } = await expectLimit(code, { outputBytes: 65_536, timeoutMs: 10_000 }, [
      'OUTPUT_LIMIT',
    ]);
    expect(body.stdout.length).toBeGreaterThan(0);
    expect(Buffer.byteLength(body.stdout) + Buffer.byteLength(body.stderr)).toBeLessThanOrEqual(65_536);
    expect(ms).toBeLessThan(10_000);
  });

  it('a huge result is OUTPUT_LIMIT', async () => {
    const { body } = await expectLimit("def f():\n    return 'x' * 10**7\n", { outputBytes: 65_536 }, [
      'OUTPUT_LIMIT',
    ]);
    expect(body.error.message).toContain('result');
  });
});

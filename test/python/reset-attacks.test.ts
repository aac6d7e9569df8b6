// Attacks on reset in place (POLYEVAL_PYTHON_INTERPRETER_MODE=reset) through the JavaScript state
// that the open doors reach but the golden image of memory and files did not cover: Emscripten's
// pipe-name counter (a channel from one call to the next), the terminals' line buffers (kept and
// grown across calls until the sandbox host process died under another tenant's call), and
// filesystem growth that did not go through the wrapped FS.write or FS.truncate (ftruncate, symlink
// and node creation: JS heap past the call's memory limit, uncounted by the reset's threshold).
// One worker serves every call of a describe block, as another tenant's calls would be served.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson, type RunningServer, startServer } from '../helpers/server.js';

const ONE_WORKER = {
  POLYEVAL_LANGUAGES: 'python',
  POLYEVAL_POOL_SIZE: '1',
  POLYEVAL_PYTHON_HOSTS: '1',
  POLYEVAL_PYTHON_INTERPRETER_MODE: 'reset',
  POLYEVAL_PYTHON_RESET_VERIFY_EVERY: '1',
};

async function call(server: RunningServer, code: string, limits: Record<string, number> = {}): Promise<any> {
  const r = await postJson(`${server.url}/v1/evaluate`, {
    language: 'python',
    code,
    function: 'f',
    args: [],
    limits: { timeoutMs: 10_000, ...limits },
  });
  expect(r.status).toBe(200);
  return r.body;
}

async function value(server: RunningServer, code: string): Promise<unknown> {
  const body = await call(server, code);
  expect(body.ok, JSON.stringify(body.error)).toBe(true);
  return body.value;
}

async function workersStarted(server: RunningServer): Promise<number> {
  const body = (await (await fetch(`${server.url}/v1/languages`)).json()) as {
    languages: { id: string; details: any }[];
  };
  return body.languages.find((l) => l.id === 'python')!.details.hosts[0].interpretersStarted;
}

const PIPE_NAME = 'import os\ndef f():\n    r, w = os.pipe()\n    return os.readlink(f"/proc/self/fd/{r}")';

describe('reset in place: JavaScript state behind the doors', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer(ONE_WORKER);
  });
  afterAll(() => server?.close());

  // Fails before the fix: "pipe[0]" then "pipe[41]", a number one call chose and the next one read.
  it("does not let a call read how many pipes an earlier call made (PIPEFS's name counter)", async () => {
    const before = await value(server, PIPE_NAME);
    await value(server, 'import os\ndef f():\n    for _ in range(20):\n        os.pipe()');
    const after = await value(server, PIPE_NAME);
    expect(after).toBe(before);
  });

  // Fails before the fix: /dev/tty kept each byte in a JS array until a newline, never emptied by the
  // reset and not counted by any quota; a few calls later the whole sandbox host died (exit code 139).
  it("does not let a partial line on /dev/tty pile up for the next calls (each call's own heap)", async () => {
    const started = await workersStarted(server);
    const partial =
      'def f():\n    t = open("/dev/tty", "wb", buffering=0)\n    chunk = b"x" * 2**20\n    for _ in range(30):\n        t.write(chunk)\n    return 1';
    for (let i = 0; i < 4; i++) expect(await call(server, partial)).toMatchObject({ ok: true, value: 1 });
    expect(await workersStarted(server)).toBe(started);
  });

  // Fails before the fix: ftruncate grew a MEMFS file in the worker's JS heap past the call's memory
  // limit without touching the write quota (it bypassed the wrapped FS.truncate).
  it("counts a file grown by ftruncate against the call's memory limit", async () => {
    const body = await call(
      server,
      'import os\ndef f():\n    fd = os.open("/tmp/big", os.O_CREAT | os.O_RDWR)\n    os.ftruncate(fd, 200 * 2**20)\n    return os.fstat(fd).st_size',
      { memoryMb: 64 },
    );
    expect(body).toMatchObject({ ok: false, error: { code: 'MEMORY_LIMIT' } });
  });

  // Fails before the fix: the reported memory (which decides whether the worker is reset or
  // discarded, RESET_MAX_MEMORY_MB) left the 40 MiB file out (the interpreter's own heap is 30 MiB).
  it('reports what ftruncate stored as the memory the call used', async () => {
    const body = await call(
      server,
      'import os\ndef f():\n    fd = os.open("/tmp/big", os.O_CREAT | os.O_RDWR)\n    os.ftruncate(fd, 40 * 2**20)\n    return 1',
    );
    expect(body.ok, JSON.stringify(body.error)).toBe(true);
    expect(body.stats.memoryBytes).toBeGreaterThanOrEqual(70 * 2 ** 20);
  });

  // Fails before the fix: symlinks (and empty files, directories) cost the quota nothing, so a call
  // could fill the worker's JS heap with link targets and nodes without writing a byte.
  it("counts symlink targets and new nodes against the call's memory limit", async () => {
    const body = await call(
      server,
      'import os\ndef f():\n    target = "x" * 4000\n    for i in range(25_000):\n        os.symlink(target, f"/tmp/s{i}")\n    return i',
      { memoryMb: 64 },
    );
    expect(body).toMatchObject({ ok: false, error: { code: 'MEMORY_LIMIT' } });
  });

  it('still serves ordinary calls on a reset worker afterwards', async () => {
    expect(await value(server, 'import os\ndef f():\n    return sorted(os.listdir("/tmp"))')).toEqual([]);
  });
});

describe('verification catches a glue state left behind', () => {
  // With the glue part of the reset left out (RESET_SKIP, a test-only setting), the pipe counter a
  // call moved is found by the comparison with the golden image: the worker is discarded.
  it('a reset without glue is found and the worker discarded', async () => {
    const server = await startServer({ ...ONE_WORKER, POLYEVAL_PYTHON_RESET_SKIP: 'glue' });
    try {
      const first = await value(server, PIPE_NAME);
      let started = await workersStarted(server);
      for (let i = 0; i < 100 && started < 2; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        started = await workersStarted(server);
      }
      expect(started).toBe(2);
      expect(await value(server, PIPE_NAME)).toBe(first);
      expect(server.logs()).toContain("the glue's pipe or socket name counter differs");
    } finally {
      await server.close();
    }
  });
});

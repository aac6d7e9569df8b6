// Reset in place (POLYEVAL_PYTHON_INTERPRETER_MODE=reset): one worker, one interpreter, many calls,
// and no call meets what another left. Each probe reads some interpreter state (check), a call then
// changes it (plant), and the state is read again in the next call on the same worker. With the
// reset, the second reading equals the first; with the same probes on an interpreter that serves
// three calls without any reset (the fresh mode's CALLS_PER_INTERPRETER=3), every probe sees its
// trace — so each probe can fail. Verification is proved the same way: a reset with a part left out
// (RESET_SKIP, a test-only setting) must be caught, discard the worker, be logged and counted, and
// the next call must not see the trace. Real server, real sandbox host, real Pyodide throughout.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson, type RunningServer, startServer } from '../helpers/server.js';

interface Probe {
  readonly name: string;
  /** Defines f() returning a JSON value that shows the state. */
  readonly check: string;
  /** Defines f() that changes the state. */
  readonly plant: string;
}

const PROBES: readonly Probe[] = [
  {
    name: 'a new builtin',
    plant: 'import builtins\ndef f():\n    builtins.polyeval_probe = "left"',
    check: 'import builtins\ndef f():\n    return getattr(builtins, "polyeval_probe", None)',
  },
  {
    name: 'a patched builtin',
    plant: 'import builtins\ndef f():\n    builtins.abs = lambda x: "patched"',
    check: 'def f():\n    return abs(-1)',
  },
  {
    name: 'a module attribute',
    plant: 'import string\ndef f():\n    string.ascii_letters = "patched"',
    check: 'import string\ndef f():\n    return string.ascii_letters',
  },
  {
    name: 'a sys.modules entry',
    plant:
      'import sys, types\ndef f():\n    sys.modules["polyeval_probe"] = types.ModuleType("polyeval_probe")',
    check: 'import sys\ndef f():\n    return "polyeval_probe" in sys.modules',
  },
  {
    name: 'a module global (__main__)',
    plant: 'import __main__\ndef f():\n    __main__.polyeval_probe = 1',
    check: 'import __main__\ndef f():\n    return hasattr(__main__, "polyeval_probe")',
  },
  {
    name: 'files and directories written',
    plant:
      'import os\ndef f():\n    os.mkdir("/tmp/probe-dir")\n    open("/tmp/probe-dir/x", "w").write("secret")\n    open(os.path.expanduser("~/probe"), "w").write("secret")\n    os.symlink("/tmp", "/tmp/probe-link")',
    check:
      'import os\ndef f():\n    return [sorted(os.listdir("/tmp")), sorted(os.listdir(os.path.expanduser("~")))]',
  },
  {
    name: "a directory's mode and times",
    plant: 'import os\ndef f():\n    os.chmod("/tmp", 0o700)\n    os.utime("/tmp", (1, 2))',
    check: 'import os\ndef f():\n    s = os.stat("/tmp")\n    return [s.st_mode, s.st_mtime]',
  },
  {
    name: 'the inode counter',
    plant: 'def f():\n    for i in range(5):\n        open(f"/tmp/n{i}", "w").close()',
    check:
      'import os\ndef f():\n    name = "/tmp/ino-" + os.urandom(8).hex()\n    open(name, "w").close()\n    return os.stat(name).st_ino',
  },
  {
    name: 'open file descriptors and pipes',
    plant:
      'import os\ndef f():\n    global keep\n    keep = [os.open("/tmp/fd", os.O_CREAT | os.O_RDWR), *os.pipe()]\n    os.write(keep[2], b"secret")',
    check:
      'import os\ndef f():\n    found = []\n    for fd in range(3, 40):\n        try:\n            os.fstat(fd)\n            found.append(fd)\n        except OSError:\n            pass\n    return found',
  },
  {
    name: 'the working directory',
    plant: 'import os\ndef f():\n    os.chdir("/tmp")',
    check: 'import os\ndef f():\n    return os.getcwd()',
  },
  {
    name: 'environment variables',
    plant:
      'import os\ndef f():\n    os.environ["POLYEVAL_PROBE"] = "1"\n    os.putenv("POLYEVAL_PROBE2", "1")',
    check: 'import os\ndef f():\n    return [os.environ.get("POLYEVAL_PROBE"), sorted(os.environ)]',
  },
  {
    name: 'a codec search function',
    plant:
      'import codecs\ndef f():\n    codecs.register(lambda name: codecs.lookup("utf-8") if name == "polyeval_probe" else None)',
    check:
      'import codecs\ndef f():\n    try:\n        codecs.lookup("polyeval_probe")\n        return True\n    except LookupError:\n        return False',
  },
  {
    name: 'an atexit callback',
    plant: 'import atexit\ndef f():\n    atexit.register(print, "left")',
    check: 'import atexit\ndef f():\n    return atexit._ncallbacks()',
  },
  {
    name: 'an audit hook',
    plant:
      'import sys\ndef hook(event, args):\n    if event == "polyeval.probe":\n        raise RuntimeError("hooked")\ndef f():\n    sys.addaudithook(hook)',
    check:
      'import sys\ndef f():\n    try:\n        sys.audit("polyeval.probe")\n        return "quiet"\n    except RuntimeError:\n        return "hooked"',
  },
  {
    name: 'warnings filters',
    plant: 'import warnings\ndef f():\n    warnings.simplefilter("error")',
    check: 'import warnings\ndef f():\n    return [len(warnings.filters), str(warnings.filters[0])]',
  },
  {
    name: 'the re cache',
    plant: 'import re\ndef f():\n    re.compile("polyeval_probe_[0-9]+")',
    check:
      'import re\ndef f():\n    keys = list(getattr(re, "_cache", {})) + list(getattr(re, "_cache2", {}))\n    return any("polyeval_probe" in str(k) for k in keys)',
  },
  {
    name: 'the random state',
    plant: 'import random\ndef f():\n    random.seed(42)',
    check: 'import random\ndef f():\n    return random.random() == random.Random(42).random()',
  },
  {
    name: 'the recursion limit',
    plant: 'import sys\ndef f():\n    sys.setrecursionlimit(321)',
    check: 'import sys\ndef f():\n    return sys.getrecursionlimit()',
  },
  {
    name: 'gc settings',
    plant: 'import gc\ndef f():\n    gc.disable()\n    gc.set_threshold(7, 8, 9)',
    check: 'import gc\ndef f():\n    return [gc.isenabled(), list(gc.get_threshold())]',
  },
  {
    name: 'sys.path and the import machinery',
    plant:
      'import sys\ndef f():\n    sys.path.insert(0, "/polyeval-probe")\n    sys.path_importer_cache["/x"] = None',
    check: 'import sys\ndef f():\n    return [sys.path[:1], "/x" in sys.path_importer_cache]',
  },
  {
    name: 'sys hooks',
    plant: 'import sys\ndef f():\n    sys.displayhook = None\n    sys.excepthook = None',
    check: 'import sys\ndef f():\n    return [sys.displayhook is None, sys.excepthook is None]',
  },
  {
    name: 'thread and asyncio state',
    plant:
      'import threading, asyncio\nclass P(asyncio.DefaultEventLoopPolicy):\n    pass\ndef f():\n    threading.current_thread().polyeval_probe = 1\n    threading.excepthook = None\n    asyncio.set_event_loop_policy(P())',
    check:
      'import threading, asyncio\ndef f():\n    return [hasattr(threading.current_thread(), "polyeval_probe"), threading.excepthook is None, type(asyncio.get_event_loop_policy()).__name__]',
  },
  {
    name: 'a class attribute in the standard library',
    plant: 'import json\ndef f():\n    json.JSONDecoder.polyeval_probe = 1',
    check: 'import json\ndef f():\n    return hasattr(json.JSONDecoder, "polyeval_probe")',
  },
];

const LIMITS = { timeoutMs: 5000 };

async function call(
  server: RunningServer,
  code: string,
  args: unknown[] = [],
  limits: Record<string, number> = LIMITS,
): Promise<any> {
  const r = await postJson(`${server.url}/v1/evaluate`, {
    language: 'python',
    code,
    function: 'f',
    args,
    limits,
  });
  expect(r.status).toBe(200);
  return r.body;
}

/** The value of a call that must succeed. */
async function value(server: RunningServer, code: string): Promise<unknown> {
  const body = await call(server, code);
  expect(body.ok, JSON.stringify(body.error)).toBe(true);
  return body.value;
}

/** The Python host's figures: workers started so far and the reset counters. */
async function hostFigures(
  server: RunningServer,
): Promise<{ started: number; resets: Record<string, number> }> {
  const r = await fetch(`${server.url}/v1/languages`);
  const body = (await r.json()) as { languages: { id: string; details: any }[] };
  const host = body.languages.find((l) => l.id === 'python')!.details.hosts[0];
  return { started: host.interpretersStarted, resets: host.resets ?? {} };
}

/** Waits (bounded) until the host's figures satisfy `ok`; returns the last figures either way. */
async function settle(
  server: RunningServer,
  ok: (f: { started: number; resets: Record<string, number> }) => boolean,
): Promise<{ started: number; resets: Record<string, number> }> {
  let figures = await hostFigures(server);
  for (let i = 0; i < 100 && !ok(figures); i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    figures = await hostFigures(server);
  }
  return figures;
}

/** Check, plant, check: the two readings on one worker. */
async function probe(server: RunningServer, p: Probe): Promise<{ before: unknown; after: unknown }> {
  const before = await value(server, p.check);
  await value(server, p.plant);
  const after = await value(server, p.check);
  return { before, after };
}

const ONE_WORKER = { POLYEVAL_LANGUAGES: 'python', POLYEVAL_POOL_SIZE: '1', POLYEVAL_PYTHON_HOSTS: '1' };

describe('reset in place: no state survives between calls on the same worker', () => {
  let server: RunningServer;
  let startedBefore = 0;
  beforeAll(async () => {
    server = await startServer({
      ...ONE_WORKER,
      POLYEVAL_PYTHON_INTERPRETER_MODE: 'reset',
      POLYEVAL_PYTHON_RESET_VERIFY_EVERY: '1',
    });
    await value(server, 'def f():\n    return 1');
    startedBefore = (await settle(server, (f) => (f.resets.resets ?? 0) >= 1)).started;
  });
  afterAll(() => server?.close());

  it.each(PROBES)('$name does not reach the next call', async (p) => {
    const { before, after } = await probe(server, p);
    expect(after).toEqual(before);
  });

  it('served every probe with the same worker, verified every reset, and found no difference', async () => {
    const calls = 1 + PROBES.length * 3;
    const figures = await settle(server, (f) => f.resets.resets === calls);
    expect(figures.started).toBe(startedBefore);
    expect(figures.resets).toMatchObject({ resets: calls, verified: calls, mismatches: 0, failures: 0 });
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).not.toMatch(/polyeval_security_events_total\{[^}]*reset-mismatch/);
  });

  // A call's memory limit is enforced when the heap grows: a worker kept with a grown heap would let
  // the next call use that memory past a lower limit of its own. (Fails when grown workers are kept.)
  it("does not hand a grown heap to the next call: each call's memory limit holds", async () => {
    const grow = await call(server, 'def f():\n    x = bytearray(40 * 2**20)\n    return len(x)', [], {
      timeoutMs: 5000,
      memoryMb: 256,
    });
    expect(grow).toMatchObject({ ok: true, value: 40 * 2 ** 20 });
    const small = await call(server, 'def f():\n    x = bytearray(30 * 2**20)\n    return len(x)', [], {
      timeoutMs: 5000,
      memoryMb: 48,
    });
    expect(small).toMatchObject({ ok: false, error: { code: 'MEMORY_LIMIT' } });
  });

  it('gives each call its own random numbers (reseeded after the reset)', async () => {
    const code = 'import random, os\ndef f():\n    return [random.random(), os.urandom(8).hex()]';
    const a = await value(server, code);
    const b = await value(server, code);
    expect(a).not.toEqual(b);
  });
});

describe('the same probes on an interpreter that is not reset (each probe can fail)', () => {
  let server: RunningServer;
  beforeAll(async () => {
    // Three calls per interpreter and no interpreter kept waiting: check, plant and check run on one
    // interpreter, with nothing put back in between.
    server = await startServer({
      ...ONE_WORKER,
      POLYEVAL_PYTHON_INTERPRETER_MODE: 'fresh',
      POLYEVAL_PYTHON_CALLS_PER_INTERPRETER: '3',
      POLYEVAL_PYTHON_WARM: '0',
    });
  });
  afterAll(() => server?.close());

  it.each(PROBES)('$name is seen by the next call', async (p) => {
    const { before, after } = await probe(server, p);
    expect(after).not.toEqual(before);
  });
});

describe('verification catches an incomplete reset', () => {
  const cases = [
    {
      skip: 'memory',
      trace: 'import builtins\ndef f():\n    builtins.polyeval_trace = "left"',
      seen: 'import builtins\ndef f():\n    return getattr(builtins, "polyeval_trace", None)',
      reason: 'linear memory differs',
    },
    {
      skip: 'files',
      trace: 'def f():\n    open("/tmp/trace", "w").write("left")',
      seen: 'import os\ndef f():\n    return os.path.exists("/tmp/trace")',
      reason: 'filesystem',
    },
    {
      skip: 'descriptors',
      trace: 'import os\ndef f():\n    os.open("/tmp/trace-fd", os.O_CREAT | os.O_RDWR)',
      seen: 'import os\ndef f():\n    try:\n        os.fstat(3)\n        return True\n    except OSError:\n        return False',
      reason: 'open file descriptors differ',
    },
    {
      skip: 'cwd',
      trace: 'import os\ndef f():\n    os.chdir("/tmp")',
      seen: 'import os\ndef f():\n    return os.getcwd() == "/tmp"',
      reason: 'working directory differs',
    },
  ];

  it.each(cases)(
    'a reset without $skip is found, the worker discarded, the event logged and counted',
    async (c) => {
      const server = await startServer({
        ...ONE_WORKER,
        POLYEVAL_PYTHON_INTERPRETER_MODE: 'reset',
        POLYEVAL_PYTHON_RESET_VERIFY_EVERY: '1',
        POLYEVAL_PYTHON_RESET_SKIP: c.skip,
      });
      try {
        // Nothing to find after an honest call (except when memory itself is left out: every call
        // changes memory), so the check does not cry wolf.
        await value(server, 'def f():\n    return 1');
        const honest = await settle(server, (f) => (f.resets.resets ?? 0) + (f.resets.mismatches ?? 0) >= 1);
        if (c.skip !== 'memory') expect(honest.resets).toMatchObject({ resets: 1, mismatches: 0 });
        const before = honest.started;
        const mismatchesBefore = honest.resets.mismatches ?? 0;
        await value(server, c.trace);
        const after = await settle(server, (f) => (f.resets.mismatches ?? 0) > mismatchesBefore);
        expect(after.resets.mismatches).toBe(mismatchesBefore + 1);
        // The next call meets a new worker, without the trace.
        expect(await value(server, c.seen)).toBe(c.skip === 'memory' ? null : false);
        expect((await hostFigures(server)).started).toBeGreaterThan(before);
        const metrics = await (await fetch(`${server.url}/metrics`)).text();
        expect(metrics).toMatch(/polyeval_security_events_total\{[^}]*kind="reset-mismatch"[^}]*\} [1-9]/);
        expect(server.logs()).toContain('a reset in place left state that differs from the golden image');
        expect(server.logs()).toContain(c.reason);
      } finally {
        await server.close();
      }
    },
  );
});

describe('reset mode discards the worker when its state is in doubt', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({
      ...ONE_WORKER,
      POLYEVAL_PYTHON_INTERPRETER_MODE: 'reset',
      POLYEVAL_PYTHON_RESET_MAX_CALLS: '3',
      POLYEVAL_PYTHON_RESET_MAX_MEMORY_MB: '64',
    });
  });
  afterAll(() => server?.close());

  /** Runs `code` and returns how many workers were started for it (0: the worker was reset). */
  async function workersAfter(code: string, limits: Record<string, number> = LIMITS): Promise<number> {
    const before = await settle(server, () => true);
    await call(server, code, [], limits);
    // Either the reset completes or a new worker starts; wait for one of them.
    const after = await settle(
      server,
      (f) => f.started > before.started || (f.resets.resets ?? 0) > (before.resets.resets ?? 0),
    );
    return after.started - before.started;
  }

  it('resets after an ordinary guest error', async () => {
    expect(await workersAfter('def f():\n    raise ValueError("x")')).toBe(0);
  });

  it('after the time limit', async () => {
    expect(await workersAfter('def f():\n    while True:\n        pass', { timeoutMs: 200 })).toBe(1);
  });

  it('after its heap grew at all (here 10 MiB, below the threshold)', async () => {
    expect(await workersAfter('def f():\n    x = bytearray(10 * 2**20)\n    return len(x)')).toBe(1);
  });

  it('after memory grew past the threshold', async () => {
    expect(await workersAfter('def f():\n    x = bytearray(60 * 2**20)\n    return len(x)')).toBe(1);
  });

  it('after the interpreter exited (os._exit)', async () => {
    expect(await workersAfter('import os\ndef f():\n    os._exit(3)')).toBe(1);
  });

  it('after a closed door was hit', async () => {
    // Raising SIGKILL ends in Emscripten's exit path, whose JavaScript import is closed.
    expect(await workersAfter('import signal\ndef f():\n    signal.raise_signal(signal.SIGKILL)')).toBe(1);
  });

  it('after the filesystem write quota', async () => {
    const limits = { timeoutMs: 5000, memoryMb: 64 };
    expect(
      await workersAfter('def f():\n    open("/tmp/big", "wb").write(b"x" * (80 * 2**20))', limits),
    ).toBe(1);
  });

  it('after its calls budget (RESET_MAX_CALLS)', async () => {
    let started = 0;
    for (let i = 0; i < 3; i++) started += await workersAfter('def f():\n    return 1');
    expect(started).toBe(1);
  });
});

describe('reset mode keeps one interpreter waiting, spawns for a call kept waiting, retires when idle', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({
      POLYEVAL_LANGUAGES: 'python',
      POLYEVAL_POOL_SIZE: '2',
      POLYEVAL_PYTHON_HOSTS: '1',
      POLYEVAL_PYTHON_INTERPRETER_MODE: 'reset',
      POLYEVAL_PYTHON_IDLE_RETIRE_MS: '1000',
    });
  });
  afterAll(() => server?.close());

  async function hostDetails(): Promise<{
    waiting: number;
    target: number;
    started: number;
    retired: number;
  }> {
    const r = await fetch(`${server.url}/v1/languages`);
    const body = (await r.json()) as { languages: { id: string; details: any }[] };
    const host = body.languages.find((l) => l.id === 'python')!.details.hosts[0];
    return {
      waiting: host.interpretersWaiting,
      target: host.interpretersTarget,
      started: host.interpretersStarted,
      retired: host.resets?.retired ?? 0,
    };
  }

  it('one interpreter waits at idle; a call behind a slow one gets its own; the extra one is retired', async () => {
    await expect.poll(async () => (await hostDetails()).waiting, { timeout: 30_000 }).toBe(1);
    const idle = await hostDetails();
    expect(idle.target).toBe(1);
    // A call busy for ~1.5 s, and a quick one sent while it runs: the quick one must not wait for
    // the slow one (the capacity is 2), so a second interpreter is started for it.
    let slowDone = false;
    const slow = call(
      server,
      'import time\ndef f():\n    end = time.monotonic() + 1.5\n    while time.monotonic() < end:\n        pass\n    return "slow"',
      [],
      { timeoutMs: 5000 },
    ).then((body) => {
      slowDone = true;
      return body;
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const quick = await call(server, 'def f():\n    return "quick"');
    expect(quick.value).toBe('quick');
    expect(slowDone).toBe(false);
    expect((await slow).value).toBe('slow');
    const burst = await hostDetails();
    expect(burst.started).toBeGreaterThan(idle.started);
    // Idle again: back to one interpreter after IDLE_RETIRE_MS, counted.
    await expect
      .poll(async () => (await hostDetails()).retired, { timeout: 15_000 })
      .toBeGreaterThanOrEqual(1);
    const after = await hostDetails();
    expect(after.waiting).toBe(1);
  });
});

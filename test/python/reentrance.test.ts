// Python reentrance end to end: guests on the real server (Pyodide in a worker of the locked-down
// sandbox host process) call other functions with the reference's `W.Call("Z801", Z801K1=…)`; the
// call travels worker → host process → service → orchestrator (a real HTTP stand-in) and back,
// and the value is decoded exactly like an argument.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NON_REENTRANT_MESSAGE as WORKER_NON_REENTRANT_MESSAGE } from '../../interpreters/python/call-out.js';
import { readMetadata } from '../../src/wikifunctions/envelope.js';
import { NON_REENTRANT_MESSAGE } from '../../src/wikifunctions/reentrance.js';
import type { ZNode } from '../../src/wikifunctions/zobject.js';
import { type RunningServer, startServer } from '../helpers/server.js';
import { evaluateFlat, str, withStandInServer } from '../helpers/stand-in-orchestrator.js';
import { languageId } from '../wikifunctions/e2e.js';

const VOID = { Z1K1: 'Z9', Z9K1: 'Z24' };
const ADD =
  'def Z1000(Z1000K1, Z1000K2):\n    return str(int(W.Call("Z801", Z801K1=Z1000K1)) + int(Z1000K2))\n';

function flat(code: string, reentrant: boolean, args: Record<string, unknown> = {}) {
  return {
    codingLanguage: 'python-3',
    codeString: code,
    functionName: 'Z1000',
    functionArguments: args,
    reentrant,
  };
}

const ADD_ARGS = { Z1000K1: str('5'), Z1000K2: str('8') };

const evaluate = evaluateFlat;

/** Z10001: a Python function evaluated on the same Polyeval (not reentrant, as the orchestrator asks). */
const NESTED = {
  Z10001: (z7: ZNode) => ({
    codingLanguage: 'python-3',
    codeString: 'def Z10001(x):\n    return W.Call("Z801", Z801K1=x + "!")\n',
    functionName: 'Z10001',
    functionArguments: { Z10001K1: z7.Z10001K1 },
  }),
};

it('the worker says the reference words for a non-reentrant call, as the service does', () => {
  expect(WORKER_NON_REENTRANT_MESSAGE).toBe(NON_REENTRANT_MESSAGE);
});

describe('W.Call with a pool of one', () => {
  const ctx = withStandInServer(
    NESTED,
    {
      POLYEVAL_LANGUAGES: languageId('python'),
      POLYEVAL_POOL_SIZE: '1',
      POLYEVAL_PYTHON_TIMEOUT_MS: '2000',
    },
    120_000,
  );

  it('calls the orchestrator with a normal-form Z7 and gets the value back like an argument', async () => {
    const before = ctx.orchestrator.received.length;
    const { value, error } = await evaluate(ctx.server, flat(ADD, true, ADD_ARGS));
    expect(error).toBeUndefined();
    expect(value).toEqual(str('13'));
    expect(ctx.orchestrator.received.slice(before)).toEqual([
      { Z1K1: { Z1K1: 'Z9', Z9K1: 'Z7' }, Z7K1: { Z1K1: 'Z9', Z9K1: 'Z801' }, Z801K1: str('5') },
    ]);
  });

  it('works over Avro 0.0.4 as the orchestrator sends it, with its broken remainingTime', async () => {
    const { value, error } = await evaluate(
      ctx.server,
      { ...flat(ADD, true, ADD_ARGS), remainingTime: -1796604524704 },
      true,
    );
    expect(error).toBeUndefined();
    expect(value).toEqual(str('13'));
  });

  it('carries values of every kind both ways (lists, pairs, maps, integers)', async () => {
    const code = `def Z1000():
    back = W.Call("Z801", Z801K1=[ZPair("a", 1), {"k": True}, 123456789012345678901234567890])
    ok = back[0] == ZPair("a", 1) and type(back[0].K2) is int and back[1] == {"k": True} and back[2] == 123456789012345678901234567890
    return "same" if ok else repr(back)
`;
    const { value, error } = await evaluate(ctx.server, flat(code, true));
    expect(error).toBeUndefined();
    expect(value).toEqual(str('same'));
  });

  it('refuses a non-reentrant request with the reference Z507, even when the guest catches it', async () => {
    const caught = `def Z1000(Z1000K1, Z1000K2):
    try:
        return W.Call("Z801", Z801K1=Z1000K1)
    except BaseException:
        return "caught"
`;
    for (const code of [ADD, caught]) {
      const { value, error } = await evaluate(ctx.server, flat(code, false, ADD_ARGS));
      expect(value).toEqual(VOID);
      expect(error).toEqual({ type: 'Z507', text: NON_REENTRANT_MESSAGE });
    }
  });

  it('gives a nested failure to the guest as an exception it may catch', async () => {
    const code = `def Z1000():
    try:
        return W.Call("Z10002")
    except WikifunctionsError as e:
        return type(e).__name__ + ": " + str(e)
`;
    const { value, error } = await evaluate(ctx.server, flat(code, true));
    expect(error).toBeUndefined();
    expect(value).toEqual(str('WikifunctionsError: Z10002 failed: the stand-in says no'));
  });

  it('does not hang when the nested function needs the only sandbox: the caller fails typed at its deadline', async () => {
    const code = 'def Z1000(Z1000K1):\n    return W.Call("Z10001", Z10001K1=Z1000K1)\n';
    const nestedBefore = ctx.orchestrator.nestedAnswers.length;
    const { value, error } = await evaluate(ctx.server, flat(code, true, { Z1000K1: str('x') }));
    expect(value).toEqual(VOID);
    expect(error).toEqual({ type: 'Z575', text: '2000 ms' });
    // The nested evaluation queued behind its caller and ran once the slot was free.
    await expect
      .poll(() => ctx.orchestrator.nestedAnswers.length, { timeout: 10_000 })
      .toBe(nestedBefore + 1);
    const next = await evaluate(ctx.server, flat(ADD, true, ADD_ARGS));
    expect(next.value).toEqual(str('13'));
  });

  it('caps the calls of one evaluation (Z507), whether or not the guest catches the refusal', async () => {
    const code = `def Z1000():
    n = 0
    for i in range(60):
        try:
            W.Call("Z801", Z801K1="x")
            n += 1
        except BaseException:
            pass
    return str(n)
`;
    const { value, error } = await evaluate(ctx.server, flat(code, true));
    expect(value).toEqual(VOID);
    expect(error).toEqual({
      type: 'Z507',
      text: 'Cannot run "Z1000": Cannot call back to the orchestrator: one evaluation may make at most 50 calls',
    });
  });

  it('caps the bytes of an answer (Z507) and of the arguments', async () => {
    const big = await evaluate(ctx.server, flat('def Z1000():\n    return len(W.Call("Z10003"))\n', true));
    expect(big.error?.type).toBe('Z507');
    expect(big.error?.text).toMatch(/answer is larger than 1048576 bytes/);
    const args = await evaluate(
      ctx.server,
      flat('def Z1000():\n    return W.Call("Z801", Z801K1="y" * 1100000)\n', true),
    );
    expect(args.error?.type).toBe('Z507');
    expect(args.error?.text).toMatch(/arguments are larger than the output limit/);
  });

  it("waits for an answer within the caller's own time limit only (Z575), and serves the next call", async () => {
    const code = `def Z1000():
    try:
        return W.Call("Z10004")
    except BaseException:
        return "caught"
`;
    const slow = await evaluate(ctx.server, flat(code, true));
    expect(slow.error).toEqual({ type: 'Z575', text: '2000 ms' });
    // Blocked in Atomics.wait for the 2 s: wall time, not CPU.
    const cpu = readMetadata(slow.envelope).get('executionCpuUsage') as
      | { Z6K1?: string }
      | string
      | undefined;
    expect(Number.parseFloat((typeof cpu === 'string' ? cpu : cpu?.Z6K1) ?? 'NaN')).toBeLessThan(1000);
    const next = await evaluate(ctx.server, flat(ADD, true, ADD_ARGS));
    expect(next.value).toEqual(str('13'));
  });

  it('refuses bad calls as exceptions the guest sees', async () => {
    const code = `def Z1000():
    out = []
    for f in (lambda: W.Call(801), lambda: W.Call("not a zid"), lambda: W.Call("Z801", Z801K1=object()), lambda: W.Call("Z801", **{"bad key": "x"})):
        try:
            f()
            out.append("no error")
        except Exception as e:
            out.append(type(e).__name__)
    return ",".join(out)
`;
    const { value, error } = await evaluate(ctx.server, flat(code, true));
    expect(error).toBeUndefined();
    expect(value).toEqual(str('TypeError,WikifunctionsError,TypeError,WikifunctionsError'));
  });
});

describe('a hostile guest at the door (the device W.Call uses)', () => {
  const ctx = withStandInServer(
    NESTED,
    {
      POLYEVAL_LANGUAGES: languageId('python'),
      POLYEVAL_POOL_SIZE: '1',
      POLYEVAL_PYTHON_TIMEOUT_MS: '2000',
    },
    120_000,
  );

  const echoed = (): unknown[] =>
    ctx.orchestrator.received.map((z7) => (z7.Z801K1 as { Z6K1?: unknown } | undefined)?.Z6K1);

  it('answers malformed requests written to the device directly with errors, and cannot be given a time of its own', async () => {
    const code = `import os
def Z1000():
    out = []
    fd = os.open("/dev/wikifunctions", os.O_RDWR)
    def attempt(f):
        try:
            out.append(repr(f()))
        except Exception as e:
            out.append(type(e).__name__)
    def ask(request):
        os.write(fd, request)
        return os.read(fd, 100000)
    attempt(lambda: os.read(fd, 100))
    attempt(lambda: os.write(fd, b"\\xff\\xfe"))
    attempt(lambda: ask(b"no newline")[:1])
    attempt(lambda: ask(b"999999\\nZ801\\n{}")[:1])
    attempt(lambda: ask(b'Z801\\n{"Z801K1": [1, 2')[:1])
    attempt(lambda: ask(b'Z801\\n{"Z801K1":"hi"}'))
    attempt(lambda: os.lseek(fd, 0, 0))
    os.close(fd)
    return "|".join(out)
`;
    const { value, error } = await evaluate(ctx.server, flat(code, true));
    expect(error).toBeUndefined();
    expect(value).toEqual(str(`b''|OSError|b'e'|b'e'|b'e'|b'v"hi"'|OSError`));
  });

  it('ends the call (Z507) when a request larger than the channel is written, even if the guest catches it', async () => {
    const code = `import os
def Z1000():
    fd = os.open("/dev/wikifunctions", os.O_RDWR)
    try:
        os.write(fd, b"Z801\\n" + b"x" * (1 << 20))
        os.read(fd, 100)
        W.Call("Z801", Z801K1="after")
    except BaseException:
        pass
    return "survived"
`;
    const before = ctx.orchestrator.received.length;
    const { value, error } = await evaluate(ctx.server, flat(code, true));
    expect(value).toEqual(VOID);
    expect(error?.type).toBe('Z507');
    expect(error?.text).toBe(
      'Cannot run "Z1000": the call takes 1048581 bytes, more than the limit of 1048576',
    );
    expect(ctx.orchestrator.received.length).toBe(before);
  });

  it('never writes a call to a file put in place of the device', async () => {
    const code = `import os
def Z1000():
    os.unlink("/dev/wikifunctions")
    with open("/dev/wikifunctions", "w") as f:
        pass
    try:
        W.Call("Z801", Z801K1="secret")
        return "called"
    except WikifunctionsError as e:
        with open("/dev/wikifunctions") as f:
            return str(e) + "|" + repr(f.read())
`;
    const { value, error } = await evaluate(ctx.server, flat(code, true));
    expect(error).toBeUndefined();
    expect(value).toEqual(
      str("Cannot call another function: /dev/wikifunctions is not the call-out device|''"),
    );
  });

  it('refuses every call after the deadline, whatever the guest catches (Z575)', async () => {
    const code = `def Z1000():
    try:
        W.Call("Z10004")
    except BaseException:
        pass
    for _ in range(3):
        try:
            return W.Call("Z801", Z801K1="after the deadline")
        except BaseException:
            pass
    return "survived"
`;
    const { value, error } = await evaluate(ctx.server, flat(code, true));
    expect(value).toEqual(VOID);
    expect(error).toEqual({ type: 'Z575', text: '2000 ms' });
    expect(echoed()).not.toContain('after the deadline');
  });

  it('calls from __del__ count as the call’s own, and there are no threads to call from', async () => {
    const code = `import gc, threading
class D:
    def __del__(self):
        W.Call("Z801", Z801K1="from __del__")
def Z1000():
    d = D()
    d.me = d
    del d
    gc.collect()
    try:
        threading.Thread(target=lambda: W.Call("Z801", Z801K1="from a thread")).start()
        return "a thread"
    except RuntimeError:
        return "no thread"
`;
    const { value, error } = await evaluate(ctx.server, flat(code, true));
    expect(error).toBeUndefined();
    expect(value).toEqual(str('no thread'));
    expect(echoed()).toContain('from __del__');
    expect(echoed()).not.toContain('from a thread');
  });
});

describe('the device keeps nothing across calls (an interpreter reused, CALLS_PER_INTERPRETER=2)', () => {
  const ctx = withStandInServer(
    {},
    {
      POLYEVAL_LANGUAGES: languageId('python'),
      POLYEVAL_POOL_SIZE: '1',
      POLYEVAL_PYTHON_WARM: '0',
      POLYEVAL_PYTHON_CALLS_PER_INTERPRETER: '2',
    },
    120_000,
  );

  it("refuses a descriptor opened in the previous call (EBADF); the call's own works", async () => {
    const stash = `import builtins, os
def Z1000():
    builtins.stale = os.open("/dev/wikifunctions", os.O_RDWR)
    return "stashed"
`;
    const use = `import builtins, errno, os
def Z1000():
    fd = builtins.stale
    try:
        os.write(fd, b'Z801\\n{"Z801K1":"stale"}')
        stale = "written"
    except OSError as e:
        stale = errno.errorcode[e.errno]
    return stale + "|" + W.Call("Z801", Z801K1="fresh")
`;
    expect((await evaluate(ctx.server, flat(stash, true))).value).toEqual(str('stashed'));
    const { value, error } = await evaluate(ctx.server, flat(use, true));
    expect(error).toBeUndefined();
    // The second call ran in the same interpreter (it found the stashed descriptor).
    expect(value).toEqual(str('EBADF|fresh'));
    const sent = ctx.orchestrator.received.map((z7) => (z7.Z801K1 as { Z6K1?: unknown }).Z6K1);
    expect(sent).toEqual(['fresh']);
  });
});

describe('W.Call with a pool of two', () => {
  const ctx = withStandInServer(
    NESTED,
    {
      POLYEVAL_LANGUAGES: languageId('python'),
      POLYEVAL_POOL_SIZE: '2',
    },
    120_000,
  );

  it('runs a function that calls a function evaluated here; the nested one may not call out itself', async () => {
    const code = 'def Z1000(Z1000K1):\n    return W.Call("Z10001", Z10001K1=Z1000K1)\n';
    const { error } = await evaluate(ctx.server, flat(code, true, { Z1000K1: str('x') }));
    expect(error?.type).toBe('Z507');
    expect(error?.text).toContain(`Z10001 failed: ${NON_REENTRANT_MESSAGE}`);
  });

  it('keeps concurrent reentrant evaluations apart', async () => {
    const code = `def Z1000(Z1000K1):
    return "".join(W.Call("Z801", Z801K1=Z1000K1) for _ in range(5))
`;
    const letters = ['a', 'b', 'c', 'd'];
    const answers = await Promise.all(
      letters.map((letter) => evaluate(ctx.server, flat(code, true, { Z1000K1: str(letter) }))),
    );
    expect(answers.map((a) => a.value)).toEqual(letters.map((l) => str(l.repeat(5))));
  });
});

describe('W on the native API', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ POLYEVAL_LANGUAGES: languageId('python'), POLYEVAL_POOL_SIZE: '1' });
  }, 120_000);
  afterAll(async () => {
    await server?.close();
  });

  it('is not there (only the Wikifunctions API has it)', async () => {
    const response = await fetch(`${server.url}/v1/evaluate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        language: 'python',
        code: 'def f():\n    return "W" in globals()\n',
        function: 'f',
        args: [],
      }),
    });
    expect(await response.json()).toMatchObject({ ok: true, value: false });
  });

  it("refuses a reentrant request's call-out typed, naming the setting, when no orchestrator is configured", async () => {
    const { error } = await evaluate(server, flat(ADD, true, ADD_ARGS));
    expect(error?.type).toBe('Z507');
    expect(error?.text).toContain('POLYEVAL_WIKIFUNCTIONS_ORCHESTRATOR_URL');
  });
});

// The shared escape suite for the Python executor (run by escapes.test.ts with the default, strict
// settings and by escapes-renewed-workers.test.ts with several interpreters per worker): attempts
// through the real server, with planted canaries — a secret in the server's environment, a secret
// file, and a loopback listener. Every attempt runs through the security harness's guarded server
// (test/security/harness.ts), so it gets the same checks as the attack catalogue: no secret in any
// answer or log, the secret file neither read nor touched, no connection to the listener, /livez
// responsive against its idle baseline, the next honest call answered, and the server's threads,
// descriptors and child processes back to their baseline. Each case then asserts its own exact
// outcome. One regression test per escape route (see interpreters/python/README.md).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson } from '../helpers/server.js';
import { guardedServer } from '../security/harness.js';

/** What each attempt may ask for: the limits of an ordinary call, room for a long answer. */
const LIMITS = { timeoutMs: 5000, outputBytes: 1_000_000 };

/** The answer of a call of "f" that raised `type` with `message` (exact). */
function raised(type: string, message: string): object {
  return {
    ok: false,
    error: { code: 'RUNTIME_ERROR', type, message: `Cannot run "f": ${type}: ${message}` },
  };
}

const SANDBOX = 'not available in this sandbox';

export function defineEscapeSuite(settings: Record<string, string>): void {
  const guarded = guardedServer({ languages: ['python'], env: settings });

  beforeAll(() => guarded.start());
  afterAll(() => guarded.stop());

  /** One call outside the harness's checks (for the cases that compare two calls). */
  async function evaluate(code: string, fn = 'f', args: unknown[] = []): Promise<any> {
    const r = await postJson(`${guarded.url}/v1/evaluate`, {
      language: 'python',
      code,
      function: fn,
      args,
      limits: LIMITS,
    });
    expect(r.status).toBe(200);
    return r.body;
  }

  /**
   * Runs an attempt ({{SECRET_FILE}}, {{PORT}} and {{ENV_NAME}} in `code` are the canaries') with
   * every check of the security harness, and returns the answer's body for the case's own assertions.
   */
  async function attack(code: string, args: unknown[] = []): Promise<any> {
    let body: any;
    await guarded.attack({
      id: expect.getState().currentTestName ?? 'escape',
      async run(h) {
        const answer = await h.evaluate('python', code, { fn: 'f', args, limits: LIMITS });
        expect(answer.status, answer.text.slice(0, 500)).toBe(200);
        // Not even the variable's name: the guest cannot list the host's environment.
        expect(answer.text).not.toContain(h.canaries.envName);
        body = answer.body;
      },
    });
    return body;
  }

  describe('host files', () => {
    it('open() cannot read a host file', async () => {
      const body = await attack(`
def f():
    out = []
    for path in ['{{SECRET_FILE}}', '/etc/passwd', '/proc/self/environ', '/proc/1/environ']:
        try:
            out.append(open(path).read())
        except Exception as e:
            out.append(type(e).__name__)
    return out
`);
      expect(body).toMatchObject({ ok: true, value: Array(4).fill('FileNotFoundError') });
    });

    it('os.listdir sees only the in-memory filesystem', async () => {
      const body = (await attack(`
import os
def f():
    return sorted(os.listdir('/'))
`)) as { value: string[] };
      expect(body).toMatchObject({ ok: true, value: ['dev', 'home', 'lib', 'proc', 'tmp'] });
    });
  });

  describe('environment', () => {
    it('os.environ holds nothing of the host', async () => {
      const body = await attack(`
import os
def f():
    return dict(os.environ)
`);
      // Emscripten's own defaults, nothing else.
      expect(body).toMatchObject({ ok: true });
      expect(body.value).toEqual({
        USER: 'web_user',
        LOGNAME: 'web_user',
        PATH: '/',
        PWD: '/',
        HOME: '/home/pyodide',
        LANG: 'C.UTF-8',
        PYTHONINSPECT: '1',
        LD_LIBRARY_PATH: '/usr/lib:/lib/python3.14/site-packages',
      });
    });
  });

  describe('processes', () => {
    it('os.system is refused', async () => {
      const body = await attack(`
import os
def f():
    return os.system('cat {{SECRET_FILE}}; env; echo > /dev/tcp/127.0.0.1/{{PORT}}')
`);
      expect(body).toMatchObject(raised('PermissionError', `os.system is ${SANDBOX}`));
    });

    it('os.popen is refused', async () => {
      const body = await attack(`
import os
def f():
    return os.popen('cat {{SECRET_FILE}}').read()
`);
      expect(body).toMatchObject(raised('PermissionError', `os.popen is ${SANDBOX}`));
    });

    it('subprocess is refused', async () => {
      const body = await attack(`
import subprocess
def f():
    return subprocess.check_output(['cat', '{{SECRET_FILE}}']).decode()
`);
      expect(body).toMatchObject(raised('OSError', '[Errno 138] emscripten does not support processes.'));
    });

    it('posix.system kept by reference before the lockdown is refused too', async () => {
      // The posix module is the one os re-exports: its functions are the lockdown's refusals too
      // (or gone), whichever name the guest uses.
      // mutation: "system", "fork", "execv" dropped from lockdown()'s list and "os.system",
      // "os.fork" from BLOCKED_EVENTS, "os.exec" from BLOCKED_EVENT_PREFIXES (harness.py).
      const body = await attack(`
import posix
def f():
    out = {}
    for name, args in (('system', ('cat {{SECRET_FILE}}',)), ('fork', ()),
                       ('execv', ('/bin/cat', ['cat', '{{SECRET_FILE}}'])),
                       ('posix_spawn', ('/bin/cat', ['cat', '{{SECRET_FILE}}'], {}))):
        try:
            out[name] = repr(getattr(posix, name)(*args))
        except BaseException as e:
            out[name] = type(e).__name__ + ': ' + str(e)
    return out
`);
      expect(body).toMatchObject({ ok: true });
      expect(body.value).toEqual({
        system: `PermissionError: os.system is ${SANDBOX}`,
        fork: `PermissionError: os.fork is ${SANDBOX}`,
        execv: `PermissionError: os.execv is ${SANDBOX}`,
        posix_spawn: "AttributeError: module 'posix' has no attribute 'posix_spawn'",
      });
    });
  });

  describe('network', () => {
    it('a socket cannot connect to a loopback listener', async () => {
      const body = await attack(`
import socket
def f():
    s = socket.create_connection(('127.0.0.1', {{PORT}}), timeout=1)
    s.sendall(b'hello')
    return 'connected'
`);
      expect(body).toMatchObject(raised('PermissionError', `socket.getaddrinfo is ${SANDBOX}`));
    });

    it('a socket cannot listen', async () => {
      // mutation: "socket." dropped from BLOCKED_EVENT_PREFIXES (harness.py).
      const body = await attack(`
import socket
def f():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    s.listen()
    return s.getsockname()
`);
      expect(body).toMatchObject(raised('PermissionError', `socket.__new__ is ${SANDBOX}`));
    });

    it('js.fetch is unreachable', async () => {
      const body = await attack(`
def f():
    import js
    return str(js.fetch('http://127.0.0.1:{{PORT}}/'))
`);
      expect(body).toMatchObject(raised('ModuleNotFoundError', `No module named 'js' (${SANDBOX})`));
    });

    it('pyodide.http.pyfetch is unreachable', async () => {
      const body = await attack(`
async def f():
    from pyodide.http import pyfetch
    r = await pyfetch('http://127.0.0.1:{{PORT}}/')
    return await r.string()
`);
      expect(body).toMatchObject(
        raised('ModuleNotFoundError', `No module named 'pyodide.http' (${SANDBOX})`),
      );
    });
  });

  describe('the JavaScript bridge', () => {
    it('pyodide.code.run_js is unreachable', async () => {
      // mutation: "pyodide" dropped from BLOCKED_MODULES (harness.py).
      const body = await attack(`
def f():
    from pyodide.code import run_js
    return run_js('process.env')
`);
      expect(body).toMatchObject(
        raised('ModuleNotFoundError', `No module named 'pyodide.code' (${SANDBOX})`),
      );
    });

    it('pyodide_js (mountNodeFS, loadBinaryFile) is unreachable', async () => {
      const body = await attack(`
def f():
    import pyodide_js
    pyodide_js.mountNodeFS('/host', '/')
    return open('/host/{{SECRET_FILE}}').read()
`);
      expect(body).toMatchObject(raised('ModuleNotFoundError', `No module named 'pyodide_js' (${SANDBOX})`));
    });

    it('pyodide.ffi is unreachable', async () => {
      // mutation: "pyodide" dropped from BLOCKED_MODULES (harness.py).
      const body = await attack(`
def f():
    from pyodide.ffi import to_js, create_proxy
    return str(to_js({}))
`);
      expect(body).toMatchObject(raised('ModuleNotFoundError', `No module named 'pyodide.ffi' (${SANDBOX})`));
    });

    it('sys.modules, class hierarchies and module globals give no JS object', async () => {
      const body = (await attack(`
import sys
def f():
    found = []
    def grab(obj, where):
        t = type(obj).__name__
        if 'Js' in t and t not in ('JsNull',):
            for attr in ('process', 'constructor', 'require', '_api', 'mountNodeFS', 'FS', 'globalThis'):
                try:
                    v = getattr(obj, attr)
                    found.append(f"{where}.{attr}={str(v)[:200]}")
                except Exception:
                    pass
    for name, m in list(sys.modules.items()):
        for k, v in list(getattr(m, '__dict__', {}).items()):
            grab(v, f"{name}.{k}")
    def walk(cls, acc):
        try:
            subs = cls.__subclasses__()
        except TypeError:
            subs = type.__subclasses__(cls)
        for s in subs:
            if s not in acc:
                acc.add(s)
                walk(s, acc)
        return acc
    for c in walk(object, set()):
        for k, v in list(vars(c).items()):
            for holder in (v, getattr(v, '__func__', None)):
                try:
                    g = holder.__globals__
                except Exception:
                    continue
                for gk, gv in list(g.items()):
                    grab(gv, f"{c.__qualname__}.{k}.{gk}")
                for cell in (getattr(holder, '__closure__', None) or ()):
                    try:
                        grab(cell.cell_contents, f"{c.__qualname__}.{k}.<closure>")
                    except ValueError:
                        pass
    return found
`)) as { ok: boolean; value?: string[] };
      expect(body.ok).toBe(true);
      // Whatever was reached, none of it leads to the host: no process, require or Pyodide API.
      expect(body.value).toEqual([]);
    });

    it('a JS function reached by any route cannot generate code', async () => {
      const body = await attack(`
def f():
    import sys
    out = []
    for m in list(sys.modules.values()):
        for v in list(getattr(m, '__dict__', {}).values()):
            ctor = getattr(v, 'constructor', None)
            if ctor is not None and 'Function' in str(ctor):
                try:
                    out.append(str(ctor('return process.env')()))
                except Exception as e:
                    out.append(type(e).__name__)
    return out
`);
      // No module holds a JavaScript object with a constructor to call.
      expect(body).toMatchObject({ ok: true, value: [] });
    });
  });

  describe('foreign functions and import tricks', () => {
    it('ctypes cannot be imported', async () => {
      const body = await attack(`
def f():
    import ctypes
    return ctypes.string_at(0, 100)
`);
      expect(body).toMatchObject(raised('ModuleNotFoundError', `No module named 'ctypes' (${SANDBOX})`));
    });

    it('_imp.create_builtin cannot rebuild _ctypes (or the test modules)', async () => {
      const body = (await attack(`
import _imp
from importlib.machinery import ModuleSpec
def f():
    out = {}
    for name in ('_ctypes', '_testcapi', '_testinternalcapi', '_posixsubprocess'):
        try:
            out[name] = repr(_imp.create_builtin(ModuleSpec(name, None)))
        except BaseException as e:
            out[name] = type(e).__name__
    return out
`)) as { value: Record<string, string> };
      // Removed from the inittab: create_builtin finds nothing to build.
      expect(body).toMatchObject({
        ok: true,
        value: { _ctypes: 'None', _testcapi: 'None', _testinternalcapi: 'None', _posixsubprocess: 'None' },
      });
    });

    it('compiled extension modules cannot be loaded (dlopen)', async () => {
      const body = await attack(`
import _imp
from importlib.machinery import ModuleSpec
def f():
    open('/tmp/evil.so', 'wb').write(b'\\0asm\\1\\0\\0\\0')
    return repr(_imp.create_dynamic(ModuleSpec('evil', None, origin='/tmp/evil.so')))
`);
      expect(body).toMatchObject(raised('ImportError', `loading compiled extension modules is ${SANDBOX}`));
    });

    it('removing the import blocker from sys.meta_path does not help', async () => {
      const body = await attack(`
import sys
def f():
    sys.meta_path[:] = [m for m in sys.meta_path if 'Blocked' not in repr(m)]
    import js
    return str(js.process.env)
`);
      expect(body).toMatchObject(raised('ModuleNotFoundError', `No module named 'js' (${SANDBOX})`));
    });

    it('code objects cannot be built from bytes', async () => {
      const body = await attack(`
import marshal
def f():
    code = (lambda: 0).__code__
    return repr(code.replace(co_code=b'\\x00' * 8))
`);
      expect(body).toMatchObject(raised('PermissionError', `code.__new__ is ${SANDBOX}`));
    });

    it('heap introspection (gc) is refused', async () => {
      const body = await attack(`
import gc
def f():
    return len(gc.get_objects())
`);
      expect(body).toMatchObject(raised('PermissionError', `gc.get_objects is ${SANDBOX}`));
    });
  });

  describe('single use', () => {
    it('a file written in one call is gone in the next', async () => {
      expect(
        await attack(`
def f():
    open('/tmp/persist.txt', 'w').write('left behind')
    return 1
`),
      ).toMatchObject({ ok: true, value: 1 });
      const body = await attack(`
import os
def f():
    return os.path.exists('/tmp/persist.txt')
`);
      expect(body).toMatchObject({ ok: true, value: false });
    });

    it('a builtin set in one call is gone in the next', async () => {
      expect(
        await attack(`
import builtins, sys
def f():
    builtins.polyeval_marker = 'left behind'
    sys.modules['json'].marker = 'left behind'
    return 1
`),
      ).toMatchObject({ ok: true, value: 1 });
      const body = await attack(`
import builtins, json
def f():
    return [hasattr(builtins, 'polyeval_marker'), hasattr(json, 'marker')]
`);
      expect(body).toMatchObject({ ok: true, value: [false, false] });
    });

    it('random is reseeded in every interpreter', async () => {
      const code = 'import random\ndef f():\n    return [random.random() for _ in range(3)]\n';
      const a = await evaluate(code);
      const b = await evaluate(code);
      expect(a.ok && b.ok).toBe(true);
      expect(a.value).not.toEqual(b.value);
    });
  });

  describe('isolation facts', () => {
    it('readiness reports the isolation in force', async () => {
      const r = await fetch(`${guarded.url}/v1/languages`);
      const body = (await r.json()) as {
        languages: {
          id: string;
          details: { isolation: Record<string, unknown>; interpretersPerWorker: number };
        }[];
      };
      const python = body.languages.find((l) => l.id === 'python')!;
      expect(python.details.isolation).toMatchObject({
        permissionModel: true,
        observedPermissionModel: true,
      });
      expect(python.details.interpretersPerWorker).toBe(
        Number(settings.POLYEVAL_PYTHON_INTERPRETERS_PER_WORKER ?? 1),
      );
      if (python.details.isolation.network === 'namespace') {
        expect(python.details.isolation.observedNetworkInterfaces).toEqual([]);
      }
    });
  });
}

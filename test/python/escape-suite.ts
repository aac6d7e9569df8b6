// The shared escape suite for the Python executor (run by escapes.test.ts with the default, strict
// settings and by escapes-renewed-workers.test.ts with several interpreters per worker): attempts
// through the real server, with planted canaries — a secret in the server's environment, a secret
// file, and a loopback listener. For every attempt: the secrets never appear in the response, the
// listener never sees a connection, and the next call succeeds. One regression test per escape
// route (see interpreters/python/README.md).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson, type RunningServer, startServer } from '../helpers/server.js';
import { type Canaries, plantCanaries } from './canaries.js';

export function defineEscapeSuite(settings: Record<string, string>): void {
  let server: RunningServer;
  let canaries: Canaries;

  beforeAll(async () => {
    canaries = await plantCanaries();
    server = await startServer({
      POLYEVAL_LANGUAGES: 'python',
      POLYEVAL_POOL_SIZE: '2',
      ...settings,
      [canaries.envName]: canaries.envSecret,
    });
  });
  afterAll(async () => {
    await server?.close();
    await canaries?.close();
  });

  async function evaluate(code: string, fn = 'f', args: unknown[] = []): Promise<any> {
    const r = await postJson(`${server.url}/v1/evaluate`, {
      language: 'python',
      code,
      function: fn,
      args,
      limits: { timeoutMs: 5000, outputBytes: 1_000_000 },
    });
    expect(r.status).toBe(200);
    return r.body;
  }

  /** Runs an attack and checks every canary, then that the service still answers. */
  async function attack(code: string, args: unknown[] = []): Promise<unknown> {
    const before = canaries.connections();
    const body = await evaluate(
      code.replaceAll('SECRET_FILE', canaries.filePath).replaceAll('PORT', String(canaries.port)),
      'f',
      args,
    );
    const text = JSON.stringify(body);
    for (const secret of canaries.secrets) expect(text).not.toContain(secret);
    expect(text).not.toContain(canaries.envName);
    // Give a connection attempt time to land before counting.
    await new Promise((r) => setTimeout(r, 50));
    expect(canaries.connections()).toBe(before);
    const next = await evaluate('def add(a, b):\n    return a + b\n', 'add', [2, 3]);
    expect(next).toMatchObject({ ok: true, value: 5 });
    return body;
  }

  describe('host files', () => {
    it('open() cannot read a host file', async () => {
      const body = await attack(`
def f():
    out = []
    for path in ['SECRET_FILE', '/etc/passwd', '/proc/self/environ', '/proc/1/environ']:
        try:
            out.append(open(path).read())
        except Exception as e:
            out.append(type(e).__name__)
    return out
`);
      expect(body).toMatchObject({ ok: true });
    });

    it('os.listdir sees only the in-memory filesystem', async () => {
      const body = (await attack(`
import os
def f():
    return sorted(os.listdir('/'))
`)) as { value: string[] };
      expect(body.value).not.toContain('work');
      expect(body.value).not.toContain('usr');
    });
  });

  describe('environment', () => {
    it('os.environ holds nothing of the host', async () => {
      await attack(`
import os
def f():
    return dict(os.environ)
`);
    });
  });

  describe('processes', () => {
    it('os.system is refused', async () => {
      const body = await attack(`
import os
def f():
    return os.system('cat SECRET_FILE; env; echo > /dev/tcp/127.0.0.1/PORT')
`);
      expect(body).toMatchObject({ ok: false, error: { code: 'RUNTIME_ERROR' } });
    });

    it('os.popen is refused', async () => {
      await attack(`
import os
def f():
    return os.popen('cat SECRET_FILE').read()
`);
    });

    it('subprocess is refused', async () => {
      const body = await attack(`
import subprocess
def f():
    return subprocess.check_output(['cat', 'SECRET_FILE']).decode()
`);
      expect(body).toMatchObject({ ok: false });
    });

    it('posix.system kept by reference before the lockdown is refused too', async () => {
      await attack(`
import posix, importlib
def f():
    out = []
    for name in ('system', 'fork', 'execv', 'posix_spawn'):
        try:
            out.append(str(getattr(posix, name)('x') if name == 'system' else getattr(posix, name)))
        except Exception as e:
            out.append(type(e).__name__)
    return out
`);
    });
  });

  describe('network', () => {
    it('a socket cannot connect to a loopback listener', async () => {
      const body = await attack(`
import socket
def f():
    s = socket.create_connection(('127.0.0.1', PORT), timeout=1)
    s.sendall(b'hello')
    return 'connected'
`);
      expect(body).toMatchObject({ ok: false });
    });

    it('a socket cannot listen', async () => {
      await attack(`
import socket
def f():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    s.listen()
    return s.getsockname()
`);
    });

    it('js.fetch is unreachable', async () => {
      const body = await attack(`
def f():
    import js
    return str(js.fetch('http://127.0.0.1:PORT/'))
`);
      expect(body).toMatchObject({ ok: false, error: { type: 'ModuleNotFoundError' } });
    });

    it('pyodide.http.pyfetch is unreachable', async () => {
      const body = await attack(`
async def f():
    from pyodide.http import pyfetch
    r = await pyfetch('http://127.0.0.1:PORT/')
    return await r.string()
`);
      expect(body).toMatchObject({ ok: false, error: { type: 'ModuleNotFoundError' } });
    });
  });

  describe('the JavaScript bridge', () => {
    it('pyodide.code.run_js is unreachable', async () => {
      await attack(`
def f():
    from pyodide.code import run_js
    return run_js('process.env')
`);
    });

    it('pyodide_js (mountNodeFS, loadBinaryFile) is unreachable', async () => {
      await attack(`
def f():
    import pyodide_js
    pyodide_js.mountNodeFS('/host', '/')
    return open('/host/SECRET_FILE').read()
`);
    });

    it('pyodide.ffi is unreachable', async () => {
      await attack(`
def f():
    from pyodide.ffi import to_js, create_proxy
    return str(to_js({}))
`);
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
      await attack(`
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
    });
  });

  describe('foreign functions and import tricks', () => {
    it('ctypes cannot be imported', async () => {
      const body = await attack(`
def f():
    import ctypes
    return ctypes.string_at(0, 100)
`);
      expect(body).toMatchObject({ ok: false, error: { type: 'ModuleNotFoundError' } });
      expect(JSON.stringify(body)).toContain('ctypes');
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
      for (const value of Object.values(body.value)) expect(value).not.toContain('<module');
    });

    it('compiled extension modules cannot be loaded (dlopen)', async () => {
      const body = await attack(`
import _imp
from importlib.machinery import ModuleSpec
def f():
    open('/tmp/evil.so', 'wb').write(b'\\0asm\\1\\0\\0\\0')
    return repr(_imp.create_dynamic(ModuleSpec('evil', None, origin='/tmp/evil.so')))
`);
      expect(body).toMatchObject({ ok: false });
    });

    it('removing the import blocker from sys.meta_path does not help', async () => {
      const body = await attack(`
import sys
def f():
    sys.meta_path[:] = [m for m in sys.meta_path if 'Blocked' not in repr(m)]
    import js
    return str(js.process.env)
`);
      expect(body).toMatchObject({ ok: false });
    });

    it('code objects cannot be built from bytes', async () => {
      const body = await attack(`
import marshal
def f():
    code = (lambda: 0).__code__
    return repr(code.replace(co_code=b'\\x00' * 8))
`);
      expect(body).toMatchObject({ ok: false });
    });

    it('heap introspection (gc) is refused', async () => {
      const body = await attack(`
import gc
def f():
    return len(gc.get_objects())
`);
      expect(body).toMatchObject({ ok: false, error: { type: 'PermissionError' } });
    });
  });

  describe('single use', () => {
    it('a file written in one call is gone in the next', async () => {
      await attack(`
def f():
    open('/tmp/persist.txt', 'w').write('left behind')
    return 1
`);
      const body = await attack(`
import os
def f():
    return os.path.exists('/tmp/persist.txt')
`);
      expect(body).toMatchObject({ ok: true, value: false });
    });

    it('a builtin set in one call is gone in the next', async () => {
      await attack(`
import builtins, sys
def f():
    builtins.polyeval_marker = 'left behind'
    sys.modules['json'].marker = 'left behind'
    return 1
`);
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
      const r = await fetch(`${server.url}/v1/languages`);
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

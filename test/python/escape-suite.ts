// The shared escape suite for the Python executor (run by escapes.test.ts with the default, strict
// settings and by escapes-renewed-workers.test.ts with several interpreters per worker): attempts
// through the real server, with planted canaries — a secret in the server's environment, a secret
// file, and a loopback listener. Every attempt runs through the security harness's guarded server
// (test/security/harness.ts), so it gets the same checks as the attack catalogue: no secret in any
// answer or log, the secret file neither read nor touched, no connection to the listener, /livez
// responsive against its idle baseline, the next honest call answered, and the server's threads,
// descriptors and child processes back to their baseline. Each case then asserts its own exact
// outcome. The guest code of each attempt is a file in ./guests/. One regression test per escape
// route (see interpreters/python/README.md).

import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson } from '../helpers/server.js';
import { guardedServer } from '../security/harness.js';

/** The guest code of one attempt: test/python/guests/<name>.py. */
function guest(name: string): string {
  return readFileSync(new URL(`./guests/${name}.py`, import.meta.url), 'utf8');
}

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
      const body = await attack(guest('open-host-files'));
      expect(body).toMatchObject({ ok: true, value: Array(4).fill('FileNotFoundError') });
    });

    it('os.listdir sees only the in-memory filesystem', async () => {
      const body = (await attack(guest('os-listdir-root'))) as { value: string[] };
      expect(body).toMatchObject({ ok: true, value: ['dev', 'home', 'lib', 'proc', 'tmp'] });
    });
  });

  describe('environment', () => {
    it('os.environ holds nothing of the host', async () => {
      const body = await attack(guest('os-environ'));
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
      const body = await attack(guest('os-system'));
      expect(body).toMatchObject(raised('PermissionError', `os.system is ${SANDBOX}`));
    });

    it('os.popen is refused', async () => {
      const body = await attack(guest('os-popen'));
      expect(body).toMatchObject(raised('PermissionError', `os.popen is ${SANDBOX}`));
    });

    it('subprocess is refused', async () => {
      const body = await attack(guest('subprocess'));
      expect(body).toMatchObject(raised('OSError', '[Errno 138] emscripten does not support processes.'));
    });

    it('posix.system kept by reference before the lockdown is refused too', async () => {
      // The posix module is the one os re-exports: its functions are the lockdown's refusals too
      // (or gone), whichever name the guest uses.
      // mutation: "system", "fork", "execv" dropped from lockdown()'s list and "os.system",
      // "os.fork" from BLOCKED_EVENTS, "os.exec" from BLOCKED_EVENT_PREFIXES (harness.py).
      const body = await attack(guest('posix-functions-by-name'));
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
      const body = await attack(guest('socket-connect-to-loopback'));
      expect(body).toMatchObject(raised('PermissionError', `socket.getaddrinfo is ${SANDBOX}`));
    });

    it('a socket cannot listen', async () => {
      // mutation: "socket." dropped from BLOCKED_EVENT_PREFIXES (harness.py).
      const body = await attack(guest('socket-listen'));
      expect(body).toMatchObject(raised('PermissionError', `socket.__new__ is ${SANDBOX}`));
    });

    it('js.fetch is unreachable', async () => {
      const body = await attack(guest('js-fetch'));
      expect(body).toMatchObject(raised('ModuleNotFoundError', `No module named 'js' (${SANDBOX})`));
    });

    it('pyodide.http.pyfetch is unreachable', async () => {
      const body = await attack(guest('pyodide-http-pyfetch'));
      expect(body).toMatchObject(
        raised('ModuleNotFoundError', `No module named 'pyodide.http' (${SANDBOX})`),
      );
    });
  });

  describe('the JavaScript bridge', () => {
    it('pyodide.code.run_js is unreachable', async () => {
      // mutation: "pyodide" dropped from BLOCKED_MODULES (harness.py).
      const body = await attack(guest('pyodide-code-run-js'));
      expect(body).toMatchObject(
        raised('ModuleNotFoundError', `No module named 'pyodide.code' (${SANDBOX})`),
      );
    });

    it('pyodide_js (mountNodeFS, loadBinaryFile) is unreachable', async () => {
      const body = await attack(guest('pyodide-js-mount-node-fs'));
      expect(body).toMatchObject(raised('ModuleNotFoundError', `No module named 'pyodide_js' (${SANDBOX})`));
    });

    it('pyodide.ffi is unreachable', async () => {
      // mutation: "pyodide" dropped from BLOCKED_MODULES (harness.py).
      const body = await attack(guest('pyodide-ffi'));
      expect(body).toMatchObject(raised('ModuleNotFoundError', `No module named 'pyodide.ffi' (${SANDBOX})`));
    });

    it('sys.modules, class hierarchies and module globals give no JS object', async () => {
      const body = (await attack(guest('js-objects-anywhere'))) as {
        ok: boolean;
        value?: string[];
      };
      expect(body.ok).toBe(true);
      // Whatever was reached, none of it leads to the host: no process, require or Pyodide API.
      expect(body.value).toEqual([]);
    });

    it('a JS function reached by any route cannot generate code', async () => {
      const body = await attack(guest('js-function-constructor'));
      // No module holds a JavaScript object with a constructor to call.
      expect(body).toMatchObject({ ok: true, value: [] });
    });
  });

  describe('foreign functions and import tricks', () => {
    it('ctypes cannot be imported', async () => {
      const body = await attack(guest('ctypes-import'));
      expect(body).toMatchObject(raised('ModuleNotFoundError', `No module named 'ctypes' (${SANDBOX})`));
    });

    it('_imp.create_builtin cannot rebuild _ctypes (or the test modules)', async () => {
      const body = (await attack(guest('imp-create-builtin'))) as {
        value: Record<string, string>;
      };
      // Removed from the inittab: create_builtin finds nothing to build.
      expect(body).toMatchObject({
        ok: true,
        value: { _ctypes: 'None', _testcapi: 'None', _testinternalcapi: 'None', _posixsubprocess: 'None' },
      });
    });

    it('compiled extension modules cannot be loaded (dlopen)', async () => {
      const body = await attack(guest('dlopen-extension-module'));
      expect(body).toMatchObject(raised('ImportError', `loading compiled extension modules is ${SANDBOX}`));
    });

    it('removing the import blocker from sys.meta_path does not help', async () => {
      const body = await attack(guest('import-blocker-removed-from-meta-path'));
      expect(body).toMatchObject(raised('ModuleNotFoundError', `No module named 'js' (${SANDBOX})`));
    });

    it('code objects cannot be built from bytes', async () => {
      const body = await attack(guest('code-object-from-bytes'));
      expect(body).toMatchObject(raised('PermissionError', `code.__new__ is ${SANDBOX}`));
    });

    it('heap introspection (gc) is refused', async () => {
      const body = await attack(guest('gc-get-objects'));
      expect(body).toMatchObject(raised('PermissionError', `gc.get_objects is ${SANDBOX}`));
    });
  });

  describe('single use', () => {
    it('a file written in one call is gone in the next', async () => {
      expect(await attack(guest('file-written-in-one-call'))).toMatchObject({ ok: true, value: 1 });
      const body = await attack(guest('file-written-in-one-call-next'));
      expect(body).toMatchObject({ ok: true, value: false });
    });

    it('a builtin set in one call is gone in the next', async () => {
      expect(await attack(guest('builtin-set-in-one-call'))).toMatchObject({ ok: true, value: 1 });
      const body = await attack(guest('builtin-set-in-one-call-next'));
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

  describe('reset in place', () => {
    // In reset mode (the default) every reset of this suite was verified against the golden image
    // (the test configuration sets RESET_VERIFY_EVERY=1): not one may have found a difference.
    it('left no state behind that verification could find', async () => {
      const r = await fetch(`${guarded.url}/v1/languages`);
      const body = (await r.json()) as { languages: { id: string; details: any }[] };
      const details = body.languages.find((l) => l.id === 'python')!.details;
      const fresh =
        settings.POLYEVAL_PYTHON_INTERPRETER_MODE === 'fresh' ||
        Number(settings.POLYEVAL_PYTHON_INTERPRETERS_PER_WORKER ?? 1) > 1;
      expect(details.interpreterMode).toBe(fresh ? 'fresh' : 'reset');
      const resets = details.hosts.map((h: { resets?: Record<string, number> }) => h.resets);
      if (fresh) expect(resets.every((x: unknown) => x === undefined)).toBe(true);
      else {
        expect(resets.reduce((n: number, x: Record<string, number>) => n + x.verified!, 0)).toBeGreaterThan(
          10,
        );
        expect(resets.reduce((n: number, x: Record<string, number>) => n + x.mismatches!, 0)).toBe(0);
        expect(details.securityEvents['reset-mismatch']).toBeUndefined();
      }
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

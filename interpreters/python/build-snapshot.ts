// Entry of the one-shot process that builds the memory snapshot (started by snapshot.ts under the
// same isolation as a sandbox host, plus write access to the cache folder only). It boots Pyodide
// the slow way once, loads the harness as module `_polyeval`, imports the modules most calls use,
// removes dangerous builtins from the inittab, runs the lockdown, and writes the snapshot
// to a temporary file that the service renames into place. No guest code ever runs here.

import { constants as fsConstants, readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import * as vm from 'node:vm';
import { evaluateGlue, removeBuiltins, rewriteGlue, shimProcessBinding } from './engine.js';

export interface BuildRequest {
  readonly kind: 'build';
  readonly pyodideDir: string;
  readonly harness: string;
  readonly preload: readonly string[];
  readonly temp: string;
}

export type BuildReply =
  | {
      readonly kind: 'built';
      readonly bytes: number;
      readonly bootMs: number;
      readonly totalMs: number;
      readonly removed: string[];
    }
  | { readonly kind: 'failed'; readonly message: string };

interface Pyodide {
  runPython(code: string): unknown;
  globals: { set(name: string, value: unknown): void; delete(name: string): void };
  makeMemorySnapshot(): Uint8Array;
  _module: Record<string, unknown>;
}

async function build(request: BuildRequest): Promise<BuildReply> {
  const started = performance.now();
  for (const key of Object.keys(process.env)) delete process.env[key];
  shimProcessBinding(fsConstants as unknown as Record<string, number>);
  const { loadPyodide } = (await import(pathToFileURL(`${request.pyodideDir}pyodide.mjs`).href)) as {
    loadPyodide: (options: Record<string, unknown>) => Promise<Pyodide>;
  };
  // The same rewritten glue as the interpreters use: it decides the function table's layout, which
  // the snapshot's function pointers depend on.
  const glueUrl = pathToFileURL(`${request.pyodideDir}pyodide.asm.mjs`).href;
  const glue = evaluateGlue(vm, rewriteGlue(readFileSync(new URL(glueUrl), 'utf8'), glueUrl));
  const py = await loadPyodide({
    indexURL: request.pyodideDir,
    createPyodideModule: glue.create,
    _makeSnapshot: true,
    // Must have the same shape here and at restore time; an object with no prototype gives a guest
    // that reaches it nothing to climb.
    jsglobals: Object.create(null),
    env: {},
    stdout: () => undefined,
    stderr: () => undefined,
  });
  const bootMs = performance.now() - started;
  py.globals.set('_polyeval_source', request.harness);
  py.runPython(
    [
      'import sys, types',
      "_m = types.ModuleType('_polyeval')",
      "_m.__file__ = '_polyeval.py'",
      "sys.modules['_polyeval'] = _m",
      "exec(compile(_polyeval_source, '_polyeval.py', 'exec'), _m.__dict__)",
      'del _m, _polyeval_source',
    ].join('\n'),
  );
  py.runPython(request.preload.map((name) => `import ${name}`).join('\n'));
  const names = JSON.parse(
    py.runPython('import json, _polyeval; json.dumps(_polyeval.INITTAB_REMOVED)') as string,
  ) as string[];
  const removed = removeBuiltins(py._module, names);
  py.runPython(
    [
      'import _polyeval',
      '_polyeval.lockdown()',
      // Leave __main__ as empty as it was: calls never run there, but nothing should linger.
      "for _k in [k for k in globals() if not k.startswith('__')]: del globals()[_k]",
    ].join('\n'),
  );
  const snapshot = py.makeMemorySnapshot();
  // The service renames the file into place (the permission model lets this process write only).
  writeFileSync(request.temp, snapshot);
  return { kind: 'built', bytes: snapshot.length, bootMs, totalMs: performance.now() - started, removed };
}

process.once('message', (request: BuildRequest) => {
  build(request).then(
    (reply) => process.send!(reply, () => process.exit(0)),
    (error: unknown) =>
      process.send!(
        {
          kind: 'failed',
          message: error instanceof Error ? (error.stack ?? error.message) : String(error),
        } satisfies BuildReply,
        () => process.exit(1),
      ),
  );
});

// Builds the V8 code cache of Pyodide's glue after one full load, once per sandbox host, in a worker
// thread of its own (sandbox-host.ts starts it while preparing and waits for its answer). A cache
// made before the glue ever ran holds only what V8 compiles eagerly (~21 kB); made after a load,
// it also holds every function the load compiled lazily (~1.2 MB), which each interpreter worker
// would otherwise compile again (measured in interpreters/python/README.md, "Measured").
// No guest code runs here, ever: the worker loads an interpreter from the snapshot exactly as an
// interpreter worker does (same module, guarded and gated imports, sparse or dense restore, the
// same output and interrupt wiring), posts the cache and is terminated. A cache is trusted input
// to V8, so it is only ever made where no guest ran; a worker that served a call never makes one.

import { constants as fsConstants } from 'node:fs';
import { pathToFileURL } from 'node:url';
import * as vm from 'node:vm';
import { parentPort, workerData } from 'node:worker_threads';
import { PYTHON_DOORS } from './doors.js';
import {
  evaluateGlue,
  type Guards,
  ImportGate,
  moduleFactory,
  shimProcessBinding,
  snapshotPages,
  withoutLoaderWasmRead,
} from './engine.js';
import type { InterpreterWorkerData } from './interpreter-worker.js';

interface LoadedPyodide {
  setStdout(options: { write: (buffer: Uint8Array) => number }): void;
  setStderr(options: { write: (buffer: Uint8Array) => number }): void;
  setInterruptBuffer(buffer: Int32Array): void;
}

/** The message this worker posts: the cache, or why there is none. */
export type GlueCacheMessage =
  | { readonly ok: true; readonly cache: Uint8Array; readonly loadMs: number }
  | { readonly ok: false; readonly message: string };

async function build(data: InterpreterWorkerData): Promise<GlueCacheMessage> {
  const started = performance.now();
  shimProcessBinding(fsConstants as unknown as Record<string, number>);
  const { loadPyodide } = (await import(pathToFileURL(`${data.pyodideDir}pyodide.mjs`).href)) as {
    loadPyodide: (options: Record<string, unknown>) => Promise<LoadedPyodide>;
  };
  const glue = evaluateGlue(vm, data.glue, data.glueCache);
  const guards: Guards = { heapLimitBytes: Number.POSITIVE_INFINITY, heapRefused: false };
  const pages = snapshotPages(data.snapshot);
  const py = await withoutLoaderWasmRead(() =>
    loadPyodide({
      indexURL: data.pyodideDir,
      createPyodideModule: moduleFactory({
        create: glue.create,
        module: data.module,
        guards,
        gate: { gate: new ImportGate(), doors: PYTHON_DOORS },
        ...('sparse' in pages ? { sparse: pages.sparse } : {}),
      }),
      _loadSnapshot: 'sparse' in pages ? pages.sparse.header : pages.dense,
      jsglobals: Object.create(null),
      env: {},
      stdout: () => undefined,
      stderr: () => undefined,
    }),
  );
  const sink = { write: (buffer: Uint8Array): number => buffer.length };
  py.setStdout(sink);
  py.setStderr(sink);
  py.setInterruptBuffer(new Int32Array(new SharedArrayBuffer(4)));
  return { ok: true, cache: glue.createCachedData(), loadMs: performance.now() - started };
}

if (parentPort !== null) {
  const port = parentPort;
  build(workerData as InterpreterWorkerData).then(
    (message) => port.postMessage(message),
    (error: unknown) =>
      port.postMessage({
        ok: false,
        message: error instanceof Error ? error.message : String(error),
      } satisfies GlueCacheMessage),
  );
}

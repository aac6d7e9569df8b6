// Entry of the Python sandbox host process (started by executor.ts through process-host.ts, under
// the permission model, in its own namespaces). Its main thread compiles the Pyodide WASM binary
// once — with the memory maximum patched to the operator's ceiling — and checks the snapshot
// against the SHA-256 the service verified (snapshot.ts): a file changed on disk since then stops
// the host with a message instead of serving calls from an image nobody verified. Every
// interpreter worker receives the compiled module (which shares only immutable code) and the
// snapshot: in fresh mode (a worker per call) the host splits it into its non-zero pages once and
// each worker gets a copy (copied, never shared, so a compromised interpreter cannot alter what the
// next one restores from); in reset mode (a worker boots once, then resets in place, and more
// start only under load) each worker reads and checks the file itself, so the host keeps no copy.
// Before the first interpreter, one worker that never runs guest code loads an interpreter once so
// that the glue's code cache the workers receive holds what that load compiled
// (glue-cache-worker.ts).

import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import * as vm from 'node:vm';
import { Worker } from 'node:worker_threads';
import { collectGarbage } from '../../src/executor/host/collect-garbage.js';
import { serveSandboxHost } from '../../src/executor/host/process-runtime.js';
import { patchMemoryMaximum, readSnapshot, rewriteGlue, type SnapshotFile, WASM_PAGE } from './engine.js';
import type { GlueCacheMessage } from './glue-cache-worker.js';
import type { InterpreterWorkerData } from './interpreter-worker.js';
import { exportHiddenState, type ResetPart } from './reset.js';

/** The language part of the host's init config (built by executor.ts). */
export interface PythonHostConfig {
  readonly pyodideDir: string;
  readonly snapshotPath: string;
  /** Its SHA-256 (hex), checked when it is read: the file may have changed since the service checked it. */
  readonly snapshotSha256: string;
  /** The most memory any call may be given: the WASM memory maximum. */
  readonly maxMemoryMb: number;
  /** 'sparse' writes only the snapshot's non-zero pages; 'dense' is Pyodide's own HEAP8.set. */
  readonly restore: 'sparse' | 'dense';
  /** Ceiling of the in-memory filesystem write quota, in bytes (each call's quota is min(this, memory limit)). */
  readonly fsQuotaBytes: number;
  /** Run a trivial call in each interpreter before it counts as warm (the first call is slower). */
  readonly warmup: boolean;
  /** 'reset': one interpreter per worker, put back in place after each call; 'fresh': one per call. */
  readonly mode: 'reset' | 'fresh';
  /** Test-only (RESET_SKIP): parts of the reset left out, to prove that verification catches them. */
  readonly resetSkip: readonly ResetPart[];
}

/** How long the host waits for the code cache of a full load before using the one made without. */
const GLUE_CACHE_TIMEOUT_MS = 60_000;

/** Runs glue-cache-worker.ts once: the glue's code cache after a full load, or why not. */
function fullGlueCache(workerData: InterpreterWorkerData): Promise<GlueCacheMessage> {
  return new Promise((resolve) => {
    const worker = new Worker(new URL('./glue-cache-worker.js', import.meta.url), {
      workerData,
      env: {},
      stdout: true,
      stderr: true,
      resourceLimits: { maxOldGenerationSizeMb: 256, stackSizeMb: 32 },
    });
    worker.stdout.resume();
    worker.stderr.resume();
    const finish = (message: GlueCacheMessage): void => {
      clearTimeout(timer);
      resolve(message);
      void worker.terminate();
    };
    const timer = setTimeout(
      () => finish({ ok: false, message: `no cache within ${GLUE_CACHE_TIMEOUT_MS} ms` }),
      GLUE_CACHE_TIMEOUT_MS,
    );
    worker.once('message', (message: GlueCacheMessage) =>
      finish(
        message.ok && message.cache instanceof Uint8Array
          ? message
          : { ok: false, message: message.ok ? 'malformed answer' : message.message },
      ),
    );
    worker.once('error', (error) => finish({ ok: false, message: error.message }));
    worker.once('exit', (code) => finish({ ok: false, message: `the worker exited with code ${code}` }));
  });
}

serveSandboxHost({
  worker: new URL('./interpreter-worker.js', import.meta.url),
  async prepare(raw) {
    const config = raw as PythonHostConfig;
    const started = performance.now();
    const binary = readFileSync(`${config.pyodideDir}pyodide.asm.wasm`);
    const maxPages = Math.min(65_536, Math.ceil((config.maxMemoryMb * 2 ** 20) / WASM_PAGE));
    const capped = patchMemoryMaximum(binary, maxPages);
    // Reset mode reads and restores every mutable global and table, the hidden ones too.
    const module = new WebAssembly.Module(
      config.mode === 'reset' ? exportHiddenState(capped).binary : capped,
    );
    const compileMs = performance.now() - started;
    const glueUrl = pathToFileURL(`${config.pyodideDir}pyodide.asm.mjs`).href;
    const glue = rewriteGlue(readFileSync(new URL(glueUrl), 'utf8'), glueUrl);
    // Compiled here once; every worker starts from this code cache instead of parsing 1.2 MB.
    const glueCache = new vm.Script(glue.source, { filename: glue.filename }).createCachedData();
    const file: SnapshotFile = {
      path: config.snapshotPath,
      sha256: config.snapshotSha256,
      restore: config.restore,
    };
    // Read and checked here in both modes, so that a changed file stops the host at once.
    const pages = readSnapshot(file);
    const snapshotBytes =
      'sparse' in pages ? pages.sparse.header.length + pages.sparse.memoryBytes : pages.dense.length;
    let workerData: InterpreterWorkerData = {
      pyodideDir: config.pyodideDir,
      module,
      glue,
      glueCache: new Uint8Array(glueCache),
      snapshot: config.mode === 'reset' ? { file } : pages,
      fsQuotaBytes: config.fsQuotaBytes,
      warmup: config.warmup,
      ...(config.mode === 'reset' ? { reset: { skip: config.resetSkip } } : {}),
    };
    // Every interpreter worker starts from a code cache made after one full load (see
    // glue-cache-worker.ts); the one made above, before the glue ran, is the fallback.
    // The glue-cache worker restores from the pages read and checked above, not from the file again.
    const full = await fullGlueCache({ ...workerData, snapshot: pages });
    if (full.ok) workerData = { ...workerData, glueCache: full.cache };
    // Once this function has returned, the binary, its patched copy and (reset mode) the snapshot's
    // pages are garbage; this thread then mostly waits, and would not collect them.
    setTimeout(() => void collectGarbage(), 0);
    return {
      workerData,
      facts: {
        restore: config.restore,
        mode: config.mode,
        ...(config.resetSkip.length > 0 ? { resetSkip: config.resetSkip } : {}),
        snapshotBytes,
        ...('sparse' in pages ? { snapshotNonZeroBytes: pages.sparse.data.length } : {}),
        snapshotInWorkers:
          config.mode === 'reset' ? 'read from the file by each worker' : 'copied from the host',
        wasmMemoryMaxMb: (maxPages * WASM_PAGE) / 2 ** 20,
        compileMs: Math.round(compileMs),
        gluePatches: glue.patches,
        glueCache: full.ok
          ? { builtAfterLoad: true, bytes: full.cache.byteLength, loadMs: Math.round(full.loadMs) }
          : { builtAfterLoad: false, bytes: glueCache.byteLength, error: full.message },
      },
    };
  },
});

// Entry of the Python sandbox host process (started by executor.ts through process-host.ts, under
// the permission model, in its own namespaces). Its main thread compiles the Pyodide WASM binary
// once — with the memory maximum patched to the operator's ceiling — and reads the snapshot once,
// splitting it into its non-zero pages; every interpreter worker receives a copy of both (a
// compiled module shares only immutable code; the snapshot pages are copied, never shared, so a
// compromised interpreter cannot alter what the next one restores from). The snapshot is checked
// against the SHA-256 the service verified (snapshot.ts) as it is read: a file changed on disk since
// then stops the host with a message instead of serving calls from an image nobody verified.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import * as vm from 'node:vm';
import { serveSandboxHost } from '../../src/executor/host/process-runtime.js';
import { patchMemoryMaximum, rewriteGlue, toSparse, WASM_PAGE } from './engine.js';
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

serveSandboxHost({
  worker: new URL('./interpreter-worker.js', import.meta.url),
  prepare(raw) {
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
    const file = readFileSync(config.snapshotPath);
    const sha256 = createHash('sha256').update(file).digest('hex');
    if (sha256 !== config.snapshotSha256) {
      throw new Error(
        `Cannot start the Python sandbox host: the snapshot ${config.snapshotPath} changed since it was checked (SHA-256 ${sha256}, expected ${config.snapshotSha256}); restart the service to rebuild it`,
      );
    }
    const snapshot = new Uint8Array(file.buffer, file.byteOffset, file.byteLength);
    const sparse = config.restore === 'sparse' ? toSparse(snapshot) : undefined;
    const workerData: InterpreterWorkerData = {
      pyodideDir: config.pyodideDir,
      module,
      glue,
      glueCache: new Uint8Array(glueCache),
      ...(sparse === undefined ? { dense: snapshot } : { sparse }),
      fsQuotaBytes: config.fsQuotaBytes,
      warmup: config.warmup,
      ...(config.mode === 'reset' ? { reset: { skip: config.resetSkip } } : {}),
    };
    return {
      workerData,
      facts: {
        restore: config.restore,
        mode: config.mode,
        ...(config.resetSkip.length > 0 ? { resetSkip: config.resetSkip } : {}),
        snapshotBytes: snapshot.length,
        ...(sparse === undefined ? {} : { snapshotNonZeroBytes: sparse.data.length }),
        wasmMemoryMaxMb: (maxPages * WASM_PAGE) / 2 ** 20,
        compileMs: Math.round(compileMs),
        gluePatches: glue.patches,
      },
    };
  },
});

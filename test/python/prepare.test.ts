// How the Python host prepares interpreters cheaply (interpreters/python/README.md, "Measured"):
// Pyodide's loader does not read the 9.6 MB binary the host already compiled (engine.ts
// withoutLoaderWasmRead), the snapshot's pages can be collected once restored (moduleFactory keeps
// no reference to them), and every interpreter worker starts from a code cache of the glue made
// after one full load (glue-cache-worker.ts), which the workers accept. Real interpreters, a real
// server; speed itself is measured by `npm run bench`, never asserted here.

import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DirectCaller } from '../../interpreters/python/direct-call.js';
import {
  evaluateGlue,
  moduleFactory,
  rewriteGlue,
  type SparseSnapshot,
  toSparse,
  withoutLoaderWasmRead,
} from '../../interpreters/python/engine.js';
import { defaultCacheDir, ensureSnapshot } from '../../interpreters/python/snapshot.js';
import { collectGarbage } from '../../src/executor/host/collect-garbage.js';
import { postJson, type RunningServer, startServer } from '../helpers/server.js';

const pyodideDir = dirname(createRequire(import.meta.url).resolve('pyodide/package.json'));

describe("Pyodide's loader and the host's compiled module", () => {
  it('loads an interpreter from a folder without pyodide.asm.wasm: the loader reads no binary', async () => {
    const snapshot = await ensureSnapshot({ cacheDir: defaultCacheDir(), isolation: 'auto' });
    // Held here only weakly: once restored, the snapshot's pages must be free to go (reset mode's
    // workers boot once; each would otherwise keep its 14 MiB copy for its whole life).
    let sparse: SparseSnapshot | undefined = toSparse(new Uint8Array(readFileSync(snapshot.path)));
    const header = sparse.header;
    const pages = new WeakRef(sparse.data);
    const module = new WebAssembly.Module(readFileSync(`${pyodideDir}/pyodide.asm.wasm`));
    const glueUrl = pathToFileURL(`${pyodideDir}/pyodide.asm.mjs`).href;
    const glue = rewriteGlue(readFileSync(new URL(glueUrl), 'utf8'), glueUrl);
    // Everything the loader reads at start-up but the binary (which it would read first).
    const index = mkdtempSync(join(tmpdir(), 'polyeval-pyodide-'));
    for (const file of ['python_stdlib.zip', 'pyodide-lock.json']) {
      symlinkSync(join(pyodideDir, file), join(index, file));
    }
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown): void => {
      rejections.push(reason);
    };
    process.on('unhandledRejection', onRejection);
    try {
      const { loadPyodide } = (await import(pathToFileURL(`${pyodideDir}/pyodide.mjs`).href)) as {
        loadPyodide: (options: Record<string, unknown>) => Promise<{ _module: Record<string, unknown> }>;
      };
      let instance: WebAssembly.Instance | undefined;
      const createPyodideModule = moduleFactory({
        create: evaluateGlue(vm, glue).create,
        module,
        guards: { heapLimitBytes: Number.POSITIVE_INFINITY, heapRefused: false },
        sparse,
        onInstance: (created) => {
          instance = created;
        },
      });
      sparse = undefined;
      const py = await withoutLoaderWasmRead(() =>
        loadPyodide({
          indexURL: `${index}/`,
          createPyodideModule,
          _loadSnapshot: header,
          jsglobals: Object.create(null),
          env: {},
          stdout: () => undefined,
          stderr: () => undefined,
        }),
      );
      // A read of the missing binary would have failed after the load, unawaited: give it time.
      await new Promise((r) => setTimeout(r, 200));
      expect(rejections.map(String)).toEqual([]);
      expect('WasmOffsetConverter' in globalThis).toBe(false);
      const direct = new DirectCaller(instance!.exports);
      const runCall = direct.lookup('_polyeval', 'run_call');
      const text = direct.callForString(runCall, [
        'def add(a, b):\n    return a + b\n',
        'add',
        '[2, 3]',
        1000,
        'json',
      ]);
      expect(JSON.parse(text)).toEqual({ ok: true, valueJson: '5' });
      // The interpreter (and the factory, which Pyodide's config keeps) alive, its pages collected.
      await collectGarbage();
      await new Promise((r) => setTimeout(r, 0));
      await collectGarbage();
      expect(pages.deref()).toBeUndefined();
      expect([py._module, createPyodideModule]).not.toContain(undefined);
    } finally {
      process.off('unhandledRejection', onRejection);
      rmSync(index, { recursive: true, force: true });
    }
  });
});

describe('the glue code cache of the interpreter workers', () => {
  let server: RunningServer;

  beforeAll(async () => {
    // A new interpreter per call, so that the second call runs in an interpreter prepared (with the
    // cache) after the first was served; reset mode boots one per worker with the same cache.
    server = await startServer({
      POLYEVAL_LANGUAGES: 'python',
      POLYEVAL_POOL_SIZE: '1',
      POLYEVAL_PYTHON_INTERPRETER_MODE: 'fresh',
    });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('is made after a full load (much larger than the eager one), and every worker accepts it', async () => {
    // Two calls: the second runs in an interpreter prepared after the first was served.
    for (let i = 0; i < 2; i++) {
      const r = await postJson(`${server.url}/v1/evaluate`, {
        language: 'python',
        code: 'def add(a, b):\n    return a + b\n',
        function: 'add',
        args: [2, i],
      });
      expect(r.body).toMatchObject({ ok: true, value: 2 + i });
    }
    const r = await fetch(`${server.url}/v1/languages`);
    const { languages } = (await r.json()) as { languages: { id: string; details: any }[] };
    const details = languages.find((l) => l.id === 'python')!.details;
    expect(details.engine.glueCache).toMatchObject({ builtAfterLoad: true });
    // Made before the glue ran it held ~21 kB (what V8 compiles eagerly); after a load, ~1.2 MB.
    expect(details.engine.glueCache.bytes).toBeGreaterThan(500_000);
    for (const host of details.hosts) {
      expect(host.interpretersStarted).toBeGreaterThanOrEqual(2);
      expect(host.lastPrepareMs.glueCacheRejected).toBe(0);
    }
  });
});

// Lua executor: Lua 5.4 compiled to WebAssembly (the glue.wasm module of the wasmoon package, hosted
// with our own imports: see lua-vm.ts) in a pool of worker threads (src/executor/host/worker-executor.ts).
// The module is rewritten to import its memory (so that the operator's memory ceiling is the hard
// maximum of every VM's memory), compiled once here and handed to every worker; each call gets a
// never-used VM.

import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { CreateExecutor } from '../../src/executor/contract.js';
import { createWorkerExecutor } from '../../src/executor/host/worker-executor.js';
import { runnableSibling } from '../../src/paths.js';
import { importMemory } from './memory-import.js';
import type { RunnerData } from './runner.js';

const require = createRequire(import.meta.url);

export const createExecutor: CreateExecutor = (context) =>
  createWorkerExecutor(context, {
    runner: runnableSibling(import.meta.url, 'runner'),
    async workerData(): Promise<RunnerData> {
      const original = await readFile(require.resolve('wasmoon/dist/glue.wasm'));
      const { bytes, memory } = importMemory(original);
      const version = (require('wasmoon/package.json') as { version: string }).version;
      const ceilingPages = Math.ceil((context.ceilings.memoryMb * 1024 * 1024) / 65536);
      return {
        wasmModule: await WebAssembly.compile(bytes),
        packageVersion: version,
        initialPages: memory.initialPages,
        maximumPages: Math.max(memory.initialPages, Math.min(ceilingPages, memory.maximumPages ?? 65536)),
      };
    },
    // Lua calls Lua without recursing in C, and bounds C recursion itself (LUAI_MAXCCALLS); the
    // thread stack only needs room for the deepest C path. 256 MB of V8 heap: below that, WASM
    // memory growth triggers GCs (docs/design.md §5).
    resourceLimits: { stackSizeMb: 8, maxOldGenerationSizeMb: 256 },
  });

// JavaScript executor: QuickJS (bellard, via quickjs-emscripten's release-sync WASM build) in a pool
// of worker threads. The WASM module is compiled once here and handed to every worker; each worker
// gives every call a never-used QuickJS runtime and context: restored from a heap snapshot when the
// engine build is known (snapshot.ts), else created for the call (see runner.ts).

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { ConfigError } from '../../src/errors.js';
import type { CreateExecutor } from '../../src/executor/contract.js';
import { createWorkerExecutor } from '../../src/executor/host/worker-executor.js';
import { runnableSibling } from '../../src/paths.js';
import type { RunnerData } from './runner.js';

const require = createRequire(import.meta.url);

/** POLYEVAL_JAVASCRIPT_SNAPSHOTS: on (default; heap snapshots when the engine build is known) | off. */
function snapshotSetting(settings: Readonly<Record<string, string>>): boolean {
  const raw = settings.SNAPSHOTS;
  if (raw === undefined || raw === '' || raw === 'on') return true;
  if (raw === 'off') return false;
  throw new ConfigError(`Invalid POLYEVAL_JAVASCRIPT_SNAPSHOTS="${raw}": expected on or off`);
}

export const createExecutor: CreateExecutor = (context) => {
  // Read here, not when the workers start: a bad setting stops the service at boot, before it listens.
  const snapshots = snapshotSetting(context.settings);
  return createWorkerExecutor(context, {
    runner: runnableSibling(import.meta.url, 'runner'),
    async workerData(): Promise<RunnerData> {
      const bytes = await readFile(require.resolve('@jitl/quickjs-wasmfile-release-sync/wasm'));
      const version = (require('@jitl/quickjs-wasmfile-release-sync/package.json') as { version: string })
        .version;
      return {
        wasmModule: await WebAssembly.compile(bytes),
        packageVersion: version,
        wasmSha256: createHash('sha256').update(bytes).digest('hex'),
        snapshots,
      };
    },
    // A large thread stack with a small QuickJS stack limit turns every deep recursion into a clean
    // guest error (docs/design.md §5). 256 MB of V8 heap: below that, WASM memory growth triggers GCs.
    resourceLimits: { stackSizeMb: 16, maxOldGenerationSizeMb: 256 },
  });
};

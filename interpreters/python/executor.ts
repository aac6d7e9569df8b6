// The Python executor: CPython (Pyodide) in WebAssembly, in a separate locked-down sandbox host
// process; every call meets a never-used interpreter — by default one interpreter per worker put
// back in place after each call from its golden image (reset.ts), or a new interpreter per call. This file only turns operator settings into the
// options of the generic process executor (src/executor/host/process-host.ts), makes sure the
// memory snapshot exists (snapshot.ts) and adds the service side of the value codecs (codec.ts).
// README.md explains why the engine is wired this way.
//
// Settings (POLYEVAL_PYTHON_<KEY>):
//   ISOLATION              required | auto | off — the OS layer for the host (default auto)
//   INTERPRETER_MODE       reset | fresh — reset one interpreter per worker in place after each call
//                          (default), or a new interpreter for every call
//   RESET_MAX_CALLS        calls one worker serves in reset mode before it is replaced (default 1000)
//   RESET_VERIFY_EVERY     compare the state after every Nth reset with the golden image (default 100;
//                          1 = every call; 0 = only a worker's first reset and after failed calls)
//   RESET_MAX_MEMORY_MB    a worker whose call used more (memory + files) is discarded (default 96);
//                          one whose heap grew at all is discarded anyway
//   RESET_SKIP             test only: comma-separated parts of the reset to leave out (none by default)
//   HOSTS                  sandbox host processes (default 1)
//   WARM                   interpreters kept waiting per host (default: 1 in reset mode, where one
//                          interpreter serves hundreds of calls a second; capacity / hosts in fresh mode)
//   SPAWN_AFTER_MS         reset mode: a call that waited this long for a busy interpreter gets one
//                          of its own, up to the capacity (default 0: at once)
//   IDLE_RETIRE_MS         reset mode: an interpreter beyond WARM idle this long is retired (default 30000)
//   CALLS_PER_INTERPRETER  1 = strict single use (default); more weakens isolation between calls
//   INTERPRETERS_PER_WORKER 1 = a new worker for every interpreter (default); more prepares fresh
//                          interpreters in turn in one worker (faster; weakens isolation, see README)
//   RESTORE                sparse | dense snapshot restore (default sparse)
//   WARMUP                 1 | 0: run a trivial call in each interpreter before it is warm (default 0)
//   SPAWN_CONCURRENCY      interpreters prepared at once per host (default 2)
//   FS_QUOTA_MB            ceiling of the per-call filesystem/pipe write quota (default 64)
//   GRACE_MS               time between the interrupt at the deadline and terminating the worker (default 150)
//   HOST_RSS_LIMIT_MB      resident memory at which a host's busy interpreters are stopped (default computed)
//   SNAPSHOT_DIR           where the snapshot is cached (default .cache/python/ under the project root)

import { fileURLToPath } from 'node:url';
import type { Executor, ExecutorContext } from '../../src/executor/contract.js';
import { createProcessExecutor } from '../../src/executor/host/process-host.js';
import { parseIsolationMode } from '../../src/executor/host/process-isolation.js';
import type { HostRuntimeConfig } from '../../src/executor/host/process-runtime.js';
import { onDemandSettings, intSetting as readInt } from '../../src/executor/settings.js';
import { distDir, projectRoot, runnableSibling } from '../../src/paths.js';
import { withCodecs } from './codec.js';
import { RESET_PARTS, type ResetPart } from './reset.js';
import type { PythonHostConfig } from './sandbox-host.js';
import { defaultCacheDir, ensureSnapshot, findPyodide } from './snapshot.js';

function intSetting(
  settings: Readonly<Record<string, string>>,
  key: string,
  fallback: number,
  min: number,
  max: number,
): number {
  return readInt(settings, 'python', key, fallback, min, max);
}

function choice<T extends string>(
  settings: Readonly<Record<string, string>>,
  key: string,
  options: readonly T[],
  fallback: T,
): T {
  const raw = settings[key];
  if (raw === undefined || raw === '') return fallback;
  if (!(options as readonly string[]).includes(raw)) {
    throw new Error(`Invalid POLYEVAL_PYTHON_${key}="${raw}": expected one of ${options.join(', ')}`);
  }
  return raw as T;
}

export function createExecutor(context: ExecutorContext): Executor {
  const { settings } = context;
  const isolation = parseIsolationMode(settings.ISOLATION);
  const capacity = Math.max(1, context.poolSize);
  const hosts = intSetting(settings, 'HOSTS', 1, 1, 64);
  const callsPerWorker = intSetting(settings, 'CALLS_PER_INTERPRETER', 1, 1, 1_000_000);
  const interpretersPerWorker = intSetting(settings, 'INTERPRETERS_PER_WORKER', 1, 1, 1_000_000);
  // The two older ways of sharing a worker are settings of the fresh mode; asking for one of them
  // without naming a mode means fresh.
  const mode = choice(
    settings,
    'INTERPRETER_MODE',
    ['reset', 'fresh'] as const,
    callsPerWorker > 1 || interpretersPerWorker > 1 ? 'fresh' : 'reset',
  );
  if (mode === 'reset' && (callsPerWorker > 1 || interpretersPerWorker > 1)) {
    throw new Error(
      'Invalid POLYEVAL_PYTHON_INTERPRETER_MODE="reset": CALLS_PER_INTERPRETER and INTERPRETERS_PER_WORKER apply to the fresh mode only',
    );
  }
  // In reset mode one interpreter is kept waiting; a second one is spawned when a call finds none
  // waiting (or has waited SPAWN_AFTER_MS), and retired after IDLE_RETIRE_MS idle, so an idle host
  // holds one interpreter (~85 MiB) instead of its whole capacity, and a load keeps its capacity.
  const { warm, spawnAfterMs, idleRetireMs } = onDemandSettings(settings, 'python', {
    fallback: mode === 'reset' ? 1 : Math.max(1, Math.ceil(capacity / hosts)),
    min: 0,
  });
  const resetMaxCalls = intSetting(settings, 'RESET_MAX_CALLS', 1000, 1, 1_000_000_000);
  const resetVerifyEvery = intSetting(settings, 'RESET_VERIFY_EVERY', 100, 0, 1_000_000_000);
  const resetMaxMemoryMb = intSetting(settings, 'RESET_MAX_MEMORY_MB', 96, 32, 65_536);
  const resetSkip = (settings.RESET_SKIP ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
  for (const part of resetSkip) {
    if (!(RESET_PARTS as readonly string[]).includes(part))
      throw new Error(
        `Invalid POLYEVAL_PYTHON_RESET_SKIP="${settings.RESET_SKIP}": expected parts among ${RESET_PARTS.join(', ')}`,
      );
  }
  const restore = choice(settings, 'RESTORE', ['sparse', 'dense'] as const, 'sparse');
  // Measured: the warm-up call costs CPU per interpreter and did not change the latency of the
  // first real call measurably (README, "Measured"), so it is off by default.
  const warmup = choice(settings, 'WARMUP', ['1', '0'] as const, '0') === '1';
  const spawnConcurrency = intSetting(settings, 'SPAWN_CONCURRENCY', 2, 1, 64);
  const fsQuotaMb = intSetting(settings, 'FS_QUOTA_MB', 64, 1, 65_536);
  const graceMs = intSetting(settings, 'GRACE_MS', 150, 0, 60_000);
  const maxMemoryMb = Math.min(4096, Math.max(64, context.ceilings.memoryMb));
  // Per interpreter: the WASM memory at its cap, the write quota, ~90 MiB of worker and JS heap.
  const perInterpreterMb = maxMemoryMb + fsQuotaMb + 90;
  const hostSlots = warm + Math.ceil(capacity / hosts);
  const rssLimitMb = intSetting(
    settings,
    'HOST_RSS_LIMIT_MB',
    250 + hostSlots * perInterpreterMb,
    64,
    1_048_576,
  );
  const cacheDir = settings.SNAPSHOT_DIR ?? defaultCacheDir();
  const pyodide = findPyodide();
  if (callsPerWorker > 1) {
    context.log(
      'warn',
      'Python interpreters serve more than one call each (CALLS_PER_INTERPRETER > 1): calls are not isolated from each other',
      {
        callsPerInterpreter: callsPerWorker,
      },
    );
  }

  if (resetSkip.length > 0) {
    context.log(
      'warn',
      'Python resets in place leave parts out (RESET_SKIP, a test setting): calls are not isolated from each other',
      { resetSkip },
    );
  }

  if (interpretersPerWorker > 1) {
    context.log(
      'warn',
      "Python workers prepare several interpreters in turn (INTERPRETERS_PER_WORKER > 1): a guest that reached a worker's JavaScript could affect later calls in that worker",
      {
        interpretersPerWorker,
      },
    );
  }

  const host: HostRuntimeConfig = {
    warm,
    callsPerWorker,
    interpretersPerWorker,
    // Renew only workers whose interpreter stayed near its restored size (~30 MiB): a big one
    // would leave its memory to the garbage collector while the next interpreter loads.
    renewMaxMemoryBytes: 96 * 2 ** 20,
    graceMs,
    spawnConcurrency,
    rssLimitBytes: rssLimitMb * 2 ** 20,
    // A JS heap cap for the worker (WASM memory is capped separately); ≥ 256 MB so that WASM
    // growth does not trigger a GC every time. A 32 MiB thread stack lets CPython's own checks
    // raise RecursionError (up to the clamped limit, see harness.py) before V8's stack overflows,
    // which would end the interpreter; it is address space, used only as deep as a call recurses.
    resourceLimits: { maxOldGenerationSizeMb: 256, stackSizeMb: 32 },
    ...(mode === 'reset'
      ? {
          reset: {
            maxCalls: resetMaxCalls,
            verifyEvery: resetVerifyEvery,
            maxMemoryBytes: resetMaxMemoryMb * 2 ** 20,
            timeoutMs: 5000,
            spawnAfterMs,
            idleRetireMs,
          },
        }
      : {}),
  };

  const entry = runnableSibling(import.meta.url, 'sandbox-host');
  const executor = createProcessExecutor(context, {
    entry,
    // package.json: Node ≥ 22 checks module loading against the permission model too, and the
    // loader reads the project's package.json to learn that dist/*.js are ES modules.
    codePaths: [
      fileURLToPath(new URL('src/executor/host/', distDir)),
      fileURLToPath(new URL('./', entry)),
      fileURLToPath(new URL('package.json', projectRoot)),
    ],
    async prepare() {
      const snapshot = await ensureSnapshot({
        cacheDir,
        isolation,
        log: (level, message, fields) => context.log(level, message, fields),
      });
      const language: PythonHostConfig = {
        pyodideDir: pyodide.dir,
        snapshotPath: snapshot.path,
        snapshotSha256: snapshot.sha256,
        maxMemoryMb,
        restore,
        fsQuotaBytes: fsQuotaMb * 2 ** 20,
        warmup,
        mode,
        resetSkip: resetSkip as ResetPart[],
      };
      return {
        readPaths: [pyodide.dir, snapshot.path, '/proc/thread-self/schedstat'],
        config: language,
        facts: {
          pyodide: pyodide.version,
          snapshot: {
            key: snapshot.key,
            sha256: snapshot.sha256,
            ...(snapshot.temporary === true ? { temporary: true } : {}),
            ...(snapshot.built === undefined ? {} : { builtMs: Math.round(snapshot.built.totalMs) }),
          },
          interpretersPerHost: warm,
          interpreterMode: mode,
          fsQuotaMb,
          hostRssLimitMb: rssLimitMb,
        },
      };
    },
    host,
    hosts,
    capacity,
    isolation,
    isolationSetting: 'POLYEVAL_PYTHON_ISOLATION',
    hostRssLimitBytes: Math.round(rssLimitMb * 1.5) * 2 ** 20,
    // V8's young generation grows to 16 MiB semi-spaces in the host's thread while it prepares
    // (files, the compile, the glue) and in each worker while its interpreter loads, and an idle
    // isolate never gives them back. The guest's memory is WASM memory, and a call's JS garbage is
    // small: 1 MiB semi-spaces (a flag, so every isolate of the host has them) cost no measurable
    // speed and ~20 MiB of the idle host (README, "Memory").
    nodeFlags: ['--max-semi-space-size=1'],
  });
  // The "zobject" codec (Wikifunctions) needs a little help on this side: see codec.ts.
  return withCodecs(executor);
}

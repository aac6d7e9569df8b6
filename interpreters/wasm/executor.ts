// The raw WebAssembly executor: validate, instrument and compile a module once (in the compile
// worker), cache it by content hash, and run each call in a fresh instance on a sandbox worker
// (runner.ts) with its memory capped, fuel counted and an in-memory WASI. See README.md for why it
// is wired this way.

import { fileURLToPath } from 'node:url';
import { ServiceError } from '../../src/errors.js';
import type {
  Call,
  Deployment,
  ExecuteOptions,
  ExecutionResult,
  Executor,
  ExecutorContext,
  GuestError,
  Readiness,
} from '../../src/executor/contract.js';
import { safeName } from '../../src/executor/echo.js';
import { createWorkerExecutor } from '../../src/executor/host/worker-executor.js';
import { stringifyJson } from '../../src/executor/json-value.js';
import { projectRoot, runnableSibling } from '../../src/paths.js';
import { hashCode, ModuleCache } from './cache.js';
import { type CompileOutcome, Compiler } from './compiler.js';
import { Components } from './component/components.js';
import { formatMiB, isComponent } from './instrument.js';
import type { CompiledModule, ModuleSummary, OptimizeLevel, RunPlan, WasmCall } from './protocol.js';
import type { RunnerData } from './runner.js';
import { toWasmArgs } from './values.js';

const PAGES_PER_MIB = 16;
const WASM_PAGES_MAX = 65536;
const OPTIMIZE_LEVELS = new Set(['O1', 'O2', 'O3', 'O4', 'Os', 'Oz']);

export interface WasmSettings {
  /** Fuel units per millisecond of the call's time limit; 0 disables the fuel stop (not the count). */
  readonly fuelPerMs: number;
  readonly cacheEntries: number;
  readonly cacheMb: number;
  /** binaryen optimization at deploy time, or null for none. */
  readonly optimize: OptimizeLevel | null;
  readonly compileTimeoutMs: number;
  /** Most elements a table may start with; declared table maxima are lowered to it. */
  readonly tableElements: number;
  readonly recycleMemories: boolean;
  /** JS heap of each sandbox worker (guest GC objects and tables live there), in MiB. */
  readonly workerHeapMb: number;
  /** Where deployed components are stored (instrumented core modules, glue, manifest). */
  readonly componentDir: string;
  /** Resident memory allowed to the process that transpiles one component, in MiB. */
  readonly transpileMemoryMb: number;
  /** Transpile jobs that may wait behind the running one (beyond: 503 overloaded). */
  readonly transpileQueue: number;
  readonly compileQueue: number;
  readonly compileIdleMs: number;
  /** Most core modules a component may hold. */
  readonly componentCoreModules: number;
  /** Most components kept deployed at once (least recently used evicted, files removed). */
  readonly componentEntries: number;
  /** Start the component sandbox host with the executor (eager) or at the first component call (lazy). */
  readonly componentSandbox: 'eager' | 'lazy';
}

export const DEFAULT_SETTINGS: WasmSettings = {
  fuelPerMs: 1_000_000,
  cacheEntries: 512,
  cacheMb: 256,
  optimize: 'O2',
  compileTimeoutMs: 30_000,
  tableElements: 100_000,
  recycleMemories: true,
  workerHeapMb: 256,
  componentDir: fileURLToPath(new URL('.cache/components', projectRoot)),
  transpileMemoryMb: 1024,
  transpileQueue: 8,
  compileQueue: 16,
  compileIdleMs: 30_000,
  componentCoreModules: 64,
  componentEntries: 64,
  componentSandbox: 'lazy',
};

/** Reads POLYEVAL_WASM_<NAME> settings, whichever way the core hands them over. */
export function parseSettings(raw: Readonly<Record<string, string>>): WasmSettings {
  const get = (name: string): string | undefined => {
    const camel = name.toLowerCase().replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
    return raw[name] ?? raw[`POLYEVAL_WASM_${name}`] ?? raw[camel] ?? raw[name.toLowerCase()];
  };
  const int = (name: string, fallback: number, min: number): number => {
    const text = get(name);
    if (text === undefined || text.trim() === '') return fallback;
    const value = Number(text);
    if (!Number.isSafeInteger(value) || value < min) {
      throw new Error(`POLYEVAL_WASM_${name} must be an integer of at least ${min}, got "${text}"`);
    }
    return value;
  };
  const optimizeText = get('OPTIMIZE');
  let optimize = DEFAULT_SETTINGS.optimize;
  if (optimizeText !== undefined && optimizeText.trim() !== '') {
    const t = optimizeText.trim();
    if (/^(off|none|0|false)$/i.test(t)) optimize = null;
    else if (OPTIMIZE_LEVELS.has(t)) optimize = t as OptimizeLevel;
    else throw new Error(`POLYEVAL_WASM_OPTIMIZE must be off, O1, O2, O3, O4, Os or Oz, got "${t}"`);
  }
  const recycle = get('RECYCLE_MEMORIES');
  return {
    fuelPerMs: int('FUEL_PER_MS', DEFAULT_SETTINGS.fuelPerMs, 0),
    cacheEntries: int('CACHE_ENTRIES', DEFAULT_SETTINGS.cacheEntries, 1),
    cacheMb: int('CACHE_MB', DEFAULT_SETTINGS.cacheMb, 1),
    optimize,
    compileTimeoutMs: int('COMPILE_TIMEOUT_MS', DEFAULT_SETTINGS.compileTimeoutMs, 100),
    tableElements: int('TABLE_ELEMENTS', DEFAULT_SETTINGS.tableElements, 1),
    recycleMemories:
      recycle === undefined ? DEFAULT_SETTINGS.recycleMemories : !/^(0|false|off|no)$/i.test(recycle),
    workerHeapMb: int('WORKER_HEAP_MB', DEFAULT_SETTINGS.workerHeapMb, 64),
    componentDir: get('COMPONENT_DIR')?.trim() || DEFAULT_SETTINGS.componentDir,
    transpileMemoryMb: int('TRANSPILE_MEMORY_MB', DEFAULT_SETTINGS.transpileMemoryMb, 128),
    transpileQueue: int('TRANSPILE_QUEUE', DEFAULT_SETTINGS.transpileQueue, 0),
    compileQueue: int('COMPILE_QUEUE', DEFAULT_SETTINGS.compileQueue, 0),
    compileIdleMs: int('COMPILE_IDLE_MS', DEFAULT_SETTINGS.compileIdleMs, 0),
    componentCoreModules: int('COMPONENT_CORE_MODULES', DEFAULT_SETTINGS.componentCoreModules, 1),
    componentEntries: int('COMPONENT_ENTRIES', DEFAULT_SETTINGS.componentEntries, 1),
    componentSandbox: componentSandbox(get('COMPONENT_SANDBOX')),
  };
}

function componentSandbox(text: string | undefined): 'eager' | 'lazy' {
  const t = text?.trim() ?? '';
  if (t === '' || t === 'lazy') return 'lazy';
  if (t === 'eager') return 'eager';
  throw new Error(`POLYEVAL_WASM_COMPONENT_SANDBOX must be eager or lazy, got "${t}"`);
}

type PlanResult =
  | { readonly ok: true; readonly plan: RunPlan }
  | { readonly ok: false; readonly error: GuestError };

/** Decides how to run a call on a module: its calling convention, arguments, memory and fuel. */
export function planCall(
  call: Call,
  summary: ModuleSummary,
  settings: Pick<WasmSettings, 'fuelPerMs'>,
): PlanResult {
  const name = call.function;
  let memory: RunPlan['memory'] = null;
  if (summary.memory !== null) {
    const cap = Math.min(WASM_PAGES_MAX, Math.floor(call.limits.memoryMb * PAGES_PER_MIB));
    if (summary.memory.initial > cap) {
      return {
        ok: false,
        error: {
          code: 'MEMORY_LIMIT',
          message: `Cannot run "${name}": the module's memory starts at ${formatMiB(summary.memory.initial)}, over the memory limit of ${call.limits.memoryMb} MiB`,
        },
      };
    }
    memory = {
      initial: summary.memory.initial,
      maximum: Math.min(summary.memory.maximum ?? WASM_PAGES_MAX, cap),
    };
  }
  const fuel =
    settings.fuelPerMs === 0
      ? Number.MAX_SAFE_INTEGER
      : Math.min(Number.MAX_SAFE_INTEGER, Math.max(1, call.limits.timeoutMs) * settings.fuelPerMs);
  const base = {
    moduleId: summary.id,
    memory,
    hasStart: summary.hasStart,
    reactor: summary.reactor,
    fuel,
  };
  const type = summary.functions[name];
  if (type !== undefined && name !== '_start' && name !== '_initialize') {
    const converted = toWasmArgs(name, type, call.args);
    if (!converted.ok) return { ok: false, error: { code: 'INVALID_ARGUMENT', message: converted.message } };
    return {
      ok: true,
      plan: { ...base, mode: 'function', entry: name, type, args: converted.value, stdin: '' },
    };
  }
  if (summary.command) {
    return {
      ok: true,
      plan: {
        ...base,
        mode: 'command',
        entry: '_start',
        type: summary.functions._start!,
        args: [],
        stdin: `${stringifyJson(call.args)}\n`,
      },
    };
  }
  const available = Object.keys(summary.functions).filter((n) => n !== '_initialize');
  const list =
    available.length === 0
      ? 'it exports no functions'
      : `it exports ${available
          .slice(0, 10)
          .map((n) => `"${safeName(n)}"`)
          .join(', ')}${available.length > 10 ? '…' : ''}`;
  return {
    ok: false,
    error: {
      code: 'ENTRY_NOT_FOUND',
      message: `Cannot run "${safeName(name)}": the module has no exported function "${safeName(name)}" and is not a WASI command (no "_start"); ${list}`,
    },
  };
}

/**
 * Whether `code` is a component in WebAssembly text (`(component …)` after leading whitespace and
 * comments; only the first 64 KiB are looked at).
 */
export function isComponentText(code: string): boolean {
  const head = code.slice(0, 65536);
  let at = 0;
  for (;;) {
    while (at < head.length && /\s/.test(head[at]!)) at++;
    if (head.startsWith(';;', at)) {
      const end = head.indexOf('\n', at);
      if (end < 0) return false;
      at = end + 1;
    } else if (head.startsWith('(;', at)) {
      const end = head.indexOf(';)', at + 2);
      if (end < 0) return false;
      at = end + 2;
    } else {
      return /^\(component\b/.test(head.slice(at, at + 11));
    }
  }
}

/**
 * Whether base64 `code` holds a component (its header, from the first 12 characters only: the
 * whole text, up to tens of MB, is decoded in the transpile child, never on the event loop).
 */
export function looksLikeComponent(code: string): boolean {
  if (isComponentText(code)) return true;
  const head = code.slice(0, 1024).replace(/\s+/g, '').slice(0, 12);
  if (!/^[A-Za-z0-9+/_-]{12}$/.test(head)) return false;
  return isComponent(new Uint8Array(Buffer.from(head, 'base64')));
}

/** Whether a cached module serves a request for `optimize` (an optimizer that failed counts as tried). */
function satisfies(entry: CompiledModule, optimize: OptimizeLevel | null): boolean {
  return (
    optimize === null || entry.summary.optimize === optimize || entry.summary.optimizeSkipped !== undefined
  );
}

function deploymentDetails(summary: ModuleSummary, cached: boolean): Record<string, unknown> {
  return {
    kind: summary.command ? 'wasi-command' : summary.reactor ? 'wasi-reactor' : 'library',
    functions: Object.fromEntries(
      Object.entries(summary.functions).map(([n, t]) => [
        n,
        `(${t.params.join(', ')}) -> (${t.results.join(', ')})`,
      ]),
    ),
    wasiImports: summary.wasiImports,
    memory:
      summary.memory === null
        ? null
        : { initialPages: summary.memory.initial, maximumPages: summary.memory.maximum },
    sizes: {
      originalBytes: summary.sizes.original,
      ...(summary.sizes.optimized === undefined ? {} : { optimizedBytes: summary.sizes.optimized }),
      instrumentedBytes: summary.sizes.instrumented,
    },
    optimize: summary.optimize,
    ...(summary.optimizeSkipped === undefined ? {} : { optimizeSkipped: summary.optimizeSkipped }),
    compileMs: Math.round(summary.compileMs * 100) / 100,
    cached,
  };
}

export function createExecutor(context: ExecutorContext): Executor {
  const settings = parseSettings(context.settings);
  const cache = new ModuleCache({
    maxEntries: settings.cacheEntries,
    maxBytes: settings.cacheMb * 1024 * 1024,
  });
  const compiler = new Compiler({
    script: runnableSibling(import.meta.url, 'compile-worker'),
    timeoutMs: settings.compileTimeoutMs,
    maxJobs: 500,
    queueMax: settings.compileQueue,
    idleMs: settings.compileIdleMs,
    tableElements: settings.tableElements,
    log: context.log,
  });
  const runnerData: RunnerData = { recycleMemories: settings.recycleMemories };
  const pool = createWorkerExecutor(context, {
    runner: runnableSibling(import.meta.url, 'runner'),
    workerData: () => runnerData,
    resourceLimits: { maxOldGenerationSizeMb: settings.workerHeapMb },
  });
  const maxInitialPages = Math.min(WASM_PAGES_MAX, context.ceilings.memoryMb * PAGES_PER_MIB);
  const components = new Components(context, {
    storeDir: settings.componentDir,
    transpileTimeoutMs: settings.compileTimeoutMs,
    transpileMemoryMb: settings.transpileMemoryMb,
    transpileQueue: settings.transpileQueue,
    maxCoreModules: settings.componentCoreModules,
    tableElements: settings.tableElements,
    maxInitialPages,
    fuelPerMs: settings.fuelPerMs,
    maxComponents: settings.componentEntries,
  });
  const inflight = new Map<string, Promise<CompileOutcome>>();

  /** Compiles `code` (once, even when several calls ask at the same time) and caches the result. */
  function obtain(
    code: string,
    optimize: OptimizeLevel | null,
  ): Promise<CompileOutcome & { fresh?: boolean }> {
    const codeHash = hashCode(code);
    const key = `${optimize ?? '-'}:${codeHash}`;
    const cached = cache.getByCode(codeHash);
    if (cached !== undefined && satisfies(cached, optimize)) {
      return Promise.resolve({ ok: true, compiled: cached });
    }
    const running = inflight.get(key);
    if (running !== undefined) return running;
    const job = compiler
      .compile(code, { optimize, maxInitialPages })
      .finally(() => inflight.delete(key))
      .then((outcome): CompileOutcome & { fresh?: boolean } => {
        if (!outcome.ok) return outcome;
        // The same module may already be cached (deployed, perhaps optimized): keep that one.
        const existing = cache.get(outcome.compiled.summary.id);
        const keep: CompiledModule =
          existing !== undefined && satisfies(existing, optimize) ? existing : outcome.compiled;
        cache.set(keep, codeHash);
        return { ok: true, compiled: keep, fresh: keep === outcome.compiled };
      });
    inflight.set(key, job);
    return job;
  }

  async function runComponent(
    call: Call,
    summary: Parameters<Components['plan']>[1],
    started: number,
    compileMs: number | undefined,
    options: ExecuteOptions | undefined,
  ): Promise<ExecutionResult> {
    const planned = components.plan(call, summary);
    if (!planned.ok) return failed(planned.error, started);
    const result = await components.execute(call, planned.plan, options);
    return compileMs === undefined ? result : { ...result, stats: { ...result.stats, compileMs } };
  }

  function failed(error: GuestError, started: number): ExecutionResult {
    return {
      ok: false,
      error,
      stdout: '',
      stderr: '',
      stats: { durationMs: performance.now() - started, cpuMs: 0, memoryBytes: 0 },
    };
  }

  return {
    get capacity() {
      return pool.capacity;
    },
    async start() {
      // The compile worker starts with the first text module or deployment (and stops after
      // COMPILE_IDLE_MS idle): a service that runs only binary or cached modules never holds it.
      await Promise.all([
        pool.start(),
        settings.componentSandbox === 'eager' ? components.start() : undefined,
      ]);
    },
    readiness(): Readiness {
      const base = pool.readiness();
      return {
        ready: base.ready,
        details: {
          ...base.details,
          modules: {
            cached: cache.size,
            approximateMb: Math.round(cache.approximateBytes / 1048576),
            ...cache.counters,
          },
          compiler: { pending: compiler.pending, ...compiler.counters },
          fuelPerMs: settings.fuelPerMs,
          optimizeOnDeploy: settings.optimize ?? 'off',
          recycleMemories: settings.recycleMemories,
          components: components.readiness(),
        },
      };
    },
    async execute(call: Call, options?: ExecuteOptions): Promise<ExecutionResult> {
      const started = performance.now();
      let compiled: CompiledModule;
      let compileMs: number | undefined;
      const component = call.module === undefined ? undefined : components.get(call.module);
      if (component !== undefined) return runComponent(call, component, started, undefined, options);
      if (call.code !== undefined && looksLikeComponent(call.code)) {
        const outcome = await components.obtain(call.code);
        if (!outcome.ok) return failed(outcome.error, started);
        return runComponent(
          call,
          outcome.summary,
          started,
          outcome.fresh ? outcome.summary.transpileMs : undefined,
          options,
        );
      }
      if (call.module !== undefined) {
        const found = cache.get(call.module);
        if (found === undefined) {
          throw new ServiceError(
            'unknown-module',
            `No wasm module with id "${call.module}" is deployed here (it may have been evicted from the cache: deploy it again)`,
          );
        }
        compiled = found;
      } else if (call.code !== undefined) {
        const outcome = await obtain(call.code, null);
        if (!outcome.ok) return failed(outcome.error, started);
        compiled = outcome.compiled;
        if (outcome.fresh === true) compileMs = compiled.summary.compileMs;
      } else {
        throw new ServiceError('invalid-request', 'A wasm call needs either "code" or "module"');
      }
      const planned = planCall(call, compiled.summary, settings);
      if (!planned.ok) return failed(planned.error, started);
      const { code: _code, ...rest } = call;
      const wasmCall: WasmCall = { ...rest, payload: { module: compiled.module, plan: planned.plan } };
      const result = await pool.execute(wasmCall, options);
      return compileMs === undefined ? result : { ...result, stats: { ...result.stats, compileMs } };
    },
    async deploy(code: string): Promise<Deployment | { error: GuestError }> {
      if (looksLikeComponent(code)) {
        const made = await components.obtain(code);
        if (!made.ok) return { error: made.error };
        return { id: made.summary.id, details: components.details(made.summary, !made.fresh) };
      }
      const outcome = await obtain(code, settings.optimize);
      if (!outcome.ok) return { error: outcome.error };
      const summary = outcome.compiled.summary;
      return { id: summary.id, details: deploymentDetails(summary, outcome.fresh !== true) };
    },
    engineVersion() {
      return pool.engineVersion();
    },
    async close() {
      await Promise.all([pool.close(), compiler.close(), components.close()]);
    },
  };
}

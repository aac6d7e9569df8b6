// The service side of WebAssembly components (README "Components"): deploy = transpile in a
// bounded child process (transpiler.ts), then write the instrumented core modules, the generated
// glue and a manifest into this process's store folder (<storeDir>/<pid>-<random>/<id>/, id =
// sha256 of the component; removed at close, so that processes sharing a storeDir never meet);
// call = plan (export, JSON arguments checked against the WIT types, memory cap, fuel) here, run in
// the confined sandbox host process (sandbox-host.ts) through the generic process executor, the
// one Python uses. Generated glue never runs in this process.

import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type {
  Call,
  ExecuteOptions,
  ExecutionResult,
  Executor,
  ExecutorContext,
  GuestError,
} from '../../../src/executor/contract.js';
import { safeName } from '../../../src/executor/echo.js';
import { createProcessExecutor } from '../../../src/executor/host/process-host.js';
import { parseIsolationMode } from '../../../src/executor/host/process-isolation.js';
import { distDir, projectRoot, runnableSibling } from '../../../src/paths.js';
import { hashCode } from '../cache.js';
import type { ComponentManifest, ComponentPlan } from './component-worker.js';
import type { ComponentHostConfig } from './sandbox-host.js';
import { componentWasmFlags, Transpiler } from './transpiler.js';
import { unsupportedComponentImports } from './wasi-p2/index.js';
import { describeType, toGuest, ValueError, type WorldExports } from './wit.js';

export interface ComponentSettings {
  readonly storeDir: string;
  readonly transpileTimeoutMs: number;
  readonly transpileMemoryMb: number;
  readonly transpileQueue: number;
  readonly maxCoreModules: number;
  readonly tableElements: number;
  readonly maxInitialPages: number;
  readonly fuelPerMs: number;
  /** Most components kept deployed (in memory and in the store); the least recently used goes first. */
  readonly maxComponents: number;
}

export interface ComponentSummary {
  readonly id: string;
  readonly bytes: number;
  readonly exports: WorldExports;
  readonly imports: readonly string[];
  readonly coreModules: number;
  readonly transpileMs: number;
}

const COMMAND_INTERFACE = /^wasi:cli\/run@/;

export class Components {
  private readonly transpiler: Transpiler;
  private readonly byId = new Map<string, ComponentSummary>();
  private readonly byCode = new Map<string, string>();
  private readonly inflight = new Map<
    string,
    Promise<{ ok: true; summary: ComponentSummary; fresh: boolean } | { ok: false; error: GuestError }>
  >();
  private executor: Executor | undefined;
  /** This process's own folder in the store. */
  private readonly store: string;

  constructor(
    private readonly context: ExecutorContext,
    private readonly settings: ComponentSettings,
  ) {
    this.transpiler = new Transpiler({
      timeoutMs: settings.transpileTimeoutMs,
      memoryMb: settings.transpileMemoryMb,
      queueMax: settings.transpileQueue,
      isolation: parseIsolationMode(context.settings.COMPONENT_ISOLATION),
    });
    // The sandbox host is granted this folder at start: it must exist by then.
    this.store = join(settings.storeDir, `${process.pid}-${randomBytes(6).toString('hex')}`);
    mkdirSync(this.store, { recursive: true });
  }

  get counters(): Record<string, number> {
    return { deployed: this.byId.size, transpileQueue: this.transpiler.queued, ...this.transpiler.counters };
  }

  get(id: string): ComponentSummary | undefined {
    const found = this.byId.get(id);
    if (found !== undefined) {
      // Most recently used last: eviction takes the first.
      this.byId.delete(id);
      this.byId.set(id, found);
    }
    return found;
  }

  /** Drops the least recently used components beyond the bound, from memory and from the store. */
  private evict(): void {
    while (this.byId.size > this.settings.maxComponents) {
      const oldest = this.byId.keys().next().value as string;
      this.byId.delete(oldest);
      for (const [code, id] of this.byCode) if (id === oldest) this.byCode.delete(code);
      void rm(`${this.store}/${oldest}`, { recursive: true, force: true });
    }
  }

  /** Transpiles and stores a component once (concurrent requests for the same code share the job). */
  obtain(
    code: string,
  ): Promise<{ ok: true; summary: ComponentSummary; fresh: boolean } | { ok: false; error: GuestError }> {
    const codeHash = hashCode(code);
    const known = this.byCode.get(codeHash);
    const summary = known === undefined ? undefined : this.byId.get(known);
    if (summary !== undefined) return Promise.resolve({ ok: true, summary, fresh: false });
    const running = this.inflight.get(codeHash);
    if (running !== undefined) return running;
    const job = this.transpile(code, codeHash).finally(() => this.inflight.delete(codeHash));
    this.inflight.set(codeHash, job);
    return job;
  }

  private async transpile(
    code: string,
    codeHash: string,
  ): Promise<{ ok: true; summary: ComponentSummary; fresh: boolean } | { ok: false; error: GuestError }> {
    const outcome = await this.transpiler.transpile({
      code,
      tableElements: this.settings.tableElements,
      maxInitialPages: this.settings.maxInitialPages,
      maxCoreModules: this.settings.maxCoreModules,
    });
    if (!outcome.ok) return outcome;
    const c = outcome.component;
    // Refused here rather than failing at every call: an import the in-memory WASI lacks.
    const missing = unsupportedComponentImports(c.imports);
    if (missing.length > 0) {
      return {
        ok: false,
        error: {
          code: 'SYNTAX_ERROR',
          message: `The component imports what the sandbox does not provide: ${missing
            .slice(0, 5)
            .map((name) => `"${safeName(name)}"`)
            .join(', ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''}`,
        },
      };
    }
    const existing = this.byId.get(c.id);
    if (existing !== undefined) {
      this.byCode.set(codeHash, c.id);
      return { ok: true, summary: existing, fresh: false };
    }
    // Written to a temporary folder and renamed: a host never sees half a component.
    const final = `${this.store}/${c.id}`;
    const temporary = `${final}.${process.pid}.${Date.now()}.tmp`;
    await mkdir(temporary, { recursive: true });
    const manifest: ComponentManifest = {
      id: c.id,
      modules: c.modules.map((m, i) => ({
        name: m.name,
        file: `core${i}.wasm`,
        memory: m.memory,
        hasStart: m.hasStart,
      })),
      exports: c.exports,
      imports: c.imports,
    };
    await Promise.all([
      ...c.modules.map((m, i) => writeFile(`${temporary}/core${i}.wasm`, m.bytes)),
      writeFile(`${temporary}/glue.mjs`, c.glue),
      writeFile(`${temporary}/manifest.json`, JSON.stringify(manifest)),
    ]);
    await rm(final, { recursive: true, force: true });
    await rename(temporary, final);
    const summary: ComponentSummary = {
      id: c.id,
      bytes: c.bytes,
      exports: c.exports,
      imports: c.imports,
      coreModules: c.modules.length,
      transpileMs: outcome.ms,
    };
    this.byId.set(c.id, summary);
    this.byCode.set(codeHash, c.id);
    this.evict();
    return { ok: true, summary, fresh: true };
  }

  details(summary: ComponentSummary, cached: boolean): Record<string, unknown> {
    return {
      kind: 'component',
      // Names come from the component: each quoted short and safe, at most 100 listed.
      functions: Object.fromEntries(
        Object.entries(summary.exports.functions)
          .slice(0, 100)
          .map(([n, f]) => [
            safeName(n),
            `(${f.params
              .slice(0, 20)
              .map((p) => `${safeName(p.name)}: ${describeType(p.type)}`)
              .join(
                ', ',
              )}${f.params.length > 20 ? ', …' : ''})${f.result === null ? '' : ` -> ${describeType(f.result)}`}`,
          ]),
      ),
      ...(Object.keys(summary.exports.unsupported).length === 0
        ? {}
        : {
            unsupported: Object.fromEntries(
              Object.entries(summary.exports.unsupported)
                .slice(0, 100)
                .map(([n, why]) => [safeName(n), safeName(why)]),
            ),
          }),
      interfaces: summary.exports.interfaces.slice(0, 100).map(safeName),
      imports: summary.imports.slice(0, 100).map(safeName),
      coreModules: summary.coreModules,
      sizes: { originalBytes: summary.bytes },
      transpileMs: Math.round(summary.transpileMs),
      cached,
    };
  }

  /** Decides how to call the component: a typed export, or the command convention. */
  plan(
    call: Call,
    summary: ComponentSummary,
  ): { ok: true; plan: ComponentPlan } | { ok: false; error: GuestError } {
    const name = call.function;
    const fuel =
      this.settings.fuelPerMs === 0
        ? Number.MAX_SAFE_INTEGER
        : Math.min(Number.MAX_SAFE_INTEGER, Math.max(1, call.limits.timeoutMs) * this.settings.fuelPerMs);
    const memoryPages = Math.min(65536, Math.floor(call.limits.memoryMb * 16));
    const fn = Object.hasOwn(summary.exports.functions, name) ? summary.exports.functions[name] : undefined;
    if (fn !== undefined) {
      if (call.args.length !== fn.params.length) {
        return {
          ok: false,
          error: {
            code: 'INVALID_ARGUMENT',
            message: `Cannot run "${safeName(name)}": it takes ${fn.params.length} argument${fn.params.length === 1 ? '' : 's'}, got ${call.args.length}`,
          },
        };
      }
      try {
        for (const [i, p] of fn.params.entries()) {
          toGuest(p.type, call.args[i]!, `argument ${i + 1} ("${p.name}")`);
        }
      } catch (error) {
        if (!(error instanceof ValueError)) throw error;
        return {
          ok: false,
          error: { code: 'INVALID_ARGUMENT', message: `Cannot run "${safeName(name)}": ${error.message}` },
        };
      }
      return { ok: true, plan: { component: summary.id, mode: 'function', entry: name, memoryPages, fuel } };
    }
    const command = summary.exports.interfaces.find((i) => COMMAND_INTERFACE.test(i));
    if (command !== undefined && !Object.hasOwn(summary.exports.unsupported, name)) {
      return {
        ok: true,
        plan: { component: summary.id, mode: 'command', entry: command, memoryPages, fuel },
      };
    }
    const why = Object.hasOwn(summary.exports.unsupported, name)
      ? `its export "${safeName(name)}" uses ${safeName(summary.exports.unsupported[name] ?? '')}, which JSON cannot carry`
      : `the component has no exported function "${safeName(name)}" and is not a WASI command (no wasi:cli/run)`;
    const available = Object.keys(summary.exports.functions);
    return {
      ok: false,
      error: {
        code: 'ENTRY_NOT_FOUND',
        message: `Cannot run "${safeName(name)}": ${why}; ${
          available.length === 0
            ? 'it exports no callable function'
            : `it exports ${available
                .slice(0, 10)
                .map((n) => `"${safeName(n)}"`)
                .join(', ')}`
        }`,
      },
    };
  }

  private sandbox(): Executor {
    if (this.executor !== undefined) return this.executor;
    const { context } = this;
    const settings = context.settings;
    const isolation = parseIsolationMode(settings.COMPONENT_ISOLATION);
    const capacity = Math.max(1, context.poolSize);
    const memoryMb = context.ceilings.memoryMb;
    const entry = runnableSibling(import.meta.url, 'sandbox-host');
    const rssLimitMb = 300 + (capacity + 1) * (memoryMb * 2 + 64);
    this.executor = createProcessExecutor(context, {
      entry,
      codePaths: [
        fileURLToPath(new URL('src/executor/', distDir)),
        fileURLToPath(new URL('interpreters/wasm/', distDir)),
        fileURLToPath(new URL('package.json', projectRoot)),
      ],
      prepare: async () => {
        const config: ComponentHostConfig = { storeDir: this.store };
        return {
          readPaths: [this.store, '/proc/thread-self/schedstat'],
          config,
          facts: { components: true },
        };
      },
      host: {
        warm: capacity,
        callsPerWorker: 1,
        interpretersPerWorker: 1,
        renewMaxMemoryBytes: 0,
        graceMs: 100,
        spawnConcurrency: 2,
        rssLimitBytes: rssLimitMb * 2 ** 20,
        resourceLimits: { maxOldGenerationSizeMb: 256, stackSizeMb: 8 },
      },
      hosts: 1,
      capacity,
      isolation,
      isolationSetting: 'POLYEVAL_WASM_COMPONENT_ISOLATION',
      hostRssLimitBytes: Math.round(rssLimitMb * 1.5) * 2 ** 20,
      // vm.SourceTextModule, to evaluate each glue as a module that can import nothing.
      nodeFlags: [...componentWasmFlags(), '--experimental-vm-modules'],
    });
    return this.executor;
  }

  /** Starts the sandbox host now (COMPONENT_SANDBOX=eager) rather than at the first component call. */
  async start(): Promise<void> {
    // The store is written with fs/promises, whose first use starts libuv's thread pool for good:
    // started here, so that an eager start leaves nothing to start at the first deployment.
    await mkdir(this.store, { recursive: true });
    const executor = this.sandbox();
    if (!started.has(executor)) {
      // A start that failed (the OS layer required and missing, say) is tried again with a new
      // sandbox executor at the next component call.
      const starting = executor.start().catch(async (error: unknown) => {
        if (this.executor === executor) this.executor = undefined;
        await executor.close().catch(() => undefined);
        throw error;
      });
      started.set(executor, starting);
    }
    await started.get(executor);
  }

  /** Runs a planned call (starting the sandbox host first if no component call has yet). */
  async execute(call: Call, plan: ComponentPlan, options?: ExecuteOptions): Promise<ExecutionResult> {
    await this.start();
    const executor = this.sandbox();
    const { code: _code, module: _module, ...rest } = call;
    return executor.execute({ ...rest, code: JSON.stringify(plan) }, options);
  }

  readiness(): Record<string, unknown> {
    return {
      ...this.counters,
      ...(this.transpiler.confinement === undefined
        ? {}
        : { transpileConfinement: this.transpiler.confinement }),
      sandbox: this.executor === undefined ? 'not started' : this.executor.readiness().details,
    };
  }

  async close(): Promise<void> {
    if (this.executor !== undefined) await this.executor.close();
    await rm(this.store, { recursive: true, force: true });
  }
}

const started = new WeakMap<Executor, Promise<void>>();

// The single-use worker that runs one call of a WebAssembly component, inside the confined sandbox
// host process (sandbox-host.ts). It is the only place where jco's generated glue is evaluated:
// the glue is JavaScript generated from an untrusted component, so it runs here, after the realm is
// locked down (lockdown.ts), in a process under the permission model and the OS layer, where a
// wrong glue finds nothing. Per call: the deployed, instrumented core modules are compiled (V8
// keeps one native module per distinct bytes in the process, so a repeated compile is cheap),
// the glue is imported from the store, and every core instance it asks for is made through our
// `instantiateCore`: its memory is a fresh WebAssembly.Memory capped at the call's limit, its fuel
// budget is set before any of its code runs, and its start function is called after that.

import { readFileSync } from 'node:fs';
// Imported before the realm is locked down (lockdown.ts removes the loaders, not what was loaded).
import { SourceTextModule } from 'node:vm';
import type { GuestError } from '../../../src/executor/contract.js';
import type { WireCall, WireOutcome } from '../../../src/executor/host/process-protocol.js';
import {
  type SingleUseIo,
  type SingleUseRunner,
  serveSingleUseWorker,
} from '../../../src/executor/host/process-worker.js';
import { type JsonValue, parseJson, stringifyJson } from '../../../src/executor/json-value.js';
import { INTERNAL, STATUS_MEMORY_LIMIT } from '../instrument.js';
import { armLiftMeter, installLiftMeter, LIFT_CAP_BYTES, liftExceeded, wrapExports } from './lift-meter.js';
import { ComponentWasiStop, type ComponentWasiStopReason, createComponentWasi } from './wasi-p2/index.js';
import { camel, fromGuest, toGuest, ValueError, type WorldExports } from './wit.js';

// Before the realm is locked down and before any glue is loaded (lift-meter.ts says why).
installLiftMeter();

/** What the service writes as manifest.json next to a deployed component's files. */
export interface ComponentManifest {
  readonly id: string;
  readonly modules: readonly {
    readonly name: string;
    readonly file: string;
    readonly memory: { readonly initial: number; readonly maximum: number | null } | null;
    readonly hasStart: boolean;
  }[];
  readonly exports: WorldExports;
  readonly imports: readonly string[];
}

/** The plan a call carries in WireCall.code (JSON text), decided by the service. */
export interface ComponentPlan {
  readonly component: string;
  readonly mode: 'function' | 'command';
  /** Function mode: the WIT export name; command mode: the wasi:cli/run interface name. */
  readonly entry: string;
  /** Most pages any memory of the call may reach (the call's memory limit). */
  readonly memoryPages: number;
  /** Fuel budget of each core instance. */
  readonly fuel: number;
}

interface WorkerData {
  readonly storeDir: string;
}

const decoder = (): TextDecoder => new TextDecoder('utf-8', { fatal: false });

function runtimeError(name: string, detail: string, extra: Partial<GuestError> = {}): WireOutcome {
  return {
    ok: false,
    error: { code: 'RUNTIME_ERROR', message: `Cannot run "${name}": ${detail}`, ...extra },
  };
}

async function run(
  storeDir: string,
  call: WireCall,
  io: SingleUseIo,
): Promise<{ outcome: WireOutcome; memoryBytes: number }> {
  const plan = JSON.parse(call.code) as ComponentPlan;
  const dir = `${storeDir}/${plan.component}/`;
  const manifest = JSON.parse(readFileSync(`${dir}manifest.json`, 'utf8')) as ComponentManifest;
  // Messages name what the caller asked for (a command runs wasi:cli/run whatever its name).
  const name = plan.mode === 'command' ? call.function : plan.entry;
  const started = performance.now();
  const compiled = new Map<string, WebAssembly.Module>();
  const plans = new Map<WebAssembly.Module, ComponentManifest['modules'][number]>();
  for (const m of manifest.modules) {
    const module = new WebAssembly.Module(readFileSync(`${dir}${m.file}`));
    compiled.set(m.name, module);
    plans.set(module, m);
  }
  const instances: WebAssembly.Instance[] = [];
  const memories: WebAssembly.Memory[] = [];
  const pagesInUse = (): number => memories.reduce((n, m) => n + m.buffer.byteLength / 65536, 0);
  // Memories created earlier keep the maxima they were given, so the total is also checked after
  // each instantiation (start functions) and after the call.
  let overBudget = false;
  const checkBudget = (): void => {
    if (pagesInUse() <= plan.memoryPages) return;
    overBudget = true;
    throw new RangeError('the memories of the call exceed its memory limit');
  };
  // What the returned value may take in this worker's heap (lift-meter.ts).
  const liftBudget = Math.min(call.limits.memoryMb * 2 ** 20, LIFT_CAP_BYTES);
  const memoryLimit = (detail = ''): WireOutcome => ({
    ok: false,
    error: {
      code: 'MEMORY_LIMIT',
      message: `Cannot run "${name}": memory limit of ${call.limits.memoryMb} MiB exceeded${detail}`,
    },
  });

  // Output: stderr streams to the caller; stdout too, except for a command (it is the result).
  const stdoutText = decoder();
  const stderrText = decoder();
  const commandStdout: Uint8Array[] = [];
  let commandBytes = 0;
  const writeStdout = (bytes: Uint8Array): boolean => {
    if (plan.mode === 'command') {
      commandBytes += bytes.length;
      if (commandBytes > call.limits.outputBytes) {
        io.limit({
          code: 'OUTPUT_LIMIT',
          message: `Cannot run "${name}": output limit of ${call.limits.outputBytes} bytes exceeded`,
        });
        return false;
      }
      commandStdout.push(bytes.slice());
      return true;
    }
    return io.write('stdout', stdoutText.decode(bytes, { stream: true }));
  };
  const writeStderr = (bytes: Uint8Array): boolean => {
    return io.write('stderr', stderrText.decode(bytes, { stream: true }));
  };
  const stdin = plan.mode === 'command' ? new TextEncoder().encode(`${call.argsJson}\n`) : new Uint8Array(0);
  const wasi = createComponentWasi({
    stdin,
    writeStdout,
    writeStderr,
    deadline: started + call.limits.timeoutMs,
    // The guest may catch the stop (wasm exception handling): empty its fuel so that its next
    // loop or call traps whatever it does.
    onStop: () => {
      for (const instance of instances) {
        const fuel = instance.exports[INTERNAL.fuel];
        if (fuel instanceof WebAssembly.Global) fuel.value = -1n;
      }
    },
  });

  const instantiateCore = (
    module: WebAssembly.Module,
    importObject?: WebAssembly.Imports,
  ): WebAssembly.Instance => {
    const own = plans.get(module);
    const imports: WebAssembly.Imports = { ...(importObject ?? {}) };
    if (own?.memory != null) {
      // The call's memory limit holds for all its memories together, not for each: a new memory
      // may grow only into what the others leave (a component instantiating one module 24 times,
      // each start filling 64 MiB, held 1.5 GiB under a 128 MiB limit and answered ok).
      const others = pagesInUse();
      if (others + own.memory.initial > plan.memoryPages) {
        overBudget = true;
        throw new RangeError('the memories of the call exceed its memory limit');
      }
      const memory = new WebAssembly.Memory({
        initial: own.memory.initial,
        maximum: Math.min(own.memory.maximum ?? 65536, plan.memoryPages - others),
      });
      memories.push(memory);
      imports[INTERNAL.importModule] = { [INTERNAL.memory]: memory };
    }
    // A module the glue made itself (jco's fixed helpers) gets no budget: it has no fuel global.
    const instance = new WebAssembly.Instance(module, imports);
    instances.push(instance);
    const fuel = instance.exports[INTERNAL.fuel];
    if (fuel instanceof WebAssembly.Global) fuel.value = BigInt(plan.fuel);
    if (own?.hasStart === true) (instance.exports[INTERNAL.start] as () => void)();
    checkBudget();
    // The glue reads only `exports`; its functions are wrapped so that the lift meter knows when
    // core wasm is on the stack.
    return { exports: wrapExports(instance.exports) } as WebAssembly.Instance;
  };

  const classify = (error: unknown): WireOutcome => {
    if (liftExceeded()) {
      return memoryLimit(
        ` (the value it returned would take more than ${liftBudget} bytes once lifted from its memory)`,
      );
    }
    if (overBudget || pagesInUse() > plan.memoryPages) return memoryLimit();
    for (const instance of instances) {
      const status = instance.exports[INTERNAL.status];
      if (status instanceof WebAssembly.Global && status.value === STATUS_MEMORY_LIMIT) return memoryLimit();
    }
    // The WASI's stop decides, whatever the guest did after it (it may have caught our throw).
    const stop = wasi.stop ?? (error instanceof ComponentWasiStop ? error.reason : undefined);
    if (stop !== undefined) return stopped(name, call, stop, wasi.refused);
    for (const instance of instances) {
      const fuel = instance.exports[INTERNAL.fuel];
      if (fuel instanceof WebAssembly.Global && (fuel.value as bigint) < 0n) {
        return {
          ok: false,
          error: {
            code: 'TIMEOUT',
            message: `Cannot run "${name}": time limit of ${call.limits.timeoutMs} ms exceeded`,
          },
        };
      }
    }
    if (error instanceof RangeError && /call stack/i.test(error.message)) {
      return runtimeError(name, 'stack overflow');
    }
    if (error instanceof WebAssembly.RuntimeError)
      return runtimeError(name, `the component trapped (${error.message})`);
    if (error instanceof WebAssembly.CompileError || error instanceof WebAssembly.LinkError) {
      return runtimeError(name, `the component could not be instantiated (${error.message})`);
    }
    const text = error instanceof Error ? error.message : typeof error === 'string' ? error : 'an exception';
    return runtimeError(name, `the component failed (${text.slice(0, 500)})`);
  };

  const memoryBytes = (): number => memories.reduce((sum, m) => sum + m.buffer.byteLength, 0);
  let glue: GlueModule;
  try {
    glue = await loadGlue(readFileSync(`${dir}glue.mjs`, 'utf8'), plan.component);
  } catch (error) {
    return {
      outcome: runtimeError(
        name,
        `the component glue could not be loaded (${String((error as Error).message).slice(0, 300)})`,
      ),
      memoryBytes: 0,
    };
  }
  let exports: Record<string, unknown>;
  try {
    const made = glue.instantiate(
      (file) => {
        const module = compiled.get(file);
        if (module === undefined) throw new Error(`the glue asked for an unknown core module`);
        return module;
      },
      wasi.imports,
      instantiateCore,
    );
    exports = (await made) as Record<string, unknown>;
  } catch (error) {
    return { outcome: classify(error), memoryBytes: memoryBytes() };
  }

  if (plan.mode === 'command') {
    const iface = (exports[plan.entry] ?? exports.run) as { run?: () => unknown } | undefined;
    let exitCode = 0;
    try {
      await iface?.run?.();
    } catch (error) {
      if (wasi.stop?.kind === 'exit') exitCode = wasi.stop.code;
      else if (isComponentError(error) && wasi.stop === undefined) exitCode = 1;
      else return { outcome: classify(error), memoryBytes: memoryBytes() };
    }
    if (wasi.stop !== undefined && wasi.stop.kind !== 'exit') {
      return { outcome: classify(undefined), memoryBytes: memoryBytes() };
    }
    if (pagesInUse() > plan.memoryPages) return { outcome: memoryLimit(), memoryBytes: memoryBytes() };
    const text = decoder().decode(concat(commandStdout));
    if (exitCode !== 0) {
      io.write('stdout', text);
      return {
        outcome: runtimeError(name, `the component exited with code ${exitCode}`, { exitCode }),
        memoryBytes: memoryBytes(),
      };
    }
    try {
      const value = parseJson(text.trim());
      return { outcome: { ok: true, valueJson: stringifyJson(value) }, memoryBytes: memoryBytes() };
    } catch {
      io.write('stdout', text);
      return {
        outcome: {
          ok: false,
          error: {
            code: 'INVALID_RESULT',
            message: `Cannot run "${name}": a command's stdout must be one JSON value, got ${text.trim() === '' ? 'nothing' : 'text that is not JSON'}`,
          },
        },
        memoryBytes: memoryBytes(),
      };
    }
  }

  const type = manifest.exports.functions[name]!;
  let args: unknown[];
  try {
    const json = parseJson(call.argsJson) as JsonValue[];
    args = type.params.map((p, i) => toGuest(p.type, json[i] ?? null, `argument ${i + 1} ("${p.name}")`));
  } catch (error) {
    return {
      outcome: {
        ok: false,
        error: { code: 'INVALID_ARGUMENT', message: `Cannot run "${name}": ${(error as Error).message}` },
      },
      memoryBytes: memoryBytes(),
    };
  }
  const fn = exports[camel(name)] as ((...a: unknown[]) => unknown) | undefined;
  if (typeof fn !== 'function') {
    return {
      outcome: {
        ok: false,
        error: { code: 'ENTRY_NOT_FOUND', message: `Cannot run "${name}": the component does not export it` },
      },
      memoryBytes: memoryBytes(),
    };
  }
  let value: JsonValue;
  try {
    armLiftMeter(liftBudget);
    const returned = await fn(...args);
    value = fromGuest(type.result, type.result?.kind === 'result' ? { tag: 'ok', val: returned } : returned);
  } catch (error) {
    if (isComponentError(error) && type.result?.kind === 'result') {
      try {
        value = fromGuest(type.result, { tag: 'err', val: (error as { payload: unknown }).payload });
      } catch (inner) {
        return { outcome: invalidResult(name, inner), memoryBytes: memoryBytes() };
      }
    } else if (error instanceof ValueError) {
      return { outcome: invalidResult(name, error), memoryBytes: memoryBytes() };
    } else {
      return { outcome: classify(error), memoryBytes: memoryBytes() };
    }
  }
  // A stop the guest caught still decides the call (exit, output, timeout...).
  if (wasi.stop !== undefined) return { outcome: classify(undefined), memoryBytes: memoryBytes() };
  if (pagesInUse() > plan.memoryPages) return { outcome: memoryLimit(), memoryBytes: memoryBytes() };
  return { outcome: { ok: true, valueJson: stringifyJson(value) }, memoryBytes: memoryBytes() };
}

/** The outcome of a call its WASI stopped (README "Components", what each stop answers). */
function stopped(
  name: string,
  call: WireCall,
  stop: ComponentWasiStopReason,
  refused: readonly string[],
): WireOutcome {
  switch (stop.kind) {
    case 'exit':
      return runtimeError(name, `the component exited with code ${stop.code}`, { exitCode: stop.code });
    case 'timeout':
      return {
        ok: false,
        error: {
          code: 'TIMEOUT',
          message: `Cannot run "${name}": time limit of ${call.limits.timeoutMs} ms exceeded`,
        },
      };
    case 'output':
      return {
        ok: false,
        error: {
          code: 'OUTPUT_LIMIT',
          message: `Cannot run "${name}": output limit of ${call.limits.outputBytes} bytes exceeded`,
        },
      };
    case 'refused':
      return runtimeError(name, `the component called ${stop.door}, which the sandbox does not provide`);
    case 'limit':
      return runtimeError(
        name,
        `the component called ${stop.door} past the sandbox's limit of ${stop.limit}`,
      );
    case 'deadlock':
      return runtimeError(
        name,
        `the component waits on pollables none of which can become ready${refused.length > 0 ? ` (refused: ${refused.slice(0, 5).join(', ')})` : ''}`,
      );
  }
}

interface GlueModule {
  instantiate: (
    getCoreModule: (name: string) => WebAssembly.Module,
    imports: unknown,
    instantiateCore: (module: WebAssembly.Module, importObject?: WebAssembly.Imports) => WebAssembly.Instance,
  ) => unknown;
}

/**
 * Evaluates the glue as a module that can import nothing: a vm.SourceTextModule (the host runs
 * with --experimental-vm-modules) whose linker refuses every specifier and which has no dynamic
 * import callback, so `import … from 'node:…'` fails to link and `import()` rejects. Loaded as a
 * file, ES module code could import any built-in (vm, v8, inspector, worker_threads) whatever the
 * realm's lockdown removed; this way the glue reaches only this realm's globals, as a value-only
 * escapee would (jco's instantiation-mode glue imports nothing; test/security/component-glue.test.ts).
 */
async function loadGlue(source: string, id: string): Promise<GlueModule> {
  const module = new SourceTextModule(source, { identifier: `component-glue:${id}` });
  await module.link(() => {
    throw new Error('the glue may import nothing');
  });
  await module.evaluate();
  const namespace = module.namespace as Partial<GlueModule>;
  if (typeof namespace.instantiate !== 'function') throw new Error('the glue exports no instantiate()');
  return namespace as GlueModule;
}

function invalidResult(name: string, error: unknown): WireOutcome {
  return {
    ok: false,
    error: {
      code: 'INVALID_RESULT',
      message: `Cannot run "${name}": ${error instanceof Error ? error.message : String(error)}`,
    },
  };
}

/** jco's ComponentError (a top-level result's err): its class is defined in the glue itself. */
function isComponentError(error: unknown): boolean {
  return error instanceof Error && error.constructor.name === 'ComponentError' && 'payload' in error;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

serveSingleUseWorker<WorkerData>((data) => {
  let lastMemory = 0;
  const runner: SingleUseRunner = {
    engineVersion: `V8 ${process.versions.v8} (components: jco-transpile glue)`,
    async run(call, io) {
      const { outcome, memoryBytes } = await run(data.storeDir, call, io);
      lastMemory = memoryBytes;
      return { outcome, memoryBytes };
    },
    memoryBytes: () => lastMemory,
  };
  return runner;
});

// Data that crosses threads in the wasm executor: what the compile worker hands back for a module,
// and what the host attaches to a call for the sandbox worker. Everything here is structured-
// cloneable; a WebAssembly.Module is shared by reference between threads of one process and is
// immutable, so a compromised guest cannot alter what another call runs.

import type { GuestErrorCode } from '../../src/errors.js';
import type { Call } from '../../src/executor/contract.js';
import type { FuncType } from './instrument.js';
import type { WasmNumber } from './values.js';

export type OptimizeLevel = 'O1' | 'O2' | 'O3' | 'O4' | 'Os' | 'Oz';

export interface ModuleSummary {
  /** Content hash (sha256, hex) of the module as the caller sent it (after .wat compilation). */
  readonly id: string;
  readonly source: 'binary' | 'text';
  /** Exported functions the caller may name, with their types. */
  readonly functions: Readonly<Record<string, FuncType>>;
  /** Whether the module is a WASI command (exports `_start`). */
  readonly command: boolean;
  /** Whether the module is a WASI reactor (exports `_initialize`, called before each export). */
  readonly reactor: boolean;
  /** WASI functions it imports. */
  readonly wasiImports: readonly string[];
  /** Its memory as declared, in 64 KiB pages, or null if it has none. */
  readonly memory: { readonly initial: number; readonly maximum: number | null } | null;
  readonly hasStart: boolean;
  readonly sizes: {
    readonly original: number;
    /** After binaryen's optimizer, when it ran. */
    readonly optimized?: number;
    readonly instrumented: number;
  };
  readonly optimize: OptimizeLevel | null;
  /** Why the optimizer's output was not used, when it was asked for and failed. */
  readonly optimizeSkipped?: string;
  readonly loops: number;
  readonly growSites: number;
  readonly compileMs: number;
}

export interface CompiledModule {
  readonly module: WebAssembly.Module;
  readonly summary: ModuleSummary;
}

export interface CompileFailure {
  readonly code: GuestErrorCode;
  readonly message: string;
  readonly line?: number;
  readonly column?: number;
}

export interface CompileRequest {
  readonly kind: 'compile';
  readonly id: number;
  readonly code: string;
  readonly optimize: OptimizeLevel | null;
  readonly tableElements: number;
  readonly maxInitialPages: number;
}

export type CompileResponse =
  | { readonly kind: 'ready' }
  | { readonly kind: 'compiled'; readonly id: number; readonly result: CompiledModule }
  | {
      readonly kind: 'failed';
      readonly id: number;
      readonly error: CompileFailure;
      readonly recycle: boolean;
    };

/** What the sandbox worker needs to run one call; attached to the Call as `wasm`. */
export interface RunPlan {
  readonly moduleId: string;
  readonly mode: 'command' | 'function';
  /** Export to call: `_start` for commands. */
  readonly entry: string;
  readonly type: FuncType;
  /** Function mode: the converted arguments. */
  readonly args: readonly WasmNumber[];
  /** Command mode: the bytes on stdin (the JSON arguments and a newline). */
  readonly stdin: string;
  /** The memory to supply, in pages: the module's initial size and the call's cap. */
  readonly memory: { readonly initial: number; readonly maximum: number } | null;
  readonly hasStart: boolean;
  readonly reactor: boolean;
  /** Fuel budget for the call (decrements at function entries and loop headers). */
  readonly fuel: number;
}

export interface WasmPayload {
  readonly module: WebAssembly.Module;
  readonly plan: RunPlan;
}

/** A call as the sandbox worker receives it: the contract's Call plus the compiled module and plan. */
export type WasmCall = Call & { readonly payload?: WasmPayload };

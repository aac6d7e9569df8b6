// The contract between the core and a language. The core knows only these types: a language folder
// (interpreters/<id>/) exports `createExecutor(context)` from executor.ts, and everything the
// language does happens behind the returned Executor. Guest failures are values (ExecutionResult
// with ok: false), never exceptions; an executor throws only for its own (host) failures.

import type { GuestErrorCode } from '../errors.js';
import type { JsonValue } from './json-value.js';
import type { Manifest } from './manifest.js';

/** Effective limits of one call, already resolved and clamped by the orchestrator. */
export interface Limits {
  readonly timeoutMs: number;
  readonly memoryMb: number;
  readonly outputBytes: number;
}

/** Limits a request asks for: any subset, each clamped to the operator's ceiling. */
export type LimitRequest = { readonly [K in keyof Limits]?: number | undefined };

export const LIMIT_NAMES = [
  'timeoutMs',
  'memoryMb',
  'outputBytes',
] as const satisfies readonly (keyof Limits)[];

/** One function call, as an executor receives it. */
export interface Call {
  /** Source text; for binary languages, whatever text form the manifest documents (e.g. base64). */
  readonly code?: string;
  /** Id of a module deployed earlier with Executor.deploy (languages that support it). */
  readonly module?: string;
  /** Name of the function (or export) to call. */
  readonly function: string;
  /** Positional arguments. Integers beyond 2^53 arrive as bigint. */
  readonly args: readonly JsonValue[];
  readonly limits: Limits;
  /**
   * How arguments and results are mapped to guest values. 'json' (the default) is plain JSON;
   * other codecs (e.g. 'zobject' for the Wikifunctions API) are listed in the manifest's `codecs`.
   */
  readonly codec?: string;
  /**
   * Executor-private, structured-cloneable data for its sandbox (e.g. a compiled module and a call
   * plan). Set by the executor itself between receiving a call and handing it to its sandbox; never
   * by the HTTP layer.
   */
  readonly payload?: unknown;
  /**
   * The channel for calls the guest makes back to its caller (Wikifunctions reentrance; see
   * src/wikifunctions/call-out-channel.ts). Shared memory: executors whose sandbox runs in a thread
   * of this process use it directly; the process executor relays its hosts' checked `call-out`
   * messages onto it (src/executor/host/call-out-relay.ts); others ignore it and the guest's
   * call-outs are refused.
   */
  readonly callOut?: SharedArrayBuffer;
}

export interface GuestError {
  readonly code: GuestErrorCode;
  /** Sentence-case message that names the failed action, e.g. `Cannot run "main": time limit of 200 ms exceeded`. */
  readonly message: string;
  /** Position in the user's code, where the engine tells it (1-based). */
  readonly line?: number;
  readonly column?: number;
  /** Exception type in the guest language (TypeError, ZeroDivisionError...), where there is one. */
  readonly type?: string;
  /** Guest stack or traceback trimmed to the user's frames. */
  readonly stack?: string;
  /** Exit status of a command-style guest (WASI). */
  readonly exitCode?: number;
}

export interface CallStats {
  /** Wall time of the call inside the sandbox host, from dispatch to answer, in ms. */
  readonly durationMs: number;
  /** CPU time the sandbox thread or process spent on the call, in ms. */
  readonly cpuMs: number;
  /** Memory the guest's engine held at the end of the call (or its peak, per manifest), in bytes. */
  readonly memoryBytes: number;
  /** Engine-specific counters (e.g. instruction fuel consumed). */
  readonly [extra: string]: number;
}

export type Outcome =
  | { readonly ok: true; readonly value: JsonValue }
  | { readonly ok: false; readonly error: GuestError };

export type ExecutionResult = Outcome & {
  readonly stdout: string;
  readonly stderr: string;
  readonly stats: CallStats;
};

export interface Readiness {
  readonly ready: boolean;
  /** Free-form facts for /readyz and /v1/languages: pool sizes, isolation in force, warnings... */
  readonly details: Readonly<Record<string, unknown>>;
  /** Sandbox counters since start under fixed names, for /metrics. */
  readonly counters?: Readonly<Partial<Record<'spawned' | 'recycled' | 'killed' | 'crashed', number>>>;
}

/** Result of deploying a module once, to be called many times by id. */
export interface Deployment {
  readonly id: string;
  readonly details: Readonly<Record<string, unknown>>;
}

export interface DeployOptions {
  /** The id of the HTTP request behind the call, for executors that forward it (remote ones). */
  readonly requestId?: string;
}

export interface ExecuteOptions extends DeployOptions {
  /** Aborted when the call is cancelled (client gone, shutdown): the sandbox is stopped. */
  readonly signal?: AbortSignal;
}

export interface Executor {
  /** Boots engines and fills pools; resolves when the executor can serve (readiness() is ready). */
  start(): Promise<void>;
  /** How many calls the executor runs at once; the orchestrator queues the rest. */
  readonly capacity: number;
  readiness(): Readiness;
  /** Runs one call. Resolves with the guest's result or failure; rejects only on host failures. */
  execute(call: Call, options?: ExecuteOptions): Promise<ExecutionResult>;
  /** Optional: validate, compile and cache a module; returns its content-addressed id. */
  deploy?(code: string, options?: DeployOptions): Promise<Deployment | { error: GuestError }>;
  /** Engine version string for /v1/languages (engine name and version). */
  engineVersion(): string;
  close(): Promise<void>;
}

/** What the core hands a language's createExecutor. */
export interface ExecutorContext {
  readonly manifest: Manifest;
  /**
   * file: URL of the language's source folder (interpreters/<id>/, ending with a slash): manifest,
   * README, conformance fixtures and non-TypeScript assets. Compiled modules are found relative to
   * the executor's own import.meta.url instead.
   */
  readonly languageDir: URL;
  /** Number of sandbox slots the operator asked for (POLYEVAL_POOL_SIZE or per-language override). */
  readonly poolSize: number;
  /** Operator settings for this language from POLYEVAL_<ID>_* variables not consumed by the core. */
  readonly settings: Readonly<Record<string, string>>;
  /** The operator's ceilings for this language: the most any call may ask for. */
  readonly ceilings: Limits;
  readonly log: (
    level: 'debug' | 'info' | 'warn' | 'error',
    message: string,
    fields?: Record<string, unknown>,
  ) => void;
}

export type CreateExecutor = (context: ExecutorContext) => Executor | Promise<Executor>;

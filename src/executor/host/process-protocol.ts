// Messages between the service (process-host.ts) and a sandbox host process (process-runtime.ts),
// carried over Node's IPC channel, and between that process and its single-use workers. Values
// travel as JSON text (bigints as raw JSON integers) so that the channel needs no lossless codec
// and the sandbox side needs no extra dependency; the service parses results with parseJson.

import type { CallOutAnswer } from '../../wikifunctions/call-out-channel.js';
import type { CallStats, GuestError, Limits } from '../contract.js';
import type { OutputMessage } from './output-meter.js';

export type { CallOutAnswer };

/**
 * A guest's call to another function (worker → host process → service): `text` is
 * "<ZID>\n<tagged JSON object of argument key → value>"; the service puts the time left in front.
 */
export interface CallOutMessage {
  readonly kind: 'call-out';
  readonly id: number;
  readonly text: string;
}

/** One call as the sandbox side sees it. */
export interface WireCall {
  readonly code: string;
  readonly function: string;
  /** The positional arguments as a JSON array text (integers beyond 2^53 written as JSON integers). */
  readonly argsJson: string;
  readonly limits: Limits;
  /** The value codec (Call.codec); absent means plain JSON. */
  readonly codec?: string;
  /**
   * Set when the call has a call-out channel (Call.callOut, Wikifunctions reentrance): the largest
   * call-out request or answer, in UTF-8 bytes. Absent: the guest's call-outs are refused in the
   * worker and never leave it (call-out-relay.ts).
   */
  readonly callOutBytes?: number;
}

export type WireOutcome =
  | { readonly ok: true; readonly valueJson: string }
  | { readonly ok: false; readonly error: GuestError };

/** Facts the sandbox host reports about itself once it is serving. */
export interface HostFacts {
  readonly engineVersion: string;
  readonly pid: number;
  readonly node: string;
  /** Whether the Node permission model is in force in the host (process.permission present). */
  readonly permissionModel: boolean;
  /** Network interfaces visible to the host (none inside a fresh network namespace). */
  readonly networkInterfaces: readonly string[];
  /** Engine-specific facts (snapshot size, restore mode...). */
  readonly extra: Readonly<Record<string, unknown>>;
}

export type ServiceToHost =
  | { readonly kind: 'init'; readonly config: unknown }
  | { readonly kind: 'call'; readonly id: number; readonly call: WireCall }
  | { readonly kind: 'cancel'; readonly id: number }
  /** The answer to the call-out the host relayed for call `id` (call-out-relay.ts). */
  | { readonly kind: 'call-out-answer'; readonly id: number; readonly answer: CallOutAnswer };

export type HostToService =
  | { readonly kind: 'ready'; readonly facts: HostFacts }
  | { readonly kind: 'init-failed'; readonly message: string }
  /** The number of interpreters waiting, sent whenever it changes. */
  | {
      readonly kind: 'warm';
      readonly idle: number;
      readonly target: number;
      /** Workers started since the host booted. */
      readonly spawned: number;
      /** Mean over recent interpreters: wall time from spawn to ready, and the worker's CPU time. */
      readonly prepareWallMs: number;
      readonly prepareCpuMs: number;
      /** Phases reported by the most recent interpreter (ms, engine-specific). */
      readonly lastPrepare: Readonly<Record<string, number>>;
      /** Resets in place so far (only when the host resets interpreters in place). */
      readonly reset?: Readonly<Record<string, number>>;
    }
  | { readonly kind: 'started'; readonly id: number }
  | OutputMessage
  | { readonly kind: 'done'; readonly id: number; readonly outcome: WireOutcome; readonly stats: CallStats }
  /** The host killed a worker that broke the protocol (counted in polyeval_security_events_total). */
  | { readonly kind: 'security'; readonly event: string; readonly id?: number }
  /** The guest of call `id` calls another function; one at a time, answered by call-out-answer. */
  | CallOutMessage
  | {
      readonly kind: 'log';
      readonly level: 'debug' | 'info' | 'warn' | 'error';
      readonly message: string;
      readonly fields?: Record<string, unknown>;
    };

/**
 * Host process → one of its workers. Per interpreter: ready once, then call (one, or up to
 * callsPerInterpreter when the operator allowed reuse), output* and call-out* (one at a time, each
 * answered through the call's answer slot), limit?, done; then `renew` (a fresh interpreter, ready
 * again), `reset` (the same interpreter put back in place: restored or reset-failed), or the worker
 * is terminated. Anything else kills the worker.
 */
export type HostToWorker =
  | {
      readonly kind: 'call';
      readonly id: number;
      readonly call: WireCall;
      /** The answer slot of this call's call-outs (call-out-relay.ts), when call.callOutBytes is set. */
      readonly callOut?: SharedArrayBuffer;
    }
  /** Replace the interpreter with a fresh one, then say ready again (interpretersPerWorker > 1). */
  | { readonly kind: 'renew' }
  /** Put the interpreter call `id` used back to its golden image (and compare it, with `verify`). */
  | { readonly kind: 'reset'; readonly id: number; readonly verify: boolean };

/** A worker → its host process. */
export type WorkerToHost =
  | {
      readonly kind: 'ready';
      readonly engineVersion: string;
      readonly cpuMs: number;
      readonly extra?: Record<string, number>;
    }
  | { readonly kind: 'init-failed'; readonly message: string }
  | OutputMessage
  /** The guest calls another function; the worker then blocks on the call's answer slot. */
  | CallOutMessage
  /** The guest hit a limit that the worker noticed first; the host stops the worker at once. */
  | {
      readonly kind: 'limit';
      readonly id: number;
      readonly error: GuestError;
      /** The call's measures when it hit the limit (the worker is then stopped: it cannot send them later). */
      readonly cpuMs?: number;
      readonly memoryBytes?: number;
    }
  | {
      readonly kind: 'done';
      readonly id: number;
      readonly outcome: WireOutcome;
      readonly memoryBytes: number;
      readonly cpuMs: number;
      readonly extraStats?: Record<string, number>;
      /** The interpreter's state is in doubt: the host must not reset it. */
      readonly discard?: boolean;
    }
  /** The reset after call `id` is complete (and, with `verified`, compared equal to the image). */
  | {
      readonly kind: 'restored';
      readonly id: number;
      readonly resetMs: number;
      readonly verifyMs?: number;
      readonly verified: boolean;
      readonly parts?: Record<string, number>;
    }
  /** The reset after call `id` failed or its verification found a difference: terminate the worker. */
  | {
      readonly kind: 'reset-failed';
      readonly id: number;
      readonly reason: string;
      readonly mismatch: boolean;
    };

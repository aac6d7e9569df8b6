// Messages between a WorkerPool (host side) and a sandbox worker (worker-runtime.ts). One call at a
// time per worker; output is streamed as it is written so that a worker killed at its deadline
// still gives back what the guest printed. The order is fixed, and the pool kills a worker that
// breaks it (protocol-guard.ts): ready once; then per call, output*, done, and — unless the worker
// asked to be recycled — restored once the runner has made the next call's sandbox fresh (the
// reset-in-place contract: JavaScript restores its heap snapshot, Lua and WebAssembly build a new
// engine instance); only then is the worker handed another call.

import type { Call, CallStats, Outcome } from '../contract.js';
import type { OutputMessage } from './output-meter.js';

export type HostToWorker = { readonly kind: 'call'; readonly id: number; readonly call: Call };

export type WorkerToHost =
  | { readonly kind: 'ready'; readonly engineVersion: string }
  | { readonly kind: 'init-failed'; readonly message: string }
  | OutputMessage
  | {
      readonly kind: 'done';
      readonly id: number;
      readonly outcome: Outcome;
      readonly stats: CallStats;
      /** The worker asks to be replaced after this call (limit hit, heap grown, engine state in doubt). */
      readonly recycle: boolean;
    }
  /** The sandbox used by call `id` was dropped or reset; the worker may take the next call. */
  | { readonly kind: 'restored'; readonly id: number };

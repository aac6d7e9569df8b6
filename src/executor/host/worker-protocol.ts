// Messages between a WorkerPool (host side) and a sandbox worker (worker-runtime.ts). One call at a
// time per worker; output is streamed as it is written so that a worker killed at its deadline
// still gives back what the guest printed.

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
    };

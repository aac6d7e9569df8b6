// The scope of one HTTP request, handed explicitly to the orchestrator with each call it makes
// (EvaluateInput.scope): its id (for logs, and forwarded to remote evaluators as X-Request-Id so
// that their log lines correlate) and the call it made, recorded by a call listener and logged by
// src/http/request-context.ts once the answer is done.
//
// Passed by hand rather than through AsyncLocalStorage: on Node 20 an AsyncLocalStorage in use turns
// on async hooks for every promise and callback of the process. Measured side by side at
// concurrency 4 (six paired rounds, JavaScript add): the HTTP thread's CPU per call went from a
// median of 190 to 158 µs without it. (Node 24's AsyncLocalStorage no longer uses async hooks.)

import type { CallEvent } from './orchestrator/orchestrator.js';

export interface RequestScope {
  readonly id: string;
  call: CallEvent | undefined;
}

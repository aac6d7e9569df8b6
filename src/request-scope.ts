// The scope of one HTTP request, carried through async calls with AsyncLocalStorage: its id (for
// logs, and forwarded to remote evaluators as X-Request-Id so that their log lines correlate) and
// the call it made, which src/http/request-context.ts logs once the answer is done.

import { AsyncLocalStorage } from 'node:async_hooks';
import type { CallEvent } from './orchestrator/orchestrator.js';

export interface RequestScope {
  readonly id: string;
  call: CallEvent | undefined;
}

export const requestScope = new AsyncLocalStorage<RequestScope>();

/** The current request's id, inside a request. */
export function currentRequestId(): string | undefined {
  return requestScope.getStore()?.id;
}

// The errors every executor reports the same way when a limit stops a call, or when the thread
// running it dies: one wording for the service, whichever host (worker pool, sandbox process) or
// runner noticed first.

import type { GuestError } from '../contract.js';

interface Named {
  readonly function: string;
  readonly limits: { readonly timeoutMs: number; readonly outputBytes: number };
}

/** TIMEOUT; `how` says what noticed it when that helps (fuel used up, a host restarted...). */
export function timeoutError(call: Named, how?: string): GuestError {
  return {
    code: 'TIMEOUT',
    message: `Cannot run "${call.function}": time limit of ${call.limits.timeoutMs} ms exceeded${how === undefined ? '' : ` (${how})`}`,
  };
}

/** The caller went away (or shutdown gave up waiting): the sandbox was stopped for that, not the guest. */
export function cancelledError(call: Pick<Named, 'function'>): GuestError {
  return { code: 'SANDBOX_CRASH', message: `Cannot run "${call.function}": the call was cancelled` };
}

export function outputLimitError(call: Named): GuestError {
  return {
    code: 'OUTPUT_LIMIT',
    message: `Cannot run "${call.function}": output limit of ${call.limits.outputBytes} bytes exceeded`,
  };
}

/**
 * A sandbox thread that died mid-call (its 'error' event): out of V8 heap is MEMORY_LIMIT, anything
 * else SANDBOX_CRASH. `what` names the thread for the message ("sandbox", "interpreter").
 */
export function threadDiedError(name: string, error: Error & { code?: string }, what: string): GuestError {
  return error.code === 'ERR_WORKER_OUT_OF_MEMORY'
    ? {
        code: 'MEMORY_LIMIT',
        message: `Cannot run "${name}": memory limit exceeded (the ${what} ran out of heap)`,
      }
    : { code: 'SANDBOX_CRASH', message: `Cannot run "${name}": the ${what} crashed (${error.message})` };
}

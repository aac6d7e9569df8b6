// One call's state for the in-memory WASI preview2 (see index.ts): why the guest was stopped, which
// doors refused it, the live host resources, the deadline. Every door goes through guard() first,
// so that a guest that caught our exception (a component may use wasm exception handling) finds
// every door shut behind it: the first stop is kept and thrown again.

/** Why a call's guest was stopped by its WASI. The first stop wins; later ones are ignored. */
export type ComponentWasiStopReason =
  /** wasi:cli/exit: `exit(ok)` is 0, `exit(err)` 1, `exit-with-code(n)` n. */
  | { readonly kind: 'exit'; readonly code: number }
  /** A door that has no error channel refused (a wasi:http constructor, say): the call traps. */
  | { readonly kind: 'refused'; readonly door: string }
  /** The deadline passed during a WASI call or while the guest waited on a pollable. */
  | { readonly kind: 'timeout' }
  /** The guest waited on pollables none of which can ever become ready: it would wait forever. */
  | { readonly kind: 'deadlock' }
  /** A request beyond a bound of this WASI (live host resources, random bytes at once...). */
  | { readonly kind: 'limit'; readonly door: string; readonly limit: number }
  /** The caller's writeStdout/writeStderr threw (its output cap): `error` is what it threw. */
  | { readonly kind: 'output'; readonly error: unknown };

/**
 * Thrown through the guest's frames when its WASI stops it. The glue rethrows it (it is an Error
 * with no `payload`, so jco never turns it into a WIT `err` for the guest), the export call then
 * fails with it; the caller reads `reason` (or `wasi.stop`, which holds even if the guest caught
 * this).
 */
export class ComponentWasiStop extends Error {
  constructor(readonly reason: ComponentWasiStopReason) {
    super(describe(reason));
  }
}
// On the prototype, set once at load: an instance assignment would fail if a realm froze Error.prototype.
Object.defineProperty(ComponentWasiStop.prototype, 'name', {
  value: 'ComponentWasiStop',
  configurable: true,
});

function describe(reason: ComponentWasiStopReason): string {
  switch (reason.kind) {
    case 'exit':
      return `Component exited with status ${reason.code}`;
    case 'refused':
      return `Cannot call ${reason.door}: the sandbox does not provide it`;
    case 'timeout':
      return 'Cannot continue the component: its deadline has passed';
    case 'deadlock':
      return 'Cannot wait: none of the pollables the component waits on can ever become ready';
    case 'limit':
      return `Cannot call ${reason.door}: limit of ${reason.limit} exceeded`;
    case 'output':
      return 'Cannot write the component output: the output limit was reached';
  }
}

/**
 * A stop that reaches the guest as a plain throw. For `output` it is the caller's own error when
 * that is an Error without an own `payload` (jco's glue turns a thrown value with `payload`, or a
 * non-Error, into a WIT `err` the guest could ignore): otherwise our ComponentWasiStop.
 */
function thrown(reason: ComponentWasiStopReason): unknown {
  if (reason.kind === 'output') {
    const error = reason.error;
    if (error instanceof Error && !Object.hasOwn(error, 'payload')) return error;
  }
  return new ComponentWasiStop(reason);
}

/** Live host-side resources (streams, pollables, errors, networks) a call may hold at once, by default. */
export const MAX_LIVE_RESOURCES = 65_536;

const symbolDispose: symbol = (Symbol as { dispose?: symbol }).dispose ?? Symbol.for('dispose');
/** The symbols jco's glue calls to drop a resource (it uses Symbol.dispose, else Symbol.for). */
export const DISPOSE_SYMBOLS: readonly symbol[] = [...new Set([symbolDispose, Symbol.for('dispose')])];

export interface CallStateOptions {
  readonly deadline: number | undefined;
  readonly maxLiveResources: number;
  readonly onStop: ((reason: ComponentWasiStopReason) => void) | undefined;
}

export class CallState {
  stopReason: ComponentWasiStopReason | undefined;
  private stopError: unknown;
  readonly refusedDoors = new Set<string>();
  live = 0;
  /** performance.now() when the call's WASI was made: the monotonic clock's origin. */
  readonly origin = performance.now();
  /** Made on the first sleep: a SharedArrayBuffer costs more than the rest of a call's set-up. */
  private sleeper: Int32Array | undefined;

  constructor(private readonly options: CallStateOptions) {}

  /** Every door calls this first: a stopped call stays stopped; a passed deadline stops it. */
  guard(): void {
    if (this.stopReason !== undefined) throw this.stopError;
    const deadline = this.options.deadline;
    if (deadline !== undefined && performance.now() > deadline) this.stop({ kind: 'timeout' });
  }

  stop(reason: ComponentWasiStopReason): never {
    if (this.stopReason === undefined) {
      this.stopReason = reason;
      this.stopError = thrown(reason);
      this.options.onStop?.(reason);
    }
    throw this.stopError;
  }

  /** A refusal with a WIT error channel: the guest gets `payload` as its `err`; we remember the door. */
  refuse(door: string, payload: unknown): never {
    this.refusedDoors.add(door);
    throw payload;
  }

  /** Counts a new host resource; past the cap the call stops (host memory is not the guest's to spend). */
  track(door: string): void {
    const limit = this.options.maxLiveResources;
    if (this.live >= limit) this.stop({ kind: 'limit', door, limit });
    this.live++;
  }

  untrack(): void {
    if (this.live > 0) this.live--;
  }

  /**
   * Sleeps until performance.now() reaches `until` (ms), never past the deadline: a guest that would
   * sleep beyond it is stopped with a timeout when the deadline comes. Infinity is a deadlock.
   */
  sleepUntil(until: number): void {
    const deadline = this.options.deadline;
    if (until === Number.POSITIVE_INFINITY && deadline === undefined) this.stop({ kind: 'deadlock' });
    const wake = deadline === undefined ? until : Math.min(until, deadline);
    for (let left = wake - performance.now(); left > 0; left = wake - performance.now()) {
      this.sleeper ??= new Int32Array(new SharedArrayBuffer(4));
      Atomics.wait(this.sleeper, 0, 0, left);
    }
    if (deadline !== undefined && until > deadline) this.stop({ kind: 'timeout' });
  }
}

/** Gives a resource class the drop hook the glue calls, which releases its slot in the count. */
export function disposable(prototype: object, dispose: (self: never) => void): void {
  for (const symbol of DISPOSE_SYMBOLS) {
    Object.defineProperty(prototype, symbol, {
      value(this: never) {
        dispose(this);
      },
      writable: true,
      configurable: true,
    });
  }
}

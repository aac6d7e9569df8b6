// A pool of sandbox slots backed by worker threads, shared by every language whose guest cannot
// reach the host's own code (in-process interpreters). Each slot runs one call at a time. The watchdog
// here is the time guarantee: when a call outlives its deadline plus a grace period, the worker is
// terminated, the caller gets TIMEOUT with the output streamed so far, and a fresh worker takes the
// slot. The same happens when the worker dies (V8 heap limit → MEMORY_LIMIT, anything else →
// SANDBOX_CRASH) or when the caller goes away.
// The pool does not trust its workers (a guest may have reached the worker's JavaScript): each slot
// has a state — starting → idle → serving(id) → restoring(id) → idle, or respawned — and a message
// the state does not expect kills the worker, fails only its call, and counts as a security event
// (protocol-guard.ts). A call is only ever handed to an idle slot: a worker that never served, or
// one that reported its sandbox reset after its last call (worker-protocol.ts).

import { type ResourceLimits, Worker } from 'node:worker_threads';
import { runnableUrl } from '../../paths.js';
import type { Call, CallStats, ExecutionResult, GuestError, Outcome, Readiness } from '../contract.js';
import { cancelledError, threadDiedError, timeoutError } from './limit-errors.js';
import { CapturedOutput } from './output-meter.js';
import {
  checkOutcome,
  checkOutput,
  isRecord,
  kindOf,
  protocolViolationError,
  SecurityEvents,
  type Violation,
  violation,
} from './protocol-guard.js';
import type { HostToWorker, WorkerToHost } from './worker-protocol.js';

export interface WorkerPoolOptions {
  /** Name for logs and readiness details (the language id). */
  readonly name: string;
  /** The worker module: a file that calls serveWorker(). .ts URLs are mapped to dist/. */
  readonly runner: URL;
  readonly size: number;
  /** Given to every worker as workerData (must be structured-cloneable: WebAssembly.Module is). */
  readonly workerData?: unknown;
  readonly resourceLimits?: ResourceLimits;
  /** How long after its deadline a call is killed if its engine did not stop it itself. */
  readonly graceMs?: number;
  /** Replace a worker after this many calls even if nothing went wrong (bounds slow leaks). */
  readonly maxCallsPerWorker?: number;
  /**
   * Workers kept alive while idle (default: `size`). The other slots are parked (no thread): one
   * is started when a call has waited `spawnAfterMs` for a busy worker, and a worker beyond `warm`
   * idle for `idleRetireMs` is stopped again.
   */
  readonly warm?: number;
  readonly spawnAfterMs?: number;
  readonly idleRetireMs?: number;
  readonly log?: (
    level: 'debug' | 'info' | 'warn' | 'error',
    message: string,
    fields?: Record<string, unknown>,
  ) => void;
}

interface Pending {
  readonly id: number;
  readonly call: Call;
  readonly started: number;
  /** What the guest printed, counted again here: a confused worker cannot flood the host. */
  readonly output: CapturedOutput;
  readonly resolve: (result: ExecutionResult) => void;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Where a slot is in its life: `starting` until the worker says ready once; `idle` (may be handed a
 * call); `serving` one call (`pending`); `restoring` after its answer until the worker says the
 * sandbox was reset (`restoringId`); `dead` between a kill and the next spawn; `parked` with no
 * thread at all (beyond `warm`, until a waiting call needs it).
 */
type SlotState = 'starting' | 'idle' | 'serving' | 'restoring' | 'dead' | 'parked';

/** One worker thread and the call it is running, if any. */
class Slot {
  worker: Worker | undefined;
  state: SlotState = 'dead';
  pending: Pending | undefined;
  /** The id of the call whose sandbox is being reset (state `restoring`). */
  restoringId = 0;
  calls = 0;
  /** When it last went into the idle list (performance.now()). */
  idleSince = 0;
  get ready(): boolean {
    return this.state === 'idle' || this.state === 'serving' || this.state === 'restoring';
  }
}

const DEFAULT_GRACE_MS = 30;
const DEFAULT_SPAWN_AFTER_MS = 0;
const DEFAULT_IDLE_RETIRE_MS = 30_000;

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly idle: Slot[] = [];
  private readonly waiters: ((slot: Slot) => void)[] = [];
  private nextId = 1;
  private closed = false;
  private engineVersionText = 'unknown';
  private startupError: string | undefined;
  private readonly counters = { spawned: 0, recycled: 0, killed: 0, crashed: 0, retired: 0 };
  private readonly security = new SecurityEvents();
  private readonly runnerUrl: URL;
  private growTimer: NodeJS.Timeout | undefined;
  private retireTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: WorkerPoolOptions) {
    this.runnerUrl = runnableUrl(options.runner);
  }

  get size(): number {
    return this.options.size;
  }

  get engineVersion(): string {
    return this.engineVersionText;
  }

  private get warm(): number {
    return Math.max(1, Math.min(this.options.size, this.options.warm ?? this.options.size));
  }

  /** Spawns the `warm` workers and waits until they are ready; rejects if a worker cannot start. */
  async start(): Promise<void> {
    const starts: Promise<void>[] = [];
    for (let i = 0; i < this.options.size; i++) {
      const slot = new Slot();
      this.slots.push(slot);
      if (i < this.warm) starts.push(this.spawn(slot));
      else slot.state = 'parked';
    }
    await Promise.all(starts);
  }

  readiness(): Readiness {
    const ready = this.slots.filter((s) => s.ready).length;
    return {
      ready: !this.closed && ready > 0 && this.startupError === undefined,
      details: {
        workers: this.slots.filter((s) => s.state !== 'parked').length,
        workersReady: ready,
        parked: this.slots.filter((s) => s.state === 'parked').length,
        busy: this.slots.filter((s) => s.pending !== undefined).length,
        ...this.counters,
        // Read by /metrics (polyeval_security_events_total).
        securityEvents: this.security.snapshot(),
        ...(this.startupError === undefined ? {} : { startupError: this.startupError }),
      },
      counters: { ...this.counters },
    };
  }

  /** Runs a call on the next free worker. Never rejects for guest behaviour. */
  async run(call: Call, signal?: AbortSignal): Promise<ExecutionResult> {
    if (this.closed) throw new Error(`The ${this.options.name} pool is closed`);
    const slot = await this.acquire();
    if (slot.state !== 'idle' || slot.worker === undefined)
      throw new Error(`The ${this.options.name} pool handed out a slot that is ${slot.state}`);
    return new Promise<ExecutionResult>((resolve) => {
      const pending: Pending = {
        id: this.nextId++,
        call,
        started: performance.now(),
        output: new CapturedOutput(call.limits.outputBytes),
        resolve,
        timer: undefined,
      };
      slot.state = 'serving';
      slot.pending = pending;
      slot.calls++;
      pending.timer = setTimeout(
        () => {
          this.kill(slot, timeoutError(call));
        },
        call.limits.timeoutMs + (this.options.graceMs ?? DEFAULT_GRACE_MS),
      );
      if (signal !== undefined) {
        const onAbort = (): void => {
          if (slot.pending === pending) this.kill(slot, cancelledError(call));
        };
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      }
      // Cancelled while it waited for this slot: it is answered and the slot's worker is already
      // being replaced. Posting now would hand the cancelled call to the replacement, which would
      // run it for nobody and hold the next caller's call behind it until that one's time limit.
      if (slot.pending !== pending) return;
      const message: HostToWorker = { kind: 'call', id: pending.id, call };
      slot.worker!.postMessage(message);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.growTimer);
    clearTimeout(this.retireTimer);
    await Promise.all(this.slots.map((slot) => slot.worker?.terminate()));
  }

  private acquire(): Promise<Slot> {
    // Oldest idle first: a worker that just answered is still building its next sandbox.
    const slot = this.idle.shift();
    if (slot !== undefined) return Promise.resolve(slot);
    const waiting = new Promise<Slot>((resolve) => this.waiters.push(resolve));
    this.grow();
    return waiting;
  }

  private release(slot: Slot): void {
    if (this.closed || slot.state !== 'idle') return;
    const waiter = this.waiters.shift();
    if (waiter !== undefined) waiter(slot);
    else {
      slot.idleSince = performance.now();
      this.idle.push(slot);
      this.scheduleRetire();
    }
  }

  /**
   * Starts parked slots for calls that wait: a worker starting, restoring or respawning counts as
   * about to be free, and so does one serving a call that started less than spawnAfterMs ago (0 by
   * default: a call that finds no idle worker starts one, and a load keeps it until it is idle).
   */
  private grow(): void {
    clearTimeout(this.growTimer);
    this.growTimer = undefined;
    if (this.closed || this.waiters.length === 0) return;
    const spawnAfter = this.options.spawnAfterMs ?? DEFAULT_SPAWN_AFTER_MS;
    const now = performance.now();
    let soon = 0;
    let next = Number.POSITIVE_INFINITY;
    for (const s of this.slots) {
      if (s.state === 'starting' || s.state === 'restoring' || s.state === 'dead') soon++;
      else if (s.state === 'serving' && s.pending !== undefined) {
        const free = s.pending.started + spawnAfter;
        if (free > now) {
          soon++;
          next = Math.min(next, free);
        }
      }
    }
    let needed = this.waiters.length - soon;
    for (const s of this.slots) {
      if (needed <= 0) break;
      if (s.state !== 'parked') continue;
      needed--;
      this.unpark(s);
    }
    if (this.slots.some((s) => s.state === 'parked') && next < Number.POSITIVE_INFINITY) {
      this.growTimer = setTimeout(() => this.grow(), Math.max(1, next - now + 1));
      this.growTimer.unref();
    }
  }

  private unpark(slot: Slot): void {
    this.spawn(slot).catch((error: unknown) => {
      this.options.log?.('error', 'A sandbox worker could not be started for a waiting call', {
        pool: this.options.name,
        error: error instanceof Error ? error.message : String(error),
      });
      const worker = slot.worker;
      slot.worker = undefined;
      slot.state = 'parked';
      if (worker !== undefined) void worker.terminate();
    });
  }

  /** Workers beyond `warm` idle for idleRetireMs are stopped, oldest first; their slots parked. */
  private scheduleRetire(): void {
    if (this.retireTimer !== undefined || this.closed) return;
    const live = (): number => this.slots.filter((s) => s.state !== 'parked').length;
    if (live() <= this.warm) return;
    const after = this.options.idleRetireMs ?? DEFAULT_IDLE_RETIRE_MS;
    if (this.idle.length === 0) return;
    // When the longest-idle worker reaches idleRetireMs (a busy one rescheduling on release).
    const oldest = Math.min(...this.idle.map((slot) => slot.idleSince));
    this.retireTimer = setTimeout(
      () => {
        this.retireTimer = undefined;
        const now = performance.now();
        for (const slot of [...this.idle]) {
          if (live() <= this.warm) break;
          if (now - slot.idleSince < after) continue;
          this.idle.splice(this.idle.indexOf(slot), 1);
          const worker = slot.worker;
          slot.worker = undefined;
          slot.state = 'parked';
          this.counters.retired++;
          if (worker !== undefined) void worker.terminate();
        }
        this.scheduleRetire();
      },
      Math.max(1, oldest + after - performance.now() + 1),
    );
    this.retireTimer.unref();
  }

  private spawn(slot: Slot): Promise<void> {
    const worker = new Worker(this.runnerUrl, {
      workerData: this.options.workerData,
      ...(this.options.resourceLimits === undefined ? {} : { resourceLimits: this.options.resourceLimits }),
      // Guests cannot reach the worker's stdio, but a runner bug must not write into the service's.
      stdout: true,
      stderr: true,
      env: {},
      name: `polyeval-${this.options.name}`,
    });
    worker.stdout.resume();
    worker.stderr.resume();
    slot.worker = worker;
    slot.state = 'starting';
    slot.calls = 0;
    this.counters.spawned++;
    return new Promise<void>((resolveStart, rejectStart) => {
      let started = false;
      worker.on('message', (message: unknown) => {
        // Messages already queued by a worker that was replaced are not the new worker's.
        if (slot.worker !== worker) return;
        const found = this.onMessage(slot, message);
        if (found === undefined) return;
        if (found === 'started') {
          started = true;
          resolveStart();
          this.release(slot);
        } else if (found === 'init-failed') {
          rejectStart(new Error(`The ${this.options.name} sandbox could not start: ${this.startupError}`));
          slot.state = 'dead';
          void worker.terminate();
        } else {
          this.violated(slot, found);
          // A worker that broke the protocol before its first ready never served anyone:
          // violated() respawns the slot, and start() does not wait for the new worker.
          if (!started) {
            started = true;
            resolveStart();
          }
        }
      });
      worker.on('error', (error: Error & { code?: string }) => {
        if (slot.worker !== worker) return;
        if (!started) {
          this.startupError = error.message;
          rejectStart(error);
          return;
        }
        this.counters.crashed++;
        this.replace(slot, threadDiedError(slot.pending?.call.function ?? 'function', error, 'sandbox'));
      });
      worker.on('exit', (code) => {
        if (slot.worker !== worker || this.closed) return;
        if (!started) {
          rejectStart(new Error(`The ${this.options.name} sandbox exited with code ${code} while starting`));
          return;
        }
        this.counters.crashed++;
        this.replace(slot, {
          code: 'SANDBOX_CRASH',
          message: `Cannot run "${slot.pending?.call.function ?? 'function'}": the sandbox exited with code ${code}`,
        });
      });
    });
  }

  /**
   * Applies one message to the slot's state machine. Returns 'started' or 'init-failed' for the
   * worker's first message, a Violation for anything the state does not expect, else undefined.
   */
  private onMessage(slot: Slot, raw: unknown): 'started' | 'init-failed' | Violation | undefined {
    const kind = kindOf(raw);
    if (typeof kind !== 'string') return kind;
    const message = raw as Record<string, unknown>;
    switch (kind) {
      case 'ready':
        if (slot.state !== 'starting') return violation('unexpected-ready', `"ready" while ${slot.state}`);
        if (typeof message.engineVersion !== 'string') return violation('malformed', 'a ready message');
        this.engineVersionText = message.engineVersion.slice(0, 200);
        this.startupError = undefined;
        slot.state = 'idle';
        return 'started';
      case 'init-failed':
        if (slot.state !== 'starting')
          return violation('unexpected-message', `"init-failed" while ${slot.state}`);
        this.startupError =
          typeof message.message === 'string' ? message.message.slice(0, 2000) : 'no reason given';
        return 'init-failed';
      case 'output': {
        const pending = slot.state === 'serving' ? slot.pending : undefined;
        const found = checkOutput(message, pending?.id, pending?.call.limits.outputBytes ?? 0);
        if (found !== undefined) return found;
        pending!.output.write(message.stream as 'stdout' | 'stderr', message.text as string);
        return undefined;
      }
      case 'done':
        return this.onDone(slot, message as Partial<Extract<WorkerToHost, { kind: 'done' }>>);
      case 'restored':
        if (slot.state !== 'restoring')
          return violation('unexpected-message', `"restored" while ${slot.state}`);
        if (message.id !== slot.restoringId) return violation('wrong-id', '"restored" for another call');
        slot.state = 'idle';
        this.release(slot);
        return undefined;
      default:
        return violation('unknown-kind', 'a message of unknown kind');
    }
  }

  private onDone(
    slot: Slot,
    message: Partial<Extract<WorkerToHost, { kind: 'done' }>>,
  ): Violation | undefined {
    const pending = slot.pending;
    if (slot.state !== 'serving' || pending === undefined)
      return violation('unexpected-done', `"done" while ${slot.state}`);
    if (message.id !== pending.id) return violation('wrong-id', '"done" for another call');
    const found = checkOutcome(message.outcome);
    if (found !== undefined) return found;
    if (!isRecord(message.stats) || typeof message.recycle !== 'boolean')
      return violation('malformed', 'a done message without stats');
    this.finish(slot, message.outcome!, message.stats as unknown as CallStats);
    const recycle =
      message.recycle ||
      (this.options.maxCallsPerWorker !== undefined && slot.calls >= this.options.maxCallsPerWorker);
    if (recycle) {
      this.counters.recycled++;
      this.respawn(slot);
    } else {
      // Not idle yet: the worker says when the sandbox it used is gone (worker-protocol.ts).
      slot.state = 'restoring';
      slot.restoringId = pending.id;
    }
    return undefined;
  }

  /** Kills a worker that broke the protocol; only the call it was serving fails. */
  private violated(slot: Slot, found: Violation): void {
    this.security.record(found.kind);
    this.options.log?.('error', 'Security event: a sandbox worker broke the host protocol and was killed', {
      securityEvent: found.kind,
      detail: found.detail,
      pool: this.options.name,
      state: slot.state,
      call: slot.pending?.id,
      function: slot.pending?.call.function,
    });
    this.counters.killed++;
    this.replace(slot, protocolViolationError(slot.pending?.call.function ?? 'function', found));
  }

  private finish(slot: Slot, outcome: Outcome, stats: CallStats): void {
    const pending = slot.pending!;
    clearTimeout(pending.timer);
    slot.pending = undefined;
    pending.resolve({ ...outcome, stdout: pending.output.stdout, stderr: pending.output.stderr, stats });
  }

  /** Terminates the slot's worker mid-call and answers the call with `error`. */
  private kill(slot: Slot, error: GuestError): void {
    this.counters.killed++;
    this.replace(slot, error);
  }

  private replace(slot: Slot, error: GuestError): void {
    const pending = slot.pending;
    if (pending !== undefined) {
      this.finish(
        slot,
        { ok: false, error },
        { durationMs: performance.now() - pending.started, cpuMs: 0, memoryBytes: 0 },
      );
    }
    this.respawn(slot);
  }

  private respawn(slot: Slot): void {
    const old = slot.worker;
    slot.worker = undefined;
    slot.state = 'dead';
    const i = this.idle.indexOf(slot);
    if (i >= 0) this.idle.splice(i, 1);
    if (old !== undefined) void old.terminate();
    if (this.closed) return;
    this.spawn(slot).catch((error: unknown) => {
      this.options.log?.('error', 'A sandbox worker could not be respawned; retrying in 1 s', {
        pool: this.options.name,
        error: error instanceof Error ? error.message : String(error),
      });
      setTimeout(() => {
        if (!this.closed && slot.state === 'dead') this.respawn(slot);
      }, 1000).unref();
    });
  }
}

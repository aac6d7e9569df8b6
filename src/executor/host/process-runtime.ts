// The main thread of a sandbox host process (started by process-host.ts under process-isolation.ts).
// It never runs guest code: it keeps a pool of warm, never-used interpreters in worker threads,
// hands each call to one of them, and enforces the limits from outside the guest — an interrupt
// at the deadline as the fast path, worker.terminate() at deadline + grace as the guarantee, output
// counted and capped as it streams, and the process's RSS watched. After its call a worker is
// thrown away (single use), or its interpreter is reset in place (below), or — only when the operator
// explicitly allowed it — it serves more calls as it is.
// A language's host entry calls serveSandboxHost() once with a `prepare` hook that turns the
// service's init config into what every worker receives (e.g. a compiled WebAssembly.Module).
// Neither side trusts the other blindly: each worker slot has a state (starting → ready → serving(id)
// → renewing → ready, or dead), a message its state does not expect kills that worker, fails only
// its call and is reported as a security event (protocol-guard.ts); and once `prepare` has run, this
// thread's realm is locked down (lockdown.ts), as each worker's is before its guest runs.
// A guest's call to another function (Wikifunctions reentrance) arrives as a `call-out` message,
// checked (checkCallOut) and relayed to the service; the answer is written into the call's answer
// slot, on which the worker blocks (call-out-slot.ts).
// With `reset` configured, a worker serves many calls on one interpreter that it puts back in place
// after each answer: the slot goes serving(id) → restoring(id) and only the worker's `restored` for
// that id makes it ready again; a failed or mismatching verification terminates it (security event).

import { networkInterfaces } from 'node:os';
import { type ResourceLimits, Worker } from 'node:worker_threads';
import type { GuestError } from '../contract.js';
import { answerSlot, closeSlot, createSlot, isCallOutAnswer } from './call-out-slot.js';
import { outputLimitError, threadDiedError, timeoutError } from './limit-errors.js';
import { lockDownRealm } from './lockdown.js';
import { OutputMeter } from './output-meter.js';
import type {
  CallOutAnswer,
  HostFacts,
  HostToService,
  HostToWorker,
  ServiceToHost,
  WireCall,
  WorkerToHost,
} from './process-protocol.js';
import type { SingleUseWorkerData } from './process-worker.js';
import {
  type CallOutState,
  checkCallOut,
  checkOutcome,
  checkOutput,
  isRecord,
  kindOf,
  protocolViolationError,
  type Violation,
  violation,
} from './protocol-guard.js';

/** Interface names the host can see; none when the seccomp filter denies the netlink socket asked. */
function visibleInterfaces(): string[] {
  try {
    return Object.keys(networkInterfaces());
  } catch {
    // getifaddrs() needs a socket: under the OS layer's filter the host cannot open one at all.
    return [];
  }
}

/** Generic settings the service sends in the init message (config.host). */
export interface HostRuntimeConfig {
  /** Interpreters kept warm and waiting. */
  readonly warm: number;
  /** Calls one interpreter may serve before it is replaced; 1 is strict single use. */
  readonly callsPerWorker: number;
  /**
   * Fresh interpreters one worker prepares in turn (each serves one call) before the worker itself
   * is replaced; 1 (strict) gives every interpreter its own worker. More saves the worker's start-up
   * but lets a guest that reached the worker's JavaScript affect later interpreters in that worker.
   */
  readonly interpretersPerWorker: number;
  /** A worker whose call used more engine memory than this is replaced rather than renewed. */
  readonly renewMaxMemoryBytes: number;
  /** How long after the deadline (when the interrupt fired) the worker is terminated. */
  readonly graceMs: number;
  /** Workers started at the same time while refilling (bounds CPU spikes on small machines). */
  readonly spawnConcurrency: number;
  /** Busy workers are stopped with MEMORY_LIMIT when the process's RSS goes over this. */
  readonly rssLimitBytes: number;
  readonly resourceLimits?: ResourceLimits;
  /** Reset in place instead of a new interpreter per call (the worker's runner must support it). */
  readonly reset?: ResetConfig;
}

/** How workers that reset their interpreter in place are used and checked. */
export interface ResetConfig {
  /** Calls one worker serves before it is replaced anyway (bounds anything a reset could miss). */
  readonly maxCalls: number;
  /** Verify every Nth reset (and always the first of each worker and after a failed call); 0 = never sampled. */
  readonly verifyEvery: number;
  /** A worker whose engine memory reached this after a call is discarded (memory never shrinks). */
  readonly maxMemoryBytes: number;
  /** A worker that has not said `restored` this long after `reset` is terminated. */
  readonly timeoutMs: number;
  /**
   * A call that waits this long for a busy worker gets a worker of its own (up to the host's
   * slots): a serving worker counts as about to be free only this long after it started.
   */
  readonly spawnAfterMs: number;
  /** A worker beyond `warm` that has waited this long with no call is retired (idle memory). */
  readonly idleRetireMs: number;
}

/** Resets done and checked by one host, for the readiness details. */
export interface ResetStats {
  [part: `last_${string}Ms`]: number;
  resets: number;
  verified: number;
  mismatches: number;
  failures: number;
  discarded: number;
  /** Idle workers beyond `warm` retired after idleRetireMs. */
  retired: number;
  lastResetMs: number;
  lastVerifyMs: number;
  /** Sums, for the means: resets over `resets`, verifications over `verified`. */
  resetMsTotal: number;
  verifyMsTotal: number;
}

export interface PreparedHost {
  /** Cloned into every worker. */
  readonly workerData: unknown;
  /** Extra facts for readiness details. */
  readonly facts?: Readonly<Record<string, unknown>>;
}

export interface SandboxHostOptions {
  /** The worker module (calls serveSingleUseWorker()). Must be a compiled .js URL. */
  readonly worker: URL;
  /** Runs once in the host's main thread with the language part of the init config. */
  readonly prepare: (config: unknown) => Promise<PreparedHost> | PreparedHost;
}

interface Running {
  readonly id: number;
  readonly call: WireCall;
  readonly started: number;
  /** Counts the worker's output again and stops the worker once it passes the limit. */
  readonly output: OutputMeter;
  interruptTimer: NodeJS.Timeout | undefined;
  killTimer: NodeJS.Timeout | undefined;
  /** The call's call-outs (Wikifunctions reentrance), when it may make any: see call-out-slot.ts. */
  readonly callOut:
    | { readonly slot: SharedArrayBuffer; readonly capacity: number; readonly state: CallOutState }
    | undefined;
}

/**
 * `starting`/`renewing` until the worker says ready once; `ready` (in the idle list, may be handed a
 * call); `serving` its call (`running`); `restoring` after its answer until the worker says it reset
 * its interpreter for that call (`restoringId`, reset mode); `dead` once terminated. A slot that answered goes back to
 * `ready` only when the operator allowed more calls per interpreter.
 */
type SlotState = 'starting' | 'ready' | 'serving' | 'renewing' | 'restoring' | 'dead';

interface Slot {
  readonly worker: Worker;
  readonly interrupt: Int32Array;
  state: SlotState;
  /** Preparing an interpreter (counted in `starting`). */
  preparing: boolean;
  preparedAt: number;
  /** Interpreters this worker prepared so far. */
  interpreters: number;
  calls: number;
  running: Running | undefined;
  /** The call whose interpreter is being put back (state `restoring`). */
  restoringId: number;
  resetTimer: NodeJS.Timeout | undefined;
  /** When it last went into the idle list (performance.now()). */
  idleSince: number;
}

const SIGINT = 2;

/**
 * Workers that fail before they are ready, in a row, after which the host stops waiting for one:
 * the calls queued are answered at once (SANDBOX_CRASH naming the failure) and so is every call
 * that arrives until a worker starts again; new workers are tried after a pause that doubles with
 * each further failure (START_RETRY_MS up to START_RETRY_MAX_MS). Without it, a host whose
 * interpreters cannot start (a file gone, a heap too small) respawned them for ever while each
 * call waited for the service's outer watchdog (its time limit + 60 s), which then killed the host.
 */
const START_FAILURES_TO_TRIP = 3;
const START_RETRY_MS = 250;
const START_RETRY_MAX_MS = 10_000;

/** Guest failures after which the worker is known to be in a normal state. */
const RENEWABLE_ERRORS = new Set([
  'RUNTIME_ERROR',
  'SYNTAX_ERROR',
  'ENTRY_NOT_FOUND',
  'INVALID_ARGUMENT',
  'INVALID_RESULT',
]);

function send(message: HostToService): void {
  process.send?.(message);
}

/** Answers a call that never reached a worker: started, then done (a done alone is a protocol violation). */
function answerQueued(id: number, error: GuestError): void {
  send({ kind: 'started', id });
  send({
    kind: 'done',
    id,
    outcome: { ok: false, error },
    stats: { durationMs: 0, cpuMs: 0, memoryBytes: 0 },
  });
}

function log(
  level: 'debug' | 'info' | 'warn' | 'error',
  message: string,
  fields?: Record<string, unknown>,
): void {
  send({ kind: 'log', level, message, ...(fields === undefined ? {} : { fields }) });
}

export function serveSandboxHost(options: SandboxHostOptions): void {
  if (process.send === undefined)
    throw new Error('serveSandboxHost() must run in a process started with an IPC channel');
  // The channel's variables are the only ones Node put in our (otherwise empty) environment.
  for (const key of Object.keys(process.env)) delete process.env[key];
  // The service going away (or closing the channel) ends this process.
  process.on('disconnect', () => process.exit(0));

  let host: HostRuntime | undefined;
  process.on('message', (message: ServiceToHost) => {
    if (message.kind === 'init') {
      if (host !== undefined) return;
      const { host: hostConfig, language } = message.config as { host: HostRuntimeConfig; language: unknown };
      Promise.resolve()
        .then(() => options.prepare(language))
        .then(
          (prepared) => {
            host = new HostRuntime(options.worker, hostConfig, prepared);
            // Set-up (compiling, reading files) is done: close the doors before any worker runs.
            lockDownRealm();
            host.start();
          },
          (error: unknown) =>
            send({ kind: 'init-failed', message: error instanceof Error ? error.message : String(error) }),
        );
    } else if (message.kind === 'call') {
      host?.enqueue(message.id, message.call);
    } else if (message.kind === 'cancel') {
      host?.cancel(message.id);
    } else if (message.kind === 'call-out-answer') {
      host?.answerCallOut(message.id, message.answer);
    }
  });
}

class HostRuntime {
  private readonly slots = new Set<Slot>();
  private readonly idle: Slot[] = [];
  private readonly queue: { id: number; call: WireCall }[] = [];
  private starting = 0;
  private spawned = 0;
  private refillTimer: NodeJS.Timeout | undefined;
  private retireTimer: NodeJS.Timeout | undefined;
  /** Workers that failed before being ready since the last one that started (see START_FAILURES_TO_TRIP). */
  private startFailures = 0;
  private lastStartFailure = '';
  /** No worker is spawned before this (performance.now()), after START_FAILURES_TO_TRIP failures. */
  private spawnPausedUntil = 0;
  private announced = false;
  private engineVersion = 'unknown';
  /** Recent interpreter preparations: wall time seen by the host, CPU time reported by the worker. */
  private readonly prepareTimes: { wallMs: number; cpuMs: number }[] = [];
  /** The phases the last interpreter reported (engine-specific, e.g. restore timings). */
  private lastPrepare: Record<string, number> = {};
  private lastWarm = -1;
  private lastSpawned = -1;
  private lastResets = 0;
  private rssTimer: NodeJS.Timeout | undefined;
  private readonly resetStats: ResetStats = {
    resets: 0,
    verified: 0,
    mismatches: 0,
    failures: 0,
    discarded: 0,
    retired: 0,
    lastResetMs: 0,
    lastVerifyMs: 0,
    resetMsTotal: 0,
    verifyMsTotal: 0,
  };

  constructor(
    private readonly workerUrl: URL,
    private readonly config: HostRuntimeConfig,
    private readonly prepared: PreparedHost,
  ) {}

  start(): void {
    this.dispatch();
  }

  enqueue(id: number, call: WireCall): void {
    if (this.startFailures >= START_FAILURES_TO_TRIP && this.idle.length === 0) {
      this.answerUnstarted(id, call);
      return;
    }
    this.queue.push({ id, call });
    this.dispatch();
  }

  /** A call answered without a worker: the host's interpreters fail to start. */
  private answerUnstarted(id: number, call: WireCall): void {
    answerQueued(id, {
      code: 'SANDBOX_CRASH',
      message: `Cannot run "${call.function}": the sandbox cannot start an interpreter (${this.startFailures} failed in a row; the last: ${this.lastStartFailure.slice(0, 300)})`,
    });
  }

  /** A worker failed before it was ready (its start, or an interpreter it renewed). */
  private startFailed(reason: string): void {
    this.startFailures++;
    this.lastStartFailure = reason;
    if (this.startFailures < START_FAILURES_TO_TRIP) return;
    const pause = Math.min(
      START_RETRY_MAX_MS,
      START_RETRY_MS * 2 ** (this.startFailures - START_FAILURES_TO_TRIP),
    );
    this.spawnPausedUntil = performance.now() + pause;
    log('error', 'Sandbox workers keep failing to start; calls are refused until one starts', {
      failures: this.startFailures,
      retryInMs: pause,
      error: reason.slice(0, 2000),
    });
    for (const { id, call } of this.queue.splice(0)) this.answerUnstarted(id, call);
  }

  cancel(id: number): void {
    const queued = this.queue.findIndex((q) => q.id === id);
    if (queued >= 0) {
      const [{ call }] = this.queue.splice(queued, 1) as [{ id: number; call: WireCall }];
      // Every call sent here gets exactly one answer, cancelled ones too (the service expects it).
      answerQueued(id, {
        code: 'SANDBOX_CRASH',
        message: `Cannot run "${call.function}": the call was cancelled`,
      });
      return;
    }
    for (const slot of this.slots) {
      if (slot.running?.id === id)
        this.stop(slot, { code: 'SANDBOX_CRASH', message: 'The call was cancelled' });
    }
  }

  /** The service's answer to a call-out: handed to the worker blocked on it, if the call still runs. */
  answerCallOut(id: number, answer: CallOutAnswer): void {
    if (!isCallOutAnswer(answer)) {
      log('error', 'The service sent a malformed call-out answer; it is dropped', { call: id });
      return;
    }
    for (const slot of this.slots) {
      const callOut = slot.running?.id === id ? slot.running.callOut : undefined;
      if (callOut === undefined || !callOut.state.waiting) continue;
      callOut.state.waiting = false;
      if (!answer.ok && answer.fatal) callOut.state.over = true;
      answerSlot(callOut.slot, answer);
    }
  }

  private dispatch(): void {
    while (this.queue.length > 0 && this.idle.length > 0) {
      const slot = this.idle.shift()!;
      // Only a ready slot is ever in the idle list; anything else is a bug, never a guest's call.
      if (slot.state !== 'ready') continue;
      const { id, call } = this.queue.shift()!;
      this.run(slot, id, call);
    }
    this.refill();
    this.reportWarm();
  }

  private run(slot: Slot, id: number, call: WireCall): void {
    const capacity = call.callOutBytes;
    const callOut =
      typeof capacity === 'number' && Number.isInteger(capacity) && capacity > 0
        ? { slot: createSlot(capacity), capacity, state: { count: 0, waiting: false, over: false } }
        : undefined;
    const running: Running = {
      id,
      call,
      started: performance.now(),
      output: new OutputMeter(
        call.limits.outputBytes,
        (stream, text) => send({ kind: 'output', id, stream, text }),
        () => this.stop(slot, outputLimitError(call)),
      ),
      interruptTimer: undefined,
      killTimer: undefined,
      callOut,
    };
    slot.state = 'serving';
    slot.running = running;
    slot.calls++;
    Atomics.store(slot.interrupt, 0, 0);
    // Fast path: the interpreter raises KeyboardInterrupt at its next check.
    running.interruptTimer = setTimeout(
      () => Atomics.store(slot.interrupt, 0, SIGINT),
      call.limits.timeoutMs,
    );
    // Guarantee: whatever the guest does (sleeping, swallowing the interrupt, one long C call).
    running.killTimer = setTimeout(
      () => this.stop(slot, timeoutError(call)),
      call.limits.timeoutMs + this.config.graceMs,
    );
    this.watchRss();
    send({ kind: 'started', id });
    slot.worker.postMessage({
      kind: 'call',
      id,
      call,
      ...(callOut === undefined ? {} : { callOut: callOut.slot }),
    } satisfies HostToWorker);
  }

  /** Terminates a busy worker and answers its call with `error` (stats from the host's clock, or the worker's when it sent them). */
  private stop(slot: Slot, error: GuestError, measures = { memoryBytes: 0, cpuMs: 0 }): void {
    const running = slot.running;
    if (running !== undefined) this.answer(slot, { ok: false, error }, measures);
    this.discard(slot);
  }

  private answer(
    slot: Slot,
    outcome: Extract<WorkerToHost, { kind: 'done' }>['outcome'],
    measures: { memoryBytes: number; cpuMs: number; extraStats?: Record<string, number> },
  ): void {
    const running = slot.running!;
    clearTimeout(running.interruptTimer);
    clearTimeout(running.killTimer);
    if (running.callOut !== undefined) closeSlot(running.callOut.slot);
    slot.running = undefined;
    send({
      kind: 'done',
      id: running.id,
      outcome,
      stats: {
        durationMs: performance.now() - running.started,
        cpuMs: measures.cpuMs,
        memoryBytes: measures.memoryBytes,
        ...measures.extraStats,
      },
    });
  }

  private discard(slot: Slot): void {
    if (slot.state === 'dead') return;
    slot.state = 'dead';
    clearTimeout(slot.resetTimer);
    this.slots.delete(slot);
    const i = this.idle.indexOf(slot);
    if (i >= 0) this.idle.splice(i, 1);
    void slot.worker.terminate();
    this.refill();
    this.reportWarm();
  }

  private refill(): void {
    // Fresh mode: keep `warm` interpreters waiting, plus one for each queued call. Reset mode: keep
    // `warm` workers alive (idle or busy: each serves call after call), and start one more only for
    // a queued call that no worker will take soon: one putting its interpreter back in place, or
    // serving a call that started less than spawnAfterMs ago (a discarded one calls refill).
    const reset = this.config.reset;
    let wanted: number;
    let nextCheck = Number.POSITIVE_INFINITY;
    if (reset === undefined) {
      wanted = this.config.warm + this.queue.length - (this.idle.length + this.starting);
    } else {
      const now = performance.now();
      let soon = 0;
      let live = 0;
      for (const slot of this.slots) {
        if (slot.state === 'dead') continue;
        live++;
        if (slot.state === 'restoring') soon++;
        else if (slot.state === 'serving' && slot.running !== undefined) {
          const free = slot.running.started + reset.spawnAfterMs;
          if (free > now) {
            soon++;
            nextCheck = Math.min(nextCheck, free);
          }
        }
      }
      const forQueue = this.queue.length - (this.idle.length + this.starting + soon);
      wanted = Math.max(forQueue, this.config.warm - live);
    }
    const room = this.config.spawnConcurrency - this.starting;
    const paused = this.spawnPausedUntil - performance.now();
    if (paused > 0 && wanted > 0) {
      clearTimeout(this.refillTimer);
      this.refillTimer = setTimeout(() => this.refill(), paused + 1);
      return;
    }
    // After a streak of failures, one worker at a time until one starts.
    const tries = this.startFailures >= START_FAILURES_TO_TRIP ? Math.min(1 - this.starting, room) : room;
    for (let i = 0; i < Math.min(wanted, tries); i++) this.spawn();
    if (reset !== undefined && this.queue.length > 0 && wanted <= 0 && nextCheck < Number.POSITIVE_INFINITY) {
      clearTimeout(this.refillTimer);
      this.refillTimer = setTimeout(() => this.refill(), Math.max(1, nextCheck - performance.now() + 1));
    }
  }

  /**
   * Reset mode: workers beyond `warm` that waited idleRetireMs with no call are retired, oldest
   * first (a burst's extra workers do not stay resident for ever).
   */
  private scheduleRetire(): void {
    const reset = this.config.reset;
    if (reset === undefined || this.retireTimer !== undefined || this.idle.length <= this.config.warm) return;
    // When the longest-idle worker reaches idleRetireMs.
    const oldest = Math.min(...this.idle.map((slot) => slot.idleSince));
    const delay = Math.max(1, oldest + reset.idleRetireMs - performance.now() + 1);
    this.retireTimer = setTimeout(() => {
      this.retireTimer = undefined;
      const now = performance.now();
      for (const slot of [...this.idle]) {
        if (this.idle.length <= this.config.warm) break;
        if (now - slot.idleSince >= reset.idleRetireMs) {
          this.resetStats.retired++;
          this.discard(slot);
        }
      }
      this.scheduleRetire();
    }, delay);
    this.retireTimer.unref();
  }

  private spawn(): void {
    const interrupt = new Int32Array(new SharedArrayBuffer(4));
    const worker = new Worker(this.workerUrl, {
      workerData: {
        data: this.prepared.workerData,
        interrupt,
        callsPerInterpreter: this.config.callsPerWorker,
      } satisfies SingleUseWorkerData<unknown>,
      env: {},
      stdout: true,
      stderr: true,
      ...(this.config.resourceLimits === undefined ? {} : { resourceLimits: this.config.resourceLimits }),
    });
    worker.stdout.resume();
    worker.stderr.on('data', (chunk: Buffer) =>
      log('debug', 'Sandbox worker stderr', { text: chunk.toString().slice(0, 2000) }),
    );
    const slot: Slot = {
      worker,
      interrupt,
      state: 'starting',
      preparing: true,
      preparedAt: performance.now(),
      interpreters: 1,
      calls: 0,
      running: undefined,
      restoringId: -1,
      resetTimer: undefined,
      idleSince: 0,
    };
    this.slots.add(slot);
    this.starting++;
    this.spawned++;
    const doneStarting = (): void => {
      if (!slot.preparing) return;
      slot.preparing = false;
      this.starting--;
    };
    worker.on('message', (message: unknown) => {
      if (slot.state === 'dead') return;
      const found = this.onMessage(slot, message, doneStarting);
      if (found !== undefined) this.violated(slot, found);
    });
    const unstarted = (): boolean => slot.state === 'starting' || slot.state === 'renewing';
    worker.on('error', (error: Error & { code?: string }) => {
      doneStarting();
      const running = slot.running;
      if (running !== undefined) {
        this.stop(slot, threadDiedError(running.call.function, error, 'interpreter'));
      } else {
        log('warn', 'A sandbox worker failed while idle or starting', { error: error.message });
        if (unstarted()) this.startFailed(error.message);
        this.discard(slot);
      }
    });
    worker.on('exit', (code) => {
      doneStarting();
      if (slot.state === 'dead') return;
      const running = slot.running;
      if (running !== undefined) {
        this.stop(slot, {
          code: 'SANDBOX_CRASH',
          message: `Cannot run "${running.call.function}": the interpreter exited with code ${code}`,
        });
      } else {
        if (unstarted()) this.startFailed(`the worker exited with code ${code} before it was ready`);
        this.discard(slot);
      }
    });
  }

  private renewable(slot: Slot, done: Extract<WorkerToHost, { kind: 'done' }>): boolean {
    if (slot.interpreters >= this.config.interpretersPerWorker) return false;
    if (done.memoryBytes > this.config.renewMaxMemoryBytes) return false;
    // After a limit or a crash the worker's state is in doubt: replace it.
    return done.outcome.ok || RENEWABLE_ERRORS.has(done.outcome.error.code);
  }

  /**
   * Whether a worker may be put back in place after this call: not after a limit, crash, trap or
   * closed door (those end the worker before `done`, or answer with an error that is not an
   * ordinary guest failure), not when the worker itself asked to go, not past the memory threshold
   * or the calls budget.
   */
  private resettable(slot: Slot, done: Extract<WorkerToHost, { kind: 'done' }>, reset: ResetConfig): boolean {
    if (done.discard === true) return false;
    if (slot.calls >= reset.maxCalls) return false;
    if (done.memoryBytes > reset.maxMemoryBytes) return false;
    return done.outcome.ok || RENEWABLE_ERRORS.has(done.outcome.error.code);
  }

  /** Sends `reset` (verified when sampled, for a worker's first reset, or after a failed call). */
  private startReset(slot: Slot, id: number, anomaly: boolean, reset: ResetConfig): void {
    slot.state = 'restoring';
    slot.restoringId = id;
    const sampled = reset.verifyEvery > 0 && (this.resetStats.resets + 1) % reset.verifyEvery === 0;
    const verify = sampled || anomaly || slot.calls === 1;
    slot.resetTimer = setTimeout(() => {
      log('warn', 'A worker did not finish its reset in time; it was discarded', { call: id });
      this.resetStats.failures++;
      this.discard(slot);
    }, reset.timeoutMs);
    slot.worker.postMessage({ kind: 'reset', id, verify } satisfies HostToWorker);
  }

  /** Applies one worker message to its slot's state machine; a Violation when not expected. */
  private onMessage(slot: Slot, raw: unknown, doneStarting: () => void): Violation | undefined {
    const kind = kindOf(raw);
    if (typeof kind !== 'string') return kind;
    const message = raw as Record<string, unknown>;
    const running = slot.state === 'serving' ? slot.running : undefined;
    switch (kind) {
      case 'ready': {
        if (slot.state !== 'starting' && slot.state !== 'renewing')
          return violation('unexpected-ready', `"ready" while ${slot.state}`);
        if (typeof message.engineVersion !== 'string' || typeof message.cpuMs !== 'number')
          return violation('malformed', 'a ready message');
        doneStarting();
        this.startFailures = 0;
        this.spawnPausedUntil = 0;
        this.engineVersion = message.engineVersion.slice(0, 200);
        this.prepareTimes.push({ wallMs: performance.now() - slot.preparedAt, cpuMs: message.cpuMs });
        this.lastPrepare = isRecord(message.extra) ? (message.extra as Record<string, number>) : {};
        if (this.prepareTimes.length > 50) this.prepareTimes.shift();
        slot.state = 'ready';
        slot.idleSince = performance.now();
        this.idle.push(slot);
        this.dispatch();
        this.scheduleRetire();
        return undefined;
      }
      case 'init-failed': {
        if (slot.state !== 'starting' && slot.state !== 'renewing')
          return violation('unexpected-message', `"init-failed" while ${slot.state}`);
        const reason = typeof message.message === 'string' ? message.message.slice(0, 4000) : 'no reason';
        doneStarting();
        log('error', 'A sandbox worker could not start', { error: reason });
        if (!this.announced) send({ kind: 'init-failed', message: reason });
        this.startFailed(reason);
        this.discard(slot);
        return undefined;
      }
      case 'output': {
        const found = checkOutput(message, running?.id, running?.call.limits.outputBytes ?? 0);
        if (found !== undefined) return found;
        running!.output.write(message.stream as 'stdout' | 'stderr', message.text as string);
        return undefined;
      }
      case 'limit': {
        if (running === undefined) return violation('unexpected-message', `"limit" while ${slot.state}`);
        if (message.id !== running.id) return violation('wrong-id', '"limit" for another call');
        const found = checkOutcome({ ok: false, error: message.error });
        if (found !== undefined) return found;
        // The worker's own measures (it is stopped now and cannot send them later); a number that
        // is not a sane measure reads as 0, it only ever reaches this call's stats.
        const measure = (value: unknown): number =>
          typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : 0;
        this.stop(slot, message.error as GuestError, {
          cpuMs: measure(message.cpuMs),
          memoryBytes: measure(message.memoryBytes),
        });
        return undefined;
      }
      case 'done':
        return this.onDone(slot, message);
      case 'call-out': {
        const callOut = running?.callOut;
        const found = checkCallOut(message, running?.id, callOut?.capacity, callOut?.state);
        if (found !== undefined) return found;
        callOut!.state.count++;
        callOut!.state.waiting = true;
        send({ kind: 'call-out', id: running!.id, text: message.text as string });
        return undefined;
      }
      case 'restored': {
        if (slot.state !== 'restoring')
          return violation('unexpected-message', `"restored" while ${slot.state}`);
        if (message.id !== slot.restoringId) return violation('wrong-id', '"restored" for another call');
        if (typeof message.resetMs !== 'number' || typeof message.verified !== 'boolean')
          return violation('malformed', 'a restored message');
        clearTimeout(slot.resetTimer);
        this.resetStats.resets++;
        this.resetStats.lastResetMs = message.resetMs;
        this.resetStats.resetMsTotal += message.resetMs;
        if (isRecord(message.parts)) {
          // At most a few named figures (the warm message carries 16 numbers in all).
          for (const [part, ms] of Object.entries(message.parts).slice(0, 6)) {
            if (typeof ms === 'number' && /^[a-z]{1,16}$/.test(part)) this.resetStats[`last_${part}Ms`] = ms;
          }
        }
        if (message.verified) {
          this.resetStats.verified++;
          if (typeof message.verifyMs === 'number') {
            this.resetStats.lastVerifyMs = message.verifyMs;
            this.resetStats.verifyMsTotal += message.verifyMs;
          }
        }
        slot.state = 'ready';
        slot.idleSince = performance.now();
        this.idle.push(slot);
        this.dispatch();
        this.scheduleRetire();
        return undefined;
      }
      case 'reset-failed': {
        if (slot.state !== 'restoring')
          return violation('unexpected-message', `"reset-failed" while ${slot.state}`);
        if (message.id !== slot.restoringId) return violation('wrong-id', '"reset-failed" for another call');
        const reason = typeof message.reason === 'string' ? message.reason.slice(0, 2000) : 'no reason given';
        if (message.mismatch === true) {
          // State a call left survived the reset: the next call could have met it.
          this.resetStats.mismatches++;
          send({ kind: 'security', event: 'reset-mismatch', id: slot.restoringId });
          log(
            'error',
            'Security event: a reset in place left state that differs from the golden image; the worker was discarded',
            {
              securityEvent: 'reset-mismatch',
              call: slot.restoringId,
              detail: reason,
            },
          );
        } else {
          this.resetStats.failures++;
          log('warn', 'A reset in place could not be completed; the worker was discarded', {
            call: slot.restoringId,
            detail: reason,
          });
        }
        this.discard(slot);
        return undefined;
      }
      default:
        return violation('unknown-kind', 'a message of unknown kind');
    }
  }

  private onDone(slot: Slot, message: Record<string, unknown>): Violation | undefined {
    const running = slot.state === 'serving' ? slot.running : undefined;
    if (running === undefined) return violation('unexpected-done', `"done" while ${slot.state}`);
    if (message.id !== running.id) return violation('wrong-id', '"done" for another call');
    const found = checkOutcome(message.outcome);
    if (found !== undefined) return found;
    const outcome = message.outcome as Extract<WorkerToHost, { kind: 'done' }>['outcome'];
    if (outcome.ok && typeof outcome.valueJson !== 'string')
      return violation('malformed', 'a result without a value');
    if (typeof message.memoryBytes !== 'number' || typeof message.cpuMs !== 'number')
      return violation('malformed', 'a done message without measures');
    const done = message as unknown as Extract<WorkerToHost, { kind: 'done' }>;
    this.answer(slot, outcome, done);
    const reset = this.config.reset;
    if (reset !== undefined) {
      if (this.resettable(slot, done, reset)) this.startReset(slot, running.id, !done.outcome.ok, reset);
      else {
        this.resetStats.discarded++;
        this.discard(slot);
      }
    } else if (slot.calls < this.config.callsPerWorker) {
      // Reuse the operator allowed explicitly (CALLS_PER_INTERPRETER > 1).
      slot.state = 'ready';
      this.idle.push(slot);
      this.dispatch();
    } else if (this.renewable(slot, done)) {
      // A fresh interpreter in the same worker; it rejoins the pool when it says ready.
      slot.state = 'renewing';
      slot.calls = 0;
      slot.interpreters++;
      slot.preparing = true;
      slot.preparedAt = performance.now();
      this.starting++;
      this.spawned++;
      slot.worker.postMessage({ kind: 'renew' } satisfies HostToWorker);
      this.reportWarm();
    } else {
      this.discard(slot);
    }
    return undefined;
  }

  /** Kills a worker that broke the protocol; only the call it was serving fails. */
  private violated(slot: Slot, found: Violation): void {
    const running = slot.running;
    send({ kind: 'security', event: found.kind, ...(running === undefined ? {} : { id: running.id }) });
    log('error', 'Security event: an interpreter worker broke the host protocol and was killed', {
      securityEvent: found.kind,
      detail: found.detail,
      state: slot.state,
      call: running?.id,
      function: running?.call.function,
    });
    if (slot.preparing) {
      slot.preparing = false;
      this.starting--;
    }
    this.stop(slot, protocolViolationError(running?.call.function ?? 'function', found));
  }

  /** While calls run, samples the process's RSS; over the cap, every busy worker is stopped. */
  private watchRss(): void {
    if (this.rssTimer !== undefined) return;
    this.rssTimer = setInterval(() => {
      const busy = [...this.slots].filter((s) => s.running !== undefined);
      if (busy.length === 0) {
        clearInterval(this.rssTimer);
        this.rssTimer = undefined;
        return;
      }
      const rss = process.memoryUsage.rss();
      if (rss <= this.config.rssLimitBytes) return;
      log('warn', 'The sandbox host went over its RSS cap; stopping its busy interpreters', { rss });
      for (const slot of busy) {
        this.stop(slot, {
          code: 'MEMORY_LIMIT',
          message: `Cannot run "${slot.running!.call.function}": memory limit exceeded (the sandbox host's resident memory went over ${Math.round(this.config.rssLimitBytes / 2 ** 20)} MiB)`,
        });
      }
    }, 50);
  }

  private reportWarm(): void {
    const idle = this.idle.length;
    if (!this.announced && idle >= this.config.warm) {
      this.announced = true;
      const facts: HostFacts = {
        engineVersion: this.engineVersion,
        pid: process.pid,
        node: process.version,
        permissionModel: (process as unknown as { permission?: unknown }).permission !== undefined,
        networkInterfaces: visibleInterfaces(),
        extra: { ...this.prepared.facts },
      };
      send({ kind: 'ready', facts });
    }
    const r = this.resetStats;
    const resets = r.resets + r.mismatches + r.failures + r.discarded;
    if (idle !== this.lastWarm || this.spawned !== this.lastSpawned || resets !== this.lastResets) {
      this.lastWarm = idle;
      this.lastSpawned = this.spawned;
      this.lastResets = resets;
      const recent = this.prepareTimes;
      const mean = (pick: (t: { wallMs: number; cpuMs: number }) => number): number =>
        recent.length === 0 ? 0 : recent.reduce((sum, t) => sum + pick(t), 0) / recent.length;
      send({
        kind: 'warm',
        idle,
        target: this.config.warm,
        spawned: this.spawned,
        prepareWallMs: mean((t) => t.wallMs),
        prepareCpuMs: mean((t) => t.cpuMs),
        lastPrepare: this.lastPrepare,
        ...(this.config.reset === undefined ? {} : { reset: { ...this.resetStats } }),
      });
    }
  }
}

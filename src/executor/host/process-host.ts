// The service side of sandboxes that live in separate OS processes: an Executor backed by one or
// more sandbox host processes (process-runtime.ts), each started locked down by
// process-isolation.ts and spoken to over IPC only. This side is the last line for time: a call
// that its host does not answer by deadline + grace + hostGraceMs gets TIMEOUT and the whole host
// is killed. When a host dies — killed here, over its RSS cap, or crashed — it is restarted, and
// the other calls it held are sent again to the new host (once each), so other callers do not
// lose their calls to one guest's misbehaviour.
// The service does not trust its hosts either (layer 1 inside one may have fallen): each host has
// a state (starting → ready, once) and each call one (sent → started → done, exactly one answer
// carrying its id). A message the state does not expect — a second ready, a done or output for a
// call not running there, an unknown kind, a malformed or oversized message — kills the host at
// once; the call it named fails with SANDBOX_CRASH, the others are sent again to a fresh host, and
// the event is logged and counted (protocol-guard.ts, polyeval_security_events_total).
// A call with a call-out channel (Call.callOut, Wikifunctions reentrance) may send `call-out`
// messages while it runs: checked the same way (checkCallOut), put on the channel by
// call-out-relay.ts, answered with `call-out-answer`; such a call is never re-run on another host.

import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runnableUrl } from '../../paths.js';
import type {
  Call,
  CallStats,
  ExecuteOptions,
  ExecutionResult,
  Executor,
  ExecutorContext,
  GuestError,
  Outcome,
  Readiness,
} from '../contract.js';
import { parseJson, stringifyJson } from '../json-value.js';
import { channelCapacity, relayCallOut } from './call-out-relay.js';
import { cancelledError, timeoutError } from './limit-errors.js';
import { CapturedOutput } from './output-meter.js';
import {
  disposeWorkDir,
  type IsolationFacts,
  type IsolationMode,
  observeSandbox,
  planSandboxSpawn,
  spawnSandbox,
} from './process-isolation.js';
import type { HostFacts, HostToService, ServiceToHost, WireCall, WireOutcome } from './process-protocol.js';
import type { HostRuntimeConfig } from './process-runtime.js';
import {
  type CallOutState,
  checkCallOut,
  checkOutcome,
  checkOutput,
  isRecord,
  isViolationKind,
  kindOf,
  MAX_MESSAGE_TEXT,
  protocolViolationError,
  SecurityEvents,
  type Violation,
  violation,
} from './protocol-guard.js';

export interface ProcessExecutorOptions {
  /** The host entry module (calls serveSandboxHost()); .ts URLs are mapped to dist/. */
  readonly entry: URL;
  /**
   * Runs once before the first host starts (e.g. builds an engine snapshot); returns the files the
   * hosts may read besides their own code, and the language part of the init config.
   */
  readonly prepare: () => Promise<{
    readPaths: readonly string[];
    config: unknown;
    facts?: Record<string, unknown>;
  }>;
  /** Folders (ending with '/') holding the compiled code the host loads. */
  readonly codePaths: readonly string[];
  readonly host: HostRuntimeConfig;
  /** Number of host processes. */
  readonly hosts: number;
  /** Calls run at once (the orchestrator queues the rest). */
  readonly capacity: number;
  readonly isolation: IsolationMode;
  /** The operator's setting that chose `isolation`, named in messages. */
  readonly isolationSetting?: string;
  /** How long past deadline + grace the service waits for a host before killing it. */
  readonly hostGraceMs?: number;
  /** The service kills a host whose resident memory (with its children) goes over this. */
  readonly hostRssLimitBytes: number;
  /** Extra V8/Node flags for the host process. */
  readonly nodeFlags?: readonly string[];
}

/**
 * The whole environment of a sandbox host: nothing of the service's, only glibc's allocator
 * settings (ignored by other C libraries; the host's runtime empties process.env anyway). A host's
 * threads come and go (a worker per interpreter), each freeing tens of MiB: with glibc's defaults
 * (an arena per thread, an mmap threshold that rises to 32 MiB after the first large free, a trim
 * threshold that follows it) that memory stayed in the process, and an idle host grew from 330 to
 * 410 MiB within 30 calls. Two arenas, and allocations from 128 KiB up always in their own mapping
 * (given back to the system when freed): 220 MiB, flat (`npm run bench`, whole-tree idle RSS).
 * From 32 KiB up since: V8's compilers (wasm tier-up, the glue) take their zone memory in 32 KiB
 * segments, and freed amid live ones they stayed in the arenas: the idle host 146-149 → 132-134
 * MiB, the service 123-142 → 111-112 MiB (4 runs each, same session), no measurable speed cost.
 */
export const SANDBOX_HOST_ENV: Readonly<Record<string, string>> = {
  GLIBC_TUNABLES:
    'glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=32768:glibc.malloc.trim_threshold=131072',
};

interface PendingCall {
  readonly id: number;
  readonly call: Call;
  readonly wire: WireCall;
  readonly resolve: (result: ExecutionResult) => void;
  readonly received: number;
  attempts: number;
  settled: boolean;
  /** The host said it started the call (output and done are expected only then). */
  started: boolean;
  /** When it did (performance.now()): the call's deadline, as the service reckons it, runs from here. */
  startedAt: number;
  /** Its call-outs (Wikifunctions reentrance), when the call has a channel (Call.callOut). */
  callOut: CallOutState | undefined;
  /** What the guest printed, counted again here (reset when the call is run again elsewhere). */
  output: CapturedOutput;
  timer: NodeJS.Timeout | undefined;
  host: SandboxProcess | undefined;
}

/** Stats of a call answered without a sandbox measurement (refused, lost with its host...). */
function unmeasured(pending: PendingCall): CallStats {
  return { durationMs: performance.now() - pending.received, cpuMs: 0, memoryBytes: 0 };
}

const DEFAULT_HOST_GRACE_MS = 3000;
/** How long a call may wait inside a host for a warm interpreter before the host counts as stuck. */
const QUEUE_ALLOWANCE_MS = 60_000;
/**
 * Failed starts of a host in a row after which calls are refused at once (SANDBOX_CRASH naming
 * the failure) instead of waiting for a start that keeps failing, until the host starts again.
 */
const HOST_START_FAILURES_TO_REFUSE = 2;
const MAX_ATTEMPTS = 2;

type Log = ExecutorContext['log'];

/** Resident memory of a process and its direct children, in bytes (Linux; 0 elsewhere). */
function treeRss(pid: number): number {
  try {
    let total = 0;
    const pids = [pid];
    try {
      const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'latin1').trim();
      if (children !== '') pids.push(...children.split(/\s+/).map(Number));
    } catch {
      // No children file: count the process alone.
    }
    for (const p of pids) {
      const status = readFileSync(`/proc/${p}/status`, 'latin1');
      const match = /VmRSS:\s+(\d+) kB/.exec(status);
      if (match !== null) total += Number(match[1]) * 1024;
    }
    return total;
  } catch {
    return 0;
  }
}

class SandboxProcess {
  state: 'starting' | 'ready' | 'restarting' | 'closed' = 'starting';
  facts: HostFacts | undefined;
  isolation: IsolationFacts | undefined;
  warm = {
    idle: 0,
    target: 0,
    spawned: 0,
    prepareWallMs: 0,
    prepareCpuMs: 0,
    lastPrepare: {} as Readonly<Record<string, number>>,
    reset: undefined as Readonly<Record<string, number>> | undefined,
  };
  restarts = 0;
  lastError: string | undefined;
  readonly pending = new Map<number, PendingCall>();
  private readonly backlog: PendingCall[] = [];
  private child: ChildProcess | undefined;
  private culprits = new Map<number, GuestError>();
  /** Calls cancelled here whose answer the host still owes (it answers every call it was sent). */
  private cancelled = new Set<number>();
  /** A host killed for a protocol violation: nothing more it says is read. */
  private condemned: ChildProcess | undefined;
  private rssTimer: NodeJS.Timeout | undefined;
  private failuresInARow = 0;
  private firstStart: { resolve: () => void; reject: (e: Error) => void } | undefined;

  constructor(
    private readonly index: number,
    private readonly options: ProcessExecutorOptions,
    private readonly prepared: { readPaths: readonly string[]; config: unknown },
    private readonly log: Log,
    private readonly onAnswer: (pending: PendingCall, outcome: Outcome, stats: CallStats) => void,
    private readonly requeue: (pending: PendingCall) => void,
    private readonly security: SecurityEvents,
  ) {}

  get load(): number {
    return this.pending.size + this.backlog.length;
  }

  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.firstStart = { resolve, reject };
      this.spawnHost();
    });
  }

  submit(pending: PendingCall): void {
    pending.host = this;
    if (this.state !== 'ready' && this.failuresInARow >= HOST_START_FAILURES_TO_REFUSE) {
      this.fail(pending, this.unavailable(pending));
      return;
    }
    if (this.state !== 'ready' || this.child === undefined) {
      this.backlog.push(pending);
      // A host that cannot come back must not hold calls forever.
      clearTimeout(pending.timer);
      pending.timer = setTimeout(() => {
        const i = this.backlog.indexOf(pending);
        if (i < 0) return;
        this.backlog.splice(i, 1);
        this.fail(pending, this.unavailable(pending));
      }, QUEUE_ALLOWANCE_MS);
      return;
    }
    this.pending.set(pending.id, pending);
    pending.started = false;
    this.arm(pending, pending.call.limits.timeoutMs + QUEUE_ALLOWANCE_MS);
    this.post({ kind: 'call', id: pending.id, call: pending.wire });
  }

  private unavailable(pending: PendingCall): GuestError {
    return {
      code: 'SANDBOX_CRASH',
      message: `Cannot run "${pending.call.function}": the sandbox host is not available (${this.lastError ?? 'restarting'})`,
    };
  }

  private fail(pending: PendingCall, error: GuestError): void {
    this.onAnswer(pending, { ok: false, error }, unmeasured(pending));
  }

  cancel(pending: PendingCall): void {
    const i = this.backlog.indexOf(pending);
    if (i >= 0) this.backlog.splice(i, 1);
    if (this.pending.delete(pending.id)) {
      this.cancelled.add(pending.id);
      this.post({ kind: 'cancel', id: pending.id });
    }
    clearTimeout(pending.timer);
  }

  close(): void {
    this.state = 'closed';
    clearInterval(this.rssTimer);
    this.killChild();
    for (const pending of [...this.pending.values(), ...this.backlog]) {
      clearTimeout(pending.timer);
      this.fail(pending, {
        code: 'SANDBOX_CRASH',
        message: `Cannot run "${pending.call.function}": the executor is closing`,
      });
    }
    this.pending.clear();
    this.backlog.length = 0;
  }

  private post(message: ServiceToHost): void {
    try {
      this.child?.send(message);
    } catch (error) {
      this.log('warn', 'Cannot write to a sandbox host', { error: String(error) });
    }
  }

  /** The outer watchdog of one call: past `ms`, the host is killed and the call gets TIMEOUT. */
  private arm(pending: PendingCall, ms: number): void {
    clearTimeout(pending.timer);
    pending.timer = setTimeout(() => {
      if (!this.pending.has(pending.id)) return;
      this.culprits.set(
        pending.id,
        timeoutError(pending.call, 'the sandbox host did not answer and was restarted'),
      );
      this.log('warn', 'A sandbox host did not stop a call in time; killing it', {
        host: this.index,
        call: pending.id,
      });
      this.killChild();
    }, ms);
  }

  private spawnHost(): void {
    const entry = fileURLToPath(runnableUrl(this.options.entry));
    const plan = planSandboxSpawn({
      entry,
      readPaths: [...this.options.codePaths, ...this.prepared.readPaths],
      allowWorkers: true,
      mode: this.options.isolation,
      ...(this.options.isolationSetting === undefined ? {} : { setting: this.options.isolationSetting }),
      ...(this.options.nodeFlags === undefined ? {} : { nodeFlags: this.options.nodeFlags }),
    });
    if (plan.facts.warning !== undefined && this.isolation === undefined) {
      this.log('warn', plan.facts.warning, {
        host: this.index,
        missing: plan.facts.missing,
      });
    }
    this.isolation = plan.facts;
    const child = spawnSandbox(plan, {
      env: { ...SANDBOX_HOST_ENV },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
    });
    this.child = child;
    this.state = this.state === 'closed' ? 'closed' : this.restarts === 0 ? 'starting' : 'restarting';
    let stderrTail = '';
    child.stdout?.on('data', (chunk: Buffer) =>
      this.log('debug', 'Sandbox host stdout', { host: this.index, text: chunk.toString().slice(0, 2000) }),
    );
    child.stderr?.on('data', (chunk: Buffer) => {
      stderrTail = (stderrTail + chunk.toString()).slice(-4000);
    });
    child.on('message', (message: HostToService) => this.onMessage(child, message));
    child.on('error', (error) => {
      this.lastError = error.message;
    });
    child.on('exit', (code, signal) => {
      if (this.child !== child) return;
      this.child = undefined;
      disposeWorkDir(plan.cwd);
      if (stderrTail.trim() !== '') this.lastError = stderrTail.trim().split('\n').slice(-5).join('\n');
      this.onDeath(`exit code ${code}, signal ${signal}`);
    });
    this.post({ kind: 'init', config: { host: this.options.host, language: this.prepared.config } });
  }

  private onMessage(child: ChildProcess, raw: unknown): void {
    if (this.child !== child || this.condemned === child) return;
    const found = this.apply(raw);
    if (found === undefined) return;
    // Which call the message named, if it is one of ours — else the one call running there, if
    // only one is: that call fails, the others are sent again to a fresh host.
    let named = isRecord(raw) && typeof raw.id === 'number' ? this.pending.get(raw.id) : undefined;
    if (named === undefined) {
      const running = [...this.pending.values()].filter((p) => p.started);
      if (running.length === 1) named = running[0];
    }
    this.condemned = child;
    this.security.record(found.kind);
    if (named !== undefined) this.culprits.set(named.id, protocolViolationError(named.call.function, found));
    this.log('error', 'Security event: a sandbox host broke the protocol and was killed', {
      securityEvent: found.kind,
      detail: found.detail,
      host: this.index,
      state: this.state,
      call: named?.id,
      function: named?.call.function,
    });
    this.killChild();
  }

  /** Applies one host message to the host's and its calls' states; a Violation when not expected. */
  private apply(raw: unknown): Violation | undefined {
    const kind = kindOf(raw);
    if (typeof kind !== 'string') return kind;
    const message = raw as Record<string, unknown>;
    switch (kind) {
      case 'ready': {
        if (this.state === 'ready') return violation('unexpected-ready', 'a second "ready"');
        if (!isRecord(message.facts)) return violation('malformed', 'a ready message without facts');
        this.facts = message.facts as unknown as HostFacts;
        this.state = 'ready';
        this.failuresInARow = 0;
        this.lastError = undefined;
        this.firstStart?.resolve();
        this.firstStart = undefined;
        this.watchRss();
        const backlog = this.backlog.splice(0);
        for (const pending of backlog) this.submit(pending);
        return undefined;
      }
      case 'init-failed': {
        if (this.state === 'ready') return violation('unexpected-message', '"init-failed" after ready');
        const reason = typeof message.message === 'string' ? message.message.slice(0, 4000) : 'no reason';
        this.lastError = reason;
        this.log('error', 'A sandbox host could not start', { host: this.index, error: reason });
        this.killChild();
        return undefined;
      }
      case 'warm':
        if (
          typeof message.idle !== 'number' ||
          typeof message.target !== 'number' ||
          typeof message.spawned !== 'number' ||
          typeof message.prepareWallMs !== 'number' ||
          typeof message.prepareCpuMs !== 'number' ||
          !isRecord(message.lastPrepare)
        )
          return violation('malformed', 'a warm message');
        this.warm = {
          idle: message.idle,
          target: message.target,
          spawned: message.spawned,
          prepareWallMs: message.prepareWallMs,
          prepareCpuMs: message.prepareCpuMs,
          lastPrepare: message.lastPrepare as Record<string, number>,
          // Figures only (readiness details): anything else in it is dropped.
          reset: isRecord(message.reset)
            ? Object.fromEntries(
                Object.entries(message.reset)
                  .filter((e): e is [string, number] => typeof e[1] === 'number')
                  .slice(0, 16),
              )
            : undefined,
        };
        return undefined;
      case 'started': {
        if (typeof message.id === 'number' && this.cancelled.has(message.id)) return undefined;
        const pending = typeof message.id === 'number' ? this.pending.get(message.id) : undefined;
        if (pending === undefined) return violation('wrong-id', '"started" for a call not sent there');
        if (pending.started) return violation('unexpected-message', 'a second "started"');
        pending.started = true;
        pending.startedAt = performance.now();
        this.arm(
          pending,
          pending.call.limits.timeoutMs +
            this.options.host.graceMs +
            (this.options.hostGraceMs ?? DEFAULT_HOST_GRACE_MS),
        );
        return undefined;
      }
      case 'output': {
        if (typeof message.id === 'number' && this.cancelled.has(message.id)) return undefined;
        const pending = typeof message.id === 'number' ? this.pending.get(message.id) : undefined;
        const running = pending?.started === true ? pending : undefined;
        const found = checkOutput(message, running?.id, running?.call.limits.outputBytes ?? 0);
        if (found !== undefined) return found;
        running!.output.write(message.stream as 'stdout' | 'stderr', message.text as string);
        return undefined;
      }
      case 'done': {
        const found = checkOutcome(message.outcome);
        if (found !== undefined) return found;
        const outcome = message.outcome as WireOutcome;
        if ((outcome.ok && typeof outcome.valueJson !== 'string') || !isRecord(message.stats))
          return violation('malformed', 'a done message');
        if (typeof message.id === 'number' && this.cancelled.delete(message.id)) return undefined;
        const pending = typeof message.id === 'number' ? this.pending.get(message.id) : undefined;
        if (pending === undefined) return violation('unexpected-done', '"done" for a call not running there');
        // The host sends "started" before it hands a call to an interpreter.
        if (!pending.started) return violation('unexpected-done', '"done" before "started"');
        this.pending.delete(pending.id);
        clearTimeout(pending.timer);
        this.onAnswer(pending, decodeOutcome(pending.call, outcome), message.stats as unknown as CallStats);
        return undefined;
      }
      case 'call-out': {
        if (typeof message.id === 'number' && this.cancelled.has(message.id)) return undefined;
        const pending = typeof message.id === 'number' ? this.pending.get(message.id) : undefined;
        if (pending === undefined) return violation('wrong-id', 'a call-out for a call not running there');
        const running = pending.started ? pending : undefined;
        const channel = running?.call.callOut;
        const found = checkCallOut(
          message,
          running?.id,
          channel === undefined ? undefined : channelCapacity(channel),
          running?.callOut,
        );
        if (found !== undefined) return found;
        this.relay(running!, channel!, message.text as string);
        return undefined;
      }
      case 'security':
        // The host killed one of its workers for a protocol violation: counted as the host's own.
        // A closed set of kinds: a host cannot invent metric labels.
        if (!isViolationKind(message.event)) return violation('malformed', 'a security message');
        this.security.record(message.event);
        return undefined;
      case 'log':
        if (
          (message.level !== 'debug' &&
            message.level !== 'info' &&
            message.level !== 'warn' &&
            message.level !== 'error') ||
          typeof message.message !== 'string'
        )
          return violation('malformed', 'a log message');
        if (message.message.length > MAX_MESSAGE_TEXT) return violation('oversized', 'a log message');
        this.log(message.level, message.message, {
          host: this.index,
          ...(isRecord(message.fields) ? message.fields : {}),
        });
        return undefined;
      default:
        return violation('unknown-kind', 'a message of unknown kind');
    }
  }

  /** Puts a call-out on the evaluation's channel and sends the answer back to the host. */
  private relay(pending: PendingCall, channel: SharedArrayBuffer, text: string): void {
    const state = pending.callOut!;
    state.count++;
    state.waiting = true;
    const child = this.child;
    const deadline = pending.startedAt + pending.call.limits.timeoutMs;
    void relayCallOut(channel, text, deadline).then((answer) => {
      // The call ended, or its host was replaced, while the orchestrator answered: nobody waits.
      if (pending.settled || this.child !== child || this.pending.get(pending.id) !== pending) return;
      state.waiting = false;
      if (!answer.ok && answer.fatal) state.over = true;
      this.post({ kind: 'call-out-answer', id: pending.id, answer });
    });
  }

  private killChild(): void {
    const child = this.child;
    if (child === undefined) return;
    try {
      child.kill('SIGKILL');
    } catch {
      // Already gone.
    }
  }

  private onDeath(reason: string): void {
    clearInterval(this.rssTimer);
    this.rssTimer = undefined;
    if (this.state === 'closed') return;
    const wasStarting = this.state !== 'ready';
    this.state = 'restarting';
    this.facts = undefined;
    this.warm = { ...this.warm, idle: 0 };
    const culprits = this.culprits;
    this.culprits = new Map();
    this.cancelled.clear();
    const orphans = [...this.pending.values()];
    this.pending.clear();
    for (const pending of orphans) {
      clearTimeout(pending.timer);
      const blame = culprits.get(pending.id);
      if (blame !== undefined) {
        this.fail(pending, blame);
      } else if (pending.attempts < MAX_ATTEMPTS && (pending.callOut?.count ?? 0) === 0) {
        // A call that called other functions is not run again: its call-outs have been made (and
        // one may still be on its way on the evaluation's channel).
        pending.attempts++;
        pending.output = new CapturedOutput(pending.call.limits.outputBytes);
        this.requeue(pending);
      } else {
        this.fail(pending, {
          code: 'SANDBOX_CRASH',
          message: `Cannot run "${pending.call.function}": the sandbox host died (${reason})`,
        });
      }
    }
    this.restarts++;
    if (wasStarting) this.failuresInARow++;
    if (this.failuresInARow >= HOST_START_FAILURES_TO_REFUSE) {
      // The host keeps failing to start: the calls waiting for it are answered now.
      for (const pending of this.backlog.splice(0)) {
        clearTimeout(pending.timer);
        this.fail(pending, this.unavailable(pending));
      }
    }
    if (this.firstStart !== undefined && this.failuresInARow >= 3) {
      this.firstStart.reject(new Error(`The sandbox host could not start: ${this.lastError ?? reason}`));
      this.firstStart = undefined;
    }
    const delay = this.failuresInARow === 0 ? 0 : Math.min(30_000, 500 * 2 ** (this.failuresInARow - 1));
    this.log(this.failuresInARow > 0 ? 'error' : 'warn', 'A sandbox host died; restarting it', {
      host: this.index,
      reason,
      error: this.lastError,
      requeued: orphans.length - culprits.size,
      delayMs: delay,
    });
    setTimeout(() => {
      if (this.state !== 'closed') this.spawnHost();
    }, delay).unref();
  }

  private watchRss(): void {
    clearInterval(this.rssTimer);
    this.rssTimer = setInterval(() => {
      const pid = this.child?.pid;
      if (pid === undefined) return;
      const rss = treeRss(pid);
      if (rss <= this.options.hostRssLimitBytes) return;
      this.log('warn', 'A sandbox host went over its RSS limit; killing it', { host: this.index, rss });
      this.killChild();
    }, 250);
    this.rssTimer.unref();
  }

  /** The OS process id of the host (of `unshare` when namespaces are in force; the host is its child). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  rss(): number {
    return this.child?.pid === undefined ? 0 : treeRss(this.child.pid);
  }
}

function decodeOutcome(call: Call, outcome: WireOutcome): Outcome {
  if (!outcome.ok) return outcome;
  if (Buffer.byteLength(outcome.valueJson) > call.limits.outputBytes) {
    return {
      ok: false,
      error: {
        code: 'OUTPUT_LIMIT',
        message: `Cannot return from "${call.function}": the result is larger than the output limit of ${call.limits.outputBytes} bytes`,
      },
    };
  }
  try {
    return { ok: true, value: parseJson(outcome.valueJson) };
  } catch (error) {
    return {
      ok: false,
      error: {
        code: 'INVALID_RESULT',
        message: `Cannot return from "${call.function}": the result cannot be read as JSON (${error instanceof Error ? error.message : String(error)})`,
      },
    };
  }
}

/** An Executor whose sandboxes live in separate, locked-down host processes. */
export function createProcessExecutor(context: ExecutorContext, options: ProcessExecutorOptions): Executor {
  const hosts: SandboxProcess[] = [];
  let nextId = 1;
  let closed = false;
  let startupError: string | undefined;
  let preparedFacts: Record<string, unknown> = {};
  const counters = { calls: 0, requeued: 0, timeouts: 0, crashes: 0 };
  const security = new SecurityEvents();

  const answer = (pending: PendingCall, outcome: Outcome, stats: CallStats): void => {
    if (pending.settled) return;
    pending.settled = true;
    if (!outcome.ok && outcome.error.code === 'TIMEOUT') counters.timeouts++;
    if (!outcome.ok && outcome.error.code === 'SANDBOX_CRASH') counters.crashes++;
    pending.resolve({ ...outcome, stdout: pending.output.stdout, stderr: pending.output.stderr, stats });
  };

  const route = (pending: PendingCall): void => {
    const candidates = hosts.filter((h) => h.state === 'ready');
    const pool = candidates.length > 0 ? candidates : hosts;
    let best = pool[0]!;
    for (const host of pool) if (host.load < best.load) best = host;
    best.submit(pending);
  };

  return {
    get capacity() {
      return options.capacity;
    },
    async start() {
      try {
        const prepared = await options.prepare();
        preparedFacts = prepared.facts ?? {};
        for (let i = 0; i < options.hosts; i++) {
          hosts.push(
            new SandboxProcess(
              i,
              options,
              prepared,
              context.log,
              answer,
              (pending) => {
                counters.requeued++;
                route(pending);
              },
              security,
            ),
          );
        }
        await Promise.all(hosts.map((h) => h.start()));
      } catch (error) {
        startupError = error instanceof Error ? error.message : String(error);
        throw error;
      }
    },
    readiness(): Readiness {
      const ready =
        !closed && startupError === undefined && hosts.length > 0 && hosts.some((h) => h.state === 'ready');
      const isolation = hosts[0]?.isolation;
      const facts = hosts.find((h) => h.facts !== undefined)?.facts;
      return {
        ready,
        details: {
          capacity: options.capacity,
          isolation:
            isolation === undefined
              ? { mode: options.isolation }
              : {
                  ...isolation,
                  // What the host itself observed, not only what was asked for.
                  observedNetworkInterfaces: facts?.networkInterfaces ?? null,
                  observedPermissionModel: facts?.permissionModel ?? null,
                  // Read from /proc of the running host, not taken from the plan.
                  observed: hosts[0]?.pid === undefined ? null : (observeSandbox(hosts[0].pid) ?? null),
                },
          singleUse: options.host.callsPerWorker === 1,
          workerPerInterpreter: options.host.interpretersPerWorker === 1,
          callsPerInterpreter: options.host.callsPerWorker,
          ...(options.host.reset === undefined ? {} : { reset: options.host.reset }),
          interpretersPerWorker: options.host.interpretersPerWorker,
          hosts: hosts.map((h) => ({
            state: h.state,
            pid: h.pid ?? null,
            restarts: h.restarts,
            busy: h.pending.size,
            interpretersWaiting: h.warm.idle,
            interpretersTarget: h.warm.target,
            interpretersStarted: h.warm.spawned,
            prepareWallMs: Math.round(h.warm.prepareWallMs),
            prepareCpuMs: Math.round(h.warm.prepareCpuMs),
            rssBytes: h.rss(),
            lastPrepareMs: Object.fromEntries(
              Object.entries(h.warm.lastPrepare).map(([k, v]) => [k, Math.round(v * 10) / 10]),
            ),
            ...(h.warm.reset === undefined ? {} : { resets: h.warm.reset }),
            ...(h.lastError === undefined ? {} : { lastError: h.lastError }),
          })),
          ...counters,
          // Read by /metrics (polyeval_security_events_total).
          securityEvents: security.snapshot(),
          ...preparedFacts,
          ...(facts === undefined ? {} : { node: facts.node, engine: facts.extra }),
          ...(startupError === undefined ? {} : { startupError }),
        },
      };
    },
    execute(call: Call, opts?: ExecuteOptions): Promise<ExecutionResult> {
      if (closed) return Promise.reject(new Error(`The ${context.manifest.id} executor is closed`));
      if (hosts.length === 0)
        return Promise.reject(new Error(`The ${context.manifest.id} executor has not been started`));
      counters.calls++;
      return new Promise<ExecutionResult>((resolve) => {
        const pending: PendingCall = {
          id: nextId++,
          call,
          wire: {
            code: call.code ?? '',
            function: call.function,
            argsJson: stringifyJson(call.args),
            limits: call.limits,
            ...(call.codec === undefined ? {} : { codec: call.codec }),
            ...(call.callOut === undefined ? {} : { callOutBytes: channelCapacity(call.callOut) }),
          },
          resolve,
          received: performance.now(),
          attempts: 1,
          settled: false,
          started: false,
          startedAt: 0,
          callOut: call.callOut === undefined ? undefined : { count: 0, waiting: false, over: false },
          output: new CapturedOutput(call.limits.outputBytes),
          timer: undefined,
          host: undefined,
        };
        const signal = opts?.signal;
        if (signal !== undefined) {
          const onAbort = (): void => {
            pending.host?.cancel(pending);
            answer(pending, { ok: false, error: cancelledError(call) }, unmeasured(pending));
          };
          if (signal.aborted) {
            onAbort();
            return;
          }
          signal.addEventListener('abort', onAbort, { once: true });
        }
        route(pending);
      });
    },
    engineVersion() {
      return hosts.find((h) => h.facts !== undefined)?.facts?.engineVersion ?? 'not started';
    },
    async close() {
      closed = true;
      for (const host of hosts) host.close();
    },
  };
}

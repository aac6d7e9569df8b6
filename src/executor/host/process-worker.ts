// The worker-thread side of a sandbox host process (process-runtime.ts): prepares one interpreter,
// says it is ready, serves the call(s) its host sends, and streams capped output back. It trusts
// nothing it runs: the host terminates it at the deadline whatever it does, and re-counts output.
// Single use holds on this side too: an interpreter serves one call (or the callsPerInterpreter the
// operator allowed), and a call that arrives when the interpreter is not ready — a second call, a
// call while preparing — ends the worker instead of running. Before the first guest byte runs, the
// worker's realm is locked down (lockdown.ts): set-up may use vm and Pyodide's binding shim, guests
// may not. A runner that can reset its sandbox in place (`reset`) serves many calls, one at a time:
// after each answer the host sends `reset`, the runner puts back its golden image (and compares the
// result with it when asked), and only a `restored` answer makes the worker ready again.

import { parentPort, workerData } from 'node:worker_threads';
import type { GuestError } from '../contract.js';
import { armSlot, awaitSlot } from './call-out-slot.js';
import { outputLimitError } from './limit-errors.js';
import { lockDownRealm } from './lockdown.js';
import { OutputMeter, type OutputStream } from './output-meter.js';
import type { CallOutAnswer, HostToWorker, WireCall, WireOutcome, WorkerToHost } from './process-protocol.js';
import { threadCpuMs } from './thread-cpu.js';

export interface SingleUseIo {
  /**
   * Appends guest output. Returns false once the call's output limit is reached: the text is cut
   * at the limit and the host is told, which stops the worker with OUTPUT_LIMIT.
   */
  write(stream: OutputStream, text: string): boolean;
  /** Reports a limit the runner detected (e.g. a filesystem quota); the host stops the worker. */
  limit(error: GuestError): void;
  /**
   * The guest calls another function (Wikifunctions reentrance): sends `text` ("<ZID>\n<tagged
   * JSON arguments>") to the host and blocks until the answer or `deadline` (performance.now()).
   * Absent when the call may not call out (its request is refused in the worker).
   */
  readonly callOut?: (text: string, deadline: number) => CallOutAnswer;
}

export interface SingleUseResult {
  readonly outcome: WireOutcome;
  readonly memoryBytes: number;
  readonly extraStats?: Record<string, number>;
  /** The interpreter's state is in doubt (it trapped, exited...): never reset it, discard the worker. */
  readonly discard?: boolean;
}

/** What a reset in place found: restored (and verified when asked), or the reason it could not be. */
export type ResetReport =
  | {
      readonly ok: true;
      readonly resetMs: number;
      readonly verifyMs?: number;
      readonly verified: boolean;
      /** Milliseconds per part of the reset (engine-specific names), for readiness details. */
      readonly parts?: Record<string, number>;
    }
  | { readonly ok: false; readonly reason: string; readonly mismatch: boolean };

export interface SingleUseRunner {
  readonly engineVersion: string;
  /** Per-interpreter figures for the host's facts (e.g. restore phases in ms). */
  readonly prepareStats?: Record<string, number>;
  run(call: WireCall, io: SingleUseIo): Promise<SingleUseResult>;
  /** The engine's memory now, in bytes: the stats of a call stopped at a limit (OUTPUT_LIMIT). */
  memoryBytes?(): number;
  /**
   * Puts the sandbox back to the image taken after set-up, so that the next call meets a never-used
   * interpreter; with `verify`, then compares the whole state with that image.
   */
  reset?(verify: boolean): ResetReport;
}

/** What the host puts in workerData: the language's data and this worker's interrupt flag. */
export interface SingleUseWorkerData<Data> {
  readonly data: Data;
  /** Int32Array on a SharedArrayBuffer; the host stores 2 (SIGINT) at the deadline. */
  readonly interrupt: Int32Array;
  /** Calls one interpreter may serve (1 unless the operator allowed reuse). */
  readonly callsPerInterpreter?: number;
}

function post(message: WorkerToHost): void {
  parentPort!.postMessage(message);
}

/**
 * The SingleUseIo of one call: output metered and streamed; a limit hit is reported to the host
 * with the call's measures so far, so that its answer keeps real stats though the worker is stopped.
 */
function singleUseIo(
  id: number,
  call: WireCall,
  runner: SingleUseRunner,
  cpuStart: number,
  slot: SharedArrayBuffer | undefined,
): SingleUseIo {
  const limit = (error: GuestError): void =>
    post({
      kind: 'limit',
      id,
      error,
      cpuMs: threadCpuMs() - cpuStart,
      memoryBytes: runner.memoryBytes?.() ?? 0,
    });
  const meter = new OutputMeter(
    call.limits.outputBytes,
    (stream, text) => post({ kind: 'output', id, stream, text }),
    () => limit(outputLimitError(call)),
  );
  const io: SingleUseIo = { write: (stream, text) => meter.write(stream, text), limit };
  if (slot === undefined) return io;
  // The slot is armed before the message goes out: an answer can never arrive unasked for.
  const callOut = (text: string, deadline: number): CallOutAnswer => {
    if (!armSlot(slot)) return { ok: false, message: 'a call-out is already waiting', fatal: true };
    post({ kind: 'call-out', id, text });
    return awaitSlot(slot, deadline);
  };
  return { ...io, callOut };
}

/**
 * Runs the worker: `setup` prepares the interpreter (the expensive part, done before the worker
 * counts as warm), then each call message is served in turn.
 */
export function serveSingleUseWorker<Data>(
  setup: (data: Data, interrupt: Int32Array) => Promise<SingleUseRunner> | SingleUseRunner,
): void {
  if (parentPort === null) throw new Error('serveSingleUseWorker() must run inside a worker thread');
  const { data, interrupt, callsPerInterpreter = 1 } = workerData as SingleUseWorkerData<Data>;
  // Captured before any guest runs: a guest that reached this realm cannot swap it for a no-op.
  const exit = process.exit.bind(process);
  let runner: SingleUseRunner | undefined;
  /**
   * preparing → ready → serving → (ready again only while calls < callsPerInterpreter) → used; a
   * used interpreter is renewed (preparing), or reset in place (restoring → ready), or the worker ends.
   */
  let state: 'preparing' | 'ready' | 'serving' | 'used' | 'restoring' = 'preparing';
  /** The call whose answer made the interpreter `used` (a reset must name it). */
  let lastId = -1;
  /** The last answer asked for the interpreter to be discarded: no reset will be accepted. */
  let discard = false;
  let calls = 0;
  const refuse = (): void => {
    // The host never sends this; whoever did is not to be served. Ending the thread is the answer.
    exit(70);
  };
  const prepare = (): void => {
    const cpuStart = threadCpuMs();
    // Drop the previous interpreter first, so that it can be collected while the next one loads.
    runner = undefined;
    state = 'preparing';
    calls = 0;
    Promise.resolve()
      .then(() => setup(data, interrupt))
      .then(
        (prepared) => {
          lockDownRealm();
          runner = prepared;
          state = 'ready';
          post({
            kind: 'ready',
            engineVersion: prepared.engineVersion,
            cpuMs: threadCpuMs() - cpuStart,
            ...(prepared.prepareStats === undefined ? {} : { extra: prepared.prepareStats }),
          });
        },
        (error: unknown) =>
          post({
            kind: 'init-failed',
            message: error instanceof Error ? (error.stack ?? error.message) : String(error),
          }),
      );
  };
  parentPort.on('message', (message: HostToWorker) => {
    if (message?.kind === 'renew' && state === 'used') prepare();
    else if (message?.kind === 'call' && state === 'ready' && runner !== undefined) {
      state = 'serving';
      calls++;
      lastId = message.id;
      void handle(runner, message).then(() => {
        state = calls < callsPerInterpreter ? 'ready' : 'used';
      });
    } else if (
      message?.kind === 'reset' &&
      state === 'used' &&
      !discard &&
      message.id === lastId &&
      runner?.reset !== undefined
    ) {
      state = 'restoring';
      reset(runner, message.id, message.verify === true);
    } else refuse();
  });
  prepare();

  function reset(runner: SingleUseRunner, id: number, verify: boolean): void {
    let report: ResetReport;
    try {
      report = runner.reset!(verify);
    } catch (error) {
      report = { ok: false, reason: error instanceof Error ? error.message : String(error), mismatch: false };
    }
    if (report.ok) {
      calls = 0;
      state = 'ready';
      post({
        kind: 'restored',
        id,
        resetMs: report.resetMs,
        verified: report.verified,
        ...(report.verifyMs === undefined ? {} : { verifyMs: report.verifyMs }),
        ...(report.parts === undefined ? {} : { parts: report.parts }),
      });
    } else {
      // Never ready again: the host terminates this worker.
      discard = true;
      state = 'used';
      post({ kind: 'reset-failed', id, reason: report.reason.slice(0, 2000), mismatch: report.mismatch });
    }
  }

  async function handle(
    runner: SingleUseRunner,
    message: Extract<HostToWorker, { kind: 'call' }>,
  ): Promise<void> {
    const { id, call } = message;
    const cpu = threadCpuMs();
    const slot = message.callOut instanceof SharedArrayBuffer ? message.callOut : undefined;
    let result: SingleUseResult;
    try {
      result = await runner.run(call, singleUseIo(id, call, runner, cpu, slot));
    } catch (error) {
      result = {
        discard: true,
        outcome: {
          ok: false,
          error: {
            code: 'SANDBOX_CRASH',
            message: `Cannot run "${call.function}": the interpreter failed (${error instanceof Error ? error.message : String(error)})`,
          },
        },
        memoryBytes: 0,
      };
    }
    discard = result.discard === true;
    post({
      kind: 'done',
      id,
      outcome: result.outcome,
      memoryBytes: result.memoryBytes,
      cpuMs: threadCpuMs() - cpu,
      ...(result.extraStats === undefined ? {} : { extraStats: result.extraStats }),
      ...(discard ? { discard: true } : {}),
    });
  }
}

// The door by which guest Python calls another Wikifunctions function (reentrance): a character
// device, /dev/wikifunctions, in the interpreter's in-memory filesystem. It needs no new import of
// pyodide.asm.wasm: its handlers run inside fd_write/fd_read, doors that are open anyway (doors.ts,
// PYTHON_DEVICE_DOORS). `W.Call` (wikifunctions.py, in the guest's namespace for "zobject" calls)
// opens it, writes one request ("<ZID>\n<arguments as tagged JSON>") and reads the answer; the write
// blocks while the request travels worker → sandbox host → service → orchestrator and back
// (src/executor/host/call-out-slot.ts), bounded by the call's deadline.
//
// The device holds no state of its own across calls: each call has a session (begin → end), a
// descriptor opened in another call's session is refused (EBADF), and writes outside a session are
// refused (EIO). Within a call, a fatal refusal (not reentrant, too many calls, too large) or the
// deadline ends the call whatever the guest does next — catching the exception or writing the
// device again changes nothing: end() puts that outcome in place of the guest's.
// The rest of what reaches the device is the guest's to choose (it can open and write the device
// without `W`): every byte is bounded and checked here, on the host process and in the service.

import type { GuestError } from '../../src/executor/contract.js';
import { encodeAnswer } from '../../src/executor/host/call-out-slot.js';
import { timeoutError } from '../../src/executor/host/limit-errors.js';
import type { CallOutAnswer, WireCall, WireOutcome } from '../../src/executor/host/process-protocol.js';
import type { SingleUseIo } from '../../src/executor/host/process-worker.js';

/** Where the device is, and its number (st_rdev): wikifunctions.py checks both. */
export const CALL_OUT_DEVICE = '/dev/wikifunctions';
export const CALL_OUT_MAJOR = 240;

/**
 * The reference evaluator's words (src/maybeRunZ7.js), also NON_REENTRANT_MESSAGE in
 * src/wikifunctions/reentrance.ts, which the worker may not import (test/python/reentrance.test.ts
 * keeps them equal).
 */
export const NON_REENTRANT_MESSAGE = 'Non-reentrant executor tried to call back to the orchestrator';

// Emscripten's errno values (not Linux's).
const EBADF = 8;
const EIO = 29;
const EINVAL = 28;
const ESPIPE = 70;

interface DeviceFs {
  makedev(major: number, minor: number): number;
  registerDevice(dev: number, ops: Record<string, unknown>): void;
  mkdev(path: string, mode: number, dev: number): unknown;
  ErrnoError: new (errno: number) => Error;
}

interface Stream {
  seekable?: boolean;
}

interface Session {
  readonly call: WireCall;
  readonly io: SingleUseIo;
  readonly deadline: number;
  /** A fatal refusal ended the call's call-outs; the call ends with it. */
  fatal: GuestError | undefined;
  timedOut: boolean;
}

interface OpenDevice {
  readonly session: Session | undefined;
  answer: Uint8Array | undefined;
  at: number;
}

const encoder = new TextEncoder();

export class CallOutDoor {
  private session: Session | undefined;
  private readonly open = new WeakMap<object, OpenDevice>();

  /** Creates the device (once per interpreter, before the import gate closes). */
  install(FS: DeviceFs): void {
    const dev = FS.makedev(CALL_OUT_MAJOR, 0);
    const fail = (errno: number): never => {
      throw new FS.ErrnoError(errno);
    };
    FS.registerDevice(dev, {
      open: (stream: Stream) => {
        stream.seekable = false;
        this.open.set(stream, { session: this.session, answer: undefined, at: 0 });
      },
      close: (stream: Stream) => {
        this.open.delete(stream);
      },
      write: (stream: Stream, buffer: Int8Array, offset: number, length: number): number => {
        const device = this.open.get(stream);
        const session = this.session;
        if (session === undefined) return fail(EIO);
        if (device === undefined || device.session !== session) return fail(EBADF);
        const capacity = session.call.callOutBytes ?? 0;
        let answer: CallOutAnswer;
        if (session.io.callOut !== undefined && length > capacity) {
          // Bounded before anything is read: a request larger than the channel ends the call.
          const why = `the call takes ${length} bytes, more than the limit of ${capacity}`;
          answer = { ok: false, fatal: true, ...this.refuse(session, why) };
        } else {
          let text = '';
          try {
            const bytes = new Uint8Array(buffer.buffer, buffer.byteOffset + offset, length);
            if (session.io.callOut !== undefined)
              text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
          } catch {
            return fail(EINVAL);
          }
          answer = this.call(session, text);
        }
        // What the guest reads: a status letter ("v", "e", "f", "t") and the value or the message.
        device.answer = encoder.encode(encodeAnswer(answer));
        device.at = 0;
        return length;
      },
      read: (stream: Stream, buffer: Int8Array, offset: number, length: number): number => {
        const device = this.open.get(stream);
        if (device === undefined || device.session !== this.session) return fail(EBADF);
        const answer = device.answer;
        if (answer === undefined) return 0;
        const n = Math.min(length, answer.length - device.at);
        new Uint8Array(buffer.buffer, buffer.byteOffset + offset, n).set(
          answer.subarray(device.at, device.at + n),
        );
        device.at += n;
        return n;
      },
      llseek: () => fail(ESPIPE),
    });
    FS.mkdev(CALL_OUT_DEVICE, 0o666, dev);
  }

  /** Starts a call's session: its call-outs go to `io` until end(). */
  begin(call: WireCall, io: SingleUseIo, deadline: number): void {
    this.session = { call, io, deadline, fatal: undefined, timedOut: false };
  }

  /**
   * Ends the call's session and gives its outcome: the guest's, unless its call-outs ended it (the
   * deadline passed while it waited, or a fatal refusal), which no guest code can undo.
   */
  end(outcome: WireOutcome): WireOutcome {
    const session = this.session;
    this.session = undefined;
    if (session === undefined) return outcome;
    if (session.timedOut) return { ok: false, error: timeoutError(session.call) };
    if (session.fatal !== undefined) return { ok: false, error: session.fatal };
    return outcome;
  }

  private refuse(session: Session, why: string): { message: string } {
    const message = why === NON_REENTRANT_MESSAGE ? why : `Cannot run "${session.call.function}": ${why}`;
    session.fatal ??= { code: 'RUNTIME_ERROR', message };
    return { message: session.fatal.message };
  }

  private call(session: Session, text: string): CallOutAnswer {
    if (session.timedOut) return { ok: false, message: 'time limit reached', fatal: true, timeout: true };
    if (session.fatal !== undefined) return { ok: false, message: session.fatal.message, fatal: true };
    if (session.io.callOut === undefined)
      return { ok: false, fatal: true, ...this.refuse(session, NON_REENTRANT_MESSAGE) };
    const answer = session.io.callOut(text, session.deadline);
    if (answer.ok) return answer;
    // The service's refusal at the deadline and this worker's own wait: whichever clock saw it.
    if (answer.timeout === true || performance.now() >= session.deadline) {
      session.timedOut = true;
      return { ok: false, message: 'time limit reached', fatal: true, timeout: true };
    }
    if (answer.fatal) return { ok: false, fatal: true, ...this.refuse(session, answer.message) };
    return answer;
  }
}

// An in-memory WASI preview1 (`wasi_snapshot_preview1`) for one sandbox worker. Nothing here touches
// the host: stdin is a buffer, stdout and stderr go into capped buffers, arguments and environment
// are empty, there are no preopened directories (so every path operation fails), clocks and random
// work, and proc_exit ends only the guest (it throws through the guest's frames). Every other
// function answers with a WASI error. node:wasi is not used: it needs real file descriptors, cannot
// cap output, and a guest's proc_exit can end the host process.
//
// One Wasi object serves every call of its worker: the import functions are created once (V8 keeps
// its import wrappers warm) and read the current call's state, which begin() replaces.

import { WASI_FUNCTIONS } from './wasi-surface.js';

const ERRNO = {
  SUCCESS: 0,
  BADF: 8,
  FAULT: 21,
  INVAL: 28,
  NOSYS: 52,
  SPIPE: 70,
  NOTCAPABLE: 76,
} as const;

const FILETYPE_UNKNOWN = 0;
const RIGHT_FD_READ = 1n << 1n;
const RIGHT_FD_WRITE = 1n << 6n;
const RIGHT_POLL_FD_READWRITE = 1n << 27n;

/** Clocks are coarsened to 100 µs, like browsers without cross-origin isolation (timing side channels). */
const CLOCK_RESOLUTION_NS = 100_000n;
const IOV_MAX = 1024;

export type StopReason =
  | { readonly kind: 'exit'; readonly code: number }
  | { readonly kind: 'output-limit' }
  | { readonly kind: 'timeout' };

/** Thrown through the guest's frames to end it; the call's state keeps the reason (see README). */
export class GuestStop extends Error {
  constructor(readonly reason: StopReason) {
    super(`guest stopped (${reason.kind})`);
    this.name = 'GuestStop';
  }
}

/** An out-of-bounds pointer from the guest: the function answers EFAULT. */
const FAULT = Symbol('fault');

export interface WasiCallOptions {
  readonly stdin: Uint8Array;
  /** Keep stdout in a buffer (the command convention: stdout is the result) instead of streaming it. */
  readonly captureStdout: boolean;
  /** Bytes the guest may write to stdout and stderr together. */
  readonly outputLimit: number;
  /** performance.now() value past which the guest is stopped at its next WASI call. */
  readonly deadline: number;
  /** Streams decoded output to the host; false once the host-side limit is reached. */
  readonly write: (stream: 'stdout' | 'stderr', text: string) => boolean;
  /**
   * Called once when the guest is stopped (exit, output limit, deadline). Our exception can be
   * caught by guest exception handlers, so the runner also empties the fuel: the guest's next loop
   * or call then traps, and traps cannot be caught.
   */
  readonly onStop?: () => void;
}

export interface WasiCallEnd {
  readonly stdout: Uint8Array;
  readonly stop: StopReason | undefined;
  readonly outputBytes: number;
}

/**
 * Output is streamed to the host as it is written (so a call killed by the watchdog still shows
 * it), write by write for the first EAGER_FLUSHES writes, then in pieces of FLUSH_BYTES or every
 * FLUSH_MS, so that a chatty guest does not cost one message per byte.
 */
const EAGER_FLUSHES = 64;
const FLUSH_BYTES = 16 * 1024;
const FLUSH_MS = 50;

class CallState {
  stop: StopReason | undefined;
  stdinOffset = 0;
  used = 0;
  readonly stdoutChunks: Uint8Array[] = [];
  readonly pending: Record<'stdout' | 'stderr', string> = { stdout: '', stderr: '' };
  readonly decoders = {
    stdout: new TextDecoder('utf-8', { fatal: false }),
    stderr: new TextDecoder('utf-8', { fatal: false }),
  };
  lastFlush: number;
  flushes = 0;
  readonly started: number;

  constructor(readonly options: WasiCallOptions) {
    this.started = performance.now();
    this.lastFlush = this.started;
  }
}

type ImportFunction = (...args: never[]) => number | undefined;

export class Wasi {
  readonly imports: Readonly<Record<string, ImportFunction>>;
  private memory: WebAssembly.Memory | undefined;
  private buffer: ArrayBuffer | undefined;
  private bytes = new Uint8Array(0);
  private view = new DataView(new ArrayBuffer(0));
  private call: CallState | undefined;
  private readonly sleeper = new Int32Array(new SharedArrayBuffer(4));

  constructor() {
    const impl = this.implementation();
    const imports: Record<string, ImportFunction> = {};
    for (const name of Object.keys(WASI_FUNCTIONS)) {
      const fn = (impl[name] ?? (() => ERRNO.NOSYS)) as (...args: unknown[]) => number | undefined;
      imports[name] = (...args: unknown[]): number | undefined => {
        const call = this.call;
        if (call === undefined) return ERRNO.NOSYS;
        if (call.stop !== undefined) throw new GuestStop(call.stop);
        try {
          return fn(...args);
        } catch (error) {
          if (error === FAULT) return ERRNO.FAULT;
          throw error;
        }
      };
    }
    this.imports = imports;
  }

  /** Starts a call: `memory` is the guest's memory (undefined for modules without one). */
  begin(memory: WebAssembly.Memory | undefined, options: WasiCallOptions): void {
    this.memory = memory;
    this.buffer = undefined;
    this.call = new CallState(options);
  }

  /** The reason the guest was stopped, if it was (a guest can catch our exception, not undo this). */
  get stopReason(): StopReason | undefined {
    return this.call?.stop;
  }

  /** Ends the call: flushes streamed output and returns what the guest left. */
  end(): WasiCallEnd {
    const call = this.call;
    this.call = undefined;
    this.memory = undefined;
    this.buffer = undefined;
    this.bytes = new Uint8Array(0);
    this.view = new DataView(new ArrayBuffer(0));
    if (call === undefined) return { stdout: new Uint8Array(0), stop: undefined, outputBytes: 0 };
    for (const stream of ['stdout', 'stderr'] as const) {
      call.pending[stream] += call.decoders[stream].decode();
      this.flush(call, stream);
    }
    let length = 0;
    for (const c of call.stdoutChunks) length += c.length;
    const stdout = new Uint8Array(length);
    let at = 0;
    for (const c of call.stdoutChunks) {
      stdout.set(c, at);
      at += c.length;
    }
    return { stdout, stop: call.stop, outputBytes: call.used };
  }

  private refresh(): void {
    const memory = this.memory;
    if (memory === undefined) throw FAULT;
    if (this.buffer !== memory.buffer) {
      this.buffer = memory.buffer;
      this.bytes = new Uint8Array(this.buffer);
      this.view = new DataView(this.buffer);
    }
  }

  /** Checks that [ptr, ptr + length) lies in the guest's memory; throws FAULT otherwise. */
  private check(ptr: number, length: number): void {
    this.refresh();
    if (ptr < 0 || length < 0 || ptr + length > this.bytes.length) throw FAULT;
  }

  private stop(call: CallState, reason: StopReason): never {
    this.record(call, reason);
    throw new GuestStop(call.stop!);
  }

  private record(call: CallState, reason: StopReason): void {
    if (call.stop !== undefined) return;
    call.stop = reason;
    call.options.onStop?.();
  }

  private checkDeadline(call: CallState): void {
    if (performance.now() > call.options.deadline) this.stop(call, { kind: 'timeout' });
  }

  private flush(call: CallState, stream: 'stdout' | 'stderr'): void {
    const text = call.pending[stream];
    if (text.length === 0) return;
    call.pending[stream] = '';
    call.lastFlush = performance.now();
    call.flushes++;
    if (!call.options.write(stream, text)) this.record(call, { kind: 'output-limit' });
  }

  /** Takes guest output; stops the guest at the limit, after keeping exactly what fits. */
  private output(call: CallState, fd: 1 | 2, data: Uint8Array): void {
    const room = call.options.outputLimit - call.used;
    const fits = data.length <= room;
    const kept = fits ? data : data.subarray(0, Math.max(0, room));
    call.used += kept.length;
    const stream = fd === 1 ? 'stdout' : 'stderr';
    if (fd === 1 && call.options.captureStdout) {
      if (kept.length > 0) call.stdoutChunks.push(kept.slice());
    } else if (kept.length > 0) {
      call.pending[stream] += call.decoders[stream].decode(kept, { stream: true });
      if (
        call.flushes < EAGER_FLUSHES ||
        call.pending[stream].length >= FLUSH_BYTES ||
        performance.now() - call.lastFlush >= FLUSH_MS
      ) {
        this.flush(call, stream);
      }
    }
    if (!fits) {
      call.pending[stream] += call.decoders[stream].decode();
      this.flush(call, stream);
      this.stop(call, { kind: 'output-limit' });
    }
    if (call.stop !== undefined) throw new GuestStop(call.stop);
  }

  private clockNs(call: CallState, id: number): bigint | undefined {
    let ms: number;
    switch (id) {
      case 0: // realtime
        ms = performance.timeOrigin + performance.now();
        break;
      case 1: // monotonic
        ms = performance.now();
        break;
      case 2: // process cputime
      case 3: // thread cputime: time since the call started
        ms = performance.now() - call.started;
        break;
      default:
        return undefined;
    }
    const ticks = BigInt(Math.floor((ms * 1e6) / Number(CLOCK_RESOLUTION_NS)));
    return ticks * CLOCK_RESOLUTION_NS;
  }

  // Each function receives the guest's arguments (i32 as number, i64 as bigint) and returns an errno.
  private implementation(): Record<string, (...args: never[]) => number | undefined> {
    const current = (): CallState => this.call!;
    const u32 = (n: number): number => n >>> 0;
    return {
      args_sizes_get: (argc: number, size: number) => this.writeZeroPair(argc, size),
      environ_sizes_get: (count: number, size: number) => this.writeZeroPair(count, size),
      args_get: () => ERRNO.SUCCESS,
      environ_get: () => ERRNO.SUCCESS,

      clock_res_get: (id: number, out: number) => {
        if (id < 0 || id > 3) return ERRNO.INVAL;
        this.check(u32(out), 8);
        this.view.setBigUint64(u32(out), CLOCK_RESOLUTION_NS, true);
        return ERRNO.SUCCESS;
      },
      clock_time_get: (id: number, _precision: bigint, out: number) => {
        const call = current();
        this.checkDeadline(call);
        const ns = this.clockNs(call, id);
        if (ns === undefined) return ERRNO.INVAL;
        this.check(u32(out), 8);
        this.view.setBigUint64(u32(out), ns, true);
        return ERRNO.SUCCESS;
      },

      fd_write: (fd: number, iovs: number, count: number, written: number) => {
        const call = current();
        this.checkDeadline(call);
        if (fd !== 1 && fd !== 2) return ERRNO.BADF;
        const n = u32(count);
        if (n > IOV_MAX) return ERRNO.INVAL;
        this.check(u32(iovs), n * 8);
        this.check(u32(written), 4);
        let total = 0;
        for (let i = 0; i < n; i++) {
          const ptr = this.view.getUint32(u32(iovs) + i * 8, true);
          const len = this.view.getUint32(u32(iovs) + i * 8 + 4, true);
          this.check(ptr, len);
          this.output(call, fd, this.bytes.subarray(ptr, ptr + len));
          total += len;
        }
        this.view.setUint32(u32(written), total, true);
        return ERRNO.SUCCESS;
      },
      fd_read: (fd: number, iovs: number, count: number, read: number) => {
        const call = current();
        this.checkDeadline(call);
        if (fd !== 0) return fd === 1 || fd === 2 ? ERRNO.INVAL : ERRNO.BADF;
        const n = u32(count);
        if (n > IOV_MAX) return ERRNO.INVAL;
        this.check(u32(iovs), n * 8);
        this.check(u32(read), 4);
        const stdin = call.options.stdin;
        let total = 0;
        for (let i = 0; i < n && call.stdinOffset < stdin.length; i++) {
          const ptr = this.view.getUint32(u32(iovs) + i * 8, true);
          const len = this.view.getUint32(u32(iovs) + i * 8 + 4, true);
          this.check(ptr, len);
          const chunk = stdin.subarray(call.stdinOffset, call.stdinOffset + len);
          this.bytes.set(chunk, ptr);
          call.stdinOffset += chunk.length;
          total += chunk.length;
        }
        this.view.setUint32(u32(read), total, true);
        return ERRNO.SUCCESS;
      },
      fd_fdstat_get: (fd: number, out: number) => {
        if (fd < 0 || fd > 2) return ERRNO.BADF;
        this.check(u32(out), 24);
        this.bytes.fill(0, u32(out), u32(out) + 24);
        this.view.setUint8(u32(out), FILETYPE_UNKNOWN);
        const rights = (fd === 0 ? RIGHT_FD_READ : RIGHT_FD_WRITE) | RIGHT_POLL_FD_READWRITE;
        this.view.setBigUint64(u32(out) + 8, rights, true);
        return ERRNO.SUCCESS;
      },
      fd_filestat_get: (fd: number, out: number) => {
        if (fd < 0 || fd > 2) return ERRNO.BADF;
        this.check(u32(out), 64);
        this.bytes.fill(0, u32(out), u32(out) + 64);
        this.view.setUint8(u32(out) + 16, FILETYPE_UNKNOWN);
        this.view.setBigUint64(u32(out) + 24, 1n, true);
        return ERRNO.SUCCESS;
      },
      fd_close: (fd: number) => (fd >= 0 && fd <= 2 ? ERRNO.SUCCESS : ERRNO.BADF),
      fd_sync: (fd: number) => (fd >= 0 && fd <= 2 ? ERRNO.SUCCESS : ERRNO.BADF),
      fd_datasync: (fd: number) => (fd >= 0 && fd <= 2 ? ERRNO.SUCCESS : ERRNO.BADF),
      fd_seek: (fd: number) => (fd >= 0 && fd <= 2 ? ERRNO.SPIPE : ERRNO.BADF),
      fd_tell: (fd: number) => (fd >= 0 && fd <= 2 ? ERRNO.SPIPE : ERRNO.BADF),
      // No preopened directories: the scan that libc does at start-up ends at once.
      fd_prestat_get: () => ERRNO.BADF,
      fd_prestat_dir_name: () => ERRNO.BADF,
      fd_readdir: (fd: number) => (fd >= 0 && fd <= 2 ? ERRNO.NOTCAPABLE : ERRNO.BADF),
      path_open: (fd: number) => (fd >= 0 && fd <= 2 ? ERRNO.NOTCAPABLE : ERRNO.BADF),
      path_create_directory: (fd: number) => (fd >= 0 && fd <= 2 ? ERRNO.NOTCAPABLE : ERRNO.BADF),
      path_filestat_get: (fd: number) => (fd >= 0 && fd <= 2 ? ERRNO.NOTCAPABLE : ERRNO.BADF),
      path_filestat_set_times: (fd: number) => (fd >= 0 && fd <= 2 ? ERRNO.NOTCAPABLE : ERRNO.BADF),
      path_link: (fd: number) => (fd >= 0 && fd <= 2 ? ERRNO.NOTCAPABLE : ERRNO.BADF),
      path_readlink: (fd: number) => (fd >= 0 && fd <= 2 ? ERRNO.NOTCAPABLE : ERRNO.BADF),
      path_remove_directory: (fd: number) => (fd >= 0 && fd <= 2 ? ERRNO.NOTCAPABLE : ERRNO.BADF),
      path_rename: (fd: number) => (fd >= 0 && fd <= 2 ? ERRNO.NOTCAPABLE : ERRNO.BADF),
      path_unlink_file: (fd: number) => (fd >= 0 && fd <= 2 ? ERRNO.NOTCAPABLE : ERRNO.BADF),
      path_symlink: (_old: number, _oldLength: number, fd: number) =>
        fd >= 0 && fd <= 2 ? ERRNO.NOTCAPABLE : ERRNO.BADF,

      poll_oneoff: (subs: number, events: number, count: number, written: number) =>
        this.pollOneoff(current(), u32(subs), u32(events), u32(count), u32(written)),
      proc_exit: (code: number) => {
        this.stop(current(), { kind: 'exit', code: u32(code) });
      },
      sched_yield: () => {
        this.checkDeadline(current());
        return ERRNO.SUCCESS;
      },
      random_get: (buf: number, length: number) => {
        this.checkDeadline(current());
        this.check(u32(buf), u32(length));
        for (let at = u32(buf), end = u32(buf) + u32(length); at < end; at += 65536) {
          crypto.getRandomValues(this.bytes.subarray(at, Math.min(end, at + 65536)));
        }
        return ERRNO.SUCCESS;
      },
    };
  }

  private writeZeroPair(a: number, b: number): number {
    this.check(a >>> 0, 4);
    this.check(b >>> 0, 4);
    this.view.setUint32(a >>> 0, 0, true);
    this.view.setUint32(b >>> 0, 0, true);
    return ERRNO.SUCCESS;
  }

  /**
   * Subscriptions: stdin is always readable (the whole input is there), stdout and stderr always
   * writable, any other descriptor fails with EBADF; clocks sleep, but never past the call's
   * deadline: a guest that would sleep beyond it is stopped with TIMEOUT when the deadline comes.
   */
  private pollOneoff(call: CallState, subs: number, events: number, count: number, written: number): number {
    if (count === 0) return ERRNO.INVAL;
    if (count > 4096) return ERRNO.INVAL;
    this.check(subs, count * 48);
    this.check(events, count * 32);
    this.check(written, 4);
    const ready: { userdata: bigint; error: number; type: number; nbytes: bigint }[] = [];
    const clocks: { userdata: bigint; at: number }[] = [];
    const now = performance.now();
    for (let i = 0; i < count; i++) {
      const base = subs + i * 48;
      const userdata = this.view.getBigUint64(base, true);
      const type = this.view.getUint8(base + 8);
      if (type === 0) {
        const clockId = this.view.getUint32(base + 16, true);
        const timeout = Number(this.view.getBigUint64(base + 24, true)) / 1e6;
        const absolute = (this.view.getUint16(base + 40, true) & 1) !== 0;
        let at: number;
        if (!absolute) at = now + timeout;
        else if (clockId === 0) at = timeout - performance.timeOrigin;
        else if (clockId === 1) at = timeout;
        else at = call.started + timeout;
        if (clockId > 3) ready.push({ userdata, error: ERRNO.INVAL, type, nbytes: 0n });
        else clocks.push({ userdata, at });
      } else if (type === 1 || type === 2) {
        const fd = this.view.getUint32(base + 16, true);
        if (type === 1 && fd === 0) {
          ready.push({
            userdata,
            error: 0,
            type,
            nbytes: BigInt(call.options.stdin.length - call.stdinOffset),
          });
        } else if (type === 2 && (fd === 1 || fd === 2)) {
          ready.push({
            userdata,
            error: 0,
            type,
            nbytes: BigInt(Math.max(0, call.options.outputLimit - call.used)),
          });
        } else {
          ready.push({ userdata, error: ERRNO.BADF, type, nbytes: 0n });
        }
      } else {
        ready.push({ userdata, error: ERRNO.INVAL, type, nbytes: 0n });
      }
    }
    if (ready.length === 0 && clocks.length > 0) {
      const wake = Math.min(...clocks.map((c) => c.at));
      const until = Math.min(wake, call.options.deadline);
      for (let left = until - performance.now(); left > 0; left = until - performance.now()) {
        Atomics.wait(this.sleeper, 0, 0, left);
      }
      if (wake > call.options.deadline) this.stop(call, { kind: 'timeout' });
    }
    const after = performance.now();
    for (const c of clocks) {
      if (c.at <= after) ready.push({ userdata: c.userdata, error: 0, type: 0, nbytes: 0n });
    }
    this.check(events, count * 32);
    ready.forEach((e, i) => {
      const base = events + i * 32;
      this.bytes.fill(0, base, base + 32);
      this.view.setBigUint64(base, e.userdata, true);
      this.view.setUint16(base + 8, e.error, true);
      this.view.setUint8(base + 10, e.type);
      this.view.setBigUint64(base + 16, e.nbytes, true);
    });
    this.view.setUint32(written, ready.length, true);
    return ERRNO.SUCCESS;
  }
}

// wasi:io (error, poll, streams) for one call of the in-memory WASI preview2 (see index.ts). The
// classes are made per call: a resource of one call is not an instance of another call's classes,
// so the glue of one call cannot be handed another call's stream. Everything here is synchronous:
// jco's glue calls imports synchronously (sync and async instantiation alike, without JSPI) and
// does not await a Promise, so a wait is a real sleep (Atomics.wait), bounded by the deadline.

import { type CallState, disposable } from './state.js';

/** A WIT `stream-error`: thrown as a plain value, the glue lowers it as the `err` of the result. */
export type StreamError =
  | { readonly tag: 'last-operation-failed'; readonly val: object }
  | { readonly tag: 'closed' };

/**
 * Where an output stream's bytes go (the caller's capped buffer). It throws at the cap, or returns
 * false (the bytes that fit were kept): either way the call stops there.
 */
export type Sink = (bytes: Uint8Array) => unknown;

/** What an input stream reads: shared by every handle on it (each get-stdin() reads on where the last stopped). */
export interface InputSource {
  readonly bytes: Uint8Array;
  offset: number;
}

/** wasi:io's spec: blocking-write-and-flush and its zeroes variant take at most 4096 bytes. */
const BLOCKING_WRITE_MAX = 4096;
/** What check-write grants: writes are synchronous and land at once, so the permit is only a chunk. */
const WRITE_PERMIT = 1 << 20;
/** Pollables one poll() may list (the glue lifts the list into host memory first). */
export const POLL_LIST_MAX = 4096;

export interface Io {
  readonly Error: new (...args: never[]) => object;
  readonly Pollable: new (...args: never[]) => object;
  readonly InputStream: new (...args: never[]) => object;
  readonly OutputStream: new (...args: never[]) => object;
  readonly poll: (list: readonly unknown[]) => Uint32Array;
  /** A pollable ready at performance.now() >= at (0: ready now). */
  readonly pollable: (door: string, at: number) => object;
  readonly inputStream: (door: string, source: InputSource) => object;
  readonly outputStream: (door: string, sink: Sink) => object;
  readonly ioError: (message: string) => object;
}

const TOKEN = Symbol('component-wasi-io');

function lengthOf(state: CallState, door: string, len: unknown): number {
  state.guard();
  if (typeof len !== 'bigint' || len < 0n) throw new TypeError(`Cannot call ${door}: length is not a u64`);
  return len > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(len);
}

/** The glue lifts list<u8> as a Uint8Array; anything else never reaches the caller's writer. */
function bytesOf(door: string, value: unknown): void {
  if (!(value instanceof Uint8Array)) throw new TypeError(`Cannot call ${door}: contents are not bytes`);
}

export function createIo(state: CallState): Io {
  class IoError {
    readonly #message: string;
    #dropped = false;
    constructor(token: symbol, message: string) {
      if (token !== TOKEN) state.stop({ kind: 'refused', door: 'wasi:io/error.[constructor]error' });
      state.track('wasi:io/error');
      this.#message = message;
    }
    toDebugString(): string {
      state.guard();
      return this.#message;
    }
    static drop(self: IoError): void {
      if (self.#dropped) return;
      self.#dropped = true;
      state.untrack();
    }
  }
  disposable(IoError.prototype, IoError.drop);

  class Pollable {
    readonly #at: number;
    #dropped = false;
    constructor(token: symbol, door: string, at: number) {
      if (token !== TOKEN) state.stop({ kind: 'refused', door: 'wasi:io/poll.[constructor]pollable' });
      state.track(door);
      this.#at = at;
    }
    ready(): boolean {
      state.guard();
      return performance.now() >= this.#at;
    }
    block(): void {
      state.guard();
      state.sleepUntil(this.#at);
      state.guard();
    }
    static at(self: Pollable): number {
      return self.#at;
    }
    static drop(self: Pollable): void {
      if (self.#dropped) return;
      self.#dropped = true;
      state.untrack();
    }
  }
  disposable(Pollable.prototype, Pollable.drop);

  const pollable = (door: string, at: number): Pollable => new Pollable(TOKEN, door, at);

  /** wasi:io/poll.poll: the indices of the ready pollables, after sleeping until one is. */
  function poll(list: readonly unknown[]): Uint32Array {
    state.guard();
    if (list.length > POLL_LIST_MAX)
      state.stop({ kind: 'limit', door: 'wasi:io/poll.poll', limit: POLL_LIST_MAX });
    const times = list.map((p) => {
      if (!(p instanceof Pollable)) throw new TypeError('Cannot poll: not a pollable of this call');
      return Pollable.at(p);
    });
    // An empty list never becomes ready: it waits until the deadline (or is a deadlock without one).
    state.sleepUntil(times.length === 0 ? Number.POSITIVE_INFINITY : Math.min(...times));
    state.guard();
    const now = performance.now();
    const ready: number[] = [];
    times.forEach((at, i) => {
      if (at <= now) ready.push(i);
    });
    return new Uint32Array(ready);
  }

  /** An input stream over bytes the caller gave (stdin): always ready, `closed` at the end. */
  class InputStream {
    readonly #source: InputSource;
    #dropped = false;
    constructor(token: symbol, door: string, source: InputSource) {
      if (token !== TOKEN) state.stop({ kind: 'refused', door: 'wasi:io/streams.[constructor]input-stream' });
      state.track(door);
      this.#source = source;
    }
    read(len: bigint): Uint8Array {
      const n = lengthOf(state, 'wasi:io/streams.input-stream.read', len);
      const source = this.#source;
      if (source.offset >= source.bytes.length) throw { tag: 'closed' } satisfies StreamError;
      const end = Math.min(source.bytes.length, source.offset + n);
      const chunk = source.bytes.slice(source.offset, end);
      source.offset = end;
      return chunk;
    }
    blockingRead(len: bigint): Uint8Array {
      return this.read(len);
    }
    skip(len: bigint): bigint {
      const n = lengthOf(state, 'wasi:io/streams.input-stream.skip', len);
      const source = this.#source;
      if (source.offset >= source.bytes.length) throw { tag: 'closed' } satisfies StreamError;
      const end = Math.min(source.bytes.length, source.offset + n);
      const skipped = end - source.offset;
      source.offset = end;
      return BigInt(skipped);
    }
    blockingSkip(len: bigint): bigint {
      return this.skip(len);
    }
    subscribe(): Pollable {
      state.guard();
      return pollable('wasi:io/streams.input-stream.subscribe', 0);
    }
    static drop(self: InputStream): void {
      if (self.#dropped) return;
      self.#dropped = true;
      state.untrack();
    }
  }
  disposable(InputStream.prototype, InputStream.drop);

  const ioError = (message: string): IoError => new IoError(TOKEN, message);
  const failed = (message: string): StreamError => ({ tag: 'last-operation-failed', val: ioError(message) });

  /** An output stream into a sink (stdout, stderr): always writable; the sink's own throw stops the call. */
  class OutputStream {
    readonly #sink: Sink;
    #permit = 0;
    #dropped = false;
    constructor(token: symbol, door: string, sink: Sink) {
      if (token !== TOKEN)
        state.stop({ kind: 'refused', door: 'wasi:io/streams.[constructor]output-stream' });
      state.track(door);
      this.#sink = sink;
    }
    #emit(bytes: Uint8Array): void {
      if (bytes.length === 0) return;
      let kept: unknown;
      try {
        // A copy: the caller may keep it, and the glue's array may be a view of guest memory.
        kept = this.#sink(bytes.slice());
      } catch (error) {
        state.stop({ kind: 'output', error });
      }
      if (kept === false) state.stop({ kind: 'output', error: undefined });
    }
    checkWrite(): bigint {
      state.guard();
      this.#permit = WRITE_PERMIT;
      return BigInt(WRITE_PERMIT);
    }
    write(contents: Uint8Array): void {
      state.guard();
      bytesOf('wasi:io/streams.output-stream.write', contents);
      if (contents.length > this.#permit) throw failed('write exceeds the permit returned by check-write');
      this.#permit -= contents.length;
      this.#emit(contents);
    }
    blockingWriteAndFlush(contents: Uint8Array): void {
      state.guard();
      bytesOf('wasi:io/streams.output-stream.blocking-write-and-flush', contents);
      if (contents.length > BLOCKING_WRITE_MAX) {
        throw failed(`blocking-write-and-flush takes at most ${BLOCKING_WRITE_MAX} bytes`);
      }
      this.#emit(contents);
    }
    flush(): void {
      state.guard();
    }
    blockingFlush(): void {
      state.guard();
    }
    subscribe(): Pollable {
      state.guard();
      return pollable('wasi:io/streams.output-stream.subscribe', 0);
    }
    writeZeroes(len: bigint): void {
      const n = lengthOf(state, 'wasi:io/streams.output-stream.write-zeroes', len);
      if (n > this.#permit) throw failed('write-zeroes exceeds the permit returned by check-write');
      this.#permit -= n;
      this.#emit(new Uint8Array(n));
    }
    blockingWriteZeroesAndFlush(len: bigint): void {
      const n = lengthOf(state, 'wasi:io/streams.output-stream.blocking-write-zeroes-and-flush', len);
      if (n > BLOCKING_WRITE_MAX) {
        throw failed(`blocking-write-zeroes-and-flush takes at most ${BLOCKING_WRITE_MAX} bytes`);
      }
      this.#emit(new Uint8Array(n));
    }
    splice(src: unknown, len: bigint): bigint {
      const n = lengthOf(state, 'wasi:io/streams.output-stream.splice', len);
      if (!(src instanceof InputStream))
        throw new TypeError('Cannot splice: not an input stream of this call');
      const bytes = src.read(BigInt(Math.min(n, WRITE_PERMIT)));
      this.#emit(bytes);
      return BigInt(bytes.length);
    }
    blockingSplice(src: unknown, len: bigint): bigint {
      return this.splice(src, len);
    }
    static drop(self: OutputStream): void {
      if (self.#dropped) return;
      self.#dropped = true;
      state.untrack();
    }
  }
  disposable(OutputStream.prototype, OutputStream.drop);

  return {
    Error: IoError,
    Pollable,
    InputStream,
    OutputStream,
    poll,
    pollable,
    inputStream: (door, source) => new InputStream(TOKEN, door, source),
    outputStream: (door, sink) => new OutputStream(TOKEN, door, sink),
    ioError,
  };
}

// The channel a guest's calls back to the orchestrator travel on (Wikifunctions reentrance): one
// SharedArrayBuffer per evaluation, shared between the sandbox worker and the service thread.
// The guest runs synchronously, so the worker blocks (Atomics.wait, bounded by the call's deadline)
// while the service thread, which never blocks, does the I/O (Atomics.waitAsync) and writes the
// answer back. Shared memory rather than messages: a worker blocked in Atomics.wait cannot receive
// a message, and the pool's message protocol stays as it is (the buffer travels inside the Call).
//
// Layout: Int32 words [state, length], then the bytes of one UTF-8 text (a request or an answer).
// States: IDLE → (worker) REQUEST → (host) WORKING → (host) ANSWER | REFUSED → (worker) IDLE …;
// CLOSED once the evaluation is over. Only one request is outstanding at a time (the guest is
// blocked on it), so no id is needed: the buffer itself is the correlation.

const STATE = 0;
const LENGTH = 1;
const HEADER_BYTES = 8;

export const CHANNEL_STATE = {
  IDLE: 0,
  REQUEST: 1,
  WORKING: 2,
  ANSWER: 3,
  REFUSED: 4,
  CLOSED: 5,
} as const;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What the worker gets back for one request. */
export type CallOutAnswer =
  | { readonly ok: true; readonly text: string }
  | { readonly ok: false; readonly message: string; readonly fatal: boolean; readonly timeout?: boolean };

function views(buffer: SharedArrayBuffer): { words: Int32Array; bytes: Uint8Array } {
  return { words: new Int32Array(buffer, 0, 2), bytes: new Uint8Array(buffer, HEADER_BYTES) };
}

/** Largest text (in UTF-8 bytes) a buffer carries either way. */
export function channelCapacity(buffer: SharedArrayBuffer): number {
  return buffer.byteLength - HEADER_BYTES;
}

/**
 * The requesting end of a channel, whichever way it waits: a worker thread blocks (Atomics.wait,
 * requestBlocking), the service thread relaying a sandbox host's call-out must not
 * (Atomics.waitAsync, src/executor/host/call-out-relay.ts). One implementation of the protocol for
 * both, so that no reader decodes an answer its own way.
 */
export class ChannelRequester {
  private readonly words: Int32Array;
  private readonly bytes: Uint8Array;

  constructor(buffer: SharedArrayBuffer) {
    ({ words: this.words, bytes: this.bytes } = views(buffer));
  }

  /** The channel's state now (CHANNEL_STATE). */
  get state(): number {
    return Atomics.load(this.words, STATE);
  }

  /** Puts one request on the channel; a refusal when it is over or the text does not fit. */
  send(text: string): CallOutAnswer | undefined {
    if (this.state === CHANNEL_STATE.CLOSED) return OVER;
    const encoded = encoder.encode(text);
    if (encoded.length > this.bytes.length) {
      return {
        ok: false,
        message: `the call takes ${encoded.length} bytes, more than the limit of ${this.bytes.length}`,
        fatal: true,
      };
    }
    this.bytes.set(encoded);
    Atomics.store(this.words, LENGTH, encoded.length);
    Atomics.store(this.words, STATE, CHANNEL_STATE.REQUEST);
    Atomics.notify(this.words, STATE);
    return undefined;
  }

  /**
   * The answer once there is one (the channel is then free again), OVER once the evaluation is
   * over, or the state to wait on while neither.
   */
  take(): CallOutAnswer | { readonly waitOn: number } {
    const now = this.state;
    if (now === CHANNEL_STATE.ANSWER || now === CHANNEL_STATE.REFUSED) {
      // The buffer is shared with the host: a length past it is clamped, never trusted.
      const length = Math.min(Atomics.load(this.words, LENGTH), this.bytes.length);
      const answer = decoder.decode(this.bytes.slice(0, length));
      Atomics.store(this.words, STATE, CHANNEL_STATE.IDLE);
      return now === CHANNEL_STATE.ANSWER ? { ok: true, text: answer } : readRefusal(answer);
    }
    if (now === CHANNEL_STATE.CLOSED) return OVER;
    return { waitOn: now };
  }

  /** Blocks until the state changes from `waitOn` or `ms` pass. */
  wait(waitOn: number, ms: number): void {
    Atomics.wait(this.words, STATE, waitOn, ms);
  }

  /** Resolves when the state changes from `waitOn` or `ms` pass; never blocks the thread. */
  async waitAsync(waitOn: number, ms: number): Promise<void> {
    const waited = waitAsync(this.words, STATE, waitOn, ms);
    if (waited.async) await waited.value;
  }
}

/** The evaluation is over: nothing more is served. */
export const OVER: CallOutAnswer = Object.freeze({
  ok: false,
  message: 'the evaluation is over',
  fatal: true,
  timeout: false,
});
/** The caller's deadline passed while the request waited. */
export const OUT_OF_TIME: CallOutAnswer = Object.freeze({
  ok: false,
  message: 'time limit reached',
  fatal: true,
  timeout: true,
});

type WaitAsync = (
  array: Int32Array,
  index: number,
  value: number,
  timeout?: number,
) => { async: false; value: string } | { async: true; value: Promise<string> };
// In Node 16+, but not in the ES2023 typings this project compiles against.
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

/**
 * Worker side: sends one request and blocks until the answer, the deadline (a performance.now()
 * value) or the end of the evaluation. Never throws.
 */
export function requestBlocking(buffer: SharedArrayBuffer, text: string, deadline: number): CallOutAnswer {
  const channel = new ChannelRequester(buffer);
  const refused = channel.send(text);
  if (refused !== undefined) return refused;
  for (;;) {
    const taken = channel.take();
    if (!('waitOn' in taken)) return taken;
    const left = deadline - performance.now();
    if (left <= 0) return OUT_OF_TIME;
    channel.wait(taken.waitOn, left);
  }
}

/**
 * A refusal as the channel carries it: "f" (fatal: the evaluation ends), "t" (fatal: the caller's
 * deadline passed, whichever clock saw it first) or "e" (an error the guest may catch), then the
 * text. Every reader of the channel (a worker thread, or the relay of a sandbox host's call-out)
 * decodes it here, so that no reader loses a kind.
 */
export function readRefusal(answer: string): CallOutAnswer {
  if (answer.startsWith('t')) return { ok: false, message: answer.slice(1), fatal: true, timeout: true };
  return { ok: false, message: answer.slice(1), fatal: answer.startsWith('f') };
}

/** Host side: the service thread's end of one evaluation's channel. */
export class CallOutChannel {
  readonly buffer: SharedArrayBuffer;
  private readonly words: Int32Array;
  private readonly bytes: Uint8Array;
  private closed = false;

  /** `capacity`: the largest request or answer, in UTF-8 bytes. */
  constructor(capacity: number) {
    this.buffer = new SharedArrayBuffer(HEADER_BYTES + capacity);
    ({ words: this.words, bytes: this.bytes } = views(this.buffer));
  }

  /**
   * Answers the worker's requests with `handle` until close() or a fatal refusal (the evaluation
   * ends with it: nothing more is served). `handle` resolves with the answer text or a refusal; if
   * it throws, the request is refused as fatal. The buffer is shared with a thread that runs guest
   * code, so nothing read from it is trusted: lengths are clamped, texts are parsed by `handle`
   * with errors caught, and each request waits for a turn of the event loop, so that a worker
   * flooding the buffer cannot starve the service thread (whose timers enforce the deadlines).
   */
  serve(handle: (text: string) => Promise<CallOutAnswer>): void {
    void this.loop(handle);
  }

  /** Ends the channel: a worker still waiting wakes up, later requests are refused. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    Atomics.store(this.words, STATE, CHANNEL_STATE.CLOSED);
    Atomics.notify(this.words, STATE);
  }

  private async loop(handle: (text: string) => Promise<CallOutAnswer>): Promise<void> {
    let refused: CallOutAnswer | undefined;
    while (!this.closed) {
      const state = Atomics.load(this.words, STATE);
      if (state === CHANNEL_STATE.REQUEST) {
        const length = Atomics.load(this.words, LENGTH);
        const text = decoder.decode(this.bytes.slice(0, Math.min(length, this.bytes.length)));
        Atomics.store(this.words, STATE, CHANNEL_STATE.WORKING);
        let answer: CallOutAnswer;
        try {
          // After a fatal refusal the evaluation is over: nothing more reaches `handle`.
          answer = refused ?? (await handle(text));
        } catch (error) {
          answer = {
            ok: false,
            message: `the call could not be served (${(error as Error).message})`,
            fatal: true,
          };
        }
        if (this.closed) return;
        const sent = this.answer(answer);
        if (!sent.ok && sent.fatal) refused = sent;
        await new Promise((resolve) => setImmediate(resolve));
        continue;
      }
      if (state === CHANNEL_STATE.CLOSED) return;
      const waited = waitAsync(this.words, STATE, state);
      if (waited.async) await waited.value;
    }
  }

  /** Writes an answer for the worker; returns what was sent (a refusal when it did not fit). */
  private answer(answer: CallOutAnswer): CallOutAnswer {
    let text = answer.ok
      ? answer.text
      : `${answer.timeout === true ? 't' : answer.fatal ? 'f' : 'e'}${answer.message}`;
    let state: number = answer.ok ? CHANNEL_STATE.ANSWER : CHANNEL_STATE.REFUSED;
    let encoded = encoder.encode(text);
    if (encoded.length > this.bytes.length) {
      text = `fThe answer takes ${encoded.length} bytes, more than the limit of ${this.bytes.length}`;
      state = CHANNEL_STATE.REFUSED;
      // Even the refusal is cut to the buffer (a tiny buffer cannot hold the sentence).
      encoded = encoder.encode(text).subarray(0, this.bytes.length);
      answer = { ok: false, message: decoder.decode(encoded).slice(1), fatal: true };
    }
    this.bytes.set(encoded);
    Atomics.store(this.words, LENGTH, encoded.length);
    Atomics.store(this.words, STATE, state);
    Atomics.notify(this.words, STATE);
    return answer;
  }
}

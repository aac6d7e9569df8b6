// The answer slot of a guest's calls to other functions (Wikifunctions reentrance) when the guest
// runs in a worker of a sandbox host process: one SharedArrayBuffer per call, made by the host
// process and handed to the worker with the call. The worker sends the request as a message
// (`call-out`, checked by the host like every other message) and then blocks in Atomics.wait on this
// slot, because a thread blocked in a synchronous guest cannot receive a message; the host writes
// the answer here once the service has sent it. A new slot per call: nothing carries over to the
// next call an interpreter serves, and a slot is CLOSED when its call ends.
//
// Layout: Int32 words [state, length], then the bytes of one UTF-8 answer: a status letter
// ("v" value, "e" error the guest may catch, "f" fatal, "t" out of time) and the text.
// Imported by the worker and the host process, so it imports nothing at run time (their permission
// model lets them load only src/executor/host/ and their language's folder; types are erased).

import type { CallOutAnswer } from '../../wikifunctions/call-out-channel.js';

const STATE = 0;
const LENGTH = 1;
const HEADER_BYTES = 8;

export const SLOT_STATE = { IDLE: 0, WAITING: 1, ANSWERED: 2, CLOSED: 3 } as const;

/** The most bytes a slot may be asked to hold (the host trusts the service, but not blindly). */
export const MAX_SLOT_BYTES = 64 * 2 ** 20;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function createSlot(capacity: number): SharedArrayBuffer {
  return new SharedArrayBuffer(HEADER_BYTES + Math.max(64, Math.min(capacity, MAX_SLOT_BYTES)));
}

function words(slot: SharedArrayBuffer): Int32Array {
  return new Int32Array(slot, 0, 2);
}

function bytes(slot: SharedArrayBuffer): Uint8Array {
  return new Uint8Array(slot, HEADER_BYTES);
}

/** Worker side: marks the slot as waiting, before the request message is posted. */
export function armSlot(slot: SharedArrayBuffer): boolean {
  const w = words(slot);
  return Atomics.compareExchange(w, STATE, SLOT_STATE.IDLE, SLOT_STATE.WAITING) === SLOT_STATE.IDLE;
}

/**
 * Worker side: blocks until the answer, the slot's end or `deadline` (a performance.now() value).
 * Never throws; the slot is IDLE again after an answer.
 */
export function awaitSlot(slot: SharedArrayBuffer, deadline: number): CallOutAnswer {
  const w = words(slot);
  for (;;) {
    const state = Atomics.load(w, STATE);
    if (state === SLOT_STATE.ANSWERED) {
      const b = bytes(slot);
      const length = Math.min(Math.max(0, Atomics.load(w, LENGTH)), b.length);
      const text = decoder.decode(b.slice(0, length));
      Atomics.store(w, STATE, SLOT_STATE.IDLE);
      return decodeAnswer(text);
    }
    if (state === SLOT_STATE.CLOSED) return { ok: false, message: 'the call is over', fatal: true };
    const left = deadline - performance.now();
    if (left <= 0) return { ok: false, message: 'time limit reached', fatal: true, timeout: true };
    Atomics.wait(w, STATE, state, left);
  }
}

/** Host side: writes the answer for the waiting worker; false when nobody waits on the slot. */
export function answerSlot(slot: SharedArrayBuffer, answer: CallOutAnswer): boolean {
  const w = words(slot);
  if (Atomics.load(w, STATE) !== SLOT_STATE.WAITING) return false;
  const b = bytes(slot);
  let encoded = encoder.encode(encodeAnswer(answer));
  if (encoded.length > b.length) {
    encoded = encoder
      .encode(`fThe answer takes ${encoded.length} bytes, more than the limit of ${b.length}`)
      .subarray(0, b.length);
  }
  b.set(encoded);
  Atomics.store(w, LENGTH, encoded.length);
  Atomics.store(w, STATE, SLOT_STATE.ANSWERED);
  Atomics.notify(w, STATE);
  return true;
}

/** Host side: the call is over; a worker still waiting wakes up, nothing more is answered. */
export function closeSlot(slot: SharedArrayBuffer): void {
  const w = words(slot);
  Atomics.store(w, STATE, SLOT_STATE.CLOSED);
  Atomics.notify(w, STATE);
}

export function encodeAnswer(answer: CallOutAnswer): string {
  if (answer.ok) return `v${answer.text}`;
  if (answer.timeout === true) return `t${answer.message}`;
  return `${answer.fatal ? 'f' : 'e'}${answer.message}`;
}

export function decodeAnswer(text: string): CallOutAnswer {
  const body = text.slice(1);
  switch (text[0]) {
    case 'v':
      return { ok: true, text: body };
    case 'e':
      return { ok: false, message: body, fatal: false };
    case 't':
      return { ok: false, message: body, fatal: true, timeout: true };
    default:
      return { ok: false, message: body, fatal: true };
  }
}

/** Host side: whether a message from the other side is a well-formed answer (shape only). */
export function isCallOutAnswer(value: unknown): value is CallOutAnswer {
  if (typeof value !== 'object' || value === null) return false;
  const a = value as Record<string, unknown>;
  if (a.ok === true) return typeof a.text === 'string';
  return (
    a.ok === false &&
    typeof a.message === 'string' &&
    typeof a.fatal === 'boolean' &&
    (a.timeout === undefined || typeof a.timeout === 'boolean')
  );
}

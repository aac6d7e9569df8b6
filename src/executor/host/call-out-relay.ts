// The service's end of the call-outs of guests that run in sandbox host processes (Wikifunctions
// reentrance): a host relays its worker's `call-out` message (process-runtime.ts), process-host.ts
// checks it (protocol-guard.ts) and hands it here, and this puts it on the evaluation's call-out
// channel (src/wikifunctions/call-out-channel.ts, served on this same thread by reentrance.ts) the
// way a worker thread of this process would — except that it never blocks: it waits with
// Atomics.waitAsync. The time left is the service's own reckoning of the call's deadline, never a
// number the sandbox sent. The answer's value comes back as the arguments went in: JSON with big
// integers as raw literals (stringifyJson), which the guest's runner decodes exactly like its
// arguments.

import {
  type CallOutAnswer,
  CHANNEL_STATE,
  channelCapacity,
  readRefusal,
} from '../../wikifunctions/call-out-channel.js';
import { formatRequest } from '../../wikifunctions/reentrance.js';
import { fromTaggedJson, stringifyJson } from '../json-value.js';

const STATE = 0;
const LENGTH = 1;
const HEADER_BYTES = 8;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

type WaitAsync = (
  array: Int32Array,
  index: number,
  value: number,
  timeout?: number,
) => { async: false; value: string } | { async: true; value: Promise<string> };
// In Node 16+, but not in the ES2023 typings this project compiles against.
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

export { channelCapacity };

/**
 * Sends one call-out ("<ZID>\n<tagged JSON arguments>") on the evaluation's channel and waits for
 * its answer until `deadline` (performance.now()). Never throws.
 */
export async function relayCallOut(
  channel: SharedArrayBuffer,
  text: string,
  deadline: number,
): Promise<CallOutAnswer> {
  const words = new Int32Array(channel, 0, 2);
  const bytes = new Uint8Array(channel, HEADER_BYTES);
  const outOfTime: CallOutAnswer = { ok: false, message: 'time limit reached', fatal: true, timeout: true };
  const state = Atomics.load(words, STATE);
  if (state === CHANNEL_STATE.CLOSED) return { ok: false, message: 'the evaluation is over', fatal: true };
  // Only one call-out per call is on its way (checkCallOut), so a busy channel is a leftover of a
  // call-out abandoned at the deadline: the call is over.
  if (state !== CHANNEL_STATE.IDLE) return outOfTime;
  const left = deadline - performance.now();
  if (left <= 0) return outOfTime;
  const newline = text.indexOf('\n');
  const zid = newline < 0 ? text : text.slice(0, newline);
  const args = newline < 0 ? '{}' : text.slice(newline + 1);
  const encoded = encoder.encode(formatRequest(left, zid, args));
  if (encoded.length > bytes.length) {
    return {
      ok: false,
      message: `the call takes ${encoded.length} bytes, more than the limit of ${bytes.length}`,
      fatal: true,
    };
  }
  bytes.set(encoded);
  Atomics.store(words, LENGTH, encoded.length);
  Atomics.store(words, STATE, CHANNEL_STATE.REQUEST);
  Atomics.notify(words, STATE);
  for (;;) {
    const now = Atomics.load(words, STATE);
    if (now === CHANNEL_STATE.ANSWER || now === CHANNEL_STATE.REFUSED) {
      const length = Math.min(Atomics.load(words, LENGTH), bytes.length);
      const answer = decoder.decode(bytes.slice(0, length));
      Atomics.store(words, STATE, CHANNEL_STATE.IDLE);
      if (now === CHANNEL_STATE.ANSWER) return plainValue(answer);
      // The channel says when the caller's deadline ended the call ("t": the service's timer may
      // fire a moment before this clock says so); a fatal refusal seen at the deadline is one too.
      const refusal = readRefusal(answer);
      if (!refusal.ok && refusal.fatal && performance.now() >= deadline) return outOfTime;
      return refusal;
    }
    if (now === CHANNEL_STATE.CLOSED) return { ok: false, message: 'the evaluation is over', fatal: true };
    const wait = deadline - performance.now();
    if (wait <= 0) return outOfTime;
    const waited = waitAsync(words, STATE, now, wait);
    if (waited.async) await waited.value;
  }
}

/** The channel's tagged JSON value as plain JSON with raw big integers (how arguments travel). */
function plainValue(tagged: string): CallOutAnswer {
  try {
    return { ok: true, text: stringifyJson(fromTaggedJson(tagged)) };
  } catch (error) {
    return { ok: false, message: `Cannot read the answer (${(error as Error).message})`, fatal: false };
  }
}

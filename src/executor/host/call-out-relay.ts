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
  ChannelRequester,
  channelCapacity,
  OUT_OF_TIME,
  OVER,
} from '../../wikifunctions/call-out-channel.js';
import { formatRequest } from '../../wikifunctions/reentrance.js';
import { fromTaggedJson, stringifyJson } from '../json-value.js';

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
  const requester = new ChannelRequester(channel);
  const state = requester.state;
  if (state === CHANNEL_STATE.CLOSED) return OVER;
  // Only one call-out per call is on its way (checkCallOut), so a busy channel is a leftover of a
  // call-out abandoned at the deadline: the call is over.
  if (state !== CHANNEL_STATE.IDLE) return OUT_OF_TIME;
  const left = deadline - performance.now();
  if (left <= 0) return OUT_OF_TIME;
  const newline = text.indexOf('\n');
  const zid = newline < 0 ? text : text.slice(0, newline);
  const args = newline < 0 ? '{}' : text.slice(newline + 1);
  const refused = requester.send(formatRequest(left, zid, args));
  if (refused !== undefined) return refused;
  for (;;) {
    const taken = requester.take();
    if (!('waitOn' in taken)) {
      if (taken.ok) return plainValue(taken.text);
      // The channel says when the caller's deadline ended the call ("t": the service's timer may
      // fire a moment before this clock says so); a fatal refusal seen at the deadline is one too.
      if (taken !== OVER && taken.fatal && performance.now() >= deadline) return OUT_OF_TIME;
      return taken;
    }
    const wait = deadline - performance.now();
    if (wait <= 0) return OUT_OF_TIME;
    await requester.waitAsync(taken.waitOn, wait);
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

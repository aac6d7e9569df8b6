// Reentrant Wikifunctions calls, the service side: a guest calls another function while it runs
// (JavaScript: `Wikifunctions.Call("Z801", {Z801K1: "5"})`), its sandbox blocks, and this module
// asks the orchestrator to evaluate the call, then hands back the value, converted exactly like an
// argument. Two transports, one interface for every language's runner (the channel,
// call-out-channel.ts):
//
// - **HTTP**: the orchestrator's own API (POST <url> {"zobject": <Z7>, "doValidate": false}).
//   Correlation is by construction: each evaluation has its own channel and its own HTTP request,
//   so concurrent reentrant evaluations cannot be cross-wired.
// - **Websocket**: the 2023 protocol (REENTRANCE.md): the socket the orchestrator opened for this
//   request carries `call <Z7>` text frames, each answered by one bare value. The protocol has no
//   id, so a socket is used only once it is paired with this request beyond doubt
//   (socket-pairing.ts); otherwise the call goes over HTTP when a URL is configured, else it is
//   refused typed.
//
// Bounds, each refused with a message that becomes a Z507: calls per evaluation, bytes per call
// and per answer, evaluations waiting on call-outs at once (which bounds the depth of a chain that
// comes back here). Time: the worker waits only until the caller's deadline (then the call is a
// Z575, the HTTP request is aborted, the socket closed), so a chain that needs more sandboxes than
// the pool has (A waits on B, B queues behind A) cannot hang: A fails typed at its deadline and
// frees its slot. (Refusing new calls while every slot waits was tried and dropped: the service
// cannot tell a nested call from an unrelated one, so it refused ordinary load.)

import type { JsonValue } from '../executor/json-value.js';
import { fromTaggedJson, toTaggedJson } from '../executor/json-value.js';
import { type CallOutAnswer, CallOutChannel } from './call-out-channel.js';
import { CodecError, fromGuestValue, toGuestValue } from './codec.js';
import { errorText, readMetadata } from './envelope.js';
import {
  originOf,
  PAIRING_WAIT_MS,
  type SocketLink,
  type SocketPairing,
  type SocketTicket,
} from './socket-pairing.js';
import { isObject, normalize, REFERENCE_PATTERN, stringifyZObject, type ZNode, zRef } from './zobject.js';

/** Which requests may call out: those that say `reentrant: true`, or every one. */
export type ReentranceMode = 'request' | 'always';

/**
 * How call-outs reach the orchestrator: 'http' its HTTP API only; 'socket' the request's paired
 * websocket, else HTTP when a URL is configured; 'auto' HTTP when a URL is configured, else the
 * websocket.
 */
export type CallTransport = 'auto' | 'http' | 'socket';

export interface ReentranceOptions {
  /** The orchestrator's evaluate URL; without it, call-outs are refused. */
  readonly orchestratorUrl?: string;
  readonly mode?: ReentranceMode;
  readonly maxCalls?: number;
  readonly maxBytes?: number;
  readonly maxWaiting?: number;
  readonly transport?: CallTransport;
  /** The websockets the orchestrator opened (without it, the websocket transport has none). */
  readonly sockets?: SocketPairing;
}

export const REENTRANCE_LIMITS = {
  /** Calls one evaluation may make. */
  calls: 50,
  /** Bytes (UTF-8) of one call and of one answer as they cross the channel. */
  bytes: 1024 * 1024,
  /** Evaluations of this service waiting on call-outs at once; bounds the depth of a chain. */
  waiting: 16,
} as const;

/** The reference evaluator's words (src/maybeRunZ7.js), which its callers look for. */
export const NON_REENTRANT_MESSAGE = 'Non-reentrant executor tried to call back to the orchestrator';

const fatal = (message: string): CallOutAnswer => ({ ok: false, message, fatal: true });
const failed = (message: string): CallOutAnswer => ({ ok: false, message, fatal: false });
/** The caller's deadline passed while the service asked: the call is a TIMEOUT, whichever clock saw it first. */
const outOfTime = (zid: string): CallOutAnswer => ({
  ok: false,
  message: `Cannot call ${zid} through the orchestrator: no time left`,
  fatal: true,
  timeout: true,
});

/** A request's place in the websocket pairing (Reentrance.hold). */
export interface RequestHold {
  readonly ticket: SocketTicket | undefined;
  /** Leaves the pairing (closing the request's socket); resolves when the request may be answered. */
  done(): Promise<void>;
}

const NO_HOLD: RequestHold = { ticket: undefined, done: async () => {} };
/**
 * How long after a reentrant request came its answer may wait for its socket (the orchestrator
 * opens it in the same tick as the POST: a handshake takes a round trip or two).
 */
export const HANDSHAKE_GRACE_MS = 250;

export interface OpenedChannel {
  readonly buffer: SharedArrayBuffer;
  close(): void;
}

/** Service-wide: the options, and how many evaluations wait on call-outs. */
export class Reentrance {
  private waitingTotal = 0;
  private readonly limits: { calls: number; bytes: number; waiting: number };

  constructor(private readonly options: ReentranceOptions = {}) {
    this.limits = {
      calls: options.maxCalls ?? REENTRANCE_LIMITS.calls,
      bytes: options.maxBytes ?? REENTRANCE_LIMITS.bytes,
      waiting: options.maxWaiting ?? REENTRANCE_LIMITS.waiting,
    };
  }

  /** Whether call-outs try the request's websocket first. */
  private get usesSocket(): boolean {
    if (this.options.sockets === undefined) return false;
    const transport = this.options.transport ?? 'auto';
    if (transport === 'auto') return (this.options.orchestratorUrl ?? '') === '';
    return transport === 'socket';
  }

  /**
   * Takes a request's place in the websocket pairing (when it is reentrant and the service holds
   * the orchestrator's sockets); `origin` is the remote address it came from. Await `done()` before
   * answering the request.
   */
  hold(reentrant: boolean, origin: string | undefined): RequestHold {
    const sockets = this.options.sockets;
    if (!reentrant || sockets === undefined) return NO_HOLD;
    const ticket = sockets.expect(origin ?? originOf(undefined));
    return {
      ticket,
      done: async () => {
        // The orchestrator exits when its socket is still connecting as the POST is answered
        // (REENTRANCE.md, defect 3): an answer given at once (a bad language, say) waits until
        // the socket has come or HANDSHAKE_GRACE_MS have passed since the request came.
        await ticket.accountedFor(HANDSHAKE_GRACE_MS - (performance.now() - ticket.since));
        ticket.release();
      },
    };
  }

  /**
   * Opens the channel of one evaluation; close it when the evaluation is over. `hold`: the
   * request's place in the websocket pairing (hold()), when its calls may go over a websocket.
   */
  open(reentrant: boolean, signal?: AbortSignal, hold: RequestHold = NO_HOLD): OpenedChannel {
    const channel = new CallOutChannel(this.limits.bytes);
    const allowed = reentrant || this.options.mode === 'always';
    const ticket = hold.ticket;
    let calls = 0;
    const closed = new AbortController();
    channel.serve(async (text) => {
      calls++;
      if (!allowed) return fatal(NON_REENTRANT_MESSAGE);
      const url = this.options.orchestratorUrl ?? '';
      if (url === '' && !this.usesSocket) {
        return fatal(
          'Cannot call back to the orchestrator: no orchestrator is configured (POLYEVAL_WIKIFUNCTIONS_ORCHESTRATOR_URL)',
        );
      }
      if (calls > this.limits.calls) {
        return fatal(
          `Cannot call back to the orchestrator: one evaluation may make at most ${this.limits.calls} calls`,
        );
      }
      if (this.waitingTotal >= this.limits.waiting) {
        return fatal(
          `Cannot call back to the orchestrator: ${this.waitingTotal} evaluations already wait on calls they made (the nesting limit)`,
        );
      }
      let parsed: { remainingMs: number; z7: ZNode; zid: string };
      try {
        parsed = parseRequest(text);
      } catch (error) {
        if (error instanceof CodecError || error instanceof SyntaxError) return failed(error.message);
        throw error;
      }
      // Nothing is sent for a caller already out of time (the answer could only come too late).
      if (parsed.remainingMs <= 0) return outOfTime(parsed.zid);
      this.waitingTotal++;
      try {
        const signals = [AbortSignal.timeout(Math.max(1, parsed.remainingMs)), closed.signal];
        if (signal !== undefined) signals.push(signal);
        const deadline = AbortSignal.any(signals);
        if (this.usesSocket) {
          const pairing =
            ticket === undefined
              ? {
                  ok: false as const,
                  why: 'the request is not marked reentrant, so no websocket was opened for it',
                }
              : await ticket.socket(
                  Math.min(ticket.since + PAIRING_WAIT_MS - performance.now(), parsed.remainingMs),
                  deadline,
                );
          if (pairing.ok) {
            return await callOverSocket(pairing.link, parsed.zid, parsed.z7, this.limits.bytes, deadline);
          }
          if (deadline.aborted) return outOfTime(parsed.zid);
          if (url === '') {
            return fatal(
              `Cannot call back to the orchestrator over its websocket: ${pairing.why}; no orchestrator URL is configured to call instead (POLYEVAL_WIKIFUNCTIONS_ORCHESTRATOR_URL)`,
            );
          }
        }
        return await callOrchestrator(url, parsed.zid, parsed.z7, this.limits.bytes, deadline);
      } finally {
        this.waitingTotal--;
      }
    });
    return {
      buffer: channel.buffer,
      close: () => {
        closed.abort();
        channel.close();
      },
    };
  }
}

/**
 * A request from the worker: "<ms left>\n<ZID>\n<tagged JSON object of argument key → value>",
 * the values as the guest gave them (encoded by the runner as results are).
 */
export function formatRequest(remainingMs: number, zid: string, args: string): string {
  return `${Math.max(0, Math.floor(remainingMs))}\n${zid}\n${args}`;
}

function parseRequest(text: string): { remainingMs: number; z7: ZNode; zid: string } {
  const first = text.indexOf('\n');
  const second = text.indexOf('\n', first + 1);
  const remainingMs = Number(text.slice(0, first));
  const zid = text.slice(first + 1, second);
  if (!REFERENCE_PATTERN.test(zid)) {
    throw new CodecError(
      `Cannot call ${JSON.stringify(zid.slice(0, 40))}: the function must be a ZID such as "Z801"`,
      'argument',
    );
  }
  const args: JsonValue = fromTaggedJson(text.slice(second + 1));
  if (!isObject(args) || Array.isArray(args)) {
    throw new CodecError(
      `Cannot call ${zid}: the arguments must be an object of argument key → value`,
      'argument',
    );
  }
  const z7: ZNode = { Z1K1: zRef('Z7'), Z7K1: zRef(zid) };
  for (const [key, value] of Object.entries(args)) {
    if (!/^(?:Z[1-9]\d*)?K[1-9]\d*$/.test(key)) {
      throw new CodecError(
        `Cannot call ${zid}: ${JSON.stringify(key.slice(0, 40))} is not an argument key`,
        'argument',
      );
    }
    try {
      z7[key] = fromGuestValue(value as JsonValue);
    } catch (error) {
      if (error instanceof CodecError)
        throw new CodecError(`Cannot call ${zid}: argument ${key}: ${error.message}`, 'argument');
      throw error;
    }
  }
  return { remainingMs: Number.isFinite(remainingMs) ? remainingMs : 0, z7, zid };
}

/** Reads at most `max` bytes of a response body; undefined when it is longer. */
async function readCapped(response: Response, max: number): Promise<string | undefined> {
  const reader = response.body?.getReader();
  if (reader === undefined) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function callOrchestrator(
  url: string,
  zid: string,
  z7: ZNode,
  maxBytes: number,
  signal: AbortSignal,
): Promise<CallOutAnswer> {
  const cannot = (why: string): CallOutAnswer =>
    failed(`Cannot call ${zid} through the orchestrator: ${why}`);
  // useReentrance false: a nested evaluation must not open the 2023 websocket (see docs).
  const body = `{"zobject":${stringifyZObject(z7)},"doValidate":false,"useReentrance":false}`;
  const tooLarge = callTooLarge(zid, body, maxBytes);
  if (tooLarge !== undefined) return tooLarge;
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body,
      signal,
      redirect: 'error',
    });
  } catch (error) {
    if (signal.aborted) return outOfTime(zid);
    return cannot(`the request failed (${(error as Error).message})`);
  }
  let text: string | undefined;
  try {
    text = await readCapped(response, maxBytes);
  } catch {
    if (signal.aborted) return outOfTime(zid);
    return cannot('the answer was cut off');
  }
  if (text === undefined) return fatal(`Cannot call ${zid}: its answer is larger than ${maxBytes} bytes`);
  let z22: ZNode;
  try {
    z22 = normalize(JSON.parse(text));
  } catch (error) {
    if (!response.ok) return cannot(`it answered HTTP ${response.status}`);
    return cannot(`its answer is not a ZObject (${(error as Error).message})`);
  }
  // An error status with a Z22 (an evaluator's 503, say) still says what went wrong.
  if (!response.ok && z22.Z22K1 === undefined) return cannot(`it answered HTTP ${response.status}`);
  const value = z22.Z22K1;
  const isVoid = typeof value === 'object' && value.Z1K1 === 'Z9' && value.Z9K1 === 'Z24';
  if (value === undefined || typeof value === 'string' || isVoid) {
    const error = readMetadata(z22).get('errors');
    const why = error === undefined ? 'it returned nothing' : errorText(error) || 'it failed';
    return failed(`${zid} failed: ${why}`);
  }
  return guestAnswer(zid, value);
}

/**
 * The frame of one call, as the reference's Python executor wrote it (`W.Call`): `call `, then
 * the Z7 with `Z1K1` and `Z7K1` as bare strings and the arguments in normal form, then a newline.
 */
export function callFrame(zid: string, z7: ZNode): string {
  const parts = ['"Z1K1":"Z7"', `"Z7K1":${JSON.stringify(zid)}`];
  for (const [key, value] of Object.entries(z7)) {
    if (key === 'Z1K1' || key === 'Z7K1') continue;
    parts.push(`${JSON.stringify(key)}:${stringifyZObject(value)}`);
  }
  return `call {${parts.join(',')}}\n`;
}

/**
 * Normal form takes tens of times the bytes of the guest's values: the call as sent is held to the
 * same limit as the answer.
 */
function callTooLarge(zid: string, sent: string, maxBytes: number): CallOutAnswer | undefined {
  const bytes = Buffer.byteLength(sent);
  if (bytes <= maxBytes) return undefined;
  return fatal(
    `Cannot call ${zid}: the call takes ${bytes} bytes in normal form, more than the limit of ${maxBytes}`,
  );
}

async function callOverSocket(
  link: SocketLink,
  zid: string,
  z7: ZNode,
  maxBytes: number,
  signal: AbortSignal,
): Promise<CallOutAnswer> {
  const frame = callFrame(zid, z7);
  const tooLarge = callTooLarge(zid, frame, maxBytes);
  if (tooLarge !== undefined) return tooLarge;
  const answer = await link.call(frame, signal);
  if (!answer.ok) {
    if (signal.aborted) return outOfTime(zid);
    return failed(`Cannot call ${zid} over the orchestrator's websocket: ${answer.why}`);
  }
  let value: ZNode;
  try {
    value = normalize(JSON.parse(answer.text));
  } catch (error) {
    // Garbage: the socket can no longer be trusted to answer in order.
    link.reject('its answer is not a ZObject');
    return failed(
      `Cannot call ${zid} over the orchestrator's websocket: its answer is not a ZObject (${(error as Error).message.slice(0, 200)})`,
    );
  }
  if (value.Z1K1 === 'Z9' && value.Z9K1 === 'Z24') {
    // The 2023 orchestrator sends only Z22K1: a nested failure arrives as void, its error dropped.
    return failed(
      `${zid} failed: the orchestrator answered void over its websocket (the 2023 protocol does not carry the error)`,
    );
  }
  return guestAnswer(zid, value);
}

/** A value a called function returned, as the guest receives it (decoded like an argument). */
function guestAnswer(zid: string, value: ZNode): CallOutAnswer {
  try {
    return { ok: true, text: toTaggedJson(toGuestValue(value)) };
  } catch (error) {
    if (error instanceof CodecError) return failed(`Cannot read the value ${zid} returned: ${error.message}`);
    throw error;
  }
}

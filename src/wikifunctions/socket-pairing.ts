// The 2023 orchestrator's reentrance websocket, the service side: which socket belongs to which
// reentrant request, and calls over a paired socket (`call <Z7>` text frames out, one bare
// normal-form value back per call, matched by order). The protocol carries no id tying a socket to
// its POST (REENTRANCE.md, defect 1), so pairing is by elimination, and refused when that cannot
// be certain:
//
// - Sockets and reentrant requests are grouped by the remote address they came from (an
//   orchestrator opens its socket from the address it POSTs from).
// - A request and a socket are paired only when each is the only unpaired one of its address:
//   with two of either waiting, which belongs to which cannot be told, and nothing is paired until
//   it can be (one of them ends, or its socket is closed by the orchestrator).
// - Either side may come first (the orchestrator opens the socket in the same tick as the POST,
//   defect 2): an unpaired socket waits SOCKET_PAIRING_MS for its request, then is closed; a
//   request whose guest calls out before it is paired waits until PAIRING_WAIT_MS after the
//   request came (never beyond its deadline), then gets a typed refusal saying why (no socket, or
//   which ambiguity).
// - A paired socket carries one call at a time; an answer that comes when no call waits, a
//   binary or oversized frame, or text that is not JSON closes the socket and fails only the call
//   of the request it is paired with. A call abandoned (its deadline, the evaluation's end) closes
//   the socket too: a late answer would otherwise be taken as the answer to the next call.
// - The socket is closed when its request ends (the orchestrator closes it too, when the POST is
//   answered), so it can never be paired again.
//
// Sockets are `ws` WebSockets (src/http/wikifunctions-socket.ts accepts them); this module only
// sends and reads text, and closes.

import type { WebSocket } from 'ws';

/** How long an unpaired socket waits for its reentrant request before it is closed. */
export const SOCKET_PAIRING_MS = 10_000;
/**
 * How long after a reentrant request came its guest's calls may wait for the request to be paired
 * (never beyond its deadline): the orchestrator opens the socket in the same tick as the POST.
 */
export const PAIRING_WAIT_MS = 1_000;
/** Sockets held at once (paired or not); more are accepted and closed at once (1013). */
export const MAX_SOCKETS = 256;

/** Close codes (RFC 6455 §7.4.1) and the reasons sent with them. */
const CLOSE = {
  done: 1000,
  unsupported: 1003,
  invalid: 1007,
  policy: 1008,
  tooBig: 1009,
  tryLater: 1013,
} as const;

export type CallAnswer =
  | { readonly ok: true; readonly text: string }
  | { readonly ok: false; readonly why: string };

/** One socket paired with one request: calls go out one at a time, answers come back in order. */
export class SocketLink {
  private pending: ((answer: CallAnswer) => void) | undefined;
  private closedWhy: string | undefined;

  constructor(private readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      const settle = this.pending;
      this.pending = undefined;
      if (isBinary) return this.fail(CLOSE.unsupported, 'it sent a binary frame', settle);
      if (settle === undefined)
        return this.fail(CLOSE.policy, 'it sent a frame no call asked for', undefined);
      settle({ ok: true, text: (data as Buffer).toString('utf8') });
    });
    ws.on('error', (error) => {
      const why = /max payload|too big/i.test(error.message)
        ? 'it sent a frame larger than the limit'
        : `protocol error (${error.message})`;
      this.fail(CLOSE.policy, why, this.takePending());
    });
    ws.on('close', (code) => {
      this.closedWhy ??= `the orchestrator closed it (code ${code})`;
      this.takePending()?.({ ok: false, why: this.closedWhy });
    });
  }

  /** Whether the socket can still carry calls. */
  get open(): boolean {
    return this.closedWhy === undefined;
  }

  /**
   * Sends one `call` frame and resolves with the next text frame. Aborting the signal closes the
   * socket (a late answer must not be read as the next call's).
   */
  call(frame: string, signal: AbortSignal): Promise<CallAnswer> {
    if (this.closedWhy !== undefined)
      return Promise.resolve({ ok: false, why: `the socket is closed: ${this.closedWhy}` });
    if (this.pending !== undefined)
      return Promise.resolve({ ok: false, why: 'a call is already waiting on this socket' });
    return new Promise((resolve) => {
      const onAbort = (): void => this.fail(CLOSE.done, 'the call was abandoned', this.takePending());
      this.pending = (answer) => {
        signal.removeEventListener('abort', onAbort);
        resolve(answer);
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.ws.send(frame, (error) => {
        if (error !== undefined && error !== null)
          this.fail(CLOSE.done, `sending failed (${error.message})`, this.takePending());
      });
    });
  }

  /** Closes the socket for good; a call waiting on it fails with `why`. */
  close(why = 'the request ended'): void {
    this.fail(CLOSE.done, why, this.takePending());
  }

  /** Closes the socket because of what it sent (1007): it can no longer be trusted to answer in order. */
  reject(why: string): void {
    this.fail(CLOSE.invalid, why, this.takePending());
  }

  private takePending(): ((answer: CallAnswer) => void) | undefined {
    const settle = this.pending;
    this.pending = undefined;
    return settle;
  }

  private fail(code: number, why: string, settle: ((answer: CallAnswer) => void) | undefined): void {
    this.closedWhy ??= why;
    settle?.({ ok: false, why: this.closedWhy });
    closeQuietly(this.ws, code, why);
  }
}

function closeQuietly(ws: WebSocket, code: number, reason: string): void {
  try {
    // A close frame's reason is at most 123 bytes.
    if (ws.readyState === ws.OPEN) ws.close(code, Buffer.from(reason).subarray(0, 123).toString());
    else if (ws.readyState !== ws.CLOSED) ws.terminate();
  } catch {
    ws.terminate();
  }
}

/** The address a socket or request is grouped by (IPv4 clients seen by an IPv6 listener unmapped). */
export function originOf(address: string | undefined): string {
  if (address === undefined || address === '') return 'an unknown address';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/** What a request gets when it asks for its socket. */
export type Pairing =
  | { readonly ok: true; readonly link: SocketLink }
  | { readonly ok: false; readonly why: string };

interface Held {
  readonly ws: WebSocket;
  readonly origin: string;
  timer: NodeJS.Timeout | undefined;
  /** Closes the socket when it sends anything before it is paired (nothing was asked). */
  readonly early: () => void;
}

/** A reentrant request of one origin, paired or waiting for its socket. */
export class SocketTicket {
  link: SocketLink | undefined;
  released = false;
  /** When the request registered (performance.now()). */
  readonly since = performance.now();
  readonly waiters = new Set<() => void>();

  constructor(
    private readonly pairing: SocketPairing,
    readonly origin: string,
  ) {}

  /**
   * The socket paired with this request: at once when it is, else after waiting at most
   * `waitMs` for the pairing (or until `signal` aborts), else a refusal saying why.
   */
  async socket(waitMs: number, signal: AbortSignal): Promise<Pairing> {
    await this.until(() => this.link !== undefined, waitMs, signal);
    if (this.link !== undefined) return { ok: true, link: this.link };
    return { ok: false, why: this.pairing.whyUnpaired(this) };
  }

  /**
   * Waits at most `waitMs` until this request's socket has surely come: it is paired, or its
   * origin has as many unpaired sockets as unpaired requests (then one of them is this one's,
   * whichever it is). Answering earlier risks closing a socket the orchestrator is still opening.
   */
  async accountedFor(waitMs: number): Promise<void> {
    const never = new AbortController().signal;
    await this.until(
      () => this.link !== undefined || this.pairing.everyRequestHasSocket(this.origin),
      waitMs,
      never,
    );
  }

  /** Waits until `ready()`, the release, `signal` or `waitMs`; woken at every change of the origin. */
  private async until(ready: () => boolean, waitMs: number, signal: AbortSignal): Promise<void> {
    const end = performance.now() + waitMs;
    while (!ready() && !this.released && !signal.aborted) {
      const left = end - performance.now();
      if (left <= 0) return;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          this.waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, left);
        signal.addEventListener('abort', done, { once: true });
        this.waiters.add(done);
      });
    }
  }

  /** The request is over: its socket (if any) is closed, and it leaves the pairing. */
  release(): void {
    this.pairing.release(this);
  }
}

/** Service-wide: the sockets held and the reentrant requests waiting for theirs, by origin. */
export class SocketPairing {
  /** Sockets not paired yet. */
  private readonly sockets = new Map<string, Held[]>();
  /** Reentrant requests not paired yet (a paired one leaves the list). */
  private readonly requests = new Map<string, SocketTicket[]>();
  private readonly all = new Set<WebSocket>();

  constructor(private readonly options: { pairingMs?: number; maxSockets?: number } = {}) {}

  /** Sockets held now. */
  get held(): number {
    return this.all.size;
  }

  /** Takes a socket the orchestrator opened from `origin` (after the handshake). */
  attach(ws: WebSocket, origin: string): void {
    if (this.all.size >= (this.options.maxSockets ?? MAX_SOCKETS)) {
      closeQuietly(ws, CLOSE.tryLater, 'too many sockets held');
      return;
    }
    this.all.add(ws);
    const held: Held = {
      ws,
      origin,
      timer: undefined,
      early: () => {
        this.forget(held);
        closeQuietly(ws, CLOSE.policy, 'it sent a frame before any call');
      },
    };
    held.timer = setTimeout(() => {
      this.forget(held);
      closeQuietly(ws, CLOSE.policy, 'no reentrant request to pair it with');
    }, this.options.pairingMs ?? SOCKET_PAIRING_MS);
    held.timer.unref();
    ws.on('message', held.early);
    ws.on('error', () => this.forget(held));
    ws.on('close', () => {
      this.forget(held);
      this.all.delete(ws);
    });
    push(this.sockets, origin, held);
    this.settle(origin);
  }

  /** Registers a reentrant request from `origin`; release the ticket when the request ends. */
  expect(origin: string): SocketTicket {
    const ticket = new SocketTicket(this, origin);
    push(this.requests, origin, ticket);
    this.settle(origin);
    return ticket;
  }

  /** Closes every socket (service shutdown). */
  closeAll(): void {
    for (const ws of this.all) ws.terminate();
    this.all.clear();
    this.sockets.clear();
  }

  /** @internal (SocketTicket) */
  release(ticket: SocketTicket): void {
    if (ticket.released) return;
    ticket.released = true;
    remove(this.requests, ticket.origin, ticket);
    ticket.link?.close();
    for (const wake of [...ticket.waiters]) wake();
    this.settle(ticket.origin);
  }

  /** @internal (SocketTicket) Whether the origin's unpaired sockets are at least its unpaired requests. */
  everyRequestHasSocket(origin: string): boolean {
    return (this.sockets.get(origin)?.length ?? 0) >= (this.requests.get(origin)?.length ?? 0);
  }

  /** @internal (SocketTicket) Why a request has no socket now, as the refusal's words. */
  whyUnpaired(ticket: SocketTicket): string {
    if (ticket.released) return 'the request is over';
    const requests = this.requests.get(ticket.origin)?.length ?? 0;
    const sockets = this.sockets.get(ticket.origin)?.length ?? 0;
    if (sockets === 0)
      return `no websocket came from ${ticket.origin} for this request (FUNCTION_EVALUATOR_WS)`;
    const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
    return `${plural(requests, 'reentrant request')} and ${plural(sockets, 'websocket')} from ${ticket.origin} wait to be paired, and the 2023 protocol says nothing that tells which socket is whose`;
  }

  private forget(held: Held): void {
    clearTimeout(held.timer);
    if (remove(this.sockets, held.origin, held)) this.settle(held.origin);
  }

  /**
   * Pairs the one unpaired request of `origin` with its one unpaired socket, when that is all;
   * then wakes the origin's waiting requests (what they wait for may have changed).
   */
  private settle(origin: string): void {
    this.pair(origin);
    for (const ticket of [...(this.requests.get(origin) ?? [])]) {
      for (const wake of [...ticket.waiters]) wake();
    }
  }

  private pair(origin: string): void {
    const requests = this.requests.get(origin) ?? [];
    const sockets = this.sockets.get(origin) ?? [];
    if (requests.length !== 1 || sockets.length !== 1) return;
    const ticket = requests[0]!;
    const held = sockets[0]!;
    clearTimeout(held.timer);
    remove(this.sockets, origin, held);
    remove(this.requests, origin, ticket);
    held.ws.off('message', held.early);
    ticket.link = new SocketLink(held.ws);
    for (const wake of [...ticket.waiters]) wake();
  }
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

function remove<T>(map: Map<string, T[]>, key: string, value: T): boolean {
  const list = map.get(key);
  const index = list?.indexOf(value) ?? -1;
  if (list === undefined || index < 0) return false;
  list.splice(index, 1);
  if (list.length === 0) map.delete(key);
  return true;
}

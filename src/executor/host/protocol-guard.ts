// What every host (worker pool, sandbox host process, the service's process host) does with a
// message its worker or host process should not have sent. Hosts do not trust the other side of a
// channel that guest code might have reached: each keeps a state machine per slot (one call sent,
// exactly one answer carrying that call's id), and a message the current state does not expect —
// a second ready or done, a wrong or missing id, output when not serving, an unknown kind, a
// malformed or oversized message — kills the sender at once, fails only the call it was serving
// with SANDBOX_CRASH, and is logged and counted as a security event (polyeval_security_events_total).
// The checks here are O(1) per message: kinds, ids and string lengths, never a walk of a value.

import type { GuestError } from '../contract.js';

/** Why a message was refused; the `kind` label of polyeval_security_events_total (a closed set). */
export const VIOLATION_KINDS = [
  'malformed',
  'unknown-kind',
  'unexpected-ready',
  'unexpected-done',
  'unexpected-output',
  'unexpected-message',
  'wrong-id',
  'oversized',
  // Not a message out of place: a worker's reset in place left state that differs from its golden
  // image (verification), i.e. one call could have met another's traces. The worker is discarded.
  'reset-mismatch',
] as const;

export type ViolationKind = (typeof VIOLATION_KINDS)[number];

export function isViolationKind(value: unknown): value is ViolationKind {
  return (VIOLATION_KINDS as readonly unknown[]).includes(value);
}

/** A refused message: what kind of violation, and a short description for the log. */
export interface Violation {
  readonly kind: ViolationKind;
  readonly detail: string;
}

/** The longest log text a sandbox host may send. */
export const MAX_MESSAGE_TEXT = 64 * 1024;

/** Counts security events by kind, for readiness and /metrics. */
export class SecurityEvents {
  private readonly counts: Record<string, number> = {};

  record(kind: string): void {
    this.counts[kind] = (this.counts[kind] ?? 0) + 1;
  }

  snapshot(): Readonly<Record<string, number>> {
    return { ...this.counts };
  }
}

export function violation(kind: ViolationKind, detail: string): Violation {
  return { kind, detail };
}

/** The error of a call whose sandbox was killed for breaking the protocol. */
export function protocolViolationError(name: string, found: Violation): GuestError {
  return {
    code: 'SANDBOX_CRASH',
    message: `Cannot run "${name}": the sandbox was killed for a protocol violation (${found.detail})`,
  };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A message's kind, or a violation when the message has none. */
export function kindOf(message: unknown): string | Violation {
  if (!isRecord(message) || typeof message.kind !== 'string')
    return violation('malformed', 'a message without a kind');
  return message.kind;
}

/** Checks an output message against the call it claims to belong to. */
export function checkOutput(
  message: Record<string, unknown>,
  expectedId: number | undefined,
  limitBytes: number,
): Violation | undefined {
  if (expectedId === undefined) return violation('unexpected-output', 'output while not serving a call');
  if (message.id !== expectedId) return violation('wrong-id', 'output for another call');
  if ((message.stream !== 'stdout' && message.stream !== 'stderr') || typeof message.text !== 'string')
    return violation('malformed', 'an output message without stream and text');
  // The sender cuts output at the limit (UTF-16 length never exceeds UTF-8 bytes): longer is forged.
  if (message.text.length > limitBytes)
    return violation('oversized', 'an output chunk over the output limit');
  return undefined;
}

/** Checks the shape of a failed or successful outcome: ok, and an error's code and message. */
export function checkOutcome(outcome: unknown): Violation | undefined {
  if (!isRecord(outcome) || typeof outcome.ok !== 'boolean')
    return violation('malformed', 'an answer without an outcome');
  if (outcome.ok) return undefined;
  const error = outcome.error;
  if (!isRecord(error) || typeof error.code !== 'string' || typeof error.message !== 'string')
    return violation('malformed', 'a failed outcome without code and message');
  // Only the code is bounded: a guest's own error message may be long (it throws what it likes),
  // and the output limit is not the rule for it.
  if (error.code.length > 64) return violation('oversized', 'an error code over the size limit');
  return undefined;
}

/**
 * Where one call's call-outs stand (Wikifunctions reentrance: the guest calls another function and
 * blocks until the answer). Kept by each side that relays them: the host process for its worker,
 * the service for its host.
 */
export interface CallOutState {
  /** Call-outs sent so far. */
  count: number;
  /** One is on its way and not answered yet (the guest is blocked on it). */
  waiting: boolean;
  /** A fatal answer (or the deadline) ended the call's call-outs: an honest sender sends no more. */
  over: boolean;
}

/**
 * Call-outs one call may send whatever the service's own cap says (REENTRANCE_LIMITS.calls, 50,
 * refused fatally at the 51st, after which an honest sender stops): a bound of the relay itself.
 */
export const MAX_CALL_OUTS = 1000;

/**
 * Checks a call-out message: only from the call being served, only when that call may call out
 * (`capacity`: the largest request, in UTF-8 bytes), one at a time, never after a fatal answer,
 * at most MAX_CALL_OUTS, and no larger than the capacity (UTF-16 length never exceeds UTF-8 bytes:
 * longer is forged).
 */
export function checkCallOut(
  message: Record<string, unknown>,
  expectedId: number | undefined,
  capacity: number | undefined,
  state: CallOutState | undefined,
): Violation | undefined {
  if (expectedId === undefined) return violation('unexpected-message', 'a call-out while not serving a call');
  if (message.id !== expectedId) return violation('wrong-id', 'a call-out for another call');
  if (typeof message.text !== 'string') return violation('malformed', 'a call-out without text');
  if (capacity === undefined || state === undefined)
    return violation('unexpected-message', 'a call-out from a call that may not call out');
  if (message.text.length > capacity) return violation('oversized', 'a call-out over the size limit');
  if (state.waiting)
    return violation('unexpected-message', 'a second call-out before the first was answered');
  if (state.over) return violation('unexpected-message', 'a call-out after a final answer');
  if (state.count >= MAX_CALL_OUTS)
    return violation('unexpected-message', 'more call-outs than a call may send');
  return undefined;
}

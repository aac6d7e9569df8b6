// One Wikifunctions evaluation, from request body to Z22 envelope: decode the body, route the
// programming language through the manifests' `wikifunctions` names and ZIDs, convert the
// arguments with the zobject codec, run the call through the orchestrator, convert the result back
// and wrap it with metadata measured from the sandbox (a failure also says what happened in one
// sentence, errorMessage). Languages whose manifest says so get a channel for calls the guest
// makes to other functions (reentrance.ts). Every evaluation outcome (including bad
// requests and unknown languages) is an HTTP 200 envelope; only "come back later" (overload,
// shutdown: 503 with Retry-After) and our own failures (500) use other statuses, still with a Z22.

import { hostname as osHostname } from 'node:os';
import { GUEST_ERRORS, ServiceError } from '../errors.js';
import type { ExecutionResult, GuestError, Limits } from '../executor/contract.js';
import { safeName } from '../executor/echo.js';
import { threadCpuMs } from '../executor/host/thread-cpu.js';
import type { JsonValue } from '../executor/json-value.js';
import type { Manifest } from '../executor/manifest.js';
import type { EvaluateInput, EvaluateOutput, LanguageInfo } from '../orchestrator/orchestrator.js';
import type { RequestScope } from '../request-scope.js';
import { CodecError, fromGuestValue, toGuestValue } from './codec.js';
import { type Metadata, makeEnvelope, messageError, quote, z5 } from './envelope.js';
import { Reentrance, type RequestHold } from './reentrance.js';
import { decodeRequest, type EvaluationRequest, RequestError } from './request.js';
import { stringifyZObject, type ZNode, zString } from './zobject.js';

/** What the Wikifunctions API needs from the orchestrator (which satisfies it as it is). */
export interface WikifunctionsBackend {
  evaluate(input: EvaluateInput): Promise<EvaluateOutput>;
  manifests(): Manifest[];
  info(): LanguageInfo[];
}

export interface EvaluateOptions {
  /** Reported as evaluationHostname; defaults to the machine's host name. */
  readonly hostname?: string;
  readonly signal?: AbortSignal;
  /**
   * Decodes the body instead of decodeRequest on this thread (the HTTP route passes one that
   * decodes large bodies in the parser thread, src/http/body-parser.ts).
   * @throws RequestError
   */
  readonly decode?: (body: Uint8Array, contentType: string | undefined) => Promise<EvaluationRequest>;
  /** The HTTP request making the call (its id, and where the call is recorded for its log line). */
  readonly scope?: RequestScope;
  /** Told about our own failures (never about guest failures). */
  readonly onInternalError?: (error: unknown) => void;
  /** Largest envelope returned, in characters (default MAX_RESPONSE_CHARS). */
  readonly maxResponseChars?: number;
  /** What the request's remainingTime does (default 'ignore'; see remainingLimit). */
  readonly remainingTime?: RemainingTimePolicy;
  /** Calls guests make back to the orchestrator (default: none configured, every call-out refused). */
  readonly reentrance?: Reentrance;
  /** The remote address of the request (pairs a reentrant request with its websocket). */
  readonly origin?: string;
}

/** Used when no Reentrance is given: no orchestrator, so call-outs are refused typed. */
const NO_REENTRANCE = new Reentrance();

/**
 * 'ignore': remainingTime changes nothing, as in the reference evaluator (which never read it).
 * 'honour': remainingTime is milliseconds (the orchestrator computes it from a timer) and lowers
 * the time limit.
 */
export type RemainingTimePolicy = 'ignore' | 'honour';

/**
 * Beyond this (either sign), a remainingTime is not a time budget but a broken computation: the
 * 2023 orchestrator sends about -1.8e12 (a loop-relative clock minus epoch time).
 */
export const REMAINING_TIME_SANE_MS = 86_400_000;

/**
 * The time limit a remainingTime asks for: undefined to keep the language's own, 0 when nothing is
 * left, else the remaining milliseconds (at least 1) capped by `fallbackMs`.
 */
export function remainingLimit(
  remainingTime: number | undefined,
  policy: RemainingTimePolicy,
  fallbackMs: number,
): number | undefined {
  if (policy === 'ignore' || remainingTime === undefined || !Number.isFinite(remainingTime)) return undefined;
  if (Math.abs(remainingTime) > REMAINING_TIME_SANE_MS) return undefined;
  if (remainingTime <= 0) return 0;
  return Math.min(fallbackMs, Math.max(1, Math.floor(remainingTime)));
}

export interface WireResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** The codec every Wikifunctions call uses; a language lists it in its manifest's `codecs`. */
export const ZOBJECT_CODEC = 'zobject';

/** Responses larger than this (normal form is ~40 times the size of plain JSON) become errors. */
export const MAX_RESPONSE_CHARS = 32 * 1024 * 1024;

/**
 * Finds the language a Wikifunctions programming-language name or ZID routes to, from the
 * manifests' `wikifunctions` lists. Names match case-insensitively.
 */
export function resolveWikifunctionsLanguage(
  manifests: readonly Manifest[],
  requested: string,
): Manifest | undefined {
  const wanted = requested.trim();
  const lower = wanted.toLowerCase();
  return manifests.find(
    (m) =>
      m.wikifunctions !== undefined &&
      (m.wikifunctions.zids.includes(wanted) || m.wikifunctions.names.some((n) => n.toLowerCase() === lower)),
  );
}

const ms = (value: number): string => `${Math.round(value * 1000) / 1000} ms`;
const mib = (bytes: number): string => `${Math.round((bytes / 1048576) * 100) / 100} MiB`;

class Clock {
  readonly startedAt = new Date();
  private readonly startedMs = performance.now();
  private hostCpu = 0;

  /** Runs synchronous host work (decoding, encoding) and adds its CPU time to this evaluation's. */
  measure<T>(work: () => T): T {
    const before = threadCpuMs();
    try {
      return work();
    } finally {
      this.hostCpu += threadCpuMs() - before;
    }
  }

  metadata(run: ExecutionResult | undefined): [string, ZNode][] {
    const endedAt = new Date();
    const cpu = this.hostCpu + (run?.stats.cpuMs ?? 0);
    const entries: [string, ZNode][] = [];
    const add = (key: string, value: string): void => {
      entries.push([key, zString(value)]);
    };
    if (run !== undefined) add('evaluationMemoryUsage', mib(run.stats.memoryBytes));
    add('evaluationCpuUsage', ms(cpu));
    add('evaluationStartTime', this.startedAt.toISOString());
    add('evaluationEndTime', endedAt.toISOString());
    add('evaluationDuration', ms(performance.now() - this.startedMs));
    return entries;
  }
}

/** Evaluates one request body; never throws (our own failures become a 500 with a Z22). */
export async function evaluateWikifunctions(
  backend: WikifunctionsBackend,
  body: Uint8Array,
  contentType: string | undefined,
  options: EvaluateOptions = {},
): Promise<WireResponse> {
  const clock = new Clock();
  try {
    return await evaluate(backend, body, contentType, options, clock);
  } catch (error) {
    options.onInternalError?.(error);
    const message = 'Internal error while evaluating the function call';
    const metadata: Metadata = [
      ['errors', messageError(message)],
      ['errorMessage', zString(message)],
    ];
    return {
      status: 500,
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: stringifyZObject(makeEnvelope(undefined, [...metadata, ...clock.metadata(undefined)])),
    };
  }
}

/**
 * A failed evaluation: the typed Z5 and the sentence a person (or a tool written against the
 * reference evaluator) reads, in the reference's words where it had words for the case. The
 * sentence is also the envelope's `errorMessage`: the catalogue gives some types (Z558, Z562, Z575,
 * Z571) no place for text.
 */
export interface Failure {
  readonly z5: ZNode;
  readonly message: string;
}

/** The reference's text for a language that routes nowhere (its tests look for it). */
export const noExecutorMessage = (language: string): string =>
  `No executor found for programming language ${safeName(language)}.`;

type Respond = (
  value: ZNode | undefined,
  error: Failure | undefined,
  run?: { result: ExecutionResult; engine: string | undefined },
  status?: number,
  headers?: Record<string, string>,
) => WireResponse;

async function evaluate(
  backend: WikifunctionsBackend,
  body: Uint8Array,
  contentType: string | undefined,
  options: EvaluateOptions,
  clock: Clock,
): Promise<WireResponse> {
  const host = options.hostname ?? osHostname();
  const respond: Respond = (value, error, run, status = 200, headers = {}) => {
    const metadata: [string, ZNode][] = [];
    if (error !== undefined) metadata.push(['errors', error.z5], ['errorMessage', zString(error.message)]);
    metadata.push(...clock.metadata(run?.result));
    metadata.push(['evaluationHostname', zString(host)]);
    if (run !== undefined) {
      metadata.push(['executionMemoryUsage', zString(mib(run.result.stats.memoryBytes))]);
      metadata.push(['executionCpuUsage', zString(ms(run.result.stats.cpuMs))]);
      if (run.engine !== undefined) metadata.push(['programmingLanguageVersion', zString(run.engine)]);
      metadata.push(['executorDebugLogs', zString(run.result.stdout + run.result.stderr)]);
    }
    return {
      status,
      headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
      body: stringifyZObject(makeEnvelope(value, metadata as Metadata)),
    };
  };

  let request: EvaluationRequest;
  try {
    request =
      options.decode === undefined
        ? clock.measure(() => decodeRequest(body, contentType))
        : await options.decode(body, contentType);
  } catch (error) {
    if (error instanceof RequestError) return respond(undefined, { z5: error.z5, message: error.message });
    throw error;
  }

  // A reentrant request has a websocket from the 2023 orchestrator: its place in the pairing is
  // taken now, whatever the language, and the answer waits until the socket is accounted for (the
  // orchestrator crashes when its socket is still connecting as the POST is answered).
  const reentrance = options.reentrance ?? NO_REENTRANCE;
  const hold = reentrance.hold(request.reentrant, options.origin);
  try {
    return await evaluateRequest(backend, request, options, clock, respond, hold);
  } finally {
    await hold.done();
  }
}

async function evaluateRequest(
  backend: WikifunctionsBackend,
  request: EvaluationRequest,
  options: EvaluateOptions,
  clock: Clock,
  respond: Respond,
  hold: RequestHold,
): Promise<WireResponse> {
  const manifest = resolveWikifunctionsLanguage(backend.manifests(), request.language);
  if (manifest === undefined) {
    return respond(undefined, {
      z5: z5('Z558', zString(safeName(request.language))),
      message: noExecutorMessage(request.language),
    });
  }
  const language = backend.info().find((l) => l.id === manifest.id);
  const engine = language?.engine.version;

  let args: JsonValue[];
  try {
    args = clock.measure(() => request.args.map((a) => toGuestValue(a.value, a.declaredType)));
  } catch (error) {
    if (!(error instanceof CodecError)) throw error;
    const message = `Cannot pass the arguments: ${error.message}`;
    return respond(undefined, { z5: z5('Z561', messageError(message)), message });
  }

  const fallback = language?.limits.defaults.timeoutMs ?? REMAINING_TIME_SANE_MS;
  const timeoutMs = remainingLimit(request.remainingTime, options.remainingTime ?? 'ignore', fallback);
  if (timeoutMs === 0) {
    const message = 'Function call timed out: the caller has no time left (remainingTime)';
    return respond(undefined, { z5: z5('Z575', zString('0 ms')), message });
  }
  const limits: Partial<Limits> = timeoutMs === undefined ? {} : { timeoutMs };

  // Reentrance: the language's runner serves call-outs over a channel of this evaluation's own.
  const channel = manifest.wikifunctions?.reentrant
    ? (options.reentrance ?? NO_REENTRANCE).open(request.reentrant, options.signal, hold)
    : undefined;

  let output: EvaluateOutput;
  try {
    output = await backend.evaluate({
      language: manifest.id,
      code: request.code,
      function: request.functionName,
      args,
      codec: ZOBJECT_CODEC,
      limits,
      ...(channel === undefined ? {} : { callOut: channel.buffer }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(options.scope === undefined ? {} : { scope: options.scope }),
    });
  } catch (error) {
    if (!(error instanceof ServiceError)) throw error;
    const failure = serviceFailure(error, request, options);
    return respond(undefined, failure.error, undefined, failure.status, failure.headers);
  } finally {
    channel?.close();
  }

  const run = { result: output as ExecutionResult, engine };
  if (!output.ok) return respond(undefined, guestFailure(output.error, request, output.limits), run);
  try {
    const value = clock.measure(() => fromGuestValue(output.value, request.returnType));
    const response = respond(value, undefined, run);
    const max = options.maxResponseChars ?? MAX_RESPONSE_CHARS;
    if (response.body.length <= max) return response;
    const mb = (chars: number): string => `${Math.round((chars / 1048576) * 100) / 100} MiB`;
    const message = `The result is too large: its envelope takes ${mb(response.body.length)}, more than ${mb(max)}`;
    return respond(undefined, { z5: z5('Z507', quote(request.call), messageError(message)), message }, run);
  } catch (error) {
    if (!(error instanceof CodecError)) throw error;
    return respond(undefined, codecFailure(error, request), run);
  }
}

function serviceFailure(
  error: ServiceError,
  request: EvaluationRequest,
  options: EvaluateOptions,
): { error: Failure; status: number; headers: Record<string, string> } {
  const headers: Record<string, string> =
    error.retryAfterSeconds === undefined ? {} : { 'retry-after': String(error.retryAfterSeconds) };
  const message = (z: ZNode, text = error.detail): Failure => ({ z5: z, message: text });
  switch (error.problem) {
    case 'unknown-language':
      return {
        error: message(z5('Z558', zString(safeName(request.language))), noExecutorMessage(request.language)),
        status: 200,
        headers: {},
      };
    case 'invalid-request':
      return { error: message(z5('Z561', messageError(error.detail))), status: 200, headers: {} };
    case 'overloaded':
      return { error: message(z5('Z571', zString(error.detail))), status: 503, headers };
    case 'shutting-down':
      return { error: message(messageError(error.detail)), status: 503, headers };
    default:
      options.onInternalError?.(error);
      return { error: message(messageError(error.detail)), status: Math.max(error.status, 500), headers };
  }
}

/** The text of a guest failure: its message, never empty, with the exception type and line. */
export function guestMessage(error: GuestError): string {
  let text = error.message.trim();
  if (text === '') {
    text =
      error.code === 'RUNTIME_ERROR'
        ? `The function raised ${error.type ?? 'an exception'} without a message`
        : GUEST_ERRORS[error.code];
  } else if (error.type !== undefined && error.type !== '' && !text.includes(error.type)) {
    text = `${error.type}: ${text}`;
  }
  if (error.line !== undefined && !/\bline\b/i.test(text)) {
    text +=
      error.column === undefined ? ` (line ${error.line})` : ` (line ${error.line}, column ${error.column})`;
  }
  return text;
}

function guestFailure(error: GuestError, request: EvaluationRequest, limits: Limits): Failure {
  if (error.code === 'TIMEOUT') {
    // "Function call timed out" is the reference's text for this case.
    return {
      z5: z5('Z575', zString(`${limits.timeoutMs} ms`)),
      message: `Function call timed out: time limit of ${limits.timeoutMs} ms exceeded`,
    };
  }
  const message = guestMessage(error);
  return { z5: z5('Z507', quote(request.call), messageError(message)), message };
}

function codecFailure(error: CodecError, request: EvaluationRequest): Failure {
  const { expected, actual, value } = error.details;
  if (error.kind === 'mismatch' && expected !== undefined && actual !== undefined && value !== undefined) {
    return { z5: z5('Z517', expected, actual, value, messageError(error.message)), message: error.message };
  }
  return { z5: z5('Z507', quote(request.call), messageError(error.message)), message: error.message };
}

// The closed catalogues of errors. Guest failures are values (a result with ok: false and one of
// GUEST_ERROR_CODES); our own failures and bad requests are named error classes that the HTTP layer
// turns into problem+json responses. docs/errors.md is kept in sync with both lists by a test.

/** Every code a guest failure may carry, with what it means. The order is the documented order. */
export const GUEST_ERRORS = {
  SYNTAX_ERROR: 'The code (or module) could not be parsed, compiled or validated.',
  RUNTIME_ERROR: 'The code raised an exception, trapped, or exited with a non-zero status.',
  ENTRY_NOT_FOUND: 'The code does not define the function (or export) named by `function`.',
  INVALID_ARGUMENT:
    'An argument cannot be given to this language or entry (for example a string where the entry takes a number).',
  INVALID_RESULT:
    'The function returned something JSON cannot carry (a function, a cycle, NaN, a class instance...).',
  TIMEOUT: 'The call ran past its wall-time limit and was stopped.',
  MEMORY_LIMIT: 'The call tried to use more memory than its limit.',
  OUTPUT_LIMIT: 'The call wrote more stdout/stderr, or returned a larger result, than its output limit.',
  SANDBOX_CRASH: 'The sandbox died for a reason that is not one of the limits above; it was replaced.',
} as const;

export type GuestErrorCode = keyof typeof GUEST_ERRORS;
export const GUEST_ERROR_CODES = Object.keys(GUEST_ERRORS) as GuestErrorCode[];

export function isGuestErrorCode(code: string): code is GuestErrorCode {
  return Object.hasOwn(GUEST_ERRORS, code);
}

/** Problem types of HTTP errors (RFC 9457 problem+json), keyed by the slug used in `type`. */
export const PROBLEMS = {
  'invalid-request': { status: 400, title: 'The request is not valid' },
  unauthorized: { status: 401, title: 'A valid bearer token is needed' },
  'unknown-language': { status: 400, title: 'The language is not known or not enabled' },
  'unknown-module': { status: 404, title: 'No deployed module has that id' },
  'not-found': { status: 404, title: 'No such route' },
  'method-not-allowed': { status: 405, title: 'Method not allowed' },
  'body-too-large': { status: 413, title: 'The request body is larger than the limit' },
  'unsupported-media-type': { status: 415, title: 'The request body has an unsupported content type' },
  overloaded: { status: 503, title: 'The service is at capacity; retry later' },
  'language-unavailable': { status: 503, title: 'The language failed to start and cannot run calls' },
  'shutting-down': { status: 503, title: 'The service is shutting down' },
  'upstream-failed': { status: 502, title: 'A remote evaluator could not be reached' },
  internal: { status: 500, title: 'Internal error' },
} as const;

export type ProblemType = keyof typeof PROBLEMS;

/** A failure of the service (not of the guest) that maps onto one problem+json response. */
export class ServiceError extends Error {
  readonly problem: ProblemType;
  readonly detail: string;
  readonly extra: Readonly<Record<string, unknown>>;
  readonly retryAfterSeconds: number | undefined;

  constructor(
    problem: ProblemType,
    detail: string,
    options: { extra?: Record<string, unknown>; retryAfterSeconds?: number; cause?: unknown } = {},
  ) {
    super(detail, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ServiceError';
    this.problem = problem;
    this.detail = detail;
    this.extra = options.extra ?? {};
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  get status(): number {
    return PROBLEMS[this.problem].status;
  }
}

/** Raised when configuration or a language manifest is invalid at boot; the service refuses to start. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

// problem+json (RFC 9457) responses for our failures and bad requests.

import { PROBLEMS, type ProblemType, ServiceError } from '../errors.js';
import { safeText } from '../executor/echo.js';

export function problemResponse(error: ServiceError, instance?: string): Response {
  const { status, title } = PROBLEMS[error.problem];
  const body = {
    type: `https://polyeval.dev/problems/${error.problem}`,
    title,
    status,
    // The one place every problem passes: details quote the request (a key, a content type, a
    // name), so they are made safe and short here (src/executor/echo.ts).
    detail: safeText(error.detail),
    ...(instance === undefined ? {} : { instance }),
    ...error.extra,
  };
  const headers = new Headers({ 'content-type': 'application/problem+json' });
  if (error.retryAfterSeconds !== undefined) headers.set('retry-after', String(error.retryAfterSeconds));
  return new Response(JSON.stringify(body), { status, headers });
}

export function problem(type: ProblemType, detail: string, extra?: Record<string, unknown>): ServiceError {
  return new ServiceError(type, detail, extra === undefined ? {} : { extra });
}

// problem+json (RFC 9457) responses for our failures and bad requests, and reading request bodies
// under a byte cap that holds whatever the client claims in Content-Length (chunked included).

import type { Context } from 'hono';
import { PROBLEMS, type ProblemType, ServiceError } from '../errors.js';

export function problemResponse(error: ServiceError, instance?: string): Response {
  const { status, title } = PROBLEMS[error.problem];
  const body = {
    type: `https://polyeval.dev/problems/${error.problem}`,
    title,
    status,
    detail: error.detail,
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

/** Reads the whole body as bytes, refusing with 413 as soon as it passes `limit`. */
export async function readBody(c: Context, limit: number): Promise<Uint8Array> {
  const declared = Number(c.req.header('content-length') ?? Number.NaN);
  if (declared > limit) throw tooLarge(limit);
  const stream = c.req.raw.body;
  if (stream === null) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

function tooLarge(limit: number): ServiceError {
  return problem('body-too-large', `The request body is larger than ${limit} bytes`, { limitBytes: limit });
}

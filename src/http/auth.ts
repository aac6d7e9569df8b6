// Optional bearer-token authentication. Off unless tokens are configured: POLYEVAL_AUTH_TOKENS
// (comma-separated) and/or POLYEVAL_AUTH_TOKENS_FILE (a file of tokens, one per line or
// comma-separated: a mounted Kubernetes Secret). When on, every route that runs or deploys code or
// tells about the server needs `Authorization: Bearer <token>`; the health probes (/livez,
// /readyz) and the static pages (playground, docs UI, the OpenAPI document) never do, and /metrics
// does unless POLYEVAL_AUTH_METRICS=off (a scraper inside the cluster). A missing or wrong token
// is 401 problem+json with WWW-Authenticate (RFC 6750).
//
// Tokens are compared in constant time: each candidate and each token are hashed (SHA-256, so
// lengths never differ) and compared with crypto.timingSafeEqual, every token every time, so that
// neither the time nor an early exit tells how much of a guess was right. Hand-written: the check
// is ten lines, and hono's bearerAuth middleware compares tokens with its own timing-safe helper
// but answers 401 with a plain-text body, not the problem+json every other refusal of this API has.

import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { MiddlewareHandler } from 'hono';
import type { GlobalConfig } from '../config.js';
import { ConfigError } from '../errors.js';
import { problem, problemResponse } from './problem.js';

/** Shortest token accepted: a guessable token is worse than none, because it looks like one. */
export const MIN_TOKEN_LENGTH = 16;

/** Paths that never need a token: probes, and pages and documents that run nothing. */
const OPEN = [/^\/livez$/, /^\/readyz$/, /^\/$/, /^\/playground(\/|$)/, /^\/docs(\/|$)/, /^\/openapi\.json$/];

function split(text: string): string[] {
  return text
    .split(/[,\n\r]/)
    .map((t) => t.trim())
    .filter((t) => t !== '');
}

/** The configured tokens (empty: authentication is off). A bad file or a short token stops the boot. */
export function authTokens(g: GlobalConfig): string[] {
  const tokens = split(g.POLYEVAL_AUTH_TOKENS);
  const file = g.POLYEVAL_AUTH_TOKENS_FILE;
  if (file !== '') {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new ConfigError(
        `Cannot read POLYEVAL_AUTH_TOKENS_FILE="${file}": ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      );
    }
    const fromFile = split(text);
    if (fromFile.length === 0) throw new ConfigError(`POLYEVAL_AUTH_TOKENS_FILE="${file}" holds no token`);
    tokens.push(...fromFile);
  }
  for (const token of tokens) {
    if (token.length < MIN_TOKEN_LENGTH || /\s/.test(token)) {
      throw new ConfigError(
        `Invalid authentication token (from POLYEVAL_AUTH_TOKENS or its file): a token needs at least ${MIN_TOKEN_LENGTH} characters and no spaces`,
      );
    }
  }
  return tokens;
}

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/** A constant-time check of a presented token against every configured one. */
export function tokenChecker(tokens: readonly string[]): (presented: string) => boolean {
  const digests = tokens.map(digest);
  return (presented) => {
    const candidate = digest(presented);
    let match = false;
    // Every token, every time: no early exit.
    for (const d of digests) match = timingSafeEqual(candidate, d) || match;
    return match;
  };
}

/** Whether a path needs a token when authentication is on. */
export function needsToken(path: string, g: GlobalConfig): boolean {
  if (OPEN.some((re) => re.test(path))) return false;
  if (path === '/metrics') return g.POLYEVAL_AUTH_METRICS === 'on';
  return true;
}

/** The middleware; undefined when no token is configured (authentication off). */
export function authentication(g: GlobalConfig): MiddlewareHandler | undefined {
  const tokens = authTokens(g);
  if (tokens.length === 0) return undefined;
  const valid = tokenChecker(tokens);
  return async (c, next) => {
    if (!needsToken(c.req.path, g)) return next();
    const header = c.req.header('authorization');
    const presented = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1];
    if (presented !== undefined && valid(presented)) return next();
    const response = problemResponse(
      problem(
        'unauthorized',
        header === undefined
          ? 'This route needs a bearer token: send "Authorization: Bearer <token>"'
          : 'The bearer token is missing, malformed or not valid',
      ),
      c.req.path,
    );
    response.headers.set(
      'www-authenticate',
      header === undefined ? 'Bearer realm="polyeval"' : 'Bearer realm="polyeval", error="invalid_token"',
    );
    return response;
  };
}

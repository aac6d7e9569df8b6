// Optional authentication on a real server: with tokens configured (from the environment and from
// a file, as a Kubernetes Secret is mounted), calls need "Authorization: Bearer <token>" and are
// refused 401 problem+json with WWW-Authenticate otherwise; the probes and static pages never need
// one; /metrics needs one unless POLYEVAL_AUTH_METRICS=off. Without tokens nothing changes.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';
import { authTokens, tokenChecker } from '../../src/http/auth.js';
import { type RunningServer, startServer } from '../helpers/server.js';

const ENV_TOKEN = 'env-token-0123456789abcdef';
const FILE_TOKEN = 'file-token-fedcba9876543210';
const CALL = { language: 'lua', code: 'function main() return 1 end' };

const dir = mkdtempSync(join(tmpdir(), 'polyeval-auth-'));
const tokenFile = join(dir, 'tokens');
writeFileSync(tokenFile, `${FILE_TOKEN}\n`);

let server: RunningServer;
let open: RunningServer;
beforeAll(async () => {
  server = await startServer({
    POLYEVAL_LANGUAGES: 'lua',
    POLYEVAL_POOL_SIZE: '1',
    POLYEVAL_AUTH_TOKENS: ENV_TOKEN,
    POLYEVAL_AUTH_TOKENS_FILE: tokenFile,
  });
  open = await startServer({
    POLYEVAL_LANGUAGES: 'lua',
    POLYEVAL_POOL_SIZE: '1',
    POLYEVAL_AUTH_TOKENS: ENV_TOKEN,
    POLYEVAL_AUTH_METRICS: 'off',
  });
}, 180_000);
afterAll(async () => {
  await server?.close();
  await open?.close();
  rmSync(dir, { recursive: true, force: true });
});

function call(base: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${base}/v1/evaluate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(CALL),
  });
}

describe('with tokens configured', () => {
  it('refuses a call without a token: 401 problem+json with WWW-Authenticate', async () => {
    const r = await call(server.url);
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toBe('Bearer realm="polyeval"');
    expect(r.headers.get('content-type')).toContain('application/problem+json');
    const body = (await r.json()) as { type: string; instance: string };
    expect(body.type).toContain('unauthorized');
    expect(body.instance).toBe('/v1/evaluate');
  });

  it('refuses a wrong, truncated, extended or malformed token, saying invalid_token', async () => {
    for (const authorization of [
      'Bearer wrong-token-0123456789abcdef',
      `Bearer ${ENV_TOKEN.slice(0, -1)}`,
      `Bearer ${ENV_TOKEN}x`,
      `Basic ${ENV_TOKEN}`,
      ENV_TOKEN,
      'Bearer',
    ]) {
      const r = await call(server.url, { authorization });
      expect(r.status, authorization).toBe(401);
      expect(r.headers.get('www-authenticate')).toBe('Bearer realm="polyeval", error="invalid_token"');
    }
  });

  it('runs calls with a token from the environment or from the file, on every guarded route', async () => {
    for (const token of [ENV_TOKEN, FILE_TOKEN]) {
      const r = await call(server.url, { authorization: `Bearer ${token}` });
      expect(r.status).toBe(200);
      expect(((await r.json()) as { value: number }).value).toBe(1);
    }
    for (const path of ['/v1/languages', '/_info', '/metrics']) {
      expect((await fetch(`${server.url}${path}`)).status, path).toBe(401);
      const ok = await fetch(`${server.url}${path}`, { headers: { authorization: `bearer ${ENV_TOKEN}` } });
      expect(ok.status, path).toBe(200);
    }
    const wikifunctions = await fetch(`${server.url}/wikifunctions.org/v1/evaluate`, {
      method: 'POST',
      body: '{}',
    });
    expect(wikifunctions.status).toBe(401);
  });

  it('leaves the probes and the static pages open', async () => {
    for (const path of ['/livez', '/readyz', '/playground', '/openapi.json', '/docs']) {
      expect((await fetch(`${server.url}${path}`)).status, path).toBe(200);
    }
  });

  it('declares the bearer scheme in the OpenAPI document (Swagger UI: Authorize)', async () => {
    const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as {
      components: { securitySchemes?: Record<string, { scheme: string }> };
    };
    expect(doc.components.securitySchemes?.bearer?.scheme).toBe('bearer');
  });

  it('opens /metrics to scrapers with POLYEVAL_AUTH_METRICS=off, the API still guarded', async () => {
    expect((await fetch(`${open.url}/metrics`)).status).toBe(200);
    expect((await call(open.url)).status).toBe(401);
  });
});

describe('token configuration', () => {
  it('is off without tokens, and refuses short tokens and unreadable or empty files at boot', () => {
    expect(authTokens(loadConfig({}).global)).toEqual([]);
    expect(() => authTokens(loadConfig({ POLYEVAL_AUTH_TOKENS: 'short' }).global)).toThrow(ConfigError);
    expect(() => authTokens(loadConfig({ POLYEVAL_AUTH_TOKENS_FILE: join(dir, 'missing') }).global)).toThrow(
      /Cannot read POLYEVAL_AUTH_TOKENS_FILE/,
    );
    const empty = join(dir, 'empty');
    writeFileSync(empty, '\n');
    expect(() => authTokens(loadConfig({ POLYEVAL_AUTH_TOKENS_FILE: empty }).global)).toThrow(
      /holds no token/,
    );
    expect(authTokens(loadConfig({ POLYEVAL_AUTH_TOKENS: ` ${ENV_TOKEN} , ${FILE_TOKEN}` }).global)).toEqual([
      ENV_TOKEN,
      FILE_TOKEN,
    ]);
  });

  it('compares by digest: any length is checked against every token without throwing', () => {
    const valid = tokenChecker([ENV_TOKEN, FILE_TOKEN]);
    expect(valid(ENV_TOKEN)).toBe(true);
    expect(valid(FILE_TOKEN)).toBe(true);
    for (const guess of ['', 'x', ENV_TOKEN.slice(1), `${FILE_TOKEN}${FILE_TOKEN}`, 'ä'.repeat(1000)]) {
      expect(valid(guess)).toBe(false);
    }
  });
});

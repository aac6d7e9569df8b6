// Attacks on the HTTP layer (Node's server with our limits, hono, the routes' own readers, the
// orchestrator's admission). The server for this family runs with small limits so that each attack
// stays quick: a 1 MiB body cap, 1 s to send headers, 3 s to send a request, a queue of 8 per
// language (see http.test.ts). Covered elsewhere and not repeated: field validation, unknown fields,
// a non-JSON content type, unknown routes (test/e2e/http.test.ts), the declared-length 413 before
// reading, 431 for one big header, 408 for unfinished headers, the connection cap with 16 sockets,
// client disconnects cancelling calls (test/e2e/operations.test.ts), limits clamped to the ceiling
// (test/e2e/javascript.test.ts). Here: every way round the body cap, slow clients in numbers,
// thousands of connections, a queue flood across languages, malformed and pathological JSON,
// header floods, request-smuggling shapes, prototype keys in routes and fields.

import type { Socket } from 'node:net';
import { expect } from 'vitest';
import { expectResponsive } from '../../helpers/latency.js';
import { sleep } from '../../helpers/net.js';
import type { Attack, AttackContext } from '../harness.js';
import { counts } from '../process-facts.js';

export const HTTP_LIMITS = {
  POLYEVAL_BODY_LIMIT_BYTES: '1048576',
  POLYEVAL_HEADERS_TIMEOUT_MS: '1000',
  POLYEVAL_REQUEST_TIMEOUT_MS: '3000',
  POLYEVAL_QUEUE_MAX: '8',
  POLYEVAL_MAX_CONNECTIONS: '1024',
} as const;
const BODY_LIMIT = Number(HTTP_LIMITS.POLYEVAL_BODY_LIMIT_BYTES);
const MAX_CONNECTIONS = Number(HTTP_LIMITS.POLYEVAL_MAX_CONNECTIONS);

/** Writes `data` (all at once, or piece by piece every `everyMs`), then reads until the server closes. */
async function raw(
  h: AttackContext,
  data: string | Buffer | readonly (string | Buffer)[],
  options: { everyMs?: number; timeoutMs?: number; socket?: Socket } = {},
): Promise<{ text: string; closed: boolean }> {
  const socket = options.socket ?? (await h.socket());
  let text = '';
  let closed = false;
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => {
    text += chunk;
  });
  const ended = new Promise<void>((resolve) => {
    socket.once('close', () => {
      closed = true;
      resolve();
    });
  });
  const pieces = typeof data === 'string' || Buffer.isBuffer(data) ? [data] : data;
  for (const piece of pieces) {
    if (closed) break;
    socket.write(piece);
    if (options.everyMs !== undefined) await sleep(options.everyMs);
  }
  await Promise.race([ended, sleep(options.timeoutMs ?? 10_000)]);
  h.saw(text);
  return { text, closed };
}

const statusOf = (text: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);

const evaluateHead = (length: number | undefined, extra = ''): string =>
  `POST /v1/evaluate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${
    length === undefined ? 'Transfer-Encoding: chunked\r\n' : `Content-Length: ${length}\r\n`
  }${extra}\r\n`;

const JS_CALL = JSON.stringify({ language: 'javascript', code: 'function main() { return 1 }' });

export const HTTP_ATTACKS: readonly Attack[] = [
  // The body cap three ways: declared, chunked without a length, and a length that lies.
  {
    id: 'http-body-over-cap-declared',
    title: 'Content-Length one byte over the cap, the first 64 KiB sent',
    result: '413 before the body is read, connection closed',
    async run(h) {
      // (Sending the whole body would race the server's close: the reset can swallow its answer.)
      const { text, closed } = await raw(h, [evaluateHead(BODY_LIMIT + 1), Buffer.alloc(65536, 32)]);
      expect(statusOf(text)).toBe(413);
      expect(closed).toBe(true);
    },
  },
  // No Content-Length at all: only the routes' counting reader can stop it.
  {
    id: 'http-body-over-cap-chunked',
    title: 'chunked body of 4 MiB with no Content-Length',
    result: '413 once the cap is passed',
    async run(h) {
      const chunk = Buffer.alloc(65536, 32);
      const frame = Buffer.concat([Buffer.from('10000\r\n'), chunk, Buffer.from('\r\n')]);
      const pieces: Buffer[] = [Buffer.from(evaluateHead(undefined))];
      for (let i = 0; i < 64; i++) pieces.push(frame);
      pieces.push(Buffer.from('0\r\n\r\n'));
      const { text } = await raw(h, pieces);
      expect(statusOf(text)).toBe(413);
    },
  },
  // A length smaller than the body: the surplus must be parsed as a (bad) next request, never as part of the call.
  {
    id: 'http-body-length-lies',
    title: 'Content-Length: 20 followed by 2 MiB (the rest read as a next request)',
    result: '400 for the cut body, then 400 for the garbage; nothing else runs',
    async run(h) {
      const { text } = await raw(h, [evaluateHead(20), `${JS_CALL}${'x'.repeat(2 * 1024 * 1024)}`]);
      expect(statusOf(text)).toBe(400);
      expect(text).not.toMatch(/"ok":true/);
    },
  },
  // Request smuggling shapes: Node must refuse ambiguous framing outright.
  {
    id: 'http-smuggling-cl-te',
    title: 'Content-Length and Transfer-Encoding: chunked together; a duplicated Content-Length',
    result: '400 and the connection closed',
    async run(h) {
      const both = await raw(
        h,
        `POST /v1/evaluate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /livez HTTP/1.1\r\nHost: x\r\n\r\n`,
      );
      expect(statusOf(both.text)).toBe(400);
      const twice = await raw(
        h,
        `POST /v1/evaluate HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 70\r\n\r\n{}`,
      );
      expect(statusOf(twice.text)).toBe(400);
    },
  },
  // Slow clients: 60 connections that each send a header byte every 200 ms (slowloris), and 20 that
  // send their headers, then the body a byte at a time.
  {
    id: 'http-slowloris-headers',
    title: '60 connections dripping their headers a byte every 200 ms',
    result: 'each cut off with 408 at the headers timeout; /livez fast meanwhile',
    timeoutMs: 60_000,
    async run(h) {
      const head = 'POST /v1/evaluate HTTP/1.1\r\nHost: x\r\nX-Slow: ';
      const drip = [head, ...Array.from({ length: 40 }, () => 'a')];
      const answers = await Promise.all(
        Array.from({ length: 60 }, () => raw(h, drip, { everyMs: 200, timeoutMs: 15_000 })),
      );
      for (const a of answers) {
        expect(a.closed).toBe(true);
        if (a.text !== '') expect(statusOf(a.text)).toBe(408);
      }
    },
  },
  // Headers on time, then the body a byte at a time: the request timeout must cut it, before any call starts.
  {
    id: 'http-slow-body',
    title: '20 connections sending complete headers, then a body byte every 100 ms',
    result: 'cut off at the request timeout (408); no call is started',
    timeoutMs: 60_000,
    async run(h) {
      const body = JSON.stringify({
        language: 'javascript',
        code: `function main() { return '${'y'.repeat(200)}' }`,
      });
      const pieces = [evaluateHead(Buffer.byteLength(body)), ...body.split('')];
      const answers = await Promise.all(
        Array.from({ length: 20 }, () => raw(h, pieces, { everyMs: 100, timeoutMs: 15_000 })),
      );
      for (const a of answers) {
        expect(a.closed).toBe(true);
        expect(a.text).not.toMatch(/"ok":true/);
        if (a.text !== '') expect(statusOf(a.text)).toBe(408);
      }
    },
  },
  // Thousands of connections. Under the cap: all idle, /livez measured meanwhile. Over it: the
  // extra ones are dropped and the server serves again once they go.
  {
    id: 'http-connections-under-cap',
    title: `${MAX_CONNECTIONS - 64} idle connections held open`,
    result: '/livez stays fast; the connections are closed by the server or by us',
    timeoutMs: 60_000,
    async run(h) {
      const sockets = await Promise.all(
        Array.from({ length: MAX_CONNECTIONS - 64 }, () => h.socket().catch(() => undefined)),
      );
      expect(sockets.filter((s) => s !== undefined).length).toBeGreaterThan(MAX_CONNECTIONS - 100);
      await sleep(500);
    },
  },
  // Far more connections than the cap, all at once: the server must shed the excess at accept time.
  {
    id: 'http-connections-over-cap',
    title: '2,000 connections at once against a cap of 1,024, each asking for /livez',
    result:
      'the server never holds more than the cap (the rest are closed at once); it serves again afterwards',
    livez: false,
    timeoutMs: 90_000,
    async run(h) {
      const before = counts(h.pid).fds;
      let most = 0;
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          most = Math.max(most, counts(h.pid).fds - before);
          await sleep(20);
        }
      })();
      const answers = await Promise.all(
        Array.from({ length: 2000 }, () =>
          h.socket().then(
            (s) =>
              raw(h, 'GET /livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', {
                socket: s,
                timeoutMs: 10_000,
              }),
            () => ({ text: '', closed: true }),
          ),
        ),
      );
      sampling = false;
      await sampler;
      expect(most).toBeLessThanOrEqual(MAX_CONNECTIONS + 16);
      expect(answers.filter((a) => statusOf(a.text) === 200).length).toBeGreaterThan(0);
      expect(answers.every((a) => a.closed)).toBe(true);
      await expect.poll(async () => (await h.request('GET', '/livez')).status, { timeout: 10_000 }).toBe(200);
      // Serving again means as fast as before the flood: the same probes as the idle baseline.
      // mutation: the server keeps shed connections (or their handlers) alive after the flood.
      const probes: number[] = [];
      for (let i = 0; i < 7; i++) {
        const probe = await h.request('GET', '/livez');
        expect(probe.status).toBe(200);
        probes.push(probe.ms);
      }
      expectResponsive('http-connections-over-cap: /livez after the flood', h.idleLivez, probes);
    },
  },
  // A queue flood in one language must not starve another: 60 calls that spin for 500 ms each
  // (pool 2, queue 8) while a Lua call waits its turn in its own queue.
  {
    id: 'http-queue-flood',
    title: '60 concurrent 500 ms JavaScript calls against a queue of 8, with a Lua call among them',
    result: '503 + Retry-After for the overflow, the rest served; Lua unaffected',
    timeoutMs: 60_000,
    async run(h) {
      const spin = JSON.stringify({
        language: 'javascript',
        code: 'function main() { const t = Date.now(); while (Date.now() - t < 500) {} return 1 }',
      });
      const flood = Array.from({ length: 60 }, () =>
        h
          .request('POST', '/v1/evaluate', { body: spin, headers: { 'content-type': 'application/json' } })
          .then((a) => ({ ...a, at: performance.now() })),
      );
      await sleep(100);
      const lua = await h.evaluate('lua', 'function main() return 7 end');
      const luaAt = performance.now();
      expect(lua.body).toMatchObject({ ok: true, value: 7 });
      // Not starved: the Lua call is answered while the JavaScript calls the queue accepted are
      // still spinning (ten of them, 500 ms of wall time each on a pool of 2: 2.5 s), not after
      // them. Compared with the flood itself, not with a clock.
      // mutation: one queue (or one pool) shared by every language.
      const served = (await Promise.all(flood)).filter((a) => a.status === 200);
      const lastServed = Math.max(...served.map((a) => a.at));
      console.log(
        `http-queue-flood: Lua answered in ${lua.ms.toFixed(0)} ms, ${(lastServed - luaAt).toFixed(0)} ms before the last of ${served.length} accepted JavaScript calls`,
      );
      expect(luaAt).toBeLessThan(lastServed);
      const answers = await Promise.all(flood);
      const refused = answers.filter((a) => a.status === 503);
      expect(refused.length).toBeGreaterThan(0);
      for (const a of refused) {
        expect(a.headers['retry-after']).toBeDefined();
        expect(a.body.type).toMatch(/overloaded/);
      }
      for (const a of answers.filter((x) => x.status === 200))
        expect(a.body).toMatchObject({ ok: true, value: 1 });
      expect(answers.every((a) => a.status === 200 || a.status === 503)).toBe(true);
    },
  },
  // Malformed JSON of every kind: each a 400 problem, never a 500, never a call.
  {
    id: 'http-malformed-json',
    title: 'truncated, trailing commas, NaN, BOM, invalid UTF-8, lone surrogates, 1e400, duplicate keys',
    result: '400 problem+json for each (or a call that is harmless); never 5xx',
    async run(h) {
      const bodies: (string | Buffer)[] = [
        '{"language": "js", "code": "function main(){}"',
        '{"language": "js", "code": "function main(){}",}',
        '{"language": "js", "code": "function main(){}", "args": [NaN]}',
        '\ufeff{"language": "js", "code": "function main(){}"}',
        Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]),
        '{"language": "js", "code": "function main(a){ return a }", "args": ["\\ud800"]}',
        '{"language": "js", "code": "function main(a){ return typeof a }", "args": [1e400]}',
        '{"language": "js", "language": "lua", "code": "function main() return 1 end"}',
        '{"language": "js", "code": "function main(){}", "limits": {"timeoutMs": 1e400}}',
        '{"language": "js", "code": "function main(){}", "limits": {"timeoutMs": 12345678901234567890}}',
        '[]',
        'null',
        '"string"',
        '',
      ];
      for (const body of bodies) {
        const a = await h.request('POST', '/v1/evaluate', {
          body,
          headers: { 'content-type': 'application/json' },
        });
        expect(a.status, `${String(body).slice(0, 60)} → ${a.text.slice(0, 200)}`).toBeLessThan(500);
        if (a.status !== 200) expect(a.headers['content-type']).toMatch(/problem\+json/);
      }
    },
  },
  // JSON bombs: deep nesting up to the body cap, several at once, on both routes.
  {
    id: 'http-json-bomb-depth',
    title: 'four concurrent 1 MiB bodies of 500,000-deep nesting (native and Wikifunctions routes)',
    result: '400 / Z22 error; the event loop is held a few ms per body',
    async run(h) {
      const deep = (n: number): string => '['.repeat(n) + ']'.repeat(n);
      const native = `{"language":"js","code":"function main(){}","args":${deep(500_000 - 40)}}`;
      const wiki = `{"codingLanguage":"javascript","codeString":"function f(){}","functionName":"f","functionArguments":{"K1":${deep(500_000 - 80)}}}`;
      const answers = await Promise.all([
        h.request('POST', '/v1/evaluate', { body: native, headers: { 'content-type': 'application/json' } }),
        h.request('POST', '/v1/evaluate', { body: native, headers: { 'content-type': 'application/json' } }),
        h.request('POST', '/1/v1/evaluate/', { body: wiki, headers: { 'content-type': 'application/json' } }),
        h.request('POST', '/1/v1/evaluate/', { body: wiki, headers: { 'content-type': 'application/json' } }),
      ]);
      expect(answers[0]!.status).toBe(400);
      expect(answers[2]!.status).toBe(200);
      expect(answers[2]!.text).toContain('Z5');
    },
  },
  // Wide instead of deep: many keys (the schema is strict) and a long args array that does reach a guest.
  {
    id: 'http-json-bomb-width',
    title: 'a 1 MiB body of 200,000 keys and a 1 MiB args array of 250,000 numbers',
    result: 'parsed once, refused or run within limits; never 5xx',
    async run(h) {
      const keys = `{"language":"js","code":"function main(){}",${Array.from({ length: 60_000 }, (_, i) => `"k${i}":1`).join(',')}}`;
      const a = await h.request('POST', '/v1/evaluate', {
        body: keys,
        headers: { 'content-type': 'application/json' },
      });
      expect(a.status).toBe(400);
      const args = `{"language":"js","code":"function main(...a){ return a.length }","args":[${Array(250_000).fill(0).join(',')}]}`;
      const b = await h.request('POST', '/v1/evaluate', {
        body: args,
        headers: { 'content-type': 'application/json' },
      });
      // Within the body size, beyond the bounds on a body's shape (100,000 values): refused by the
      // scan that runs before any parsing, with the bound named.
      expect(b.status).toBe(400);
      expect(b.body.detail).toMatch(/more than 100000 values/);
    },
  },
  // Header floods: many small headers, one enormous line.
  {
    id: 'http-header-flood',
    title: '3,000 small headers; one 1 MiB header line',
    result: '431 (or the connection closed), never read into memory',
    async run(h) {
      const many = Array.from({ length: 3000 }, (_, i) => `X-H${i}: v\r\n`).join('');
      const a = await raw(h, `GET /livez HTTP/1.1\r\nHost: x\r\n${many}\r\n`);
      expect(a.text === '' || statusOf(a.text) === 431).toBe(true);
      const b = await raw(h, `GET /livez HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(1024 * 1024)}\r\n\r\n`);
      expect(b.text === '' || statusOf(b.text) === 431).toBe(true);
    },
  },
  // A thousand pipelined requests on one connection.
  {
    id: 'http-pipelining-flood',
    title: '1,000 pipelined GET /livez on one connection',
    result: 'answered in order or the connection closed; nothing piles up',
    async run(h) {
      const requests =
        'GET /livez HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(999) +
        'GET /livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
      const { text, closed } = await raw(h, requests, { timeoutMs: 20_000 });
      expect(closed).toBe(true);
      expect(text.match(/HTTP\/1\.1 200/g)?.length ?? 0).toBeGreaterThan(0);
    },
  },
  // Names that are Object's own members, where the service looks things up by name.
  {
    id: 'http-prototype-names',
    title: 'language "__proto__"/"constructor", module "../x", and asset paths /docs/assets/constructor …',
    result: '400/404 problems, never 500',
    finding:
      'the docs and playground asset routes looked names up in a plain object: /docs/assets/constructor was a 500',
    async run(h) {
      for (const language of ['__proto__', 'constructor', 'hasOwnProperty', 'toString', '../../etc/passwd']) {
        const a = await h.evaluate(language, 'x');
        expect(a.status, language).toBe(400);
      }
      const m = await h.request('POST', '/v1/evaluate', {
        body: JSON.stringify({ language: 'wasm', module: '../../../etc/passwd' }),
        headers: { 'content-type': 'application/json' },
      });
      expect(m.status).toBe(400);
      for (const path of [
        '/docs/assets/constructor',
        '/docs/assets/__proto__',
        '/docs/assets/toString',
        '/playground/assets/constructor',
        '/playground/assets/hasOwnProperty',
        '/playground/examples/__proto__',
        '/docs/assets/..%2F..%2F..%2Fpackage.json',
        '/playground/assets/..%2F..%2Fmanifest.json',
      ]) {
        const a = await h.request('GET', path);
        expect(a.status, path).toBe(404);
      }
    },
  },
  // Limits at and past every edge.
  {
    id: 'http-limits-edges',
    title: 'limits above the ceiling, at 2^53, negative, zero, fractional, as strings',
    result: 'above the ceiling: clamped; invalid: 400',
    async run(h) {
      const call = (limits: unknown) =>
        h.request('POST', '/v1/evaluate', {
          body: JSON.stringify({ language: 'javascript', code: 'function main() { return 1 }', limits }),
          headers: { 'content-type': 'application/json' },
        });
      const high = await call({ timeoutMs: 2 ** 53 - 1, memoryMb: 2 ** 40, outputBytes: 2 ** 50 });
      expect(high.status).toBe(200);
      expect(high.body.limits).toEqual({ timeoutMs: 15000, memoryMb: 512, outputBytes: 4194304 });
      for (const bad of [
        { timeoutMs: -1 },
        { memoryMb: 0 },
        { outputBytes: 1.5 },
        { timeoutMs: '100' },
        { cpu: 1 },
      ]) {
        const a = await call(bad);
        expect(a.status, JSON.stringify(bad)).toBe(400);
      }
    },
  },
  // A request id made to forge log lines.
  {
    id: 'http-request-id-injection',
    title: 'X-Request-Id with quotes and JSON to forge the per-call log line',
    result: 'replaced by a fresh id; the log line is one JSON object',
    async run(h) {
      const forged = 'x","level":50,"msg":"forged';
      const a = await h.request('POST', '/v1/evaluate', {
        body: JS_CALL,
        headers: { 'content-type': 'application/json', 'x-request-id': forged },
      });
      expect(a.status).toBe(200);
      expect(a.headers['x-request-id']).not.toContain('forged');
    },
  },
  // Content types and methods the routes do not take.
  {
    id: 'http-methods-and-types',
    title: 'TRACE/PUT/DELETE on the API, form and text bodies, a UTF-16 charset',
    result: '404/405/415 problems, never 5xx',
    async run(h) {
      for (const method of ['TRACE', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
        const a = await h.request(method, '/v1/evaluate', { body: JS_CALL });
        expect(a.status, method).toBeGreaterThanOrEqual(400);
        expect(a.status, method).toBeLessThan(500);
      }
      for (const type of [
        'application/x-www-form-urlencoded',
        'text/plain',
        'multipart/form-data; boundary=x',
      ]) {
        const a = await h.request('POST', '/v1/evaluate', {
          body: JS_CALL,
          headers: { 'content-type': type },
        });
        expect(a.status, type).toBe(415);
      }
      const utf16 = await h.request('POST', '/v1/evaluate', {
        body: Buffer.from(JS_CALL, 'utf16le'),
        headers: { 'content-type': 'application/json; charset=utf-16' },
      });
      expect(utf16.status).toBe(400);
    },
  },
];

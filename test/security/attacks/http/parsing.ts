// HTTP attacks on what the server parses: malformed and pathological JSON, header floods, pipelined
// requests, names that are Object's own members, limits at every edge, a forged request id, and the
// methods and content types the routes do not take.

import { expect } from 'vitest';
import type { Attack } from '../../harness.js';
import { JS_CALL, raw, statusOf } from './wire.js';

export const PARSING_ATTACKS: readonly Attack[] = [
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

// HTTP attacks on how a request arrives: every way round the body cap, request-smuggling shapes, and
// slow clients in numbers (headers or body a byte at a time).

import { expect } from 'vitest';
import type { Attack } from '../../harness.js';
import { BODY_LIMIT, evaluateHead, JS_CALL, raw, statusOf } from './wire.js';

export const FRAMING_ATTACKS: readonly Attack[] = [
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
];

// The parser thread (src/http/body-parser.ts): large bodies are parsed in a worker thread and come
// back as text, so that values of any depth the bounds allow (a Wikifunctions list of n items is n
// levels deep) survive the trip, bigints and NUL-led strings included, and errors keep their class.

import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { JsonLimitError } from '../../src/executor/json-value.js';
import {
  decodeWikifunctionsBody,
  fromTransferText,
  INLINE_PARSE_BYTES,
  parseJsonBody,
  toTransferText,
} from '../../src/http/body-parser.js';
import { RequestError } from '../../src/wikifunctions/request.js';
import { postJson, startServer } from '../helpers/server.js';

const pad = 'x'.repeat(INLINE_PARSE_BYTES);

describe('the parser thread', () => {
  it('round-trips values through text exactly, without recursion', () => {
    const value = {
      a: [1, 2n ** 70n, '\u0000n5', '\u0000', 'x', null, { b: true, c: -0.5 }],
      '\u0000k': -3n,
    };
    expect(fromTransferText(toTransferText(value))).toEqual(value);
    expect(fromTransferText(toTransferText(5n))).toBe(5n);
    let deep: unknown = 'end';
    for (let i = 0; i < 50_000; i++) deep = { K1: i, K2: deep };
    const text = toTransferText(deep);
    // (toEqual itself recurses: compare the texts, and the innermost value.)
    expect(toTransferText(fromTransferText(text))).toBe(text);
    let inner = fromTransferText(text) as { K2: unknown };
    for (let i = 0; i < 50_000; i++) inner = inner.K2 as { K2: unknown };
    expect(inner).toBe('end');
  });

  it('parses a large body 9,000 levels deep, with bigints, off the thread', async () => {
    let deep = 'null';
    for (let i = 0; i < 9_000; i++) deep = `{"K1":"s${i}","K2":${deep}}`;
    const body = Buffer.from(`{"args":[${deep},123456789012345678901234,"\\u0000n5"],"pad":"${pad}"}`);
    const value = (await parseJsonBody(body)) as { args: unknown[]; pad: string };
    expect(value.args.slice(1)).toEqual([123456789012345678901234n, '\u0000n5']);
    expect(value.pad.length).toBe(pad.length);
  });

  it('keeps the error classes of large bodies: SyntaxError, JsonLimitError, RequestError', async () => {
    await expect(parseJsonBody(Buffer.from(`{"pad":"${pad}",`))).rejects.toBeInstanceOf(SyntaxError);
    await expect(parseJsonBody(Buffer.from(`[${'9'.repeat(5_000)},"${pad}"]`))).rejects.toBeInstanceOf(
      JsonLimitError,
    );
    const request = decodeWikifunctionsBody(Buffer.from(`{"Z1K1":"Z7","pad":"${pad}"}`), 'application/json');
    await expect(request).rejects.toBeInstanceOf(RequestError);
    await expect(request).rejects.toMatchObject({ z5: expect.any(Object) });
  });

  it('serves many large bodies at once, each with its own answer', async () => {
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) => parseJsonBody(Buffer.from(`{"i":${i},"pad":"${pad}"}`))),
    );
    expect(answers.map((a) => (a as { i: number }).i)).toEqual(Array.from({ length: 12 }, (_, i) => i));
  });
});

describe('the parser thread of a running service', () => {
  it('starts with the first large body, not before: a service that never gets one never holds it', async () => {
    const server = await startServer({ POLYEVAL_LANGUAGES: 'javascript' });
    try {
      const threads = (): number => readdirSync(`/proc/${server.process.pid}/task`).length;
      const call = { language: 'javascript', code: 'function f(s) { return s.length }', function: 'f' };
      const small = await postJson(`${server.url}/v1/evaluate`, { ...call, args: ['abc'] });
      expect(small.body).toMatchObject({ ok: true, value: 3 });
      const before = threads();
      const large = await postJson(`${server.url}/v1/evaluate`, { ...call, args: [pad] });
      expect(large.body).toMatchObject({ ok: true, value: pad.length });
      expect(threads()).toBe(before + 1);
    } finally {
      await server.close();
    }
  });
});

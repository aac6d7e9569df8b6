import { describe, expect, it } from 'vitest';
import {
  fromTaggedJson,
  jsonDepth,
  parseJson,
  stringifyJson,
  toTaggedJson,
} from '../../src/executor/json-value.js';

describe('lossless JSON', () => {
  it('parses integers beyond 2^53 as bigint and writes them back as JSON integers', () => {
    const text =
      '{"big":123456789012345678901234567890,"safe":9007199254740991,"neg":-98765432109876543210,"f":1.5}';
    const value = parseJson(text) as Record<string, unknown>;
    expect(value.big).toBe(123456789012345678901234567890n);
    expect(value.safe).toBe(9007199254740991);
    expect(value.neg).toBe(-98765432109876543210n);
    expect(value.f).toBe(1.5);
    expect(stringifyJson(value)).toBe(text);
  });

  it('uses the fast path for ordinary text and still rejects invalid JSON', () => {
    expect(parseJson('[1,"a",null,true]')).toEqual([1, 'a', null, true]);
    expect(() => parseJson('{"a":')).toThrow();
    expect(() => parseJson('{"a":12345678901234567890,')).toThrow();
  });
});

describe('tagged JSON', () => {
  it('round-trips bigints and strings that start with NUL, exactly', () => {
    const value = [2n ** 64n, -(2n ** 70n), 0n, '\u0000n5', '\u0000\u0000x', 'plain', { k: '\u0000' }];
    expect(fromTaggedJson(toTaggedJson(value))).toEqual(value);
  });

  it('does not confuse a user string with a tagged bigint', () => {
    expect(fromTaggedJson(toTaggedJson(['\u0000n123']))).toEqual(['\u0000n123']);
  });
});

describe('jsonDepth', () => {
  it('measures nesting without recursion and stops past the maximum', () => {
    expect(jsonDepth(1, 10)).toBe(0);
    expect(jsonDepth([[1], { a: [2] }], 10)).toBe(3);
    let deep: unknown = 0;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(jsonDepth(deep, 256)).toBeGreaterThan(256);
  });
});

import { describe, expect, it } from 'vitest';
import {
  fromTaggedJson,
  JsonLimitError,
  jsonDepth,
  parseJson,
  REQUEST_BOUNDS,
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

describe('lossless JSON edge cases', () => {
  it('keeps strings that look like tags, NUL-led strings and keys, escapes and floats exact', () => {
    const text =
      '{"\\u0000n5":"\\u0000n12345678901234567890","s":"a\\"12345678901234567890","k":[1e300,-0.5,' +
      '9007199254740992,-9007199254740992,1234567890123456.5,"\\\\",12345678901234567890123]}';
    const value = parseJson(text) as Record<string, unknown>;
    expect(value).toEqual({
      '\u0000n5': '\u0000n12345678901234567890',
      s: 'a"12345678901234567890',
      k: [
        1e300,
        -0.5,
        9007199254740992n,
        -9007199254740992n,
        1234567890123456.5,
        '\\',
        12345678901234567890123n,
      ],
    });
    expect(parseJson(stringifyJson(value))).toEqual(value);
  });

  it('writes bigints as integers and leaves strings that spell a bigint alone', () => {
    const value = { a: 2n ** 80n, b: '\u0000n7', c: ['12345678901234567890', -(2n ** 70n)] };
    expect(stringifyJson(value)).toBe(
      '{"a":1208925819614629174706176,"b":"\\u0000n7","c":["12345678901234567890",-1180591620717411303424]}',
    );
  });
});

describe('JSON bounds', () => {
  const refuse = (text: string, message: RegExp): void => {
    expect(() => parseJson(text, REQUEST_BOUNDS)).toThrow(JsonLimitError);
    expect(() => parseJson(text, REQUEST_BOUNDS)).toThrow(message);
  };

  it('refuses a number literal longer than 4300 digits, accepts 4300', () => {
    expect(parseJson(`[${'7'.repeat(4300)}]`, REQUEST_BOUNDS)).toEqual([BigInt('7'.repeat(4300))]);
    refuse(`[${'7'.repeat(4301)}]`, /more than 4300 digits/);
    refuse(`[0.${'7'.repeat(4301)}]`, /more than 4300 digits/);
  });

  it('refuses too many values, too wide an object and too deep a nesting', () => {
    refuse(`[${'1,'.repeat(100_000)}1]`, /more than 100000 values/);
    const wide = Array.from({ length: 10_001 }, (_, i) => `"k${i}":0`).join(',');
    refuse(`{${wide}}`, /more than 10000 keys/);
    refuse(`${'['.repeat(10_001)}${']'.repeat(10_001)}`, /deeper than 10000 levels/);
  });

  it('counts keys per object, not across objects, and never counts characters inside strings', () => {
    const many = Array.from({ length: 3_000 }, () => '{"a":1,"b":2,"c":3,"d":4}').join(',');
    expect((parseJson(`[${many}]`, REQUEST_BOUNDS) as unknown[]).length).toBe(3_000);
    const tricky = `["${'[{:,1'.repeat(50_000)}\\\\", "\\"${'9'.repeat(5_000)}"]`;
    expect((parseJson(tricky, REQUEST_BOUNDS) as string[]).length).toBe(2);
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

// The conformance suite's own machinery, without a server: case files are valid and named as the
// schema says, the judge fails what it must (wrong value, wrong code, wrong line, missing output,
// too slow) and passes what it must, and JSON equality is the wire's (key order and number/bigint
// representation do not matter).

import { describe, expect, it } from 'vitest';
import { formatJunit, formatMatrix, judge, sameJson } from '../../scripts/lib/conformance.js';
import { type ConformanceCase, caseSchema, loadCases } from '../../scripts/lib/conformance-cases.js';

const spec = (over: Partial<ConformanceCase>): ConformanceCase => ({
  name: '999-test',
  description: 'A case made up for the test.',
  function: 'main',
  args: [],
  repeat: 1,
  expect: { value: 1 },
  ...over,
});
const answer = (body: Record<string, unknown>, status = 200) => ({
  status,
  text: JSON.stringify({ stdout: '', stderr: '', ...body }),
});

describe('conformance cases', () => {
  it('cover every error code the catalogue has that a guest can cause by itself', () => {
    const codes = new Set(
      loadCases().flatMap((c) => ('error' in c.expect ? [c.expect.error.code].flat() : [])),
    );
    for (const code of [
      'SYNTAX_ERROR',
      'RUNTIME_ERROR',
      'ENTRY_NOT_FOUND',
      'INVALID_RESULT',
      'TIMEOUT',
      'MEMORY_LIMIT',
      'OUTPUT_LIMIT',
    ]) {
      expect(codes, code).toContain(code);
    }
  });

  it('keep big integers exact', () => {
    const big = loadCases().find((c) => c.name === '022-big-integer-beyond-64-bits')!;
    expect(big.args[0]).toBe(123456789012345678901234567890n);
  });

  it('are refused by the schema when malformed', () => {
    expect(caseSchema.safeParse({ description: 'too short' }).success).toBe(false);
    expect(
      caseSchema.safeParse({
        description: 'An error code outside the catalogue.',
        function: 'main',
        expect: { error: { code: 'NOPE' } },
      }).success,
    ).toBe(false);
  });
});

describe('judge', () => {
  it('passes a matching value, whatever the key order', () => {
    const c = spec({ expect: { value: { a: 1, b: [2n, 'x'] } } });
    expect(judge(c, answer({ ok: true, value: { b: [2, 'x'], a: 1 } }), 5)).toBeUndefined();
  });

  it('fails a wrong value, an error instead of a value, and an HTTP error', () => {
    expect(judge(spec({}), answer({ ok: true, value: 2 }), 5)).toMatch(/expected 1, got 2/);
    expect(judge(spec({}), answer({ ok: false, error: { code: 'TIMEOUT', message: 'm' } }), 5)).toMatch(
      /expected a value, got TIMEOUT/,
    );
    expect(judge(spec({}), { status: 503, text: 'busy' }, 5)).toMatch(/HTTP 503/);
  });

  it('checks the error code, message and line', () => {
    const c = spec({ expect: { error: { code: ['TIMEOUT', 'MEMORY_LIMIT'], message: 'Boom', line: 3 } } });
    const ok = { ok: false, error: { code: 'MEMORY_LIMIT', message: 'it went boom', line: 3 } };
    expect(judge(c, answer(ok), 5)).toBeUndefined();
    expect(judge(c, answer({ ...ok, error: { ...ok.error, code: 'RUNTIME_ERROR' } }), 5)).toMatch(
      /expected TIMEOUT or MEMORY_LIMIT/,
    );
    expect(judge(c, answer({ ...ok, error: { ...ok.error, line: 4 } }), 5)).toMatch(/line 3, got line 4/);
    expect(judge(c, answer({ ...ok, error: { ...ok.error, message: 'other' } }), 5)).toMatch(
      /contain "Boom"/,
    );
    expect(judge(c, answer({ ...ok, error: { ...ok.error, code: 'WHATEVER' } }), 5)).toMatch(
      /not in the catalogue/,
    );
  });

  it('checks stdout and stderr, the output limit and the time', () => {
    const c = spec({
      stdout: { startsWith: 'a', maxBytes: 3 },
      stderr: 'e\n',
      limits: { outputBytes: 5 },
      maxMs: 100,
    });
    expect(judge(c, answer({ ok: true, value: 1, stdout: 'abc', stderr: 'e\n' }), 5)).toBeUndefined();
    expect(judge(c, answer({ ok: true, value: 1, stdout: 'abcd', stderr: 'e\n' }), 5)).toMatch(
      /output limit/,
    );
    expect(judge(c, answer({ ok: true, value: 1, stdout: 'xbc', stderr: 'e\n' }), 5)).toMatch(/start with/);
    expect(judge(c, answer({ ok: true, value: 1, stdout: 'abc', stderr: '' }), 5)).toMatch(/stderr/);
    expect(judge(c, answer({ ok: true, value: 1, stdout: 'abc', stderr: 'e\n' }), 101)).toMatch(/101 ms/);
  });
});

describe('sameJson', () => {
  it('is the wire equality', () => {
    expect(sameJson(5, 5n)).toBe(true);
    expect(sameJson(0.5, 0n)).toBe(false);
    expect(sameJson([], {})).toBe(false);
    expect(sameJson({ a: null }, {})).toBe(false);
    expect(sameJson('1', 1)).toBe(false);
  });
});

describe('reports', () => {
  const results = [
    { language: 'a', case: '001-x', status: 'pass', ms: 1.5 },
    { language: 'a', case: '002-y', status: 'fail', ms: 2, reason: 'expected <1> & "2"' },
    { language: 'b', case: '001-x', status: 'skip', ms: 0, reason: 'no such feature here' },
  ] as const;

  it('prints a matrix with totals and the reasons', () => {
    const text = formatMatrix(results);
    expect(text).toMatch(/001-x\s+pass 1\.5ms\s+skip/);
    expect(text).toMatch(/pass\/fail\/skip\s+1\/1\/0\s+0\/0\/1/);
    expect(text).toContain('FAIL a 002-y: expected <1> & "2"');
  });

  it('writes JUnit XML with escaped reasons', () => {
    const xml = formatJunit(results);
    expect(xml).toContain('<testsuite name="conformance.a" tests="2" failures="1" skipped="0"');
    expect(xml).toContain('<failure message="expected &lt;1&gt; &amp; &quot;2&quot;"/>');
    expect(xml).toContain('<skipped message="no such feature here"/>');
  });
});

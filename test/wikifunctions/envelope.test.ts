// Unit tests of Z22 envelopes and Z5 errors: the envelope must have exactly the shape the reference
// produced (function-schemata's makeMappedResultEnvelope), and every error type we report must
// exist in the Z5xx catalogue with exactly the keys we fill in.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ERROR_TYPES,
  type ErrorType,
  errorText,
  errorTypeOf,
  makeEnvelope,
  messageError,
  quote,
  readMetadata,
  z5,
} from '../../src/wikifunctions/envelope.js';
import { guestMessage } from '../../src/wikifunctions/evaluate.js';
import { canonicalize, normalize, type ZNode, zRef, zString } from '../../src/wikifunctions/zobject.js';
import { fixture } from './helpers.js';

const examples = fixture<Record<string, ZNode>>('generated_example_envelopes.json');

describe('Z22 envelopes', () => {
  it('are built exactly as the reference built the success example (same keys, order and shapes)', () => {
    const expected = examples.success_normal!;
    const metadata = [...readMetadata(expected)];
    expect(metadata.map(([key]) => key)).toEqual([
      'evaluationMemoryUsage',
      'evaluationCpuUsage',
      'evaluationStartTime',
      'evaluationEndTime',
      'evaluationDuration',
      'evaluationHostname',
      'executionMemoryUsage',
      'executionCpuUsage',
    ]);
    expect(makeEnvelope(zString('13'), metadata)).toEqual(expected);
    expect(canonicalize(makeEnvelope(zString('13'), metadata))).toEqual(examples.success_canonical);
  });

  it('put errors under "errors" and Z24 in Z22K1, as in the timeout example', () => {
    const expected = examples.timeout_error_normal!;
    const error = readMetadata(expected).get('errors')!;
    expect(makeEnvelope(undefined, [['errors', error]])).toEqual(expected);
  });

  it('match the orchestrator fixtures of map-based Z22s', () => {
    for (const name of ['Z22-map-result-only.json', 'Z22-map-error.json']) {
      const expected = normalize(fixture(`orchestrator/${name}`));
      const value = expected.Z22K1 as ZNode;
      const isVoid = value.Z1K1 === 'Z9' && value.Z9K1 === 'Z24';
      expect(makeEnvelope(isVoid ? undefined : value, [])).toEqual(expected);
    }
    const basic = normalize(fixture('orchestrator/Z22-map-basic.json'));
    expect(makeEnvelope(zString('13'), [['warnings', zString('placeholder for warnings')]])).toEqual(basic);
  });
});

describe('Z5 errors', () => {
  const catalogue = new Map(
    fixture<{ error_types: { zid: string; keys: { key: string; type: unknown }[] }[] }>(
      'wikilambda/error_types_Z5xx.json',
    ).error_types.map((t) => [t.zid, t.keys]),
  );

  it.each(Object.keys(ERROR_TYPES) as ErrorType[])(
    '%s exists in the catalogue with exactly the keys we fill',
    (type) => {
      expect(catalogue.get(type)?.map((k) => k.key)).toEqual([...ERROR_TYPES[type]]);
    },
  );

  it('are instances of their type built with Z885, like the orchestrator fixtures', () => {
    const expected = fixture<Record<string, unknown>>('orchestrator/evaluated-failed_expected.json');
    const ours = canonicalize(z5('Z507', quote(zString('call')), messageError('naw'))) as Record<
      string,
      unknown
    >;
    expect(Object.keys(ours)).toEqual(Object.keys(expected));
    expect(ours.Z5K1).toBe(expected.Z5K1);
    expect((ours.Z5K2 as Record<string, unknown>).Z1K1).toEqual(
      (expected.Z5K2 as Record<string, unknown>).Z1K1,
    );
    expect(ours.Z5K2).toEqual({
      Z1K1: { Z1K1: 'Z7', Z7K1: 'Z885', Z885K1: 'Z507' },
      Z507K1: { Z1K1: 'Z99', Z99K1: 'call' },
      Z507K2: {
        Z1K1: 'Z5',
        Z5K1: 'Z500',
        Z5K2: { Z1K1: { Z1K1: 'Z7', Z7K1: 'Z885', Z885K1: 'Z500' }, Z500K1: 'naw' },
      },
    });
  });

  it('are exactly the ones docs/wikifunctions.md lists', () => {
    const doc = readFileSync(new URL('../../docs/wikifunctions.md', import.meta.url), 'utf8');
    const section = doc.slice(doc.indexOf('### Errors'), doc.indexOf('\n## ', doc.indexOf('### Errors')));
    const listed = new Set(section.match(/\bZ5\d\d\b/g));
    expect([...listed].sort()).toEqual(Object.keys(ERROR_TYPES).sort());
  });

  it('check their arity', () => {
    expect(() => z5('Z507', zString('only one'))).toThrow(/Z507 takes 2 values/);
  });

  it('give their text and type back', () => {
    const error = z5('Z561', z5('Z501', zString('Unexpected end'), zString('{')));
    expect(errorTypeOf(error)).toBe('Z561');
    expect(errorText(error)).toBe('Unexpected end: {');
    expect(errorText(z5('Z558', zString('python-1')))).toBe('python-1');
    expect(errorTypeOf({ Z1K1: zRef('Z5'), Z5K1: 'Z500' })).toBe('Z500');
  });
});

describe('guest failure messages', () => {
  it('are never empty, and name the exception type and line', () => {
    expect(guestMessage({ code: 'RUNTIME_ERROR', message: '' })).toBe(
      'The function raised an exception without a message',
    );
    expect(guestMessage({ code: 'RUNTIME_ERROR', message: '  ', type: 'Exception' })).toBe(
      'The function raised Exception without a message',
    );
    expect(guestMessage({ code: 'SANDBOX_CRASH', message: '' })).toMatch(/sandbox died/);
    expect(
      guestMessage({ code: 'RUNTIME_ERROR', message: 'division by zero', type: 'ZeroDivisionError' }),
    ).toBe('ZeroDivisionError: division by zero');
    expect(
      guestMessage({
        code: 'SYNTAX_ERROR',
        message: "SyntaxError: expecting '}'",
        type: 'SyntaxError',
        line: 3,
      }),
    ).toBe("SyntaxError: expecting '}' (line 3)");
    expect(guestMessage({ code: 'SYNTAX_ERROR', message: 'invalid syntax', line: 2, column: 7 })).toBe(
      'invalid syntax (line 2, column 7)',
    );
  });
});

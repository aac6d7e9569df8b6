// Unit tests of request decoding: every JSON form the reference accepted, the malformed requests of
// the fixtures (each must become the documented kind of error), argument order and types.

import { describe, expect, it } from 'vitest';
import { errorText, errorTypeOf } from '../../src/wikifunctions/envelope.js';
import { decodeRequest, type EvaluationRequest, RequestError } from '../../src/wikifunctions/request.js';
import { zRef, zString } from '../../src/wikifunctions/zobject.js';
import { fixture, splice } from './helpers.js';

const json = (body: unknown): Uint8Array =>
  new TextEncoder().encode(typeof body === 'string' ? body : JSON.stringify(body));
const decode = (body: unknown): EvaluationRequest => decodeRequest(json(body), 'application/json');

function failure(body: unknown): { type: string | undefined; text: string; message: string } {
  try {
    decode(body);
  } catch (error) {
    if (!(error instanceof RequestError)) throw error;
    return { type: errorTypeOf(error.z5), text: errorText(error.z5), message: error.message };
  }
  throw new Error('the request was accepted');
}

describe('function calls (Z7)', () => {
  it('reads a bare normal-form Z7', () => {
    const request = decode(fixture('javascript_add_Z7.json'));
    expect(request).toMatchObject({
      form: 'json',
      language: 'javascript',
      functionName: 'Z1000',
      reentrant: false,
    });
    expect(request.code).toMatch(/^function Z1000\( Z1000K1, Z1000K2 \)/);
    expect(request.args).toEqual([
      { key: 'Z1000K1', value: zString('5'), declaredType: zRef('Z6') },
      { key: 'Z1000K2', value: zString('8'), declaredType: zRef('Z6') },
    ]);
    expect(request.returnType).toEqual(zRef('Z6'));
    expect(request.call).toEqual({
      Z1K1: zRef('Z7'),
      Z7K1: zRef('Z1000'),
      Z1000K1: zString('5'),
      Z1000K2: zString('8'),
    });
  });

  it('reads {reentrant, zobject}', () => {
    const request = decode({ reentrant: true, zobject: fixture('python3_add_Z7.json') });
    expect(request).toMatchObject({ form: 'json-wrapped', language: 'python-3', reentrant: true });
  });

  it('reads the canonical-form Z7s the orchestrator sends', () => {
    const request = decode(fixture('orchestrator/evaluated.json'));
    expect(request).toMatchObject({
      language: 'python-3',
      functionName: 'Z1000',
      code: 'Z1000K0 = str(int(Z1000K1) + int(Z1000K2))',
    });
    expect(request.args.map((a) => a.value)).toEqual([zString('5'), zString('8')]);
    const fallback = decode(fixture('orchestrator/first-implementation-evaluator-down.json'));
    expect(fallback).toMatchObject({ functionName: 'Z168421', code: 'Z168421 = lambda: False', args: [] });
    expect(fallback.returnType).toEqual(zRef('Z40'));
  });

  it('takes the first implementation that has code, and languages given by ZID', () => {
    const z7 = fixture<Record<string, unknown>>('orchestrator/first-implementation-evaluator-down.json');
    const z8 = z7.Z7K1 as Record<string, unknown[]>;
    const reordered = splice(z7, 'Z7K1.Z8K4', ['Z14', z8.Z8K4![2], z8.Z8K4![1]]);
    expect(decode(reordered).code).toBe('Z168421 = lambda: False');
    const byZid = splice(z7, 'Z7K1.Z8K4', [
      'Z14',
      { Z1K1: 'Z14', Z14K1: 'Z168421', Z14K3: { Z1K1: 'Z16', Z16K1: 'Z610', Z16K2: 'x' } },
    ]);
    expect(decode(byZid).language).toBe('Z610');
  });

  it('orders arguments by declaration, or by key number when there are no declarations', () => {
    const z7 = (declared: boolean): unknown => ({
      Z1K1: 'Z7',
      Z7K1: {
        Z1K1: 'Z8',
        Z8K1: declared
          ? [
              'Z17',
              ...['Z5K2', 'Z5K10', 'Z5K1'].map((key) => ({
                Z1K1: 'Z17',
                Z17K1: 'Z6',
                Z17K2: key,
                Z17K3: { Z1K1: 'Z12', Z12K1: ['Z11'] },
              })),
            ]
          : ['Z17'],
        Z8K2: 'Z1',
        Z8K3: ['Z20'],
        Z8K4: [
          'Z14',
          {
            Z1K1: 'Z14',
            Z14K1: 'Z5',
            Z14K3: { Z1K1: 'Z16', Z16K1: { Z1K1: 'Z61', Z61K1: 'javascript' }, Z16K2: 'x' },
          },
        ],
        Z8K5: 'Z5',
      },
      Z5K10: 'ten',
      Z5K1: 'one',
      K2: 'two',
    });
    expect(decode(z7(true)).args.map((a) => a.key)).toEqual(['Z5K2', 'Z5K10', 'Z5K1']);
    expect(decode(z7(true)).args[0]!.value).toEqual(zString('two'));
    expect(decode(z7(false)).args.map((a) => a.key)).toEqual(['Z5K1', 'K2', 'Z5K10']);
  });

  it.each([
    ['degenerate_Z8.json', 'Z561', /Z8K1 item 2 is not an argument declaration/],
    ['javascript_no_Z8.json', 'Z561', /needs a type \(Z1K1\)/],
    ['javascript_no_Z14.json', 'Z561', /needs a type \(Z1K1\)/],
    ['python3_no_Z8.json', 'Z562', /^Z7K1$/],
    ['python3_no_Z14.json', 'Z561', /needs a type \(Z1K1\)/],
    ['python3_no_function_name.json', 'Z562', /^Z7K1$/],
    ['no_implementation_throw.json', 'Z562', /^Z14K3$/],
    ['pair_string_pair_string_string_input.json', 'Z561', /must not be null \(at Z7K1\.Z8K4\)/],
  ])('refuses %s (%s)', (name, type, text) => {
    const error = failure(fixture(name));
    expect(error.type).toBe(type);
    expect(error.text).toMatch(text);
  });

  it('refuses a function given by reference, and bodies that are not function calls', () => {
    expect(failure({ Z1K1: 'Z7', Z7K1: 'Z801', Z801K1: 'x' }).text).toMatch(
      /the evaluator does not fetch objects/,
    );
    expect(failure({ Z1K1: 'Z6', Z6K1: 'x' }).text).toMatch(/not a function call/);
    expect(failure([1, 2]).text).toMatch(/must be a JSON object/);
  });
});

describe('the flat form', () => {
  const flat = { ...fixture<Record<string, unknown>>('javascript_add.json'), codingLanguage: 'javascript' };

  it('reads codingLanguage, codeString, functionName, functionArguments and remainingTime', () => {
    const request = decode({ ...flat, remainingTime: 0.25 });
    expect(request).toMatchObject({
      form: 'json-flat',
      language: 'javascript',
      functionName: 'Z1000',
      remainingTime: 0.25,
    });
    expect(request.args.map((a) => [a.key, a.value])).toEqual([
      ['Z1000K1', zString('5')],
      ['Z1000K2', zString('8')],
    ]);
    expect(request.returnType).toBeUndefined();
  });

  it('takes a missing functionArguments as none (python3_foo.json)', () => {
    expect(decode({ ...fixture<object>('python3_foo.json'), codingLanguage: 'python' }).args).toEqual([]);
  });

  it.each([
    ['javascript_no_function_name.json', 'functionName', 'Function call did not provide functionName.'],
    ['javascript_no_code_string.json', 'codeString', 'Function call did not provide codeString.'],
    ['python3_no_code_string.json', 'codeString', 'Function call did not provide codeString.'],
  ])(
    'refuses %s as an incomplete request (Z562) naming %s, with the reference message',
    (name, property, message) => {
      const error = failure({ ...fixture<object>(name), codingLanguage: 'javascript' });
      expect(error).toEqual({ type: 'Z562', text: property, message });
    },
  );

  it('refuses a flat request without codingLanguage, bad arguments or a bad remainingTime', () => {
    const { codingLanguage: _, ...noLanguage } = flat;
    expect(failure(noLanguage)).toMatchObject({ type: 'Z562', text: 'codingLanguage' });
    expect(failure({ ...flat, functionArguments: [] }).text).toMatch(/functionArguments must be an object/);
    expect(failure({ ...flat, functionArguments: { Z1000K1: 5 } }).text).toMatch(
      /must not be a number \(at Z1000K1\)/,
    );
    expect(failure({ ...flat, remainingTime: 'soon' }).text).toMatch(/remainingTime/);
    expect(failure({ ...flat, functionName: 'constructor; evil()' }).text).toMatch(/not an identifier/);
  });
});

describe('bodies that are not JSON', () => {
  it('reports a JSON syntax error (Z501) inside an invalid request (Z561), quoting the input', () => {
    const error = failure('{"Z1K1": ');
    expect(error.type).toBe('Z561');
    expect(error.text).toMatch(/JSON.*: \{"Z1K1": $/);
  });
});

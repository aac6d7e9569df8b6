// The end-to-end cases of the Wikifunctions API, as data: every fixture of the shared folder (the
// evaluator's test_data, the orchestrator's evaluator-facing fixtures, the Avro vectors) and our
// own cases. Each names the language it needs, the body, the transports to send it over and what
// must come back. e2e-javascript.test.ts and e2e-python.test.ts run them against the real server.

import { encodeAvroRequest } from '../../src/wikifunctions/avro.js';
import { decodeRequest } from '../../src/wikifunctions/request.js';
import { normalize, stringifyZObject } from '../../src/wikifunctions/zobject.js';
import { fixture, implementation, splice } from './helpers.js';

export type Language = 'javascript' | 'python';
export type Transport = 'json' | 'avro-0.0.1' | 'avro-0.0.2' | 'avro-0.0.3' | 'avro-0.0.4';

export type Expectation =
  /** Z22K1 equals this ZObject, compared without Z1K1s (as the reference compares). */
  | { readonly value: unknown }
  /**
   * Z22K1 is void and the error has this Z5K1; its text matches (a string must be contained);
   * `phrase`, the words the reference's tests look for, is in the envelope's errorMessage.
   */
  | { readonly error: string; readonly text?: RegExp | string; readonly phrase?: string };

export interface Case {
  readonly name: string;
  readonly language: Language;
  /** A JSON body: a Z7 (normal or canonical form), {reentrant, zobject}, or the flat form. */
  readonly body: unknown;
  readonly transports: readonly Transport[];
  readonly expect: Expectation;
  /** Why our answer differs from what the reference's fixture says, where it does. */
  readonly difference?: string;
}

export const ALL: readonly Transport[] = ['json', 'avro-0.0.1', 'avro-0.0.2', 'avro-0.0.3', 'avro-0.0.4'];
const Z7_AND_V002: readonly Transport[] = ['json', 'avro-0.0.2'];
const FLAT: readonly Transport[] = ['json', 'avro-0.0.4'];

const value = (file: string): Expectation => ({ value: fixture<{ Z22K1: unknown }>(file).Z22K1 });
const flat = (language: Language, file: string, extra: Record<string, unknown> = {}): unknown => ({
  ...fixture<object>(file),
  codingLanguage: language === 'javascript' ? 'javascript' : 'python-3',
  ...extra,
});

/** A flat request calling Z1000 with one argument. */
const call1 = (language: Language, code: string, argument: unknown): unknown => ({
  codingLanguage: language === 'javascript' ? 'javascript' : 'python-3',
  codeString: code,
  functionName: 'Z1000',
  functionArguments: { Z1000K1: argument },
});

/** Encodes a case body for a transport; bodies that are not one request form fall back to JSON. */
export function encodeBody(
  body: unknown,
  transport: Transport,
): { contentType: string; data: Uint8Array | string } {
  if (transport === 'json') return { contentType: 'application/json', data: JSON.stringify(body) };
  const record = body as Record<string, unknown>;
  const isFlat = 'codeString' in record || 'functionName' in record;
  const isWrapped = 'zobject' in record;
  const normal = (z: unknown): Record<string, unknown> => {
    try {
      return JSON.parse(stringifyZObject(normalize(z))) as Record<string, unknown>;
    } catch {
      return z as Record<string, unknown>; // malformed fixtures travel as they are
    }
  };
  let data: Buffer;
  switch (transport) {
    case 'avro-0.0.1':
      data = encodeAvroRequest('0.0.1', normal(isWrapped ? record.zobject : record));
      break;
    case 'avro-0.0.2':
      data = encodeAvroRequest('0.0.2', {
        reentrant: record.reentrant ?? false,
        zobject: normal(isWrapped ? record.zobject : record),
      });
      break;
    default: {
      let flatRequest: Record<string, unknown>;
      if (isFlat) {
        const args = (record.functionArguments ?? {}) as Record<string, unknown>;
        flatRequest = {
          ...record,
          functionArguments: Object.fromEntries(Object.entries(args).map(([k, v]) => [k, normal(v)])),
        };
      } else {
        // As the orchestrator does for 0.0.3+: the Z7 taken apart.
        const request = decodeRequest(new TextEncoder().encode(JSON.stringify(body)), 'application/json');
        flatRequest = {
          codingLanguage: request.language,
          codeString: request.code,
          functionName: request.functionName,
          functionArguments: Object.fromEntries(request.args.map((a) => [a.key, a.value])),
        };
      }
      data = encodeAvroRequest(transport === 'avro-0.0.3' ? '0.0.3' : '0.0.4', {
        remainingTime: 15,
        ...flatRequest,
      });
    }
  }
  return { contentType: 'application/octet-stream', data };
}

// ---------------------------------------------------------------------------------------------
// The evaluator's test_data

const SYNTAX_DIFFERENCE =
  'The reference quotes its engine (V8: "Unexpected end of input"; CPython <= 3.9: "invalid syntax"); ' +
  'ours quotes QuickJS or CPython 3.1x, so only the error type and a useful message are compared.';

function fixtureCases(language: Language): Case[] {
  const js = language === 'javascript';
  const prefix = js ? 'javascript' : 'python3';
  const cases: Case[] = [
    {
      name: `${prefix}_add_Z7.json`,
      language,
      body: fixture(`${prefix}_add_Z7.json`),
      transports: ALL,
      expect: value('add_expected.json'),
    },
    {
      name: `${prefix}_add_with_generics_Z7.json`,
      language,
      body: fixture(`${prefix}_add_with_generics_Z7.json`),
      transports: ALL,
      expect: value('add_expected.json'),
    },
    {
      name: `${prefix}_add.json`,
      language,
      body: flat(language, `${prefix}_add.json`),
      transports: FLAT,
      expect: value('add_expected.json'),
    },
    {
      name: `${prefix}_add_with_generics.json`,
      language,
      body: flat(language, `${prefix}_add_with_generics.json`),
      transports: FLAT,
      expect: value('add_expected.json'),
    },
    {
      name: `${prefix}_compound_type.json`,
      language,
      body: flat(language, `${prefix}_compound_type.json`),
      transports: FLAT,
      expect: value('compound_type_expected.json'),
    },
    {
      name: `${prefix}_syntax_failure.json`,
      language,
      body: flat(language, `${prefix}_syntax_failure.json`),
      transports: FLAT,
      expect: { error: 'Z507', text: /SyntaxError|syntax|expect|never closed|unexpected/i },
      difference: SYNTAX_DIFFERENCE,
    },
    {
      name: `${prefix}_unsupported_output.json`,
      language,
      body: flat(language, `${prefix}_unsupported_output.json`),
      transports: FLAT,
      expect: { error: 'Z507', text: js ? /\bA\b/ : /Could not serialize.*<A>/ },
      ...(js
        ? {
            difference:
              'The reference says "Could not serialize input JS object: A {}" (Node\'s util.inspect); our runner ' +
              'says the result is "a A", not a plain object, array or primitive: compared by type and class name.',
          }
        : {}),
    },
    {
      name: `${prefix}_no_function_name.json`,
      language,
      body: js
        ? flat(language, 'javascript_no_function_name.json')
        : fixture('python3_no_function_name.json'),
      // (Avro 0.0.3+ cannot even encode a request without a functionName: JSON only.)
      transports: js ? ['json'] : Z7_AND_V002,
      expect: {
        error: 'Z562',
        text: js ? 'functionName' : 'Z7K1',
        phrase: 'Function call did not provide functionName.',
      },
      difference:
        'The reference answers "Function call did not provide functionName." in a Z5 without a type; ' +
        'ours is a Z562 (incomplete evaluation request) naming the missing property, the words in errorMessage.',
    },
    {
      name: `${prefix}_no_code_string.json`,
      language,
      body: flat(language, `${prefix}_no_code_string.json`),
      transports: ['json'],
      expect: { error: 'Z562', text: 'codeString', phrase: 'Function call did not provide codeString.' },
      difference: 'As for functionName: a Z562 naming codeString instead of the untyped message.',
    },
    {
      name: `${prefix}_user_defined_input.json`,
      language,
      body: splice(
        flat(language, `${prefix}_user_defined_input.json`),
        'functionArguments.Z1000K1',
        fixture('user_defined_input_Z1000K1.json'),
      ),
      transports: FLAT,
      expect: value('user_defined_input_expected.json'),
    },
    {
      name: `list_list_string_input_${prefix}_implementation.json`,
      language,
      body: call1(
        language,
        implementation(`list_list_string_input_${prefix}_implementation.json`),
        fixture('list_list_strings.json'),
      ),
      transports: FLAT,
      expect: { value: fixture('string_in_lists.json') },
    },
    {
      name: `list_list_string_output_${prefix}_implementation.json`,
      language,
      body: call1(
        language,
        implementation(`list_list_string_output_${prefix}_implementation.json`),
        fixture('string_in_lists.json'),
      ),
      transports: FLAT,
      expect: { value: fixture('list_list_strings.json') },
    },
    {
      name: `pair_string_pair_string_string_input_${prefix}_implementation.json`,
      language,
      body: call1(
        language,
        implementation(`pair_string_pair_string_string_input_${prefix}_implementation.json`),
        fixture('pair_string_pair_string_string.json'),
      ),
      transports: FLAT,
      expect: { value: fixture('string_in_pairs.json') },
    },
    {
      name: `pair_string_pair_string_string_output_${prefix}_implementation.json`,
      language,
      body: call1(
        language,
        implementation(`pair_string_pair_string_string_output_${prefix}_implementation.json`),
        fixture('string_in_pairs.json'),
      ),
      transports: FLAT,
      expect: { value: fixture('pair_string_pair_string_string.json') },
    },
    {
      name: `map_string_string_${prefix}_implementation.json`,
      language,
      body: {
        ...(splice(
          splice(
            fixture('map_string_string_Z7.json'),
            'codeString',
            implementation(`map_string_string_${prefix}_implementation.json`),
          ),
          'functionArguments.Z1802K1',
          fixture('map_string_bool.json'),
        ) as object),
        codingLanguage: js ? 'javascript' : 'python-3',
      },
      transports: FLAT,
      expect: { value: fixture('map_string_string.json') },
    },
  ];
  if (js) {
    cases.push(
      {
        name: 'javascript_throw.json',
        language,
        body: fixture('javascript_throw.json'),
        transports: ALL,
        expect: {
          error: 'Z507',
          text: 'Hello, this is a good day to die',
          phrase: 'Hello, this is a good day to die',
        },
      },
      {
        name: 'javascript_no_Z8.json',
        language,
        body: fixture('javascript_no_Z8.json'),
        transports: Z7_AND_V002,
        expect: {
          error: 'Z561',
          text: 'Unable to find programming language',
          phrase: 'Unable to find programming language',
        },
      },
      {
        name: 'javascript_no_Z14.json',
        language,
        body: fixture('javascript_no_Z14.json'),
        transports: Z7_AND_V002,
        expect: {
          error: 'Z561',
          text: 'Unable to find programming language',
          phrase: 'Unable to find programming language',
        },
      },
    );
  } else {
    cases.push(
      {
        name: 'python3_add_lambda.json',
        language,
        body: flat(language, 'python3_add_lambda.json'),
        transports: FLAT,
        expect: value('add_expected.json'),
      },
      {
        name: 'python3_compound_type_generic.json',
        language,
        body: flat(language, 'python3_compound_type_generic.json'),
        transports: FLAT,
        expect: value('compound_type_expected.json'),
      },
      {
        name: 'python3_no_Z8.json',
        language,
        body: fixture('python3_no_Z8.json'),
        transports: Z7_AND_V002,
        expect: { error: 'Z562', text: 'Z7K1', phrase: 'Unable to find programming language' },
      },
      {
        name: 'python3_no_Z14.json',
        language,
        body: fixture('python3_no_Z14.json'),
        transports: Z7_AND_V002,
        expect: {
          error: 'Z561',
          text: 'Unable to find programming language',
          phrase: 'Unable to find programming language',
        },
      },
      {
        name: 'python3_foo.json (unused by the reference: no functionArguments)',
        language,
        body: flat(language, 'python3_foo.json'),
        transports: FLAT,
        expect: { value: { Z1K1: 'Z6', Z6K1: 'foo' } },
      },
    );
  }
  return cases;
}

/** Fixtures that need no engine: refused before any code runs. */
function requestCases(): Case[] {
  const language: Language = 'javascript';
  return [
    {
      name: 'degenerate_Z8.json',
      language,
      body: fixture('degenerate_Z8.json'),
      transports: Z7_AND_V002,
      expect: { error: 'Z561', text: /Z8K1 item 2 is not an argument declaration/ },
      difference:
        'The reference validated with function-schemata and reported Z502 parser errors; we report Z561.',
    },
    {
      name: 'no_implementation_throw.json',
      language,
      body: fixture('no_implementation_throw.json'),
      transports: Z7_AND_V002,
      expect: { error: 'Z562', text: 'Z14K3', phrase: 'Unable to find programming language' },
    },
    {
      name: 'python_unsupported_version_throw.json',
      language,
      body: fixture('python_unsupported_version_throw.json'),
      transports: ALL,
      expect: {
        error: 'Z558',
        text: 'python-1',
        phrase: 'No executor found for programming language python-1.',
      },
      difference:
        'The reference wrote "No executor found for programming language python-1." as text; Z558K1 names the language.',
    },
    {
      name: 'unsupported_language_java_throw.json',
      language,
      body: fixture('unsupported_language_java_throw.json'),
      transports: ALL,
      expect: { error: 'Z558', text: 'Java', phrase: 'No executor found for programming language Java.' },
    },
    {
      name: 'pair_string_pair_string_string_input.json (unused by the reference: Z8K4 is null)',
      language,
      body: fixture('pair_string_pair_string_string_input.json'),
      transports: ['json'],
      expect: { error: 'Z561', text: /must not be null/ },
    },
    {
      name: 'orchestrator/first-implementation-programming-language-nonexistent.json',
      language,
      body: fixture('orchestrator/first-implementation-programming-language-nonexistent.json'),
      transports: ALL,
      expect: { error: 'Z558', text: 'nonexistent' },
      difference:
        'The orchestrator fixture expects Z41 because the orchestrator falls back to the second (composition) ' +
        'implementation after this error; the evaluator itself answers Z558.',
    },
  ];
}

// ---------------------------------------------------------------------------------------------
// The orchestrator's evaluator-facing fixtures (canonical form, pre-2021 "Z1000K0 = ..." code)

function modernize(body: unknown): unknown {
  const copy = structuredClone(body) as {
    Z7K1: { Z8K5: string; Z8K4: [unknown, { Z14K3: { Z16K2: string } }] };
  };
  const name = copy.Z7K1.Z8K5;
  copy.Z7K1.Z8K4[1].Z14K3.Z16K2 = `def ${name}(${name}K1, ${name}K2):\n    return str(int(${name}K1) + int(${name}K2))`;
  return copy;
}

function orchestratorCases(): Case[] {
  const language: Language = 'python';
  const cases: Case[] = [];
  for (const file of [
    'evaluated.json',
    'evaluated-map-result-only.json',
    'evaluated-map-basic.json',
    'evaluated-map-error.json',
    'evaluated-failed.json',
    'evaluated-with-1099.json',
  ]) {
    const body = fixture<{ Z7K1: { Z8K5: string } }>(`orchestrator/${file}`);
    cases.push(
      {
        name: `orchestrator/${file} as sent (pre-2021 "K0 =" code)`,
        language,
        body,
        transports: ['json', 'avro-0.0.2'],
        expect: { error: 'Z507', text: body.Z7K1.Z8K5 },
        difference:
          'The orchestrator test stubs the evaluator (answer "13", or an HTTP failure) and never runs this code, ' +
          'which uses the retired "ZnnnK0 = ..." convention: a real evaluator finds no function to call.',
      },
      {
        name: `orchestrator/${file} with today's code convention`,
        language,
        body: modernize(body),
        transports: ['json', 'avro-0.0.2', 'avro-0.0.4'],
        expect: { value: '13' },
      },
    );
  }
  cases.push({
    name: 'orchestrator/first-implementation-evaluator-down.json',
    language,
    body: fixture('orchestrator/first-implementation-evaluator-down.json'),
    transports: ['json', 'avro-0.0.2'],
    expect: { value: { Z1K1: 'Z40', Z40K1: 'Z42' } },
    difference:
      'Z41 in the fixture is the orchestrator falling back to the composition when the evaluator is down; ' +
      'a working evaluator runs the first implementation, "lambda: False".',
  });
  return cases;
}

// ---------------------------------------------------------------------------------------------
// The golden Avro vectors, sent as they are

export interface VectorCase {
  readonly name: string;
  readonly language: Language;
  readonly base64: string;
  readonly expect: Expectation;
}

export function vectorCases(): VectorCase[] {
  const vectors = fixture<Record<string, Record<string, string>>>('avro_request_vectors.json');
  const out: VectorCase[] = [];
  for (const [name, vector] of Object.entries(vectors)) {
    const language: Language = name.startsWith('python') ? 'python' : 'javascript';
    const expect: Expectation =
      name === 'javascript_throw.json'
        ? { error: 'Z507', text: 'Hello, this is a good day to die' }
        : value('add_expected.json');
    for (const key of ['v001_unversioned_base64', 'v002_base64', 'v003_base64', 'v004_base64']) {
      out.push({ name: `${name} ${key}`, language, base64: vector[key]!, expect });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Our own cases, the same in both languages where the languages allow

const ref = (zid: string) => ({ Z1K1: 'Z9', Z9K1: zid });
const str = (s: string) => ({ Z1K1: 'Z6', Z6K1: s });
const natural = (n: bigint | number) => ({ Z1K1: ref('Z13518'), Z13518K1: str(String(n)) });

/** A canonical Z7 of Z1000 with declared argument and return types. */
function typedCall(
  language: Language,
  code: string,
  args: { type: unknown; value: unknown }[],
  returnType: unknown,
): unknown {
  return {
    Z1K1: 'Z7',
    Z7K1: {
      Z1K1: 'Z8',
      Z8K1: [
        'Z17',
        ...args.map((a, i) => ({
          Z1K1: 'Z17',
          Z17K1: a.type,
          Z17K2: `Z1000K${i + 1}`,
          Z17K3: { Z1K1: 'Z12', Z12K1: ['Z11'] },
        })),
      ],
      Z8K2: returnType,
      Z8K3: ['Z20'],
      Z8K4: [
        'Z14',
        {
          Z1K1: 'Z14',
          Z14K1: 'Z1000',
          Z14K3: { Z1K1: 'Z16', Z16K1: language === 'javascript' ? 'Z600' : 'Z610', Z16K2: code },
        },
      ],
      Z8K5: 'Z1000',
    },
    ...Object.fromEntries(args.map((a, i) => [`Z1000K${i + 1}`, a.value])),
  };
}

export function ownCases(language: Language): Case[] {
  const js = language === 'javascript';
  const pick = (jsCode: string, pyCode: string): string => (js ? jsCode : pyCode);
  const big = 2n ** 100n + 7n;
  return [
    {
      name: 'maps: a map of strings to Booleans in, a map with other key types out',
      language,
      body: call1(
        language,
        pick(
          'function Z1000(m) { const out = new Map(); for (const [k, v] of m) out.set(k, !v); out.set(true, null); return out; }',
          'def Z1000(m):\n    out = {k: not v for k, v in m.items()}\n    out[True] = None\n    return out',
        ),
        fixture('map_string_bool.json'),
      ),
      transports: FLAT,
      expect: {
        value: normalize({
          Z1K1: { Z1K1: 'Z7', Z7K1: 'Z883', Z883K1: 'Z1', Z883K2: 'Z1' },
          K1: [
            { Z1K1: 'Z7', Z7K1: 'Z882', Z882K1: 'Z1', Z882K2: 'Z1' },
            {
              Z1K1: { Z1K1: 'Z7', Z7K1: 'Z882', Z882K1: 'Z1', Z882K2: 'Z1' },
              K1: 'true?',
              K2: { Z1K1: 'Z40', Z40K1: 'Z42' },
            },
            {
              Z1K1: { Z1K1: 'Z7', Z7K1: 'Z882', Z882K1: 'Z1', Z882K2: 'Z1' },
              K1: { Z1K1: 'Z40', Z40K1: 'Z41' },
              K2: { Z1K1: 'Z21' },
            },
          ],
        }),
      },
    },
    {
      name: 'pairs: swap the members of a nested pair',
      language,
      body: call1(
        language,
        pick(
          'function Z1000(p) { return new ZPair(p.K2, p.K1); }',
          'def Z1000(p):\n    return ZPair(p.K2, p.K1)',
        ),
        fixture('pair_string_pair_string_string.json'),
      ),
      transports: FLAT,
      expect: {
        value: normalize({
          Z1K1: {
            Z1K1: 'Z7',
            Z7K1: 'Z882',
            Z882K1: { Z1K1: 'Z7', Z7K1: 'Z882', Z882K1: 'Z6', Z882K2: 'Z6' },
            Z882K2: 'Z6',
          },
          K1: { Z1K1: { Z1K1: 'Z7', Z7K1: 'Z882', Z882K1: 'Z6', Z882K2: 'Z6' }, K1: 'moonbeam', K2: 'stone' },
          K2: 'سر دوراهی یک قلعه بود',
        }),
      },
    },
    {
      name: 'nested lists: a list of lists of Booleans, empty lists included',
      language,
      body: call1(
        language,
        pick(
          'function Z1000(xs) { return [xs.map((s) => s.length > 3), [], [[]]]; }',
          'def Z1000(xs):\n    return [[len(s) > 3 for s in xs], [], [[]]]',
        ),
        normalize(['Z6', 'ab', 'abcd']),
      ),
      transports: FLAT,
      expect: {
        value: normalize([
          'Z1',
          ['Z40', { Z1K1: 'Z40', Z40K1: 'Z42' }, { Z1K1: 'Z40', Z40K1: 'Z41' }],
          ['Z1'],
          ['Z1', ['Z1']],
        ]),
      },
    },
    {
      name: 'a long list (3,000 strings) through and back',
      language,
      body: call1(
        language,
        pick(
          'function Z1000(xs) { return xs.map((s) => s + "!"); }',
          'def Z1000(xs):\n    return [s + "!" for s in xs]',
        ),
        normalize(['Z6', ...Array.from({ length: 3000 }, (_, i) => `s${i}`)]),
      ),
      transports: ['json'],
      expect: { value: normalize(['Z6', ...Array.from({ length: 3000 }, (_, i) => `s${i}!`)]) },
    },
    {
      name: 'user types: read a key of the given instance and build a new one',
      language,
      body: call1(
        language,
        pick(
          "function Z1000(x) { return new ZObject({ Z10001K1: x.Z10000K1.toUpperCase(), Z10001K2: x.Z1K1.Z4K1 }, 'Z10001'); }",
          "def Z1000(x):\n    return ZObject('Z10001', Z10001K1=x.Z10000K1.upper(), Z10001K2=x.Z1K1['Z4K1'])",
        ),
        fixture('user_defined_input_Z1000K1.json'),
      ),
      transports: FLAT,
      expect: { value: { Z1K1: ref('Z10001'), Z10001K1: str('CEREBELLUM'), Z10001K2: str('Z10000') } },
    },
    {
      name: 'big integers: natural numbers beyond 2^64 in, squared, and out as declared (Z13518)',
      language,
      body: typedCall(
        language,
        pick('function Z1000(n) { return n * n; }', 'def Z1000(n):\n    return n * n'),
        [{ type: 'Z13518', value: natural(big) }],
        'Z13518',
      ),
      transports: ALL,
      expect: { value: natural(big * big) },
    },
    {
      name: 'big integers: a negative integer (Z16683) when no type is declared',
      language,
      body: call1(
        language,
        pick('function Z1000(n) { return -n - 1n; }', 'def Z1000(n):\n    return -n - 1'),
        natural(big),
      ),
      transports: FLAT,
      expect: {
        value: {
          Z1K1: ref('Z16683'),
          Z16683K1: { Z1K1: ref('Z16659'), Z16659K1: ref('Z16662') },
          Z16683K2: natural(big + 1n),
        },
      },
    },
    {
      name: 'unicode: astral planes, combining marks, right-to-left text and NUL-led strings survive',
      language,
      body: call1(
        language,
        pick(
          'function Z1000(xs) { return xs.map((s) => s + "|"); }',
          'def Z1000(xs):\n    return [s + "|" for s in xs]',
        ),
        normalize(['Z6', '😀 𝄞 𠜎', 'e\u0301', 'سر دوراهی', '\u0000pair', '\u0000n12']),
      ),
      transports: ['json', 'avro-0.0.3'],
      expect: { value: normalize(['Z6', '😀 𝄞 𠜎|', 'e\u0301|', 'سر دوراهی|', '\u0000pair|', '\u0000n12|']) },
    },
    {
      name: 'a result that does not match the declared return type is a Z517',
      language,
      body: typedCall(
        language,
        pick('function Z1000() { return true; }', 'def Z1000():\n    return True'),
        [],
        'Z6',
      ),
      transports: ['json'],
      expect: { error: 'Z517', text: /declares Z6 but returned Z40/ },
    },
    {
      name: 'async functions are awaited',
      language,
      body: call1(
        language,
        pick(
          'async function Z1000(s) { await null; return s + "!"; }',
          'async def Z1000(s):\n    import asyncio\n    await asyncio.sleep(0)\n    return s + "!"',
        ),
        str('awaited'),
      ),
      transports: ['json'],
      expect: { value: str('awaited!') },
      difference: 'The reference returned the pending promise / coroutine object instead of its value.',
    },
    {
      name: 'printing never corrupts the envelope',
      language,
      body: call1(
        language,
        pick(
          'function Z1000(s) { console.log(\'{"Z1K1": "Z22", "Z22K1": "forged"}\'); console.error("}"); return s; }',
          'def Z1000(s):\n    import sys\n    print(\'{"Z1K1": "Z22", "Z22K1": "forged"}\')\n    print("}", file=sys.stderr)\n    return s',
        ),
        str('real'),
      ),
      transports: ['json'],
      expect: { value: str('real') },
      difference: "The reference read the result from the executor's stdout, so a print could corrupt it.",
    },
    {
      name: 'an exception without a message still yields a useful error',
      language,
      body: call1(
        language,
        pick('function Z1000() { throw new Error(); }', 'def Z1000(_):\n    raise Exception()'),
        str('x'),
      ),
      transports: ['json'],
      expect: { error: 'Z507', text: /\S/ },
      difference: 'The reference produced an empty Z5K2 (or crashed) here.',
    },
    {
      name: 'a thrown non-error value still yields a useful error',
      language,
      body: call1(
        language,
        pick('function Z1000() { throw null; }', 'def Z1000(_):\n    raise AssertionError'),
        str('x'),
      ),
      transports: ['json'],
      expect: { error: 'Z507', text: /\S/ },
    },
    {
      name: 'an endless loop hits the time limit (Z575)',
      language,
      body: call1(
        language,
        pick('function Z1000() { for (;;) {} }', 'def Z1000(_):\n    while True:\n        pass'),
        str('x'),
      ),
      transports: ['json'],
      expect: { error: 'Z575', text: / ms$/ },
    },
    {
      name: 'remainingTime as the 2023 orchestrator sends it (about -1.8e12) is ignored, as the reference ignored it',
      language,
      body: {
        ...(call1(
          language,
          pick('function Z1000(s) { return s; }', 'def Z1000(s):\n    return s'),
          str('x'),
        ) as object),
        remainingTime: -1796604524704,
      },
      transports: ['json'],
      expect: { value: str('x') },
    },
    {
      name: 'a memory bomb hits the memory limit',
      language,
      body: call1(
        language,
        pick(
          'function Z1000() { const keep = []; for (;;) keep.push(new Array(1 << 20).fill(1)); }',
          'def Z1000(_):\n    keep = []\n    while True:\n        keep.append(bytearray(64 * 1024 * 1024))',
        ),
        str('x'),
      ),
      transports: ['json'],
      expect: { error: 'Z507', text: /memory/i },
    },
    {
      name: 'languages are routed by ZID and by any listed name, case-insensitively',
      language,
      body: {
        codingLanguage: js ? 'JavaScript-ES2020' : 'Z615',
        codeString: pick('function Z1000(s) { return s; }', 'def Z1000(s):\n    return s'),
        functionName: 'Z1000',
        functionArguments: { Z1000K1: 'ok' },
      },
      transports: ['json'],
      expect: { value: str('ok') },
    },
  ];
}

/**
 * What Wikifunctions type converters return: a ZObject as JSON (a JavaScript object, a Python dict)
 * with a Z1K1. The serializers of the natural-number and integer types run as user code.
 */
function converterCases(language: Language): Case[] {
  const converter = fixture<{ converters: Record<string, { Z2K2: { Z64K3: { Z16K2: string } } }> }>(
    'wikilambda/type_converters_and_types.json',
  ).converters;
  const code = (zid: string): string => converter[zid]!.Z2K2.Z64K3.Z16K2.replaceAll(zid, 'Z1000');
  const js = language === 'javascript';
  const integerSign = js ? { Z1K1: ref('Z16659'), Z16659K1: ref('Z16660') } : ref('Z16660');
  return [
    {
      name: `a type converter's raw ZObject result (${js ? 'Z13520' : 'Z13532'}, natural number) is taken as it is`,
      language,
      body: call1(language, code(js ? 'Z13520' : 'Z13532'), natural(42)),
      transports: FLAT,
      expect: { value: natural(42) },
    },
    {
      name: `a type converter's raw ZObject result (${js ? 'Z16687' : 'Z16686'}, integer) is taken as it is`,
      language,
      body: call1(language, code(js ? 'Z16687' : 'Z16686'), natural(42)),
      transports: FLAT,
      expect: { value: { Z1K1: ref('Z16683'), Z16683K1: integerSign, Z16683K2: natural(42) } },
    },
  ];
}

export function casesFor(language: Language): Case[] {
  const specific = language === 'javascript' ? requestCases() : orchestratorCases();
  return [...fixtureCases(language), ...specific, ...converterCases(language), ...ownCases(language)];
}

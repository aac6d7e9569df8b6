// The evaluator's own test_data (function-evaluator's fixtures) as cases, and the fixtures that
// are refused before any code runs.

import { fixture, implementation, splice } from '../helpers.js';
import { ALL, type Case, call1, FLAT, flat, type Language, value, Z7_AND_V002 } from './case.js';

const SYNTAX_DIFFERENCE =
  'The reference quotes its engine (V8: "Unexpected end of input"; CPython <= 3.9: "invalid syntax"); ' +
  'ours quotes QuickJS or CPython 3.1x, so only the error type and a useful message are compared.';

export function fixtureCases(language: Language): Case[] {
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
export function requestCases(): Case[] {
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

// Our own cases, the same in both languages where the languages allow, and what Wikifunctions
// type converters return.

import { normalize } from '../../../src/wikifunctions/zobject.js';
import { fixture } from '../helpers.js';
import { ALL, type Case, call1, FLAT, type Language } from './case.js';

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
export function converterCases(language: Language): Case[] {
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

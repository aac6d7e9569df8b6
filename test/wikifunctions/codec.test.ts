// Unit tests of the ZObject ⇄ value codec (host side of codec "zobject") and of normal form:
// the shared fixtures must convert to the documented guest values and back to the reference's
// expected ZObjects (compared without Z1K1, as the reference compares).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { JsonValue } from '../../src/executor/json-value.js';
import {
  CodecError,
  fromGuestValue,
  MAP_TAG,
  PAIR_TAG,
  toGuestValue,
  ZOBJECT_TAG,
} from '../../src/wikifunctions/codec.js';
import {
  canonicalize,
  listItems,
  listType,
  mapType as mapTypeOf,
  normalize,
  resolveType,
  stringifyZObject,
  type ZNode,
  ZObjectFormatError,
  zRef,
  zString,
} from '../../src/wikifunctions/zobject.js';
import { fixture, withoutZ1K1s } from './helpers.js';

const pair = (a: JsonValue, b: JsonValue): JsonValue => ({ [PAIR_TAG]: [a, b] });
const map = (...entries: [JsonValue, JsonValue][]): JsonValue => ({ [MAP_TAG]: entries });
const zobject = (keys: Record<string, JsonValue>): JsonValue => ({ [ZOBJECT_TAG]: keys });
const expectedValue = (name: string): unknown => withoutZ1K1s(fixture<{ Z22K1: unknown }>(name).Z22K1);

const natural = (digits: string): ZNode => ({ Z1K1: zRef('Z13518'), Z13518K1: zString(digits) });
const integer = (sign: string, digits: string, asInstance = true): ZNode => ({
  Z1K1: zRef('Z16683'),
  Z16683K1: asInstance ? { Z1K1: zRef('Z16659'), Z16659K1: zRef(sign) } : zRef(sign),
  Z16683K2: natural(digits),
});

describe('normal form', () => {
  const normalFixtures = [
    'javascript_add_Z7.json',
    'python3_add_Z7.json',
    'degenerate_Z8.json',
    'map_string_bool.json',
    'user_defined_input_Z1000K1.json',
    'javascript_compound_type.json#functionArguments.Z1000K1',
  ];
  const read = (name: string): Record<string, unknown> => {
    const [file, path] = name.split('#') as [string, string | undefined];
    let value = fixture<Record<string, unknown>>(file);
    for (const key of path?.split('.') ?? []) value = value[key] as Record<string, unknown>;
    return value;
  };

  it.each(normalFixtures)('normalize() leaves the normal-form fixture %s unchanged', (name) => {
    expect(normalize(read(name))).toEqual(read(name));
  });

  // These two write some Z1K1s canonically ("Z12"): normalizing spells them out, once.
  it.each(['list_list_strings.json', 'pair_string_pair_string_string.json'])(
    'normalize() is idempotent on the mixed-form fixture %s',
    (name) => {
      const once = normalize(read(name));
      expect(normalize(once)).toEqual(once);
      expect(withoutZ1K1s(once)).toEqual(withoutZ1K1s(read(name)));
    },
  );

  it('normalizes the canonical-form orchestrator fixtures', () => {
    const z7 = normalize(fixture('orchestrator/evaluated.json'));
    expect(z7.Z1K1).toEqual(zRef('Z7'));
    expect(z7.Z1000K1).toEqual(zString('5'));
    const z8 = z7.Z7K1 as ZNode;
    expect(resolveType(z8.Z1K1).zid).toBe('Z8');
    const declarations = listItems(z8.Z8K1 as ZNode);
    expect(declarations.map((d) => d.Z17K2)).toEqual([zString('Z1000K1'), zString('Z1000K2')]);
    expect(resolveType((z8.Z8K1 as ZNode).Z1K1)).toMatchObject({ zid: 'Z881' });
    const [implementation] = listItems(z8.Z8K4 as ZNode);
    expect(((implementation!.Z14K3 as ZNode).Z16K2 as ZNode).Z6K1).toMatch(/^Z1000K0 = /);
  });

  it.each([
    'orchestrator/Z22-map-basic.json',
    'orchestrator/Z22-map-result-only.json',
    'orchestrator/Z22-map-error.json',
  ])('normalize() and canonicalize() agree on %s', (name) => {
    const normal = normalize(fixture(name));
    expect(normalize(canonicalize(normal))).toEqual(normal);
  });

  it('canonicalize() writes references and strings as strings, typed lists as arrays', () => {
    const canonical = fixture('orchestrator/first-implementation-evaluator-down.json');
    expect(canonicalize(normalize(canonical))).toEqual(canonical);
    expect(canonicalize(zString('Z1'))).toEqual({ Z1K1: 'Z6', Z6K1: 'Z1' });
  });

  it('rejects what is not a ZObject, naming where', () => {
    const cases: [unknown, RegExp][] = [
      [null, /must not be null/],
      [5, /must not be a number/],
      [{ Z1K1: 'Z6', Z6K1: 5 }, /Malformed a string/],
      [{ Z1K1: 'Z9', Z9K1: 'not a ref' }, /does not look like a reference/],
      [{ Z1K1: 'Z10000', '\u0000pair': 'x' }, /Invalid key/],
      [{ Z1K1: 'Z10000', Z10000K1: { Z10000K1: 'x' } }, /needs a type \(Z1K1\) \(at Z10000K1\)/],
      [{ Z1K1: 'Z7', Z7K1: 'Z801', Z801K1: [null] }, /must not be null \(at Z801K1\.0\)/],
    ];
    for (const [input, message] of cases) {
      expect(() => normalize(input)).toThrow(ZObjectFormatError);
      expect(() => normalize(input)).toThrow(message);
    }
  });

  it('follows long typed lists without recursion (normalize, canonicalize, stringify)', () => {
    const items = Array.from({ length: 50_000 }, (_, i) => `item ${i}`);
    // (Compared as text: the test runner's deep equality itself recurses.)
    const node = normalize(['Z6', ...items]);
    expect(listItems(node)).toHaveLength(items.length);
    const text = stringifyZObject(node);
    expect(stringifyZObject(normalize(node))).toBe(text);
    expect(stringifyZObject(normalize(JSON.parse(text)))).toBe(text);
    expect(canonicalize(node)).toEqual(['Z6', ...items]);
    expect(toGuestValue(node)).toEqual(items);
    expect(stringifyZObject(fromGuestValue(items))).toBe(text);
  });

  it('stringifyZObject() writes what JSON.stringify writes', () => {
    const node = fixture<ZNode>('map_string_bool.json');
    expect(stringifyZObject(node)).toBe(JSON.stringify(node));
  });
});

describe('arguments: ZObject → guest value', () => {
  it('turns the list, pair and map fixtures into arrays, ZPairs and maps', () => {
    expect(toGuestValue(fixture('list_list_strings.json'))).toEqual([['element[0][0]', 'element[0][1]']]);
    expect(toGuestValue(fixture('pair_string_pair_string_string.json'))).toEqual(
      pair('سر دوراهی یک قلعه بود', pair('moonbeam', 'stone')),
    );
    expect(toGuestValue(fixture('map_string_bool.json'))).toEqual(map(['true?', true]));
    expect(toGuestValue(fixture('string_in_lists.json'))).toBe('element[0][0]');
  });

  it('turns a list whose cells are typed differently (Z6, Z40, Z21) into one array', () => {
    const argument = fixture<{ functionArguments: { Z1000K1: ZNode } }>('javascript_compound_type.json');
    expect(toGuestValue(argument.functionArguments.Z1000K1)).toEqual(['tRue', true, null]);
    const generic = fixture<{ functionArguments: { Z1000K1: ZNode } }>('python3_compound_type.json');
    expect(toGuestValue(generic.functionArguments.Z1000K1)).toEqual(['tRue', true, null]);
  });

  it('hands an instance of a user-defined type over as a ZObject with its type in canonical form', () => {
    const value = toGuestValue(fixture('user_defined_input_Z1000K1.json')) as Record<
      string,
      Record<string, JsonValue>
    >;
    const keys = value[ZOBJECT_TAG]!;
    expect(Object.keys(keys)).toEqual(['Z1K1', 'Z10000K1']);
    expect(keys.Z10000K1).toBe('cerebellum');
    expect(keys.Z1K1).toMatchObject({ Z1K1: 'Z4', Z4K1: 'Z10000', Z4K3: 'Z1000' });
    expect((keys.Z1K1 as Record<string, JsonValue>).Z4K2).toEqual([
      'Z3',
      { Z1K1: 'Z3', Z3K1: 'Z6', Z3K2: 'Z10000K1', Z3K3: 'Z1000' },
    ]);
  });

  it('gives natural numbers and integers as bigint, however small or large', () => {
    expect(toGuestValue(natural('0'))).toBe(0n);
    expect(toGuestValue(natural('42'))).toBe(42n);
    const huge = '123456789012345678901234567890123456789';
    expect(toGuestValue(natural(huge))).toBe(BigInt(huge));
    expect(toGuestValue(integer('Z16662', huge))).toBe(-BigInt(huge));
    expect(toGuestValue(integer('Z16660', '7', false))).toBe(7n);
    expect(toGuestValue(integer('Z16661', '0'))).toBe(0n);
    expect(() => toGuestValue(natural('-1'))).toThrow(CodecError);
    expect(() => toGuestValue(natural('1e3'))).toThrow(/decimal digits/);
    expect(() => toGuestValue(integer('Z41', '1'))).toThrow(/sign/);
  });

  it('reads Booleans given as references where Z40 is declared, keeps other references as ZObjects', () => {
    expect(toGuestValue(zRef('Z41'), 'Z40')).toBe(true);
    expect(toGuestValue(zRef('Z42'), zRef('Z40'))).toBe(false);
    expect(toGuestValue(zRef('Z16660'))).toEqual(zobject({ Z1K1: 'Z9', Z9K1: 'Z16660' }));
    expect(toGuestValue({ Z1K1: zRef('Z40'), Z40K1: { Z1K1: zRef('Z40'), Z40K1: zRef('Z41') } })).toBe(true);
  });

  it('keeps a quote (Z99) raw', () => {
    const quoted = {
      Z1K1: zRef('Z99'),
      Z99K1: { Z1K1: zRef('Z11'), Z11K1: zRef('Z1002'), Z11K2: zString('hi') },
    };
    expect(toGuestValue(quoted)).toEqual(
      zobject({ Z1K1: 'Z99', Z99K1: { Z1K1: 'Z11', Z11K1: 'Z1002', Z11K2: 'hi' } }),
    );
  });

  it('converts nested generics: a map of lists of pairs', () => {
    const listOfPairs = normalize([
      { Z1K1: 'Z7', Z7K1: 'Z882', Z882K1: 'Z6', Z882K2: 'Z40' },
      {
        Z1K1: { Z1K1: 'Z7', Z7K1: 'Z882', Z882K1: 'Z6', Z882K2: 'Z40' },
        K1: 'a',
        K2: { Z1K1: 'Z40', Z40K1: 'Z41' },
      },
    ]);
    const value = fromGuestValue(map(['k', [pair('a', true)]]));
    expect(toGuestValue(value)).toEqual(map(['k', [pair('a', true)]]));
    expect(toGuestValue(listOfPairs)).toEqual([pair('a', true)]);
  });
});

describe('results: guest value → ZObject', () => {
  it('infers the reference fixtures: list of lists, pairs, maps, mixed lists', () => {
    expect(withoutZ1K1s(fromGuestValue([['element[0][0]', 'element[0][1]']]))).toEqual(
      withoutZ1K1s(fixture('list_list_strings.json')),
    );
    expect(withoutZ1K1s(fromGuestValue(pair('سر دوراهی یک قلعه بود', pair('moonbeam', 'stone'))))).toEqual(
      withoutZ1K1s(fixture('pair_string_pair_string_string.json')),
    );
    expect(withoutZ1K1s(fromGuestValue(map(['true?', 'true'])))).toEqual(
      withoutZ1K1s(fixture('map_string_string.json')),
    );
    expect(withoutZ1K1s(fromGuestValue([null, true, 'tRue']))).toEqual(
      expectedValue('compound_type_expected.json'),
    );
  });

  it('infers element types as the reference did: common type, else Z1', () => {
    const typeOf = (node: ZNode): unknown => canonicalize(node.Z1K1 as ZNode);
    expect(typeOf(fromGuestValue(['a', 'b']))).toEqual({ Z1K1: 'Z7', Z7K1: 'Z881', Z881K1: 'Z6' });
    expect(typeOf(fromGuestValue(['a', true]))).toEqual({ Z1K1: 'Z7', Z7K1: 'Z881', Z881K1: 'Z1' });
    expect(typeOf(fromGuestValue([]))).toEqual({ Z1K1: 'Z7', Z7K1: 'Z881', Z881K1: 'Z1' });
    expect(typeOf(fromGuestValue([['a'], ['b']]))).toEqual({
      Z1K1: 'Z7',
      Z7K1: 'Z881',
      Z881K1: { Z1K1: 'Z7', Z7K1: 'Z881', Z881K1: 'Z6' },
    });
    expect(typeOf(fromGuestValue(map(['a', 1n], [true, 'x'])))).toEqual({
      Z1K1: 'Z7',
      Z7K1: 'Z883',
      Z883K1: 'Z1',
      Z883K2: 'Z1',
    });
    expect(typeOf(fromGuestValue(map()))).toEqual({ Z1K1: 'Z7', Z7K1: 'Z883', Z883K1: 'Z1', Z883K2: 'Z1' });
    expect(typeOf(fromGuestValue(pair('a', null)))).toEqual({
      Z1K1: 'Z7',
      Z7K1: 'Z882',
      Z882K1: 'Z6',
      Z882K2: 'Z21',
    });
  });

  it('returns a user-defined type with the keys (and the type) it came with', () => {
    const argument = fixture<ZNode>('user_defined_input_Z1000K1.json');
    const back = fromGuestValue(toGuestValue(argument));
    expect(back).toEqual(argument);
    expect(withoutZ1K1s(back)).toEqual(expectedValue('user_defined_input_expected.json'));
  });

  it('serializes integers by the declared type, else by sign (natural number, or integer if negative)', () => {
    expect(fromGuestValue(5n, 'Z13518')).toEqual(natural('5'));
    expect(fromGuestValue(5, zRef('Z13518'))).toEqual(natural('5'));
    expect(fromGuestValue(-5n, 'Z16683')).toEqual(integer('Z16662', '5'));
    expect(fromGuestValue(5n, 'Z16683')).toEqual(integer('Z16660', '5'));
    expect(fromGuestValue(0n, 'Z16683')).toEqual(integer('Z16661', '0'));
    expect(fromGuestValue(0n)).toEqual(natural('0'));
    const huge = 2n ** 200n;
    expect(fromGuestValue(huge)).toEqual(natural(huge.toString()));
    expect(fromGuestValue(-huge)).toEqual(integer('Z16662', huge.toString()));
    expect(withoutZ1K1s(fromGuestValue([1n, -1n]))).toEqual(
      withoutZ1K1s(normalize(['Z1', natural('1'), integer('Z16662', '1')])),
    );
    expect(fromGuestValue([1n, 2n], listType('Z13518'))).toEqual(
      normalize(['Z13518', natural('1'), natural('2')]),
    );
  });

  it('matches the key layout of the natural-number and integer types (Z13518, Z16683)', () => {
    const types = fixture<{ types: Record<string, { Z2K2: { Z4K2: unknown[] } }> }>(
      'wikilambda/type_converters_and_types.json',
    ).types;
    const keysOf = (zid: string): [unknown, unknown][] =>
      (types[zid]!.Z2K2.Z4K2.slice(1) as { Z3K1: unknown; Z3K2: unknown }[]).map((z3) => [z3.Z3K2, z3.Z3K1]);
    expect(keysOf('Z13518')).toEqual([['Z13518K1', 'Z6']]);
    expect(keysOf('Z16683')).toEqual([
      ['Z16683K1', 'Z16659'],
      ['Z16683K2', 'Z13518'],
    ]);
    const value = canonicalize(fromGuestValue(-12n, 'Z16683')) as Record<string, unknown>;
    expect(value).toEqual({
      Z1K1: 'Z16683',
      Z16683K1: { Z1K1: 'Z16659', Z16659K1: 'Z16662' },
      Z16683K2: { Z1K1: 'Z13518', Z13518K1: '12' },
    });
  });

  it('reports a value that does not match the declared type as a mismatch naming both types', () => {
    const cases: [JsonValue, string, RegExp][] = [
      [true, 'Z6', /declares Z6 but returned Z40/],
      ['x', 'Z40', /declares Z40 but returned Z6/],
      [-1n, 'Z13518', /declares Z13518 but returned Z16683 \(-1n is out of range\)/],
      [[1n], 'Z10000', /declares Z10000 but returned Z881/],
    ];
    for (const [value, type, message] of cases) {
      let caught: unknown;
      try {
        fromGuestValue(value, type);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(CodecError);
      expect((caught as CodecError).kind).toBe('mismatch');
      expect((caught as CodecError).message).toMatch(message);
      expect((caught as CodecError).details.expected).toEqual(zRef(type));
    }
  });

  it('refuses values that have no ZObject type, saying what they are', () => {
    const cases: [JsonValue, RegExp][] = [
      [1.5, /the number 1.5 has no ZObject type/],
      [[1], /the number 1 has no ZObject type/],
      [{ a: 1 }, /a plain object \(\{"a":1\}\) is not a ZObject/],
      [zobject({ Z10000K1: 'x' }), /a ZObject without a type/],
      [{ [PAIR_TAG]: ['only one'] }, /a malformed pair/],
      [{ '\u0000set': [] }, /unknown tag/],
      [zobject({ Z1K1: 'Z10000', nonsense: 'x' }), /invalid key "nonsense"/],
      [zobject({ Z1K1: 'not a type', K1: 'x' }), /neither a ZID nor a type/],
    ];
    for (const [value, message] of cases) {
      expect(() => fromGuestValue(value)).toThrow(message);
      expect(() => fromGuestValue(value)).toThrow(CodecError);
    }
    expect(() => fromGuestValue(1.5, 'Z6')).toThrow(/has no ZObject type.*; the function declares Z6$/);
  });

  it('accepts a ZObject written as JSON (as type converters return it), in canonical or normal form', () => {
    const canonical = { Z1K1: 'Z13518', Z13518K1: '7' };
    expect(fromGuestValue(canonical as JsonValue)).toEqual(natural('7'));
    expect(fromGuestValue(natural('7') as unknown as JsonValue, 'Z13518')).toEqual(natural('7'));
    expect(() => fromGuestValue({ Z1K1: 'Z13518', bad: 'x' })).toThrow(/malformed ZObject: Invalid key/);
  });

  it('takes a map whose keys are ZObject keys, Z1K1 among them, as a ZObject written as a dictionary', () => {
    const asDict = map(
      ['Z1K1', map(['Z1K1', 'Z9'], ['Z9K1', 'Z13518'])],
      ['Z13518K1', map(['Z1K1', 'Z6'], ['Z6K1', '7'])],
    );
    expect(fromGuestValue(asDict)).toEqual(natural('7'));
    expect(fromGuestValue(asDict, 'Z13518')).toEqual(natural('7'));
    expect(resolveType(fromGuestValue(asDict, mapTypeOf('Z6', 'Z1')).Z1K1).zid).toBe('Z883');
    expect(resolveType(fromGuestValue(map(['Z1K1', 'x'], [1n, 'y'])).Z1K1).zid).toBe('Z883');
    const typed = zobject({ Z1K1: map(['Z1K1', 'Z4'], ['Z4K1', 'Z10000']), Z10000K1: 'x' });
    expect(canonicalize(fromGuestValue(typed))).toEqual({
      Z1K1: { Z1K1: 'Z4', Z4K1: 'Z10000' },
      Z10000K1: 'x',
    });
  });

  it('types a ZObject without Z1K1 by the declared type, and gives references back as references', () => {
    expect(fromGuestValue(zobject({ Z10000K1: 'x' }), 'Z10000')).toEqual({
      Z1K1: zRef('Z10000'),
      Z10000K1: zString('x'),
    });
    expect(fromGuestValue(zobject({ Z1K1: 'Z9', Z9K1: 'Z16660' }))).toEqual(zRef('Z16660'));
    expect(() => fromGuestValue(zobject({ Z1K1: 'Z20000', Z20000K1: 'x' }), 'Z10000')).toThrow(
      /declares Z10000/,
    );
  });

  it('round-trips any guest value built from the codec shapes', () => {
    const letters = fc.string({ unit: fc.constantFrom('a', 'b', 'é', '語', '\u0000', '😀', '"', '\\') });
    const { value } = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        letters,
        fc.boolean(),
        fc.constant(null),
        fc.bigInt({ min: -(2n ** 130n), max: 2n ** 130n }),
        fc.array(tie('value'), { maxLength: 4 }),
        fc.tuple(tie('value'), tie('value')).map(([a, b]) => pair(a as JsonValue, b as JsonValue)),
        fc
          .array(fc.tuple(letters, tie('value')), { maxLength: 3 })
          .map((entries) => map(...(entries as [JsonValue, JsonValue][]))),
      ),
    }));
    fc.assert(
      fc.property(value, (v) => {
        const node = fromGuestValue(v as JsonValue);
        expect(toGuestValue(JSON.parse(stringifyZObject(node)) as ZNode)).toEqual(v);
      }),
      { numRuns: 300 },
    );
  });
});

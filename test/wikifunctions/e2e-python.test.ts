// The Wikifunctions API end to end, against the real server with the Python engine: every Python
// fixture over each transport the reference used, the orchestrator's evaluator-facing fixtures
// (all Python), the golden Avro vector of the Python addition, our own cases, and what only the
// Python runner has to get right.

import { afterAll, beforeAll, describe, it } from 'vitest';
import { normalize } from '../../src/wikifunctions/zobject.js';
import { casesFor, type Expectation, vectorCases } from './cases.js';
import { check, post, send, startTarget, type Target, title } from './e2e.js';

let target: Target;

beforeAll(async () => {
  target = await startTarget('python');
});
afterAll(async () => {
  await target?.close();
});

describe('cases', () => {
  for (const c of casesFor('python')) {
    for (const transport of c.transports) {
      it(title(c, transport), async () => check(await send(target, c.body, transport), c.expect));
    }
  }
});

describe('golden Avro vectors, sent as they are', () => {
  for (const v of vectorCases().filter((v) => v.language === 'python')) {
    it(v.name, async () =>
      check(await post(target, Buffer.from(v.base64, 'base64'), 'application/octet-stream'), v.expect),
    );
  }
});

// What only Python has to get right: int versus float, hashable map keys, iterators as lists.
describe('Python specifics', () => {
  const ref = (zid: string) => ({ Z1K1: 'Z9', Z9K1: zid });
  const str = (s: string) => ({ Z1K1: 'Z6', Z6K1: s });
  const natural = (n: number) => ({ Z1K1: ref('Z13518'), Z13518K1: str(String(n)) });
  const negative = (n: number) => ({
    Z1K1: ref('Z16683'),
    Z16683K1: { Z1K1: ref('Z16659'), Z16659K1: ref('Z16662') },
    Z16683K2: natural(n),
  });
  const call = (code: string, ...args: unknown[]): unknown => ({
    codingLanguage: 'python-3',
    codeString: code,
    functionName: 'Z1000',
    functionArguments: Object.fromEntries(args.map((a, i) => [`Z1000K${i + 1}`, a])),
  });
  /** A canonical typed map of `keyType` → Z6 with one entry. */
  const map = (keyType: unknown, key: unknown, value: string): unknown => {
    const entry = { Z1K1: 'Z7', Z7K1: 'Z882', Z882K1: keyType, Z882K2: 'Z6' };
    return normalize({
      Z1K1: { Z1K1: 'Z7', Z7K1: 'Z883', Z883K1: keyType, Z883K2: 'Z6' },
      K1: [entry, { Z1K1: entry, K1: key, K2: value }],
    });
  };
  const pairType = { Z1K1: 'Z7', Z7K1: 'Z882', Z882K1: 'Z6', Z882K2: 'Z6' };
  const cases: { name: string; body: unknown; expect: Expectation }[] = [
    {
      name: 'a small int is an integer, not a number: natural or integer by its sign',
      body: call('def Z1000(s):\n    return [len(s), -len(s), 0]', str('abc')),
      expect: { value: normalize(['Z1', natural(3), negative(3), natural(0)]) },
    },
    {
      name: 'a float is refused even when it is integral (5.0 is not the integer 5)',
      body: call('def Z1000(s):\n    return 5.0', str('x')),
      expect: { error: 'Z507', text: /number 5 has no ZObject type/ },
    },
    {
      name: 'tuples, generators, map and reversed come back as lists',
      body: call(
        'def Z1000(s):\n    return (c for c in s), tuple(s), map(str.upper, s), reversed(s)',
        str('ab'),
      ),
      expect: {
        value: normalize(['Z1', ['Z6', 'a', 'b'], ['Z6', 'a', 'b'], ['Z6', 'A', 'B'], ['Z6', 'b', 'a']]),
      },
    },
    {
      name: 'pairs are dict keys (by value)',
      body: call(
        "def Z1000(m):\n    return m[ZPair('a', 'b')]",
        map(pairType, { Z1K1: pairType, K1: 'a', K2: 'b' }, 'found'),
      ),
      expect: { value: str('found') },
    },
    {
      name: 'ZObjects are dict keys (by value)',
      body: call(
        "def Z1000(m):\n    return m[ZObject('Z10000', Z10000K1='en')]",
        map('Z10000', { Z1K1: 'Z10000', Z10000K1: 'en' }, 'found'),
      ),
      expect: { value: str('found') },
    },
    {
      name: 'a map key that cannot be a dict key (a list) is refused',
      body: call(
        'def Z1000(m):\n    return m',
        map({ Z1K1: 'Z7', Z7K1: 'Z881', Z881K1: 'Z6' }, ['Z6', 'a'], 'x'),
      ),
      expect: { error: 'Z507', text: /map key of type list is not hashable/ },
    },
    {
      name: 'an exception raised inside a returned generator is a runtime error of the call',
      body: call(
        "def Z1000(s):\n    def g():\n        yield s\n        raise ValueError('boom')\n    return g()",
        str('x'),
      ),
      expect: { error: 'Z507', text: 'ValueError: boom' },
    },
    {
      name: 'an endless generator stops at the output limit',
      body: call('def Z1000(s):\n    import itertools\n    return itertools.count()', str('x')),
      expect: { error: 'Z507', text: /output limit/ },
    },
    {
      name: 'a value with no ZObject type names its repr, as the reference did',
      body: call("def Z1000(s):\n    return [s, {'a'}]", str('x')),
      expect: { error: 'Z507', text: "Could not serialize input Python object: {'a'}" },
    },
  ];
  for (const c of cases) it(c.name, async () => check(await send(target, c.body, 'json'), c.expect));
});

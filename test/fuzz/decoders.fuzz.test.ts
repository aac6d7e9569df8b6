// Property-based fuzzing of the Wikifunctions decoders and codec, in process (src/wikifunctions/
// avro.ts, request.ts, codec.ts, zobject.ts). Whatever bytes or JSON arrive, and whatever a guest
// returns, each entry point either succeeds or fails with its own named error (RequestError,
// CodecError, ZObjectFormatError): never another exception (which the route would turn into a 500),
// never a hang, never a polluted Object.prototype. Bounded runs (a few seconds); fast-check prints
// the seed and path of a failure, and FUZZ_SEED=<seed> replays it.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeAvroRequest, encodeAvroRequest } from '../../src/wikifunctions/avro.js';
import { CodecError, fromGuestValue, toGuestValue } from '../../src/wikifunctions/codec.js';
import { decodeRequest, RequestError } from '../../src/wikifunctions/request.js';
import {
  normalize,
  stringifyZObject,
  type ZNode,
  ZObjectFormatError,
} from '../../src/wikifunctions/zobject.js';
import {
  avroBody,
  fuzzOptions,
  guestValue,
  prototypeFingerprint,
  REFERENCES,
  requestFixtures,
  zkey,
  zobject,
} from './arbitraries.js';

const PROTOTYPES = prototypeFingerprint();
// A hang bound, not a speed target: generous, because the machines running the suite are shared.
const MAX_MS = 10_000;

/** Runs `work`, expecting success or one of the named errors, quickly, with prototypes intact. */
function contained<T>(
  work: () => T,
  allowed: readonly (abstract new (...args: never[]) => Error)[],
): T | undefined {
  const started = performance.now();
  let result: T | undefined;
  try {
    result = work();
  } catch (error) {
    if (!allowed.some((E) => error instanceof E)) throw error;
  }
  expect(performance.now() - started).toBeLessThan(MAX_MS);
  expect(prototypeFingerprint()).toBe(PROTOTYPES);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  return result;
}

/** Converts every argument of a decoded request as the route does. */
function convertArguments(request: ReturnType<typeof decodeRequest>): void {
  for (const a of request.args) contained(() => toGuestValue(a.value, a.declaredType), [CodecError]);
}

const fixtures = requestFixtures();

/** Replaces the subtree at a path of key indexes (modulo each level's key count) with `value`. */
function replaceAt(root: unknown, path: readonly number[], value: unknown): unknown {
  const copy = structuredClone(root);
  let node = copy as Record<string, unknown>;
  for (const [depth, index] of path.entries()) {
    const keys = Object.keys(node);
    if (keys.length === 0) break;
    const key = keys[index % keys.length]!;
    const child = node[key];
    if (depth === path.length - 1 || typeof child !== 'object' || child === null) {
      node[key] = value;
      break;
    }
    node = child as Record<string, unknown>;
  }
  return copy;
}

describe('Avro request bodies', () => {
  it('encode a Z99-typed record that is not a quote as a record (found by this fuzzer)', () => {
    const node = { Z1K1: { Z1K1: 'Z9', Z9K1: 'Z99' }, K1: { Z1K1: 'Z6', Z6K1: 'x' } };
    expect(decodeAvroRequest(encodeAvroRequest('0.0.1', node))).toEqual({ version: '0.0.1', zobject: node });
  });

  it('decode or fail with RequestError, fast, for mutated golden vectors and random bytes', () => {
    fc.assert(
      fc.property(avroBody, (body) => {
        const request = contained(() => decodeRequest(body, 'application/octet-stream'), [RequestError]);
        if (request !== undefined) convertArguments(request);
      }),
      fuzzOptions(4000),
    );
  });
});

describe('JSON request bodies', () => {
  const flat = fc.record(
    {
      codingLanguage: fc.oneof(
        fc.constantFrom('javascript', 'python-3', 'Z600', '', 'constructor'),
        fc.string(),
      ),
      codeString: fc.string({ maxLength: 20 }),
      functionName: fc.oneof(
        fc.constantFrom('f', 'Z1000', '__proto__', '', 'a b'),
        fc.string({ maxLength: 8 }),
      ),
      functionArguments: fc.oneof(fc.dictionary(zkey, zobject, { maxKeys: 4 }), zobject),
      remainingTime: fc.oneof(fc.double(), fc.string({ maxLength: 3 }), fc.constant(null)),
      reentrant: fc.anything(),
    },
    { requiredKeys: [] },
  );
  const mutatedFixture = fc
    .tuple(fc.constantFrom(...fixtures), fc.array(fc.nat(), { minLength: 1, maxLength: 8 }), zobject)
    .map(([root, path, value]) => replaceAt(root, path, value));
  const wrapped = fc.record({ reentrant: fc.anything(), zobject: fc.oneof(mutatedFixture, zobject) });

  it('decode or fail with RequestError for flat, Z7, wrapped and arbitrary bodies', () => {
    fc.assert(
      fc.property(fc.oneof(flat, mutatedFixture, wrapped, zobject, fc.jsonValue()), (value) => {
        const body = new TextEncoder().encode(JSON.stringify(value) ?? 'null');
        const request = contained(() => decodeRequest(body, 'application/json'), [RequestError]);
        if (request !== undefined) convertArguments(request);
      }),
      fuzzOptions(3000),
    );
  });

  it('fail with RequestError for bytes that are not JSON at all', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (body) => {
        contained(() => decodeRequest(body, 'application/json'), [RequestError]);
      }),
      fuzzOptions(2000),
    );
  });
});

describe('ZObjects', () => {
  it('normalize or fail with ZObjectFormatError; a normalized object stringifies to the same JSON', () => {
    fc.assert(
      fc.property(zobject, (value) => {
        const node = contained(() => normalize(value), [ZObjectFormatError]);
        if (node !== undefined) {
          const text = stringifyZObject(node);
          expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(node)));
          // Normal form is a fixed point.
          expect(stringifyZObject(normalize(node))).toBe(text);
        }
      }),
      fuzzOptions(3000),
    );
  });
});

describe('guest values back to ZObjects (the zobject codec)', () => {
  const declared = fc.option(
    fc.oneof(
      fc.constantFrom(...REFERENCES),
      zobject.map((z) => {
        try {
          return normalize(z);
        } catch {
          return 'Z1';
        }
      }),
    ),
    { nil: undefined },
  );

  it('serialize or fail with CodecError, whatever the guest returned and whatever the declared type', () => {
    fc.assert(
      fc.property(guestValue, declared, (value, type) => {
        const node = contained(
          () => fromGuestValue(value as never, type as ZNode | string | undefined),
          [CodecError],
        );
        if (node !== undefined) expect(() => JSON.parse(stringifyZObject(node))).not.toThrow();
      }),
      fuzzOptions(4000),
    );
  });

  it('carry strings and lists of strings there and back unchanged', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.array(fc.string(), { maxLength: 6 })), (value) => {
        const node = fromGuestValue(value);
        expect(toGuestValue(node)).toEqual(value);
      }),
      fuzzOptions(500),
    );
  });
});

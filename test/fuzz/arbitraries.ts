// fast-check arbitraries shared by the fuzz tests: ZObject-shaped JSON (keys and references drawn
// mostly from the real vocabulary, some garbage), guest values as runners hand them to the codec
// (tagged pairs, maps and ZObjects), Avro bodies (the golden vectors mutated byte by byte), and
// run options that print the seed of a failure (FUZZ_SEED replays one, FUZZ_RUNS_SCALE scales the runs).

import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { encodeAvroRequest } from '../../src/wikifunctions/avro.js';
import { normalize } from '../../src/wikifunctions/zobject.js';

const FIXTURES = new URL('../fixtures/wikifunctions/', import.meta.url);

/** Run options: bounded runs, the seed of a failure printed (fast-check does), replayable. */
export function fuzzOptions(numRuns: number): fc.Parameters<unknown> {
  const seed = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
  const scale = Number(process.env.FUZZ_RUNS_SCALE ?? '1');
  return {
    numRuns: Math.max(1, Math.round(numRuns * scale)),
    ...(seed === undefined ? {} : { seed }),
    verbose: 1,
    endOnFailure: true,
  };
}

export const REFERENCES = [
  'Z1',
  'Z4',
  'Z6',
  'Z7',
  'Z8',
  'Z9',
  'Z10',
  'Z14',
  'Z16',
  'Z17',
  'Z21',
  'Z40',
  'Z41',
  'Z42',
  'Z60',
  'Z61',
  'Z99',
  'Z600',
  'Z610',
  'Z881',
  'Z882',
  'Z883',
  'Z13518',
  'Z16683',
  'Z16659',
  'Z16660',
  'Z1000',
  'Z10000',
] as const;

export const KEYS = [
  'Z1K1',
  'Z6K1',
  'Z9K1',
  'K1',
  'K2',
  'K3',
  'Z4K1',
  'Z4K2',
  'Z7K1',
  'Z8K1',
  'Z8K2',
  'Z8K4',
  'Z8K5',
  'Z10K1',
  'Z10K2',
  'Z14K3',
  'Z16K1',
  'Z16K2',
  'Z17K1',
  'Z17K2',
  'Z40K1',
  'Z61K1',
  'Z99K1',
  'Z881K1',
  'Z882K1',
  'Z882K2',
  'Z883K1',
  'Z883K2',
  'Z1000K1',
  'Z1000K2',
  'Z13518K1',
  'Z16683K1',
  'Z16683K2',
  'Z16659K1',
] as const;

export const zkey = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...KEYS) },
  { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'toString', '', '\u0000pair') },
  { weight: 1, arbitrary: fc.string({ maxLength: 6 }) },
);

/** JSON shaped like ZObjects in canonical or normal form, with some garbage mixed in. */
export const zobject: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(...REFERENCES),
    fc.string({ maxLength: 8 }),
    fc.record({ Z1K1: fc.constant('Z6'), Z6K1: fc.string({ maxLength: 8 }) }),
    fc.record({ Z1K1: fc.constant('Z9'), Z9K1: fc.constantFrom(...REFERENCES) }),
    fc.array(tie('node'), { maxLength: 4 }),
    fc.dictionary(zkey, tie('node'), { maxKeys: 5 }),
    fc
      .record({ Z1K1: tie('node') }, { requiredKeys: [] })
      .chain((base) =>
        fc.dictionary(zkey, tie('node'), { maxKeys: 3 }).map((rest) => ({ ...rest, ...base })),
      ),
    fc.constant(null),
    fc.integer(),
    fc.boolean(),
  ),
})).node;

/** Values as a guest runner hands them to the codec: JSON plus the zobject codec's tags. */
export const guestValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.string({ maxLength: 8 }),
    fc.constantFrom(...REFERENCES),
    fc.integer(),
    fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(zkey, tie('v'), { maxKeys: 4 }),
    fc.array(tie('v'), { maxLength: 3 }).map((pair) => ({ '\u0000pair': pair })),
    fc.array(fc.array(tie('v'), { maxLength: 3 }), { maxLength: 3 }).map((map) => ({ '\u0000map': map })),
    fc.dictionary(zkey, tie('v'), { maxKeys: 4 }).map((keys) => ({ '\u0000zobject': keys })),
  ),
})).v;

/** Every fixture of the Wikifunctions tests that is a JSON object (valid and invalid requests). */
export function requestFixtures(): unknown[] {
  const out: unknown[] = [];
  for (const name of readdirSync(FIXTURES)) {
    if (!name.endsWith('.json') || name === 'avro_request_vectors.json') continue;
    try {
      const value = JSON.parse(readFileSync(new URL(name, FIXTURES), 'utf8')) as unknown;
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) out.push(value);
    } catch {
      // not a request
    }
  }
  return out;
}

/** The golden Avro vectors (every version), as bytes. */
export function avroVectors(): Uint8Array[] {
  const vectors = JSON.parse(readFileSync(new URL('avro_request_vectors.json', FIXTURES), 'utf8')) as Record<
    string,
    Record<string, unknown>
  >;
  return Object.values(vectors).flatMap((v) =>
    ['v001_unversioned_base64', 'v002_base64', 'v003_base64', 'v004_base64'].map(
      (k) => new Uint8Array(Buffer.from(v[k] as string, 'base64')),
    ),
  );
}

/** Applies byte edits (set, insert, delete) and an optional cut to a body. */
export function mutate(
  body: Uint8Array,
  edits: readonly { at: number; byte: number; op: 'set' | 'insert' | 'delete' }[],
  cut: number | null,
): Uint8Array {
  const bytes = [...body];
  for (const e of edits) {
    const at = bytes.length === 0 ? 0 : e.at % bytes.length;
    if (e.op === 'set') bytes[at] = e.byte;
    else if (e.op === 'insert') bytes.splice(at, 0, e.byte);
    else bytes.splice(at, 1);
  }
  return new Uint8Array(cut === null ? bytes : bytes.slice(0, cut % (bytes.length + 1)));
}

const edit = fc.record({
  at: fc.nat(),
  byte: fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0x00, 0x01, 0x02, 0x7f, 0x80, 0xfe, 0xff)),
  op: fc.constantFrom('set' as const, 'insert' as const, 'delete' as const),
});
export const edits = fc.array(edit, { maxLength: 6 });

/** Normal-form ZObjects (what normalize makes of `zobject`; a plain string where it refuses). */
export const normalZObject = zobject.map((value) => {
  try {
    return normalize(value);
  } catch {
    return normalize('x');
  }
});

/** Well-formed Avro bodies of every version with arbitrary ZObjects inside (then lightly mutated). */
const encodedAvro = fc
  .tuple(
    fc.constantFrom('0.0.1' as const, '0.0.2' as const, '0.0.3' as const, '0.0.4' as const),
    normalZObject,
    fc.dictionary(zkey, normalZObject, { maxKeys: 3 }),
    fc.constantFrom('javascript', 'python-3', 'Z600', 'lua', ''),
    fc.double(),
  )
  .map(([version, zobjectValue, args, language, remainingTime]) =>
    version === '0.0.1' || version === '0.0.2'
      ? encodeAvroRequest(
          version,
          version === '0.0.1' ? (zobjectValue as Record<string, unknown>) : { zobject: zobjectValue },
        )
      : encodeAvroRequest(version, {
          codingLanguage: language,
          codeString: 'function f(a) { return a }',
          functionName: 'f',
          functionArguments: args,
          remainingTime,
        }),
  );

/** Avro bodies: a golden vector or an encoded one mutated, or random bytes behind a version prefix. */
export const avroBody = fc.oneof(
  fc
    .tuple(fc.constantFrom(...avroVectors()), edits, fc.option(fc.nat(), { nil: null }))
    .map(([body, e, cut]) => mutate(body, e, cut)),
  fc
    .tuple(
      encodedAvro,
      fc.array(
        edits.map((e) => e[0]!).filter((e) => e !== undefined),
        { maxLength: 2 },
      ),
    )
    .map(([body, e]) => mutate(new Uint8Array(body), e, null)),
  fc
    .tuple(
      fc.constantFrom('', '0.0.1', '0.0.2', '0.0.3', '0.0.4', '9.9.9', '0.0'),
      fc.uint8Array({ maxLength: 200 }),
    )
    .map(([version, rest]) =>
      version === '' ? rest : new Uint8Array([version.length, ...Buffer.from(version, 'latin1'), ...rest]),
    ),
);

/** What Object.prototype looks like now (to tell that nothing polluted it). */
export function prototypeFingerprint(): string {
  return [Object.prototype, Array.prototype, Function.prototype]
    .map((p) => Object.getOwnPropertyNames(p).sort().join(','))
    .join('|');
}

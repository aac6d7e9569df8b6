// Unit tests of Avro request decoding: the golden vectors (produced by function-schemata's own
// serializer) must decode to the documented objects, our encoder must reproduce them byte for
// byte, and hostile bodies must fail fast and cleanly.

import { describe, expect, it } from 'vitest';
import {
  AvroDecodeError,
  decodeAvroRequest,
  encodeAvroRequest,
  MAX_AVRO_DEPTH,
  splitVersion,
} from '../../src/wikifunctions/avro.js';
import { decodeRequest, RequestError } from '../../src/wikifunctions/request.js';
import { normalize, stringifyZObject } from '../../src/wikifunctions/zobject.js';
import { avroLong, avroString } from '../helpers/avro-bytes.js';
import { fixture } from './helpers.js';

interface Vector {
  v001_unversioned_base64: string;
  v002_base64: string;
  v003_base64: string;
  v004_base64: string;
  v004_decoded: Record<string, unknown>;
}

const vectors = fixture<Record<string, Vector>>('avro_request_vectors.json');
const bytes = (base64: string): Buffer => Buffer.from(base64, 'base64');

describe.each(Object.keys(vectors))('golden vectors of %s', (name) => {
  const vector = vectors[name]!;
  const z7 = fixture<Record<string, unknown>>(name);
  const { remainingTime: _, ...v003Decoded } = vector.v004_decoded;

  it('0.0.1 (unversioned) decodes to the Z7 fixture', () => {
    expect(decodeAvroRequest(bytes(vector.v001_unversioned_base64))).toEqual({
      version: '0.0.1',
      zobject: z7,
    });
  });

  it('0.0.2 decodes to {reentrant, zobject: the Z7 fixture}', () => {
    expect(decodeAvroRequest(bytes(vector.v002_base64))).toEqual({
      version: '0.0.2',
      reentrant: false,
      zobject: z7,
    });
  });

  it('0.0.3 decodes to the documented flat object (without remainingTime)', () => {
    expect(decodeAvroRequest(bytes(vector.v003_base64))).toEqual({ version: '0.0.3', ...v003Decoded });
  });

  it('0.0.4 decodes to v004_decoded', () => {
    expect(decodeAvroRequest(bytes(vector.v004_base64))).toEqual({
      version: '0.0.4',
      ...vector.v004_decoded,
    });
  });

  it('our encoder reproduces every vector byte for byte', () => {
    expect(encodeAvroRequest('0.0.1', z7).toString('base64')).toBe(vector.v001_unversioned_base64);
    expect(encodeAvroRequest('0.0.2', { reentrant: false, zobject: z7 }).toString('base64')).toBe(
      vector.v002_base64,
    );
    expect(encodeAvroRequest('0.0.3', v003Decoded).toString('base64')).toBe(vector.v003_base64);
    expect(encodeAvroRequest('0.0.4', vector.v004_decoded).toString('base64')).toBe(vector.v004_base64);
  });

  it('every version becomes the same evaluation request', () => {
    const requests = (['v001_unversioned_base64', 'v002_base64', 'v003_base64', 'v004_base64'] as const).map(
      (key) => decodeRequest(bytes(vector[key]), 'application/octet-stream'),
    );
    for (const request of requests) {
      expect(request.language).toBe(vector.v004_decoded.codingLanguage);
      expect(request.code).toBe(vector.v004_decoded.codeString);
      expect(request.functionName).toBe(vector.v004_decoded.functionName);
      expect(request.args.map((a) => a.key)).toEqual(
        Object.keys(vector.v004_decoded.functionArguments as object),
      );
      expect(request.args.map((a) => a.value)).toEqual(
        Object.values(vector.v004_decoded.functionArguments as object),
      );
    }
    expect(requests.map((r) => r.form)).toEqual(['avro-0.0.1', 'avro-0.0.2', 'avro-0.0.3', 'avro-0.0.4']);
    expect(requests[3]!.remainingTime).toBe(15);
    expect(requests[0]!.returnType).toEqual({ Z1K1: 'Z9', Z9K1: 'Z6' });
  });
});

describe('Avro bodies', () => {
  it('tells versioned from unversioned bodies by the prefix', () => {
    expect(splitVersion(Buffer.from('\u00050.0.4rest', 'latin1'))).toMatchObject({ version: '0.0.4' });
    expect(splitVersion(Buffer.from([6, 8, 8]))).toMatchObject({ version: '0.0.1' });
    expect(splitVersion(Buffer.from([5, 48]))).toMatchObject({ version: '0.0.1' });
    expect(() => decodeAvroRequest(Buffer.from('\u00050.0.9\u0000', 'latin1'))).toThrow(
      /Unsupported Avro request version "0.0.9"/,
    );
  });

  it('round-trips quotes (Z99) through their JSON text', () => {
    const z7 = {
      Z1K1: { Z1K1: 'Z9', Z9K1: 'Z7' },
      Z7K1: { Z1K1: 'Z9', Z9K1: 'Z801' },
      Z801K1: { Z1K1: { Z1K1: 'Z9', Z9K1: 'Z99' }, Z99K1: { Z1K1: 'Z6', Z6K1: 'q' } },
    };
    expect(decodeAvroRequest(encodeAvroRequest('0.0.1', z7))).toEqual({ version: '0.0.1', zobject: z7 });
  });

  it('refuses forged block counts at once instead of looping over them', () => {
    for (const count of [1e3, 1e9, 2 ** 52]) {
      const body = Buffer.from([...avroLong(3), ...avroLong(count), ...avroLong(2), 65, 66, 2, 0]);
      const started = performance.now();
      expect(() => decodeAvroRequest(body)).toThrow(AvroDecodeError);
      expect(performance.now() - started).toBeLessThan(1_000); // avsc alone looped for minutes
    }
  });

  it('refuses truncated bodies, trailing bytes, bad union branches and bad booleans', () => {
    const good = encodeAvroRequest('0.0.2', { reentrant: true, zobject: fixture('javascript_add_Z7.json') });
    expect(decodeAvroRequest(good)).toMatchObject({ reentrant: true });
    expect(() => decodeAvroRequest(good.subarray(0, good.length - 3))).toThrow(/Truncated/);
    expect(() => decodeAvroRequest(Buffer.concat([good, Buffer.from([0])]))).toThrow(/Trailing bytes/);
    expect(() => decodeAvroRequest(Buffer.from([...avroLong(9)]))).toThrow(/union branch/);
    expect(() => decodeAvroRequest(Buffer.from('\u00050.0.2\u0007', 'latin1'))).toThrow(/boolean/);
  });

  /** An unversioned body holding a typed list of n strings (n + 1 records deep), built by hand. */
  const deepList = (n: number): Buffer => {
    const out: number[] = [...avroLong(3)]; // outer union branch: Z1
    const cell = [
      ...avroLong(3),
      ...avroString('Z1K1'),
      ...avroLong(2),
      ...avroString('Z881'),
      ...avroString('K1'),
      ...avroLong(1),
      ...avroString('a'),
    ];
    for (let i = 0; i < n; i++) out.push(...cell, ...avroString('K2'), ...avroLong(0)); // inner union branch 0: Z1
    out.push(...avroLong(1), ...avroString('Z1K1'), ...avroLong(2), ...avroString('Z881'), 0);
    for (let i = 0; i < n; i++) out.push(0); // end of each enclosing map
    return Buffer.from(out);
  };

  it(`decodes lists nested up to ${MAX_AVRO_DEPTH} levels and refuses deeper ones cleanly`, () => {
    const request = decodeAvroRequest(deepList(MAX_AVRO_DEPTH - 1));
    expect(request.version).toBe('0.0.1');
    for (const n of [MAX_AVRO_DEPTH + 1, 100_000]) {
      const body = deepList(n);
      const started = performance.now();
      expect(() => decodeAvroRequest(body)).toThrow(`ZObject nested deeper than ${MAX_AVRO_DEPTH} levels`);
      expect(performance.now() - started).toBeLessThan(1_000); // (a noisy machine: generous bound)
    }
  });

  it('decodes a flat request whose argument is a long list', () => {
    const list = JSON.parse(
      stringifyZObject(normalize(['Z6', ...Array<string>(MAX_AVRO_DEPTH - 10).fill('a')])),
    );
    const body = encodeAvroRequest('0.0.4', {
      remainingTime: 1,
      codingLanguage: 'x',
      codeString: '',
      functionName: 'Z1',
      functionArguments: { Z1K1: list },
    } satisfies Record<string, unknown>);
    const request = decodeRequest(body, 'application/octet-stream');
    expect(stringifyZObject(request.args[0]!.value)).toBe(stringifyZObject(list));
  });

  it('reports undecodable bodies as invalid requests', () => {
    let caught: unknown;
    try {
      decodeRequest(Buffer.from([7, 7, 7]), 'application/octet-stream');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(RequestError);
  });
});

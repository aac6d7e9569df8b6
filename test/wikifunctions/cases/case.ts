// What a Wikifunctions end-to-end case is (language, body, transports, expected answer), the
// transports a body can be sent over and how it is encoded for each, and the small builders the
// case files share.

import { encodeAvroRequest } from '../../../src/wikifunctions/avro.js';
import { decodeRequest } from '../../../src/wikifunctions/request.js';
import { normalize, stringifyZObject } from '../../../src/wikifunctions/zobject.js';
import { fixture } from '../helpers.js';

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
export const Z7_AND_V002: readonly Transport[] = ['json', 'avro-0.0.2'];
export const FLAT: readonly Transport[] = ['json', 'avro-0.0.4'];

export const value = (file: string): Expectation => ({ value: fixture<{ Z22K1: unknown }>(file).Z22K1 });
export const flat = (language: Language, file: string, extra: Record<string, unknown> = {}): unknown => ({
  ...fixture<object>(file),
  codingLanguage: language === 'javascript' ? 'javascript' : 'python-3',
  ...extra,
});

/** A flat request calling Z1000 with one argument. */
export const call1 = (language: Language, code: string, argument: unknown): unknown => ({
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

// Z22 response envelopes and Z5 errors, in normal form. An envelope is always
// {Z1K1: Z22, Z22K1: value or Z24 (void), Z22K2: typed map Z883(Z6 → Z1)}; the map carries
// "errors" (one Z5) and the metadata keys the reference evaluator set. Every Z5 names its type
// (Z5K1) from the Z5xx catalogue, and its value (Z5K2) is an instance of that type built with
// Z885, holding exactly the keys the catalogue declares for it.

import { listType, makeList, mapType, pairType, type ZNode, zRef, zString } from './zobject.js';

/** The error types this service reports, with the keys the catalogue declares for each. */
export const ERROR_TYPES = {
  /** Unspecified error: K1 error information. Used for the message inside other errors. */
  Z500: ['Z500K1'],
  /** JSON syntax error: K1 error message, K2 input. */
  Z501: ['Z501K1', 'Z501K2'],
  /** Error in evaluation: K1 function call (quoted), K2 propagated error. */
  Z507: ['Z507K1', 'Z507K2'],
  /** Return type mismatch: K1 expected type, K2 actual type, K3 returned value, K4 propagated error. */
  Z517: ['Z517K1', 'Z517K2', 'Z517K3', 'Z517K4'],
  /** Invalid programming language: K1 programming language. */
  Z558: ['Z558K1'],
  /** Invalid evaluation request: K1 propagated error. */
  Z561: ['Z561K1'],
  /** Incomplete evaluation request: K1 missing property. */
  Z562: ['Z562K1'],
  /** Reached rate limit in evaluator: K1 evaluator rate limit. */
  Z571: ['Z571K1'],
  /** Reached time limit in evaluator: K1 time limit. */
  Z575: ['Z575K1'],
} as const;

export type ErrorType = keyof typeof ERROR_TYPES;

/** A Z5 of `type` whose Z5K2 holds `values` under the type's keys, in the catalogue's order. */
export function z5(type: ErrorType, ...values: ZNode[]): ZNode {
  const keys = ERROR_TYPES[type];
  if (values.length !== keys.length)
    throw new Error(`${type} takes ${keys.length} values, got ${values.length}`);
  const instance: ZNode = { Z1K1: { Z1K1: zRef('Z7'), Z7K1: zRef('Z885'), Z885K1: zRef(type) } };
  keys.forEach((key, i) => {
    instance[key] = values[i]!;
  });
  return { Z1K1: zRef('Z5'), Z5K1: zRef(type), Z5K2: instance };
}

/** Z500 with a message: the innermost error that carries text. */
export function messageError(message: string): ZNode {
  return z5('Z500', zString(message));
}

/** A quote (Z99) of a ZObject. */
export function quote(node: ZNode): ZNode {
  return { Z1K1: zRef('Z99'), Z99K1: node };
}

/** The type (Z5K1) of a Z5, e.g. "Z507". */
export function errorTypeOf(z5node: ZNode): string | undefined {
  const type = z5node.Z5K1;
  if (typeof type === 'object' && type.Z1K1 === 'Z9' && typeof type.Z9K1 === 'string') return type.Z9K1;
  return typeof type === 'string' ? type : undefined;
}

/**
 * The human-readable text of an error: the strings found walking its Z5K2 (and, through
 * propagated errors, theirs), quotes left out. Tests and logs use it; the envelope keeps the
 * structure.
 */
export function errorText(z5node: ZNode): string {
  const texts: string[] = [];
  const stack: (ZNode | string)[] = [z5node.Z5K2 ?? ''];
  while (stack.length > 0 && texts.length < 8) {
    const node = stack.pop()!;
    if (typeof node === 'string') continue;
    if (node.Z1K1 === 'Z6' && typeof node.Z6K1 === 'string') {
      texts.push(node.Z6K1);
      continue;
    }
    const type = node.Z1K1;
    if (typeof type === 'object' && type.Z1K1 === 'Z9' && type.Z9K1 === 'Z99') continue; // quoted data, not text
    const values = Object.entries(node)
      .filter(([k]) => k !== 'Z1K1')
      .map(([, v]) => v);
    for (let i = values.length - 1; i >= 0; i--) stack.push(values[i]!);
  }
  return texts.join(': ');
}

/** Metadata entries in the order the reference evaluator wrote them; values are ZObjects. */
export type Metadata = readonly (readonly [string, ZNode])[];

const METADATA_PAIR = pairType(zRef('Z6'), zRef('Z1'));

/** A typed map Z883(Z6 → Z1) in normal form. */
export function metadataMap(entries: Metadata): ZNode {
  const pairs = entries.map(([key, value]): ZNode => ({ Z1K1: METADATA_PAIR, K1: zString(key), K2: value }));
  return { Z1K1: mapType(zRef('Z6'), zRef('Z1')), K1: makeList(listType(METADATA_PAIR), pairs) };
}

/** A Z22: the value (or Z24 void when there is none) and the metadata map. */
export function makeEnvelope(value: ZNode | undefined, metadata: Metadata): ZNode {
  return { Z1K1: zRef('Z22'), Z22K1: value ?? zRef('Z24'), Z22K2: metadataMap(metadata) };
}

/** Reads the metadata map of an envelope back into key → value (for tests and the CLI). */
export function readMetadata(envelope: ZNode): Map<string, ZNode> {
  const out = new Map<string, ZNode>();
  const map = envelope.Z22K2;
  if (typeof map !== 'object') return out;
  let cell = map.K1;
  while (typeof cell === 'object' && typeof cell.K1 === 'object') {
    const pair = cell.K1;
    const key = pair.K1;
    const value = pair.K2;
    if (typeof key === 'object' && typeof key.Z6K1 === 'string' && typeof value === 'object')
      out.set(key.Z6K1, value);
    cell = cell.K2;
  }
  return out;
}

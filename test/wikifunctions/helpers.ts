// Shared helpers of the Wikifunctions tests: fixture loading, the reference evaluator's way of
// comparing envelopes (without any Z1K1), and reading values and errors out of a Z22.

import { readFileSync } from 'node:fs';
import { errorText, errorTypeOf, readMetadata } from '../../src/wikifunctions/envelope.js';
import { stringifyZObject, type ZNode } from '../../src/wikifunctions/zobject.js';

const FIXTURES = new URL('../fixtures/wikifunctions/', import.meta.url);

/** Reads a fixture (path relative to test/fixtures/wikifunctions/). */
export function fixture<T = unknown>(path: string): T {
  return JSON.parse(readFileSync(new URL(path, FIXTURES), 'utf8')) as T;
}

/**
 * A deep copy without any Z1K1 key, as the reference tests compare (withoutZ1K1s). Iterative:
 * normal-form lists are as deep as they are long.
 */
export function withoutZ1K1s(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const copy = (v: object): Record<string, unknown> =>
    (Array.isArray(v) ? [] : {}) as Record<string, unknown>;
  const root = copy(value);
  const stack: [object, Record<string, unknown>][] = [[value, root]];
  while (stack.length > 0) {
    const [source, target] = stack.pop()!;
    for (const [key, child] of Object.entries(source)) {
      if (key === 'Z1K1' && !Array.isArray(source)) continue;
      if (typeof child === 'object' && child !== null) {
        target[key] = copy(child);
        stack.push([child, target[key] as Record<string, unknown>]);
      } else {
        target[key] = child;
      }
    }
  }
  return root;
}

/** Deep equality that also works for values too deep for the test runner's own comparison. */
export function sameJson(actual: unknown, expected: unknown): boolean {
  const text = (v: unknown): string => stringifyZObject(v as ZNode);
  return text(actual) === text(expected);
}

/** The error (Z5) of an envelope, or undefined for a success. */
export function envelopeError(envelope: ZNode): ZNode | undefined {
  return readMetadata(envelope).get('errors');
}

export interface ErrorSummary {
  readonly type: string | undefined;
  readonly text: string;
}

export function summarizeError(envelope: ZNode): ErrorSummary | undefined {
  const error = envelopeError(envelope);
  return error === undefined ? undefined : { type: errorTypeOf(error), text: errorText(error) };
}

/** A copy of `value` with `path` (dot-separated keys) set to `replacement`. */
export function splice(value: unknown, path: string, replacement: unknown): unknown {
  const copy = structuredClone(value) as Record<string, unknown>;
  const keys = path.split('.');
  let target = copy;
  for (const key of keys.slice(0, -1)) target = target[key] as Record<string, unknown>;
  target[keys[keys.length - 1]!] = replacement;
  return copy;
}

/** The code text of an "..._implementation.json" fragment (a Z6). */
export function implementation(path: string): string {
  return fixture<{ Z6K1: string }>(path).Z6K1;
}

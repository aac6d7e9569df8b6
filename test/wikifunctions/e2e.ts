// Runs the case table of cases.ts against a real server: one server per test file, started with
// only the language the file needs (POLYEVAL_E2E_URL points the tests at a running server instead).

import { expect } from 'vitest';
import { discoverLanguages } from '../../src/executor/registry.js';
import { errorTypeOf, readMetadata } from '../../src/wikifunctions/envelope.js';
import { normalize, type ZNode } from '../../src/wikifunctions/zobject.js';
import { type RunningServer, startServer } from '../helpers/server.js';
import { type Case, type Expectation, encodeBody, type Language, type Transport } from './cases.js';
import { envelopeError, sameJson, summarizeError, withoutZ1K1s } from './helpers.js';

export interface Target {
  readonly url: string;
  close(): Promise<void>;
}

/** The id of the language folder whose manifest routes this Wikifunctions name. */
export function languageId(name: Language): string {
  const routed = discoverLanguages().find((l) => l.manifest.wikifunctions?.names.includes(name));
  return routed?.manifest.id ?? name;
}

export async function startTarget(language: Language): Promise<Target> {
  const external = process.env.POLYEVAL_E2E_URL;
  if (external !== undefined && external !== '')
    return { url: external.replace(/\/$/, ''), close: async () => {} };
  const server: RunningServer = await startServer({
    POLYEVAL_LANGUAGES: languageId(language),
    POLYEVAL_POOL_SIZE: '2',
  });
  return { url: server.url, close: () => server.close() };
}

export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly envelope: ZNode;
}

export async function post(
  target: Target,
  data: Uint8Array | string,
  contentType: string,
  path = '/1/v1/evaluate/',
): Promise<Answer> {
  const response = await fetch(`${target.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: typeof data === 'string' ? data : new Uint8Array(data),
  });
  const text = await response.text();
  let envelope: ZNode;
  try {
    envelope = JSON.parse(text) as ZNode;
  } catch {
    throw new Error(`HTTP ${response.status}: not JSON: ${text.slice(0, 500)}`);
  }
  return { status: response.status, headers: response.headers, envelope };
}

export async function send(target: Target, body: unknown, transport: Transport): Promise<Answer> {
  const { contentType, data } = encodeBody(body, transport);
  return post(target, data, contentType);
}

/** Checks an envelope the way the reference tests did: Z22K1 and the error, without Z1K1s. */
export function check(answer: Answer, expectation: Expectation): void {
  const { envelope } = answer;
  expect(answer.status, JSON.stringify(summarizeError(envelope))).toBe(200);
  expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
  if ('value' in expectation) {
    expect(summarizeError(envelope)).toBeUndefined();
    const actual = withoutZ1K1s(envelope.Z22K1);
    const expected = withoutZ1K1s(normalize(expectation.value));
    // Long lists are too deep for toEqual (it recurses): compare their text instead.
    if (!sameJson(actual, expected)) expect(actual).toEqual(expected);
    return;
  }
  expect(envelope.Z22K1).toEqual({ Z1K1: 'Z9', Z9K1: 'Z24' });
  const error = envelopeError(envelope);
  expect(error, 'an error in Z22K2').toBeDefined();
  const summary = summarizeError(envelope)!;
  // Every failure also says what happened in one sentence, right after the error.
  const metadata = [...readMetadata(envelope)];
  const errorMessage = metadata[1];
  expect(metadata[0]?.[0]).toBe('errors');
  expect(errorMessage?.[0]).toBe('errorMessage');
  const sentence = (errorMessage?.[1] as ZNode | undefined)?.Z6K1;
  expect(typeof sentence === 'string' && sentence.trim() !== '', 'a non-empty errorMessage').toBe(true);
  if (expectation.phrase !== undefined) expect(sentence).toContain(expectation.phrase);
  expect(errorTypeOf(error!), summary.text).toBe(expectation.error);
  expect(summary.text.trim()).not.toBe('');
  if (typeof expectation.text === 'string') expect(summary.text).toContain(expectation.text);
  else if (expectation.text !== undefined) expect(summary.text).toMatch(expectation.text);
}

/** Name of one test: the case and the transport. */
export const title = (c: Case, transport: Transport): string => `${c.name} [${transport}]`;

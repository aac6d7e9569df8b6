// The Wikifunctions API end to end, against the real server with the JavaScript engine: every
// JavaScript fixture and request-level fixture over each transport the reference used, the golden
// Avro vectors as they are, our own cases, and the protocol around them (metadata, _info, bodies
// that are not requests).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readMetadata } from '../../src/wikifunctions/envelope.js';
import { casesFor, vectorCases } from './cases.js';
import { check, post, send, startTarget, type Target, title } from './e2e.js';
import { fixture, summarizeError } from './helpers.js';

let target: Target;

beforeAll(async () => {
  target = await startTarget('javascript');
});
afterAll(async () => {
  await target?.close();
});

describe('cases', () => {
  for (const c of casesFor('javascript')) {
    for (const transport of c.transports) {
      it(title(c, transport), async () => check(await send(target, c.body, transport), c.expect));
    }
  }
});

describe('golden Avro vectors, sent as they are', () => {
  for (const v of vectorCases().filter((v) => v.language === 'javascript')) {
    it(v.name, async () =>
      check(await post(target, Buffer.from(v.base64, 'base64'), 'application/octet-stream'), v.expect),
    );
  }
});

describe('protocol', () => {
  const add = fixture('javascript_add_Z7.json');

  it('answers with a normal-form Z22 whose metadata the reference keys, in honest units', async () => {
    const { envelope } = await send(target, add, 'json');
    const metadata = readMetadata(envelope);
    const text = (key: string): string => (metadata.get(key) as { Z6K1: string } | undefined)?.Z6K1 ?? '';
    expect([...metadata.keys()]).toEqual([
      'evaluationMemoryUsage',
      'evaluationCpuUsage',
      'evaluationStartTime',
      'evaluationEndTime',
      'evaluationDuration',
      'evaluationHostname',
      'executionMemoryUsage',
      'executionCpuUsage',
      'programmingLanguageVersion',
      'executorDebugLogs',
    ]);
    for (const key of ['evaluationCpuUsage', 'evaluationDuration', 'executionCpuUsage'])
      expect(text(key)).toMatch(/^\d+(\.\d+)? ms$/);
    for (const key of ['evaluationMemoryUsage', 'executionMemoryUsage'])
      expect(text(key)).toMatch(/^\d+(\.\d+)? MiB$/);
    const started = Date.parse(text('evaluationStartTime'));
    const ended = Date.parse(text('evaluationEndTime'));
    expect(ended).toBeGreaterThanOrEqual(started);
    expect(Math.abs(Date.now() - ended)).toBeLessThan(60_000);
    expect(text('evaluationHostname')).not.toBe('');
    expect(text('programmingLanguageVersion')).not.toBe('');
    expect(text('executorDebugLogs')).toBe('');
    // The sandbox's memory, not the service's RSS (which is well above 64 MiB with engines loaded).
    expect(Number.parseFloat(text('executionMemoryUsage'))).toBeLessThanOrEqual(64);
  });

  it("puts the guest's output in executorDebugLogs, never in the value", async () => {
    const body = {
      codingLanguage: 'javascript',
      codeString: 'function Z1000() { console.log("to stdout"); console.error("to stderr"); return "v"; }',
      functionName: 'Z1000',
      functionArguments: {},
    };
    const { envelope } = await send(target, body, 'json');
    expect(envelope.Z22K1).toEqual({ Z1K1: 'Z6', Z6K1: 'v' });
    expect(readMetadata(envelope).get('executorDebugLogs')).toEqual({
      Z1K1: 'Z6',
      Z6K1: 'to stdout\nto stderr\n',
    });
  });

  it('serves the route with and without the trailing slash, for any domain', async () => {
    for (const path of ['/1/v1/evaluate', '/wikifunctions.org/v1/evaluate/']) {
      const answer = await post(target, JSON.stringify(add), 'application/json', path);
      check(answer, { value: fixture<{ Z22K1: unknown }>('add_expected.json').Z22K1 });
    }
  });

  it('accepts {reentrant, zobject} with reentrant true', async () => {
    check(await send(target, { reentrant: true, zobject: add }, 'json'), {
      value: { Z1K1: 'Z6', Z6K1: '13' },
    });
  });

  it('answers bodies that are not requests with a Z22 error, not an HTTP error', async () => {
    const cases: [string | Uint8Array, string, string][] = [
      ['{"Z1K1": ', 'application/json', 'Z561'],
      ['', 'application/json', 'Z561'],
      ['[]', 'application/json', 'Z561'],
      [new Uint8Array([1, 2, 3]), 'application/octet-stream', 'Z561'],
      [new Uint8Array(0), 'application/octet-stream', 'Z561'],
      ['\u00050.0.7', 'application/octet-stream', 'Z561'],
    ];
    for (const [data, type, error] of cases) {
      const answer = await post(target, data, type);
      expect(answer.status).toBe(200);
      expect(summarizeError(answer.envelope)?.type).toBe(error);
    }
  });

  it('serves GET /_info', async () => {
    const response = await fetch(`${target.url}/_info`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      name: 'polyeval',
      version: expect.stringMatching(/^\d+\.\d+\.\d+/),
    });
  });

  it('keeps serving after every hostile case', async () => {
    check(await send(target, add, 'avro-0.0.4'), { value: { Z1K1: 'Z6', Z6K1: '13' } });
  });
});

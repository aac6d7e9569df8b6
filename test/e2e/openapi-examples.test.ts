// Swagger UI's "Try it out" works as it comes: every request example in /openapi.json is sent, as
// the UI sends it, to a real server with every language, and the answer is the one documented
// under the example's name (same status; same value, language and limits, or the same problem).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson, type RunningServer, startServer } from '../helpers/server.js';

let server: RunningServer;
let doc: any;
beforeAll(async () => {
  server = await startServer({ POLYEVAL_POOL_SIZE: '1' });
  doc = await (await fetch(`${server.url}/openapi.json`)).json();
}, 180_000);
afterAll(() => server?.close());

type Example = { summary: string; value: Record<string, unknown> };

/** The answer documented for a request example: the status and example of the same name. */
function documentedAnswer(operation: any, name: string): { status: number; value: Record<string, unknown> } {
  for (const [status, response] of Object.entries(operation.responses)) {
    for (const media of Object.values((response as any).content ?? {})) {
      const example = (media as { examples?: Record<string, Example> }).examples?.[name];
      if (example !== undefined) return { status: Number(status), value: example.value };
    }
  }
  throw new Error(`No answer example named "${name}"`);
}

describe('/openapi.json examples', () => {
  it('give every enabled language an evaluate example, the first one what Try it out sends', async () => {
    const languages = (
      (await (await fetch(`${server.url}/v1/languages`)).json()) as { languages: { id: string }[] }
    ).languages;
    const examples = doc.paths['/v1/evaluate'].post.requestBody.content['application/json'].examples;
    for (const { id } of languages) expect(Object.keys(examples), id).toContain(id);
    expect(Object.keys(examples).length).toBeGreaterThan(languages.length);
  });

  for (const path of ['/v1/evaluate', '/v1/modules']) {
    it(`${path}: each request example gets its documented answer from the real server`, async () => {
      const operation = doc.paths[path].post;
      const examples = operation.requestBody.content['application/json'].examples as Record<string, Example>;
      expect(Object.keys(examples).length).toBeGreaterThan(0);
      for (const [name, example] of Object.entries(examples)) {
        const expected = documentedAnswer(operation, name);
        const actual = await postJson(`${server.url}${path}`, example.value);
        expect(actual.status, `${path} ${name}: ${JSON.stringify(actual.body)}`).toBe(expected.status);
        if (expected.status >= 400) {
          expect(actual.body.type).toBe(expected.value.type);
          expect(actual.body.errors).toEqual(expected.value.errors);
          expect(actual.body.detail).toBe(expected.value.detail);
        } else {
          // Measures and ids differ from call to call; the rest is as documented.
          const { stats: _s, id: _i, ...documented } = expected.value;
          expect(actual.body, `${path} ${name}`).toMatchObject(documented);
          for (const key of Object.keys(expected.value))
            expect(actual.body, `${path} ${name}`).toHaveProperty(key);
        }
      }
    });
  }

  it('the Wikifunctions route: each request example gets the documented Z22K1', async () => {
    const operation = doc.paths['/{domain}/v1/evaluate/'].post;
    const examples = operation.requestBody.content['application/json'].examples as Record<string, Example>;
    expect(Object.keys(examples).length).toBeGreaterThan(0);
    for (const [name, example] of Object.entries(examples)) {
      const expected = documentedAnswer(operation, name);
      const actual = await postJson(`${server.url}/wikifunctions.org/v1/evaluate/`, example.value);
      expect(actual.status, name).toBe(expected.status);
      expect(actual.body.Z1K1, name).toEqual(expected.value.Z1K1);
      expect(actual.body.Z22K1, name).toEqual(expected.value.Z22K1);
    }
  });

  it('document every answer of the native API with examples', () => {
    for (const [path, status] of [
      ['/v1/evaluate', '200'],
      ['/v1/evaluate', '400'],
      ['/v1/modules', '201'],
      ['/v1/languages', '200'],
    ] as const) {
      const operation = doc.paths[path].post ?? doc.paths[path].get;
      const content = operation.responses[status].content;
      const media = content['application/json'] ?? content['application/problem+json'];
      expect(Object.keys(media.examples ?? {}).length, `${path} ${status}`).toBeGreaterThan(0);
    }
  });
});

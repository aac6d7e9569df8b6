// Remote routing with two real server processes on loopback: an evaluator that runs the language,
// and an orchestrator that routes it there (POLYEVAL_REMOTE_<ID>). Results, guest failures, the
// remote's own limits and its problems pass through; a client that goes away cancels the call on
// the evaluator; an evaluator that is down is a 502 after the retries.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson, type RunningServer, startServer } from '../helpers/server.js';

let evaluator: RunningServer;
let orchestrator: RunningServer;

beforeAll(async () => {
  evaluator = await startServer({
    POLYEVAL_LANGUAGES: 'javascript',
    POLYEVAL_POOL_SIZE: '1',
    POLYEVAL_QUEUE_MAX: '0',
    POLYEVAL_JAVASCRIPT_TIMEOUT_MS_MAX: '3000',
  });
  orchestrator = await startServer({
    POLYEVAL_LANGUAGES: 'javascript',
    POLYEVAL_REMOTE_JAVASCRIPT: evaluator.url,
    POLYEVAL_REMOTE_RETRIES: '1',
  });
});
afterAll(async () => {
  await Promise.all([orchestrator?.close(), evaluator?.close()]);
});

const evaluate = (body: unknown, init?: RequestInit) =>
  postJson(`${orchestrator.url}/v1/evaluate`, body, init);

async function metric(url: string, name: string, labels: string): Promise<number> {
  const text = await fetch(`${url}/metrics`).then((r) => r.text());
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

describe('a language routed to a remote evaluator', () => {
  it('is listed as remote and does not load its engine locally', async () => {
    const info = (await fetch(`${orchestrator.url}/v1/languages`).then((r) => r.json())) as any;
    expect(info.languages[0]).toMatchObject({ id: 'javascript', remote: [evaluator.url], ready: true });
    expect(info.languages[0].details.remote).toBe(true);
    expect(orchestrator.logs()).toContain('"msg":"Language routed to remote"');
    expect(orchestrator.logs()).not.toContain('"msg":"Language ready"');
  });

  it('runs calls there, passing results, output and big integers through', async () => {
    const r = await evaluate(
      { language: 'js', code: 'function main(a) { console.log("hi"); return a }', args: ['x'] },
      { headers: { 'content-type': 'application/json', 'x-request-id': 'trace-remote-1' } },
    );
    expect(r.body).toMatchObject({ ok: true, value: 'x', stdout: 'hi\n', language: 'javascript' });
    const big = await fetch(`${orchestrator.url}/v1/evaluate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"language":"javascript","code":"function main(a) { return a }","args":[123456789012345678901234567890]}',
    }).then((res) => res.text());
    expect(big).toContain('"value":123456789012345678901234567890');
    // The request id travels to the evaluator: both log lines carry it.
    await expect.poll(() => evaluator.logs()).toContain('"reqId":"trace-remote-1"');
    await expect.poll(() => orchestrator.logs()).toContain('"reqId":"trace-remote-1"');
    expect(orchestrator.logs()).toContain('"remote":true');
  });

  it('passes guest failures through, and the limits the evaluator applied', async () => {
    const syntax = await evaluate({ language: 'javascript', code: 'function main() {\n  return (\n}' });
    expect(syntax.status).toBe(200);
    expect(syntax.body.error).toMatchObject({ code: 'SYNTAX_ERROR' });
    const timeout = await evaluate({
      language: 'javascript',
      code: 'function main() { for (;;) {} }',
      limits: { timeoutMs: 10000 },
    });
    // The orchestrator's ceiling is 15 s; the evaluator's is 3 s, and that is what ran.
    expect(timeout.body.error.code).toBe('TIMEOUT');
    expect(timeout.body.limits.timeoutMs).toBe(3000);
  });

  it("passes the evaluator's problems through (503 overloaded with Retry-After)", async () => {
    const calls = Array.from({ length: 3 }, () =>
      evaluate({
        language: 'javascript',
        code: 'function main() { for (;;) {} }',
        limits: { timeoutMs: 300 },
      }),
    );
    const results = await Promise.all(calls);
    const refused = results.filter((r) => r.status === 503);
    expect(refused.length).toBeGreaterThanOrEqual(1);
    for (const r of refused) {
      expect(r.body.type).toContain('overloaded');
      expect(r.body.detail).toMatch(/queue is full/);
      expect(r.headers.get('retry-after')).toBe('1');
    }
  });

  it('cancels the call on the evaluator when the client goes away', async () => {
    const before = await metric(evaluator.url, 'polyeval_sandbox_kills_total', '{language="javascript"}');
    const controller = new AbortController();
    const pending = evaluate(
      { language: 'javascript', code: 'function main() { for (;;) {} }', limits: { timeoutMs: 3000 } },
      { signal: controller.signal },
    ).catch((e: unknown) => e);
    await expect
      .poll(async () => {
        const info = (await fetch(`${evaluator.url}/v1/languages`).then((r) => r.json())) as any;
        return info.languages[0].pool.inFlight;
      })
      .toBe(1);
    controller.abort();
    await pending;
    await expect
      .poll(() => metric(evaluator.url, 'polyeval_sandbox_kills_total', '{language="javascript"}'))
      .toBe(before + 1);
    expect(
      await metric(evaluator.url, 'polyeval_calls_total', '{language="javascript",outcome="cancelled"}'),
    ).toBe(1);
  });

  it('answers 502 upstream-failed once the evaluator is down, after retrying the connection', async () => {
    await evaluator.close();
    const r = await evaluate({ language: 'javascript', code: 'function main() { return 1 }' });
    expect(r.status).toBe(502);
    expect(r.body.type).toContain('upstream-failed');
    expect(r.body.detail).toMatch(/after 2 attempts/);
    expect(orchestrator.logs()).toContain('Cannot reach a remote evaluator');
    // The orchestrator itself stays ready: one evaluator deployment being down is not its failure.
    expect((await fetch(`${orchestrator.url}/readyz`)).status).toBe(200);
  });
});

// Operating the real server: request ids and the one log line per call (never the guest's code or
// arguments at info), Prometheus metrics, the OpenAPI document checked against real answers, a
// client that disconnects cancelling its call, and the HTTP hardening (connection cap, header
// timeout and size, body cap before the body is read).

import type { Socket } from 'node:net';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSocket } from '../helpers/net.js';
import { postJson, type RunningServer, startServer } from '../helpers/server.js';
import { fixture } from '../wikifunctions/helpers.js';

let server: RunningServer;

beforeAll(async () => {
  server = await startServer({
    POLYEVAL_LANGUAGES: 'javascript',
    POLYEVAL_POOL_SIZE: '1',
    POLYEVAL_QUEUE_TIMEOUT_MS: '4000',
    POLYEVAL_MAX_CONNECTIONS: '12',
    POLYEVAL_HEADERS_TIMEOUT_MS: '1000',
    POLYEVAL_REQUEST_TIMEOUT_MS: '3000',
    POLYEVAL_BODY_LIMIT_BYTES: '65536',
    POLYEVAL_MAX_HEADER_BYTES: '8192',
  });
});
afterAll(async () => {
  await server?.close();
});

const evaluate = (body: unknown, init?: RequestInit) => postJson(`${server.url}/v1/evaluate`, body, init);
const SECRET_CODE = 'function main(a) { return "c0de-" + a }';
const SECRET_ARG = 'arg-4f1d2c';

async function metric(name: string, labels: string): Promise<number> {
  const text = await fetch(`${server.url}/metrics`).then((r) => r.text());
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

/** Lines of the server's JSON log, parsed. */
function logLines(): any[] {
  return server
    .logs()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
}

describe('request ids and logs', () => {
  it('echoes X-Request-Id and logs one line per call without code or arguments', async () => {
    const r = await evaluate(
      { language: 'javascript', code: SECRET_CODE, args: [SECRET_ARG] },
      { headers: { 'content-type': 'application/json', 'x-request-id': 'test-req-0001' } },
    );
    expect(r.body).toMatchObject({ ok: true, value: `c0de-${SECRET_ARG}` });
    expect(r.headers.get('x-request-id')).toBe('test-req-0001');
    await expect.poll(() => logLines().filter((l) => l.reqId === 'test-req-0001').length).toBe(1);
    const line = logLines().find((l) => l.reqId === 'test-req-0001');
    expect(line).toMatchObject({
      level: 'info',
      msg: 'Call',
      language: 'javascript',
      outcome: 'OK',
      status: 200,
      route: '/v1/evaluate',
    });
    expect(typeof line.ms).toBe('number');
    expect(server.logs()).not.toContain('c0de-');
    expect(server.logs()).not.toContain(SECRET_ARG);
  });

  it('logs the call a Wikifunctions request made, under its request id', async () => {
    const r = await postJson(`${server.url}/1/v1/evaluate/`, fixture('javascript_add_Z7.json'), {
      headers: { 'content-type': 'application/json', 'x-request-id': 'test-req-wf01' },
    });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-request-id')).toBe('test-req-wf01');
    await expect.poll(() => logLines().filter((l) => l.reqId === 'test-req-wf01').length).toBe(1);
    expect(logLines().find((l) => l.reqId === 'test-req-wf01')).toMatchObject({
      msg: 'Call',
      language: 'javascript',
      outcome: 'OK',
      route: '/:domain/v1/evaluate/',
    });
  });

  it('makes up an id when there is none or it is not sane, and logs guest failures by code', async () => {
    const r = await evaluate(
      { language: 'javascript', code: 'function main() { throw new RangeError("x") }' },
      { headers: { 'content-type': 'application/json', 'x-request-id': 'bad id with spaces' } },
    );
    const id = r.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    await expect.poll(() => logLines().some((l) => l.reqId === id)).toBe(true);
    expect(logLines().find((l) => l.reqId === id)).toMatchObject({
      outcome: 'RUNTIME_ERROR',
      errorType: 'RangeError',
    });
  });
});

describe('metrics', () => {
  it('counts calls by language and outcome, and exposes pools, queues and memory', async () => {
    const before = await metric('polyeval_calls_total', '{language="javascript",outcome="TIMEOUT"}');
    await evaluate({
      language: 'javascript',
      code: 'function main() { for (;;) {} }',
      limits: { timeoutMs: 50 },
    });
    expect(await metric('polyeval_calls_total', '{language="javascript",outcome="TIMEOUT"}')).toBe(
      before + 1,
    );
    const text = await fetch(`${server.url}/metrics`).then((r) => r.text());
    for (const name of [
      'polyeval_call_duration_seconds_bucket',
      'polyeval_queue_depth',
      'polyeval_pool_slots',
      'polyeval_pool_workers',
      'polyeval_sandboxes_spawned_total',
      'polyeval_sandbox_kills_total',
      'polyeval_http_request_duration_seconds_bucket',
      'process_resident_memory_bytes',
      'nodejs_heap_size_used_bytes',
    ]) {
      expect(text, name).toContain(`\n${name}`);
    }
  });
});

describe('OpenAPI document', () => {
  it('describes the answers the server really gives', async () => {
    const doc = (await fetch(`${server.url}/openapi.json`).then((r) => r.json())) as any;
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    ajv.addSchema({ $id: 'doc', components: doc.components });
    const validate = (id: string, value: unknown) => {
      const check = ajv.getSchema(`doc#/components/schemas/${id}`)!;
      expect(check(value), `${id}: ${JSON.stringify(check.errors)}`).toBe(true);
    };
    validate(
      'EvaluateResult',
      (await evaluate({ language: 'js', code: 'function main() { return [1, {a: null}] }' })).body,
    );
    validate('EvaluateResult', (await evaluate({ language: 'js', code: 'function main() { nope( }' })).body);
    validate('Problem', (await evaluate({ language: 'js', code: 'x', extra: 1 })).body);
    validate('Languages', await fetch(`${server.url}/v1/languages`).then((r) => r.json()));
    validate('Readiness', await fetch(`${server.url}/readyz`).then((r) => r.json()));
    validate('EvaluateRequest', { language: 'js', code: 'x', args: [1], limits: { timeoutMs: 5 } });
    expect(doc['x-polyeval-limits'].bodyLimitBytes).toBe(65536);
    expect(doc['x-polyeval-limits'].languages.javascript.ceilings.timeoutMs).toBeGreaterThan(0);
  });
});

describe('client disconnect', () => {
  it('cancels the call: its sandbox is killed and the slot serves the next call', async () => {
    const kills = await metric('polyeval_sandbox_kills_total', '{language="javascript"}');
    const controller = new AbortController();
    const spinning = evaluate(
      { language: 'javascript', code: 'function main() { for (;;) {} }', limits: { timeoutMs: 15000 } },
      { signal: controller.signal },
    ).catch((e: unknown) => e);
    await expect
      .poll(
        async () =>
          ((await fetch(`${server.url}/v1/languages`).then((r) => r.json())) as any).languages[0].pool
            .inFlight,
      )
      .toBe(1);
    controller.abort();
    expect(await spinning).toBeInstanceOf(Error);
    // One slot and a 4 s queue timeout: had the 15 s call gone on, this one would get 503.
    const next = await evaluate({ language: 'javascript', code: 'function main() { return 1 }' });
    expect(next.body).toMatchObject({ ok: true, value: 1 });
    expect(await metric('polyeval_sandbox_kills_total', '{language="javascript"}')).toBe(kills + 1);
    expect(await metric('polyeval_calls_total', '{language="javascript",outcome="cancelled"}')).toBe(1);
  });
});

/** Everything the server sends until it closes the connection (or `ms` pass). */
function readUntilClosed(socket: Socket, ms: number): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    let text = '';
    const timer = setTimeout(() => resolve({ text, closed: false }), ms);
    socket.on('data', (chunk) => (text += chunk.toString()));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closed: true });
    });
  });
}

describe('HTTP hardening', () => {
  it('cuts off a client that does not finish its headers in time (408)', async () => {
    const socket = await openSocket(server.url);
    socket.write('POST /v1/evaluate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n');
    const { text, closed } = await readUntilClosed(socket, 15_000);
    expect(closed).toBe(true);
    expect(text).toMatch(/^HTTP\/1\.1 408/);
  });

  it('refuses headers over the size limit (431)', async () => {
    const response = await fetch(`${server.url}/livez`, { headers: { 'x-big': 'a'.repeat(10_000) } });
    expect(response.status).toBe(431);
  });

  it('refuses a declared body over the limit before reading it (413)', async () => {
    const socket = await openSocket(server.url);
    socket.write(
      'POST /v1/evaluate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 99999999\r\n\r\n{',
    );
    const { text, closed } = await readUntilClosed(socket, 10_000);
    expect(closed).toBe(true);
    expect(text).toMatch(/^HTTP\/1\.1 413/);
    expect(text).toContain('body-too-large');
  });

  it('accepts at most POLYEVAL_MAX_CONNECTIONS connections at once', async () => {
    const sockets = await Promise.all(
      Array.from({ length: 16 }, () => openSocket(server.url).catch(() => undefined)),
    );
    const answers = await Promise.all(
      sockets.map((socket) => {
        if (socket === undefined) return Promise.resolve({ text: '', closed: true });
        socket.write('GET /livez HTTP/1.1\r\nHost: x\r\n\r\n');
        return readUntilClosed(socket, 1_500);
      }),
    );
    const served = answers.filter((a) => a.text.startsWith('HTTP/1.1 200')).length;
    const dropped = answers.filter((a) => a.text === '' && a.closed).length;
    for (const socket of sockets) socket?.destroy();
    expect(served).toBeGreaterThan(0);
    expect(served).toBeLessThanOrEqual(12);
    expect(dropped).toBeGreaterThanOrEqual(4);
    // The server still serves once the connections are gone.
    await expect.poll(async () => (await fetch(`${server.url}/livez`)).status).toBe(200);
  });
});

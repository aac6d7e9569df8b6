// Remote routing (src/orchestrator/remote.ts) against small HTTP servers in this process: the
// remote's answer passes through, a connection failure is retried (on another URL), a delivered
// request never is, a slow remote is given up at the deadline, and a caller that goes away closes
// the request (which cancels the call on the remote).

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ServiceError } from '../../src/errors.js';
import type { Call } from '../../src/executor/contract.js';
import { RemoteExecutor } from '../../src/orchestrator/remote.js';

const servers: Server[] = [];
const executors: RemoteExecutor[] = [];
afterEach(async () => {
  for (const e of executors.splice(0)) await e.close();
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

async function serve(
  handler: Handler,
): Promise<{ url: string; requests: () => number; closed: () => number }> {
  let requests = 0;
  let closed = 0;
  const server = createServer((req, res) => {
    requests++;
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => handler(req, res, body));
    res.on('close', () => {
      if (!res.writableFinished) closed++;
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests: () => requests, closed: () => closed };
}

/** A URL nothing listens on. */
async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return `http://127.0.0.1:${port}`;
}

function remote(urls: string[], options: { timeoutMs?: number; retries?: number } = {}): RemoteExecutor {
  const executor = new RemoteExecutor({
    language: 'demo',
    urls,
    timeoutMs: options.timeoutMs ?? 5_000,
    connectTimeoutMs: 1_000,
    retries: options.retries ?? 2,
    maxInFlight: 8,
    probeIntervalMs: 0,
  });
  executors.push(executor);
  return executor;
}

const call: Call = {
  code: 'x',
  function: 'main',
  args: [1n << 60n, 'two'],
  limits: { timeoutMs: 100, memoryMb: 8, outputBytes: 100 },
};

const okAnswer = {
  ok: true,
  value: 3,
  stdout: 'out',
  stderr: '',
  stats: { durationMs: 1, cpuMs: 1, memoryBytes: 2 },
  language: 'demo',
  limits: { timeoutMs: 50, memoryMb: 8, outputBytes: 100 },
};

describe('remote evaluator', () => {
  it('sends the call and passes the answer through, the remote limits included', async () => {
    let seen: any;
    const server = await serve((_req, res, body) => {
      seen = body;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(okAnswer));
    });
    const result = await remote([server.url]).execute(call);
    expect(result).toMatchObject({ ok: true, value: 3, stdout: 'out', limits: { timeoutMs: 50 } });
    // Big integers keep every digit on the wire.
    expect(seen).toContain(`"args":[${(1n << 60n).toString()},"two"]`);
    expect(JSON.parse(seen)).toMatchObject({ language: 'demo', function: 'main', code: 'x' });
  });

  it('forwards the request id of a call or a deployment as X-Request-Id, and none without one', async () => {
    const seen: (string | undefined)[] = [];
    const server = await serve((req, res, body) => {
      seen.push(req.headers['x-request-id'] as string | undefined);
      if (JSON.parse(body).code === 'module') {
        res.writeHead(201, { 'content-type': 'application/json' }).end('{"ok":true,"id":"m1"}');
      } else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(okAnswer));
    });
    const executor = remote([server.url]);
    await executor.execute(call, { requestId: 'req-call-1' });
    expect(await executor.deploy('module', { requestId: 'req-deploy-1' })).toMatchObject({ id: 'm1' });
    await executor.execute(call);
    expect(seen).toEqual(['req-call-1', 'req-deploy-1', undefined]);
  });

  it('retries a connection failure on another URL', async () => {
    const server = await serve((_req, res) => res.writeHead(200).end(JSON.stringify(okAnswer)));
    const executor = remote([await deadUrl(), server.url]);
    for (let i = 0; i < 4; i++) expect((await executor.execute(call)).ok).toBe(true);
    expect(server.requests()).toBe(4);
    const endpoints = executor.readiness().details.endpoints as { connectFailures: number }[];
    expect(endpoints[0]!.connectFailures).toBeGreaterThan(0);
  });

  it('gives up with 502 upstream-failed after the retries when nothing answers', async () => {
    const executor = remote([await deadUrl()], { retries: 1 });
    const error = await executor.execute(call).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceError);
    expect((error as ServiceError).problem).toBe('upstream-failed');
    expect((error as ServiceError).status).toBe(502);
    expect((error as ServiceError).detail).toMatch(/after 2 attempts.*ECONNREFUSED/);
  });

  it("passes the remote's problem through (type, detail, Retry-After) without retrying", async () => {
    const server = await serve((_req, res) =>
      res.writeHead(503, { 'content-type': 'application/problem+json', 'retry-after': '2' }).end(
        JSON.stringify({
          type: 'https://polyeval.dev/problems/overloaded',
          title: 'x',
          status: 503,
          detail: 'Cannot queue the call: the demo queue is full (1 waiting)',
        }),
      ),
    );
    const error = (await remote([server.url])
      .execute(call)
      .catch((e: unknown) => e)) as ServiceError;
    expect(error.problem).toBe('overloaded');
    expect(error.detail).toBe('Cannot queue the call: the demo queue is full (1 waiting)');
    expect(error.retryAfterSeconds).toBe(2);
    expect(server.requests()).toBe(1);
  });

  it('never sends a delivered request twice, even when the remote dies during it', async () => {
    const server = await serve((req) => req.socket.destroy());
    const error = (await remote([server.url])
      .execute(call)
      .catch((e: unknown) => e)) as ServiceError;
    expect(error.problem).toBe('upstream-failed');
    expect(error.detail).toMatch(/failed during the call/);
    expect(server.requests()).toBe(1);
  });

  it("gives up at the call's time limit plus the remote timeout, closing the request", async () => {
    const server = await serve(() => {});
    const error = (await remote([server.url], { timeoutMs: 200 })
      .execute(call)
      .catch((e: unknown) => e)) as ServiceError;
    expect(error.problem).toBe('upstream-failed');
    expect(error.detail).toMatch(/did not answer within 300 ms/);
    await expect.poll(() => server.closed()).toBe(1);
  });

  it('closes the request when the caller goes away', async () => {
    const server = await serve(() => {});
    const controller = new AbortController();
    const pending = remote([server.url]).execute(call, { signal: controller.signal });
    await expect.poll(() => server.requests()).toBe(1);
    controller.abort();
    await expect(pending).rejects.toBeInstanceOf(ServiceError);
    await expect.poll(() => server.closed()).toBe(1);
  });
});

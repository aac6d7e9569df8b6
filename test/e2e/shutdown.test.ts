// Graceful shutdown of the real server on SIGTERM: it stops accepting connections, answers a call
// that arrives on a connection already open with 503 shutting-down, lets a call in flight run
// until the grace period (POLYEVAL_SHUTDOWN_TIMEOUT_MS) ends, then cancels it (503 shutting-down,
// so that the client retries elsewhere) and exits with code 0.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSocket } from '../helpers/net.js';
import { postJson, type RunningServer, startServer } from '../helpers/server.js';

let server: RunningServer;

beforeAll(async () => {
  server = await startServer({
    POLYEVAL_LANGUAGES: 'javascript',
    POLYEVAL_POOL_SIZE: '2',
    POLYEVAL_SHUTDOWN_TIMEOUT_MS: '1500',
  });
});
afterAll(async () => {
  await server?.close();
});

describe('SIGTERM', () => {
  it('refuses new calls, cancels the ones still running after the grace period, and exits 0', async () => {
    const finishing = postJson(`${server.url}/v1/evaluate`, {
      language: 'javascript',
      code: 'function main() { const end = Date.now() + 500; while (Date.now() < end) {} return "done" }',
    });
    const spinning = postJson(`${server.url}/v1/evaluate`, {
      language: 'javascript',
      code: 'function main() { for (;;) {} }',
      limits: { timeoutMs: 15000 },
    });
    // A request whose body is still arriving when the signal comes: its connection is busy, so it
    // stays open, and the call it carries arrives after shutdown began.
    const body = JSON.stringify({ language: 'javascript', code: 'function main() { return 1 }' });
    const late = await openSocket(server.url);
    let lateAnswer = '';
    late.on('data', (chunk) => (lateAnswer += chunk.toString()));
    late.write(
      `POST /v1/evaluate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`,
    );
    await expect
      .poll(async () => {
        const info = (await fetch(`${server.url}/v1/languages`).then((r) => r.json())) as any;
        return info.languages[0].pool.inFlight;
      })
      .toBe(2);

    const exited = new Promise<number | null>((resolve) =>
      server.process.once('exit', (code) => resolve(code)),
    );
    // close() sends SIGTERM (and tells the helper that the exit is expected).
    const closed = server.close();
    await expect.poll(() => server.logs()).toContain('"msg":"Shutting down"');

    // No new connections.
    await expect(openSocket(server.url)).rejects.toThrow(/ECONNREFUSED/);
    // A call arriving on an open connection: 503 shutting-down.
    late.write(body.slice(10));
    await expect.poll(() => lateAnswer).toMatch(/^HTTP\/1\.1 503/);
    expect(lateAnswer).toContain('shutting-down');
    expect(lateAnswer.toLowerCase()).toContain('retry-after: 1');

    // The short call finishes normally; the endless one is cancelled at the end of the grace.
    expect((await finishing).body).toMatchObject({ ok: true, value: 'done' });
    const cancelled = await spinning;
    expect(cancelled.status).toBe(503);
    expect(cancelled.body.type).toContain('shutting-down');
    expect(cancelled.body.detail).toMatch(/cancelled/);

    expect(await exited).toBe(0);
    await closed;
    expect(server.logs()).toContain('Cancelling calls still running');
    expect(server.logs()).toContain('"msg":"Stopped"');
    late.destroy();
  });
});

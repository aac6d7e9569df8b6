// SIGTERM during a flood. Promise checked: every call the service accepted before the signal —
// running or waiting in the queue — gets an answer: its value if it finished within the drain
// deadline (POLYEVAL_SHUTDOWN_TIMEOUT_MS), else 503 shutting-down with Retry-After; calls sent
// after the signal are refused (connection refused, or 503 + Retry-After on a connection already
// open); nothing accepted is dropped without an answer; the process exits 0. A second SIGTERM
// exits at once. (test/e2e/shutdown.test.ts covers the single-call cases.)

import { Agent } from 'node:http';
import { describe, expect, it } from 'vitest';
import { openSocket } from '../helpers/net.js';
import { type RunningServer, startServer } from '../helpers/server.js';
import { type Answer, call, sleep, tally } from './helpers.js';

const fresh = new Agent({ keepAlive: false });
// ~150 ms of work per call: with 2 slots, 40 accepted calls need ~3 s, more than the 2 s deadline,
// so that both outcomes (finished, cancelled at the deadline) happen.
const WORK = {
  language: 'javascript',
  code: 'function main(i) { const end = Date.now() + 150; while (Date.now() < end) {} return i }',
  limits: { timeoutMs: 5_000 },
};

async function pool(url: string): Promise<{ inFlight: number; queued: number }> {
  const info = (await fetch(`${url}/v1/languages`).then((r) => r.json())) as {
    languages: Array<{ pool: { inFlight: number; queued: number } }>;
  };
  return info.languages[0]!.pool;
}

function exitOf(server: RunningServer): Promise<{ code: number | null; at: number }> {
  return new Promise((resolve) =>
    server.process.once('exit', (code) => resolve({ code, at: performance.now() })),
  );
}

describe('SIGTERM during a flood', () => {
  it('every accepted call answered (value or 503 + Retry-After), new ones refused, exit 0', async () => {
    const server = await startServer({
      POLYEVAL_LANGUAGES: 'javascript',
      POLYEVAL_POOL_SIZE: '2',
      POLYEVAL_SHUTDOWN_TIMEOUT_MS: '2000',
    });
    try {
      // 40 calls, each on its own connection, all accepted (2 running, 38 queued) before the signal.
      const accepted = Array.from({ length: 40 }, (_, i) =>
        call(server.url, { ...WORK, args: [i] }, 30_000, fresh),
      );
      await expect
        .poll(async () => {
          const p = await pool(server.url);
          return p.inFlight + p.queued;
        })
        .toBe(40);
      // A connection opened before the signal, to send a call on after it.
      const open = await openSocket(server.url);
      let lateAnswer = '';
      open.on('data', (chunk) => (lateAnswer += chunk.toString()));
      open.on('error', () => undefined);

      const exited = exitOf(server);
      const signalledAt = performance.now();
      const closing = server.close(); // SIGTERM
      await expect.poll(() => server.logs()).toContain('"msg":"Shutting down"');

      // The flood goes on after the signal: new connections, new calls, until the process is gone.
      const late: Answer[] = [];
      let done = false;
      const flooders = Array.from({ length: 8 }, async () => {
        while (!done) {
          late.push(await call(server.url, { ...WORK, args: [-1] }, 10_000, fresh));
          await sleep(20);
        }
      });
      const body = JSON.stringify({ ...WORK, args: [-2] });
      open.write(
        `POST /v1/evaluate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );

      const answers = await Promise.all(accepted);
      const exit = await exited;
      done = true;
      await Promise.all(flooders);
      await closing;

      // Nothing accepted went unanswered.
      const t = tally(answers);
      expect(t.none).toBe(0);
      expect(t.value + t.typedError).toBe(40);
      // Calls waiting in the queue at the signal ran during the grace period too (2 were running).
      expect(t.value).toBeGreaterThan(2);
      answers.forEach((a, i) => {
        if (a.status === 200) expect(a.body).toMatchObject({ ok: true, value: i });
        else {
          expect(a.status).toBe(503);
          expect(a.body.type).toContain('shutting-down');
        }
      });
      // The call on the connection already open: 503 with Retry-After.
      expect(lateAnswer).toMatch(/^HTTP\/1\.1 503/);
      expect(lateAnswer.toLowerCase()).toContain('retry-after: 1');
      // Calls sent after the signal: refused, never run.
      for (const a of late) {
        if (a.failure !== undefined) expect(a.failure).toMatch(/ECONNREFUSED|ECONNRESET|socket hang up/);
        else {
          expect(a.status).toBe(503);
          expect(a.body.type).toContain('shutting-down');
        }
      }
      expect(exit.code).toBe(0);
      const refused = late.filter((a) => a.failure !== undefined).length;
      console.log(
        `[faults] SIGTERM under load: ${t.value + t.typedError}/40 accepted calls answered (${t.value} values, ${t.typedError} 503 shutting-down at the 2 s deadline); ` +
          `${late.length} calls sent after the signal: ${late.length - refused} got 503 + Retry-After, ${refused} refused at connect; exit 0 after ${Math.round(exit.at - signalledAt)} ms`,
      );
      open.destroy();
    } finally {
      await server.close();
    }
  });

  it('a second SIGTERM exits at once', async () => {
    const server = await startServer({
      POLYEVAL_LANGUAGES: 'javascript',
      POLYEVAL_POOL_SIZE: '2',
      POLYEVAL_SHUTDOWN_TIMEOUT_MS: '30000',
    });
    try {
      const endless = call(
        server.url,
        { language: 'javascript', code: 'function main() { for (;;) {} }', limits: { timeoutMs: 15_000 } },
        30_000,
        fresh,
      );
      await expect.poll(async () => (await pool(server.url)).inFlight).toBe(1);
      const exited = exitOf(server);
      server.process.kill('SIGTERM');
      await expect.poll(() => server.logs()).toContain('"msg":"Shutting down"');
      const second = performance.now();
      server.process.kill('SIGTERM');
      const exit = await exited;
      // "At once": not after the 30 s grace, nor the 15 s call.
      expect(exit.at - second).toBeLessThan(5_000);
      expect(exit.code).toBe(1);
      expect(server.logs()).toContain('Second signal: exiting now');
      // The call in flight loses its connection with the process: the client sees it fail.
      expect((await endless).failure).toBeDefined();
      console.log(`[faults] second SIGTERM: exited ${Math.round(exit.at - second)} ms after it`);
    } finally {
      await server.close();
    }
  });
});

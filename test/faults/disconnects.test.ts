// A burst of client disconnects mid-call: hundreds of callers that go away while their call runs
// or waits in the queue. Promise checked: each of those sandboxes is cancelled and returned (no
// slot leaks): /metrics shows nothing in flight or queued and every worker ready again, the
// cancellations are counted, and the next calls get their values at once (an endless loop still
// holding a slot would make them wait for its 10 s time limit).

import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, metric, metricsText, type Service, sleep, startService } from './helpers.js';

let service: Service;

beforeAll(async () => {
  service = await startService({
    POLYEVAL_LANGUAGES: 'javascript,python',
    POLYEVAL_POOL_SIZE: '4',
    POLYEVAL_QUEUE_MAX: '64',
  });
});
afterAll(async () => {
  await service.kill();
});

const ENDLESS = {
  javascript: 'function main() { for (;;) {} }',
  python: 'def main():\n    while True:\n        pass',
} as const;

/** Sends a call and destroys the connection after `ms`: the client goes away mid-call. */
function abandon(language: keyof typeof ENDLESS, ms: number): Promise<'abandoned' | 'answered'> {
  const body = JSON.stringify({ language, code: ENDLESS[language], limits: { timeoutMs: 10_000 } });
  return new Promise((resolve) => {
    const req = request(new URL('/v1/evaluate', service.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    });
    req.on('response', (res) => {
      res.resume();
      resolve('answered'); // refused at once (queue full): also fine, not a leak
    });
    req.on('error', () => resolve('abandoned'));
    req.end(body);
    setTimeout(() => {
      req.destroy();
      resolve('abandoned');
    }, ms);
  });
}

interface PoolState {
  readonly inFlight: number;
  readonly queued: number;
  readonly slots: number;
  readonly workersReady: number;
  readonly cancelled: number;
  readonly kills: number;
}

async function poolState(language: string): Promise<PoolState> {
  const text = await metricsText(service.url);
  const labels = { language };
  return {
    inFlight: metric(text, 'polyeval_calls_in_flight', labels),
    queued: metric(text, 'polyeval_queue_depth', labels),
    slots: metric(text, 'polyeval_pool_slots', labels),
    workersReady: metric(text, 'polyeval_pool_workers_ready', labels),
    cancelled: metric(text, 'polyeval_calls_total', { ...labels, outcome: 'cancelled' }),
    kills: metric(text, 'polyeval_sandbox_kills_total', labels),
  };
}

describe('a burst of client disconnects mid-call', () => {
  for (const [language, waves, perWave] of [
    ['javascript', 6, 40],
    ['python', 2, 12],
  ] as const) {
    it(`${language}: ${waves * perWave} callers gone mid-call, every slot returned, the next calls served at once`, async () => {
      const before = await poolState(language);
      const started = performance.now();
      let abandoned = 0;
      for (let w = 0; w < waves; w++) {
        // Half run (4 slots) or wait; each goes away after 100–400 ms.
        const wave = await Promise.all(
          Array.from({ length: perWave }, (_, i) => abandon(language, 100 + ((i * 37) % 300))),
        );
        abandoned += wave.filter((o) => o === 'abandoned').length;
      }
      expect(abandoned).toBeGreaterThanOrEqual(waves * perWave * 0.9);
      // Pool back to full: nothing in flight, nothing queued, every slot's worker ready again.
      await expect
        .poll(
          async () => {
            const s = await poolState(language);
            return { inFlight: s.inFlight, queued: s.queued };
          },
          { timeout: 15_000 },
        )
        .toEqual({ inFlight: 0, queued: 0 });
      // Every worker killed for a cancelled call is replaced (where the executor reports workers):
      // at least as many ready as before; more while the ones a burst started on demand are not
      // yet retired (IDLE_RETIRE_MS).
      if (before.workersReady > 0) {
        await expect
          .poll(async () => (await poolState(language)).workersReady, { timeout: 15_000 })
          .toBeGreaterThanOrEqual(before.workersReady);
      }
      const recoveredMs = performance.now() - started;
      const after = await poolState(language);
      expect(after.cancelled - before.cancelled).toBeGreaterThanOrEqual(abandoned * 0.9);
      // The worker pools count the sandboxes they killed (the sandbox host reports no such counter).
      if (language === 'javascript') expect(after.kills).toBeGreaterThan(before.kills);
      // The next calls, as many as there are slots, at once: each gets its value well before the
      // 10 s an abandoned endless loop would have held its slot.
      const next = await Promise.all(
        Array.from({ length: after.slots }, (_, i) =>
          call(
            service.url,
            {
              language,
              code: language === 'python' ? 'def main(x):\n    return x' : 'function main(x) { return x }',
              args: [i],
            },
            8_000,
          ),
        ),
      );
      next.forEach((a, i) => {
        expect(a.body, JSON.stringify(a.body)).toMatchObject({ ok: true, value: i });
      });
      console.log(
        `[faults] ${language}: ${abandoned} callers disconnected mid-call; in flight 0 and queue 0 ${Math.round(recoveredMs)} ms after the burst began; ` +
          `${after.cancelled - before.cancelled} counted cancelled, ${after.kills - before.kills} sandboxes killed`,
      );
      await sleep(0);
    });
  }
});

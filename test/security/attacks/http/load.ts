// HTTP attacks by numbers: thousands of connections under and over the cap, and a queue flood in one
// language that must not starve another.

import { expect } from 'vitest';
import { expectResponsive } from '../../../helpers/latency.js';
import { sleep } from '../../../helpers/net.js';
import type { Attack } from '../../harness.js';
import { counts } from '../../process-facts.js';
import { MAX_CONNECTIONS, raw, statusOf } from './wire.js';

export const LOAD_ATTACKS: readonly Attack[] = [
  // Thousands of connections. Under the cap: all idle, /livez measured meanwhile. Over it: the
  // extra ones are dropped and the server serves again once they go.
  {
    id: 'http-connections-under-cap',
    title: `${MAX_CONNECTIONS - 64} idle connections held open`,
    result: '/livez stays fast; the connections are closed by the server or by us',
    timeoutMs: 60_000,
    async run(h) {
      const sockets = await Promise.all(
        Array.from({ length: MAX_CONNECTIONS - 64 }, () => h.socket().catch(() => undefined)),
      );
      expect(sockets.filter((s) => s !== undefined).length).toBeGreaterThan(MAX_CONNECTIONS - 100);
      await sleep(500);
    },
  },
  // Far more connections than the cap, all at once: the server must shed the excess at accept time.
  {
    id: 'http-connections-over-cap',
    title: '2,000 connections at once against a cap of 1,024, each asking for /livez',
    result:
      'the server never holds more than the cap (the rest are closed at once); it serves again afterwards',
    livez: false,
    timeoutMs: 90_000,
    async run(h) {
      const before = counts(h.pid).fds;
      let most = 0;
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          most = Math.max(most, counts(h.pid).fds - before);
          await sleep(20);
        }
      })();
      const answers = await Promise.all(
        Array.from({ length: 2000 }, () =>
          h.socket().then(
            (s) =>
              raw(h, 'GET /livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', {
                socket: s,
                timeoutMs: 10_000,
              }),
            () => ({ text: '', closed: true }),
          ),
        ),
      );
      sampling = false;
      await sampler;
      expect(most).toBeLessThanOrEqual(MAX_CONNECTIONS + 16);
      expect(answers.filter((a) => statusOf(a.text) === 200).length).toBeGreaterThan(0);
      expect(answers.every((a) => a.closed)).toBe(true);
      await expect.poll(async () => (await h.request('GET', '/livez')).status, { timeout: 10_000 }).toBe(200);
      // Serving again means as fast as before the flood: the same probes as the idle baseline.
      // mutation: the server keeps shed connections (or their handlers) alive after the flood.
      const probes: number[] = [];
      for (let i = 0; i < 7; i++) {
        const probe = await h.request('GET', '/livez');
        expect(probe.status).toBe(200);
        probes.push(probe.ms);
      }
      expectResponsive('http-connections-over-cap: /livez after the flood', h.idleLivez, probes);
    },
  },
  // A queue flood in one language must not starve another: 60 calls that spin for 500 ms each
  // (pool 2, queue 8) while a Lua call waits its turn in its own queue.
  {
    id: 'http-queue-flood',
    title: '60 concurrent 500 ms JavaScript calls against a queue of 8, with a Lua call among them',
    result: '503 + Retry-After for the overflow, the rest served; Lua unaffected',
    timeoutMs: 60_000,
    async run(h) {
      const spin = JSON.stringify({
        language: 'javascript',
        code: 'function main() { const t = Date.now(); while (Date.now() - t < 500) {} return 1 }',
      });
      const flood = Array.from({ length: 60 }, () =>
        h
          .request('POST', '/v1/evaluate', { body: spin, headers: { 'content-type': 'application/json' } })
          .then((a) => ({ ...a, at: performance.now() })),
      );
      await sleep(100);
      const lua = await h.evaluate('lua', 'function main() return 7 end');
      const luaAt = performance.now();
      expect(lua.body).toMatchObject({ ok: true, value: 7 });
      // Not starved: the Lua call is answered while the JavaScript calls the queue accepted are
      // still spinning (ten of them, 500 ms of wall time each on a pool of 2: 2.5 s), not after
      // them. Compared with the flood itself, not with a clock.
      // mutation: one queue (or one pool) shared by every language.
      const served = (await Promise.all(flood)).filter((a) => a.status === 200);
      const lastServed = Math.max(...served.map((a) => a.at));
      console.log(
        `http-queue-flood: Lua answered in ${lua.ms.toFixed(0)} ms, ${(lastServed - luaAt).toFixed(0)} ms before the last of ${served.length} accepted JavaScript calls`,
      );
      expect(luaAt).toBeLessThan(lastServed);
      const answers = await Promise.all(flood);
      const refused = answers.filter((a) => a.status === 503);
      expect(refused.length).toBeGreaterThan(0);
      for (const a of refused) {
        expect(a.headers['retry-after']).toBeDefined();
        expect(a.body.type).toMatch(/overloaded/);
      }
      for (const a of answers.filter((x) => x.status === 200))
        expect(a.body).toMatchObject({ ok: true, value: 1 });
      expect(answers.every((a) => a.status === 200 || a.status === 503)).toBe(true);
    },
  },
];

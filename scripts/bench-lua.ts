// The Lua section of `npm run bench` (scripts/bench.ts imports benchLua): latency and throughput of
// `add` over HTTP (a never-used Lua VM per call, built while the worker is idle), a call that builds
// and returns a 1000-element table, and a CPU-bound loop, each beside the /livez floor of the same run.
// Runs alone with `node dist/scripts/bench-lua.js [--quick]` (it then starts its own server).

import { fileURLToPath } from 'node:url';
import { type BenchRow, benchRow, benchRows, load, valueIs } from './lib/load.js';
import { startServer } from './lib/server.js';

const quick = process.argv.includes('--quick');
const N = quick ? 1000 : 5000;

function body(code: string, fn: string, args: unknown[]): string {
  return JSON.stringify({ language: 'lua', code, function: fn, args });
}

/** Rows for `npm run bench`, measured against the server at baseUrl (which must have lua enabled). */
export async function benchLua(baseUrl: string, floor: BenchRow): Promise<BenchRow[]> {
  const url = `${baseUrl}/v1/evaluate`;
  const add = body('function add(a, b) return a + b end', 'add', [2, 3]);
  const rows = await benchRows('lua add', { url, body: add, requests: N, check: valueIs(5) }, floor);
  const squares = body(
    'function squares(n) local t = {} for i = 1, n do t[i] = i * i end return t end',
    'squares',
    [1000],
  );
  const table = await load({
    url,
    body: squares,
    concurrency: 1,
    requests: Math.ceil(N / 5),
    check: (status, text) => status === 200 && JSON.parse(text).value.length === 1000,
  });
  rows.push(benchRow('lua 1000-element table result', table, floor));
  const loop = body(
    'function spin(n) local s = 0 for i = 1, n do s = s + i % 7 end return s end',
    'spin',
    [1e6],
  );
  const cpu = await load({
    url,
    body: loop,
    concurrency: 1,
    requests: quick ? 20 : 100,
    check: (status, text) => status === 200 && JSON.parse(text).ok === true,
  });
  rows.push(benchRow('lua 1e6-iteration loop', cpu, floor));
  return rows;
}

// Standalone: node dist/scripts/bench-lua.js [--quick]
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const server = await startServer({ POLYEVAL_LANGUAGES: 'lua' }, { logTo: 'file' });
  try {
    const f = await load({ url: `${server.url}/livez`, concurrency: 1, requests: N });
    const floor: BenchRow = {
      name: 'floor: GET /livez',
      p50Ms: f.p50Ms,
      p99Ms: f.p99Ms,
      callsPerSec: f.callsPerSec,
    };
    const rows = [floor, ...(await benchLua(server.url, floor))];
    for (const r of rows) {
      const extra = Object.entries(r.extra ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(' ');
      console.log(
        `${r.name.padEnd(36)} p50 ${r.p50Ms.toFixed(3)} ms  p99 ${r.p99Ms.toFixed(3)} ms  ${r.callsPerSec.toFixed(0)} calls/s  ${extra}`,
      );
    }
  } finally {
    await server.close();
  }
}

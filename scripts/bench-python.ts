// The Python section of `npm run bench` (scripts/bench.ts imports benchPython): latency of `add`
// over HTTP with an interpreter waiting, sustained calls/s at concurrency 4, CPU per fresh
// interpreter, RSS per warm interpreter, the preparation variants an operator can choose
// (restore mode, warm-up call, several interpreters per worker, several calls per interpreter), and
// a python3 subprocess per call (no sandbox at all) measured in the same run as the baseline.

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { type BenchRow, load, percentile } from './lib/load.js';
import { postJson, startServer } from './lib/server.js';

const quick = process.argv.includes('--quick');
const ADD = 'def add(a, b):\n    return a + b\n';
const body = JSON.stringify({ language: 'python', code: ADD, function: 'add', args: [2, 3] });
const okFive = (status: number, text: string): boolean => status === 200 && JSON.parse(text).value === 5;

interface HostDetails {
  pid: number | null;
  interpretersWaiting: number;
  interpretersTarget: number;
  interpretersStarted: number;
  prepareWallMs: number;
  prepareCpuMs: number;
  rssBytes: number;
}

async function pythonDetails(url: string): Promise<{ hosts: HostDetails[] } & Record<string, unknown>> {
  const r = await fetch(`${url}/v1/languages`);
  const langs = (await r.json()) as { languages: { id: string; details: { hosts: HostDetails[] } }[] };
  const python = langs.languages.find((l) => l.id === 'python');
  if (python === undefined) throw new Error('The server has no python language');
  return python.details;
}

/** CPU seconds (user + system) of a process and its direct children, from /proc (Linux). */
function treeCpuMs(pid: number): number {
  const ticks = (p: number): number => {
    const stat = readFileSync(`/proc/${p}/stat`, 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  };
  let total = ticks(pid);
  try {
    for (const child of readFileSync(`/proc/${pid}/task/${pid}/children`, 'latin1').trim().split(/\s+/)) {
      if (child !== '') total += ticks(Number(child));
    }
  } catch {
    // No children file.
  }
  return total * 10; // USER_HZ is 100 on Linux
}

async function waitWarm(url: string, timeoutMs = 30_000): Promise<HostDetails[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { hosts } = await pythonDetails(url);
    if (hosts.every((h) => h.interpretersWaiting >= h.interpretersTarget) || Date.now() > deadline)
      return hosts;
    await new Promise((r) => setTimeout(r, 25));
  }
}

function summarize(latencies: number[]): { p50Ms: number; p99Ms: number } {
  const sorted = [...latencies].sort((a, b) => a - b);
  return { p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99) };
}

/** One call at a time, each sent only once the pool is full again (an interpreter is waiting). */
async function waitingLatency(url: string, calls: number, settleMs: number): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < calls; i++) {
    await waitWarm(url);
    if (settleMs > 0) await new Promise((r) => setTimeout(r, settleMs));
    const started = performance.now();
    const r = await postJson(`${url}/v1/evaluate`, body);
    latencies.push(performance.now() - started);
    if (r.status !== 200 || r.body.value !== 5)
      throw new Error(`Unexpected answer: ${JSON.stringify(r.body)}`);
  }
  return latencies;
}

/** Sustained load; also the host's CPU per interpreter started during it. */
async function sustained(url: string, concurrency: number, requests: number) {
  const before = await pythonDetails(url);
  const pid = before.hosts[0]?.pid;
  const cpuBefore = pid ? treeCpuMs(pid) : 0;
  const r = await load({ url: `${url}/v1/evaluate`, body, concurrency, requests, warmup: 0, check: okFive });
  const after = await pythonDetails(url);
  const cpuAfter = pid ? treeCpuMs(pid) : 0;
  const started = after.hosts[0]!.interpretersStarted - before.hosts[0]!.interpretersStarted;
  return { ...r, hostCpuMsPerInterpreter: started > 0 ? (cpuAfter - cpuBefore) / started : 0, after };
}

function pythonSubprocess(): Promise<number> {
  const script = `import json, sys\n${ADD}\nargs = json.loads(sys.argv[1])\nprint(json.dumps(add(*args)))\n`;
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('python3', ['-c', script, '[2, 3]'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.on('error', reject);
    child.on('exit', () =>
      out.trim() === '5' ? resolve(performance.now() - started) : reject(new Error(out)),
    );
  });
}

async function subprocessBaseline(calls: number, concurrency: number): Promise<BenchRow> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < calls) {
        next++;
        latencies.push(await pythonSubprocess());
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return {
    name: `baseline: python3 subprocess per call (no sandbox), concurrency ${concurrency}`,
    ...summarize(latencies),
    callsPerSec: calls / seconds,
  };
}

/** A variant of the preparation, on its own server (pool of 2), sustained at concurrency 2. */
async function variant(name: string, env: Record<string, string>, requests: number): Promise<BenchRow> {
  const server = await startServer(
    { POLYEVAL_LANGUAGES: 'python', POLYEVAL_POOL_SIZE: '2', ...env },
    { logTo: 'file' },
  );
  try {
    await waitWarm(server.url);
    const waiting = await waitingLatency(server.url, quick ? 5 : 15, 0);
    const s = await sustained(server.url, 2, requests);
    const host = s.after.hosts[0]!;
    return {
      name: `python variant: ${name}`,
      ...summarize(waiting),
      callsPerSec: s.callsPerSec,
      extra: {
        'prepare wall ms': Math.round(host.prepareWallMs),
        'prepare cpu ms (worker)': Math.round(host.prepareCpuMs),
        'host cpu ms/interpreter': Math.round(s.hostCpuMsPerInterpreter),
        'sustained p50 ms': s.p50Ms.toFixed(1),
      },
    };
  } finally {
    await server.close();
  }
}

/** RSS per warm interpreter: the host's RSS with 1 and with 5 interpreters waiting. */
async function rssPerInterpreter(): Promise<BenchRow> {
  const rss: number[] = [];
  for (const warm of [1, 5]) {
    const server = await startServer(
      {
        POLYEVAL_LANGUAGES: 'python',
        POLYEVAL_POOL_SIZE: '1',
        POLYEVAL_PYTHON_WARM: String(warm),
      },
      { logTo: 'file' },
    );
    try {
      await waitWarm(server.url);
      await new Promise((r) => setTimeout(r, 1000));
      rss.push((await pythonDetails(server.url)).hosts[0]!.rssBytes);
    } finally {
      await server.close();
    }
  }
  const perInterpreter = (rss[1]! - rss[0]!) / 4;
  return {
    name: 'python RSS per warm interpreter',
    p50Ms: Number.NaN,
    p99Ms: Number.NaN,
    callsPerSec: Number.NaN,
    extra: {
      'MiB per interpreter': (perInterpreter / 2 ** 20).toFixed(1),
      'host MiB with 1 waiting': (rss[0]! / 2 ** 20).toFixed(0),
      'host MiB with 5 waiting': (rss[1]! / 2 ** 20).toFixed(0),
    },
  };
}

export async function benchPython(url: string, floor?: BenchRow): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const ratio = (p50: number) => (floor === undefined ? {} : { 'p50/floor': (p50 / floor.p50Ms).toFixed(1) });

  // Cold start of the executor as the server reports it.
  const details = await pythonDetails(url);
  const snapshot = details.snapshot as { builtMs?: number } | undefined;

  const fresh = await waitingLatency(url, quick ? 10 : 40, 0);
  rows.push({
    name: 'python add, interpreter waiting (just refilled)',
    ...summarize(fresh),
    callsPerSec: Number.NaN,
    extra: ratio(summarize(fresh).p50Ms),
  });
  const idled = await waitingLatency(url, quick ? 5 : 15, 1000);
  rows.push({
    name: 'python add, interpreter waiting (idle 1 s first)',
    ...summarize(idled),
    callsPerSec: Number.NaN,
    extra: ratio(summarize(idled).p50Ms),
  });

  const s = await sustained(url, 4, quick ? 30 : 120);
  const host = s.after.hosts[0]!;
  rows.push({
    name: 'python add, sustained, concurrency 4',
    p50Ms: s.p50Ms,
    p99Ms: s.p99Ms,
    callsPerSec: s.callsPerSec,
    extra: {
      'host cpu ms/interpreter': Math.round(s.hostCpuMsPerInterpreter),
      'prepare cpu ms (worker)': Math.round(host.prepareCpuMs),
      'prepare wall ms': Math.round(host.prepareWallMs),
      ...(s.errors > 0 ? { errors: s.errors } : {}),
      ...(snapshot?.builtMs === undefined ? {} : { 'snapshot built ms': snapshot.builtMs }),
    },
  });

  rows.push(await subprocessBaseline(quick ? 10 : 40, 1));
  rows.push(await subprocessBaseline(quick ? 20 : 80, 4));

  const requests = quick ? 20 : 60;
  rows.push(await variant('sparse restore, no warm-up call (default)', {}, requests));
  rows.push(
    await variant('dense restore (Pyodide HEAP8.set)', { POLYEVAL_PYTHON_RESTORE: 'dense' }, requests),
  );
  rows.push(await variant('with a warm-up call', { POLYEVAL_PYTHON_WARMUP: '1' }, requests));
  rows.push(
    await variant(
      '16 fresh interpreters per worker (weaker isolation)',
      { POLYEVAL_PYTHON_INTERPRETERS_PER_WORKER: '16' },
      requests,
    ),
  );
  rows.push(
    await variant(
      '100 calls per interpreter (NOT single use)',
      { POLYEVAL_PYTHON_CALLS_PER_INTERPRETER: '100' },
      requests,
    ),
  );
  rows.push(await rssPerInterpreter());
  return rows;
}

// Run on its own: node dist/scripts/bench-python.js [--quick]
if (import.meta.url === `file://${process.argv[1]}`) {
  const server = await startServer({ POLYEVAL_LANGUAGES: 'python' }, { logTo: 'file' });
  try {
    const started = performance.now();
    const rows = await benchPython(server.url);
    for (const row of rows) {
      console.log(
        [
          row.name.padEnd(70),
          Number.isNaN(row.p50Ms) ? '' : `p50 ${row.p50Ms.toFixed(1)} ms`,
          Number.isNaN(row.p99Ms) ? '' : `p99 ${row.p99Ms.toFixed(1)} ms`,
          Number.isNaN(row.callsPerSec) ? '' : `${row.callsPerSec.toFixed(2)} calls/s`,
          JSON.stringify(row.extra ?? {}),
        ].join('  '),
      );
    }
    console.log(`(bench took ${((performance.now() - started) / 1000).toFixed(0)} s)`);
  } finally {
    await server.close();
  }
}

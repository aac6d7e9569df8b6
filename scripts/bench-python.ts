// The Python section of `npm run bench` (scripts/bench.ts imports benchPython): latency of `add`
// over HTTP with an interpreter waiting; sustained `add` at steady state (closed loop at concurrency
// 1, 2 and 4, warm-up excluded: median, p90, calls/s) for each Python mode (BENCH_PYTHON_MODES,
// see pythonModes), beside a `python3 -c` subprocess per call (no sandbox at all) that the bench
// measures itself in the same run at the same concurrencies, with ratios; CPU per fresh
// interpreter, RSS per warm interpreter, and the preparation variants an operator can choose
// (restore mode, warm-up call, several interpreters per worker, several calls per interpreter).
//
//   BENCH_PYTHON_MODES="per-call:;reset:POLYEVAL_PYTHON_X=y" npm run bench -- --language python

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { type ClosedLoopResult, closedLoop, httpCall } from './lib/closed-loop.js';
import { type BenchRow, percentile } from './lib/load.js';
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

/** Closed-loop timing: warm-up (not measured), then the measured period, per concurrency. */
const WARMUP_MS = quick ? 1_000 : 3_000;
const DURATION_MS = quick ? 4_000 : 10_000;
const CONCURRENCIES = [1, 2, 4] as const;

/** Sustained closed loop over HTTP; also the host's CPU per interpreter started during it. */
async function sustained(
  url: string,
  concurrency: number,
  timing = { warmupMs: WARMUP_MS, durationMs: DURATION_MS },
) {
  const http = httpCall(`${url}/v1/evaluate`, body, concurrency, okFive);
  let cpuBefore = 0;
  let startedBefore = 0;
  let pid: number | null | undefined;
  // The host's counters are read when the measured period starts, i.e. after the warm-up.
  const reading = (async () => {
    await new Promise((r) => setTimeout(r, timing.warmupMs));
    const before = await pythonDetails(url);
    pid = before.hosts[0]?.pid;
    cpuBefore = pid ? treeCpuMs(pid) : 0;
    startedBefore = before.hosts[0]?.interpretersStarted ?? 0;
  })();
  const r = await closedLoop(http.call, { concurrency, ...timing });
  http.close();
  await reading;
  const after = await pythonDetails(url);
  const cpuAfter = pid ? treeCpuMs(pid) : 0;
  const started = (after.hosts[0]?.interpretersStarted ?? startedBefore) - startedBefore;
  return { ...r, hostCpuMsPerInterpreter: started > 0 ? (cpuAfter - cpuBefore) / started : 0, after };
}

// The same function as the HTTP calls, its arguments as JSON on stdin, its result as JSON on stdout.
const SUBPROCESS_SCRIPT = `import json, sys\n${ADD}\nprint(json.dumps(add(*json.load(sys.stdin))))\n`;

/** One `python3 -c` per call: no sandbox at all, the cost of a new CPython process. */
function pythonSubprocess(): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-c', SUBPROCESS_SCRIPT], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve(code === 0 && out.trim() === '5'));
    child.stdin.end('[2, 3]');
  });
}

/** The baseline at one concurrency, closed loop for the same periods as the HTTP rows. */
async function subprocessBaseline(concurrency: number): Promise<ClosedLoopResult> {
  return closedLoop(pythonSubprocess, {
    concurrency,
    warmupMs: Math.min(WARMUP_MS, 1_000),
    durationMs: DURATION_MS,
  });
}

/**
 * The Python modes to measure: BENCH_PYTHON_MODES="label:KEY=value,KEY=value;label2:..." (e.g. a
 * POLYEVAL_PYTHON_* setting that selects how interpreters are prepared); by default one mode, the
 * service's defaults.
 */
function pythonModes(): { label: string; env: Record<string, string> }[] {
  const raw = process.env.BENCH_PYTHON_MODES;
  if (raw === undefined || raw.trim() === '') return [{ label: 'default settings', env: {} }];
  return raw
    .split(';')
    .filter((part) => part.trim() !== '')
    .map((part) => {
      const colon = part.indexOf(':');
      const label = (colon < 0 ? part : part.slice(0, colon)).trim();
      const env: Record<string, string> = {};
      for (const pair of (colon < 0 ? '' : part.slice(colon + 1)).split(',')) {
        if (pair.trim() === '') continue;
        const eq = pair.indexOf('=');
        if (eq < 1) throw new Error(`Cannot read BENCH_PYTHON_MODES: "${pair}" is not KEY=value`);
        env[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
      }
      return { label, env };
    });
}

function fixed(n: number, digits = 1): string {
  return Number.isFinite(n) ? n.toFixed(digits) : 'n/a';
}

/** Steady-state rows of one mode, each beside the python3 baseline at the same concurrency. */
async function steadyRows(
  url: string,
  label: string,
  baselines: ReadonlyMap<number, ClosedLoopResult>,
): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  await waitWarm(url);
  for (const concurrency of CONCURRENCIES) {
    const s = await sustained(url, concurrency);
    const base = baselines.get(concurrency);
    rows.push({
      name: `python add over HTTP, steady state (${label}), concurrency ${concurrency}`,
      p50Ms: s.p50Ms,
      p99Ms: s.p99Ms,
      callsPerSec: s.callsPerSec,
      extra: {
        'p90 ms': fixed(s.p90Ms),
        ...(base === undefined
          ? {}
          : {
              'calls/s vs python3': `${fixed(s.callsPerSec / base.callsPerSec, 2)}x`,
              'p50 vs python3': `${fixed(s.p50Ms / base.p50Ms, 2)}x`,
            }),
        calls: s.calls,
        'warm-up calls': s.warmupCalls,
        'host cpu ms/interpreter': Math.round(s.hostCpuMsPerInterpreter),
        ...(s.errors > 0 ? { errors: s.errors } : {}),
      },
    });
  }
  return rows;
}

/** A variant of the preparation, on its own server (pool of 2), sustained at concurrency 2. */
async function variant(name: string, env: Record<string, string>): Promise<BenchRow> {
  const server = await startServer(
    { POLYEVAL_LANGUAGES: 'python', POLYEVAL_POOL_SIZE: '2', ...env },
    { logTo: 'file' },
  );
  try {
    await waitWarm(server.url);
    const waiting = await waitingLatency(server.url, quick ? 5 : 15, 0);
    const s = await sustained(server.url, 2, {
      warmupMs: quick ? 500 : 2_000,
      durationMs: quick ? 2_000 : 5_000,
    });
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
    extra: {
      ...ratio(summarize(fresh).p50Ms),
      ...(snapshot?.builtMs === undefined ? {} : { 'snapshot built ms': snapshot.builtMs }),
    },
  });
  const idled = await waitingLatency(url, quick ? 5 : 15, 1000);
  rows.push({
    name: 'python add, interpreter waiting (idle 1 s first)',
    ...summarize(idled),
    callsPerSec: Number.NaN,
    extra: ratio(summarize(idled).p50Ms),
  });

  // The baseline first, on an idle machine, as the HTTP rows will be measured.
  const baselines = new Map<number, ClosedLoopResult>();
  for (const concurrency of CONCURRENCIES) {
    const b = await subprocessBaseline(concurrency);
    baselines.set(concurrency, b);
    rows.push({
      name: `baseline: python3 -c per call, JSON on stdin (no sandbox), concurrency ${concurrency}`,
      p50Ms: b.p50Ms,
      p99Ms: b.p99Ms,
      callsPerSec: b.callsPerSec,
      extra: { 'p90 ms': fixed(b.p90Ms), calls: b.calls, ...(b.errors > 0 ? { errors: b.errors } : {}) },
    });
  }

  // Steady state of every mode: the first on the section's server when it runs with the defaults.
  for (const [i, mode] of pythonModes().entries()) {
    if (i === 0 && Object.keys(mode.env).length === 0) {
      rows.push(...(await steadyRows(url, mode.label, baselines)));
      continue;
    }
    const server = await startServer({ POLYEVAL_LANGUAGES: 'python', ...mode.env }, { logTo: 'file' });
    try {
      rows.push(...(await steadyRows(server.url, mode.label, baselines)));
    } finally {
      await server.close();
    }
  }

  rows.push(await variant('sparse restore, no warm-up call (default)', {}));
  rows.push(await variant('dense restore (Pyodide HEAP8.set)', { POLYEVAL_PYTHON_RESTORE: 'dense' }));
  rows.push(await variant('with a warm-up call', { POLYEVAL_PYTHON_WARMUP: '1' }));
  rows.push(
    await variant('16 fresh interpreters per worker (weaker isolation)', {
      POLYEVAL_PYTHON_INTERPRETERS_PER_WORKER: '16',
    }),
  );
  rows.push(
    await variant('100 calls per interpreter (NOT single use)', {
      POLYEVAL_PYTHON_CALLS_PER_INTERPRETER: '100',
    }),
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

// The memory section of `npm run bench`: the resident memory (RSS) of the whole process tree — the
// service and every process below it (the Python sandbox host and its bubblewrap parent) — with
// every language enabled and warm, read from /proc: fresh (once idle after start-up), then idle
// again after N calls of each language, and once more 35 s after the last call (threads started on
// demand or kept for compiles and large bodies are stopped after 30 s idle). Threads share their process's RSS, so worker pools are in
// their process's figure. Linux only (elsewhere the row says so).
//
//   node dist/scripts/bench-memory.js [--quick]        (standalone)

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SANDBOX_HOST_ENV } from '../src/executor/host/process-host.js';
import { projectRoot } from '../src/paths.js';
import { type BenchRow, percentile } from './lib/load.js';
import { processTree } from './lib/proc.js';
import { postJson, type RunningServer, startServer } from './lib/server.js';

const quick = process.argv.includes('--quick');
/** How long after the last call the "rested" sample is taken. */
const RESTED_MS = 35_000;
const MiB = 2 ** 20;

const CALLS: Readonly<Record<string, unknown>> = {
  javascript: { code: 'function add(a, b) { return a + b }', function: 'add', args: [2, 3] },
  python: { code: 'def add(a, b):\n    return a + b\n', function: 'add', args: [2, 3] },
  lua: { code: 'function add(a, b) return a + b end', function: 'add', args: [2, 3] },
  wasm: {
    code: readFileSync(
      fileURLToPath(new URL('interpreters/wasm/conformance/001-add-integers.wat', projectRoot)),
      'utf8',
    ),
    function: 'add',
    args: [2, 3],
  },
};

interface TreeSample {
  readonly totalBytes: number;
  /**
   * The same processes' proportional set size (smaps_rollup): pages shared between them — node's
   * own code, file-backed, is in both the service's and the host's RSS — counted once in all.
   */
  readonly pssBytes: number;
  /** RSS per process, keyed by what it is (the service, or its language). */
  readonly parts: Record<string, number>;
}

/** A process's PSS in bytes (0 when its smaps cannot be read, e.g. another user's process). */
function pssOf(pid: number): number {
  try {
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    return Number(/^Pss:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

function sampleTree(server: RunningServer): TreeSample {
  const parts: Record<string, number> = {};
  let totalBytes = 0;
  let pssBytes = 0;
  for (const p of processTree(server.process.pid!)) {
    const key = p.pid === server.process.pid ? 'service' : (p.language ?? 'other');
    parts[key] = (parts[key] ?? 0) + p.rssBytes;
    totalBytes += p.rssBytes;
    pssBytes += pssOf(p.pid);
  }
  return { totalBytes, pssBytes, parts };
}

/** The median of a few samples a second apart, once the tree is idle. */
async function idleTree(server: RunningServer): Promise<TreeSample> {
  await new Promise((r) => setTimeout(r, 2_000));
  const samples: TreeSample[] = [];
  for (let i = 0; i < 5; i++) {
    samples.push(sampleTree(server));
    await new Promise((r) => setTimeout(r, 500));
  }
  samples.sort((a, b) => a.totalBytes - b.totalBytes);
  return samples[2]!;
}

async function waitPythonWarm(url: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const r = await fetch(`${url}/v1/languages`);
    const { languages } = (await r.json()) as {
      languages: {
        id: string;
        details?: { hosts?: { interpretersWaiting?: number; interpretersTarget?: number }[] };
      }[];
    };
    const hosts = languages.find((l) => l.id === 'python')?.details?.hosts ?? [];
    if (hosts.every((h) => (h.interpretersWaiting ?? 0) >= (h.interpretersTarget ?? 0))) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

function describe(sample: TreeSample): string {
  return Object.entries(sample.parts)
    .map(([k, v]) => `${k} ${(v / MiB).toFixed(0)}`)
    .join(', ');
}

/** glibc's allocator settings the Dockerfile gives the service (the sandbox hosts get them always). */
const MALLOC_ENV = { GLIBC_TUNABLES: SANDBOX_HOST_ENV.GLIBC_TUNABLES! };

/** Fresh and after-calls rows for one way of starting the service. */
async function measureTree(label: string, env: Record<string, string>, calls: number): Promise<BenchRow[]> {
  // Every language folder (POLYEVAL_LANGUAGES empty), the service's defaults otherwise.
  const server = await startServer({ POLYEVAL_LANGUAGES: '', ...env }, { logTo: 'file' });
  try {
    const languages = (
      (await (await fetch(`${server.url}/v1/languages`)).json()) as { languages: { id: string }[] }
    ).languages.map((l) => l.id);
    // Warm every language once (a first call compiles and caches what later calls reuse).
    for (const language of languages) {
      const call = CALLS[language];
      if (call !== undefined) await postJson(`${server.url}/v1/evaluate`, { language, ...call });
    }
    await waitPythonWarm(server.url);
    const fresh = await idleTree(server);
    const latencies: number[] = [];
    for (const language of languages) {
      const call = CALLS[language];
      if (call === undefined) continue;
      for (let i = 0; i < calls; i++) {
        const started = performance.now();
        const r = await postJson(`${server.url}/v1/evaluate`, { language, ...call });
        latencies.push(performance.now() - started);
        if (r.status !== 200 || r.body.value !== 5)
          throw new Error(`Unexpected ${language} answer: ${JSON.stringify(r.body).slice(0, 300)}`);
      }
    }
    await waitPythonWarm(server.url);
    const lastCall = performance.now();
    const after = await idleTree(server);
    // Idle for good: past the 30 s after which threads beyond the warm ones are stopped (the
    // pools' IDLE_RETIRE_MS, the wasm compiler's COMPILE_IDLE_MS, the body parser thread).
    await new Promise((r) => setTimeout(r, Math.max(0, lastCall + RESTED_MS - performance.now())));
    const rested = await idleTree(server);
    latencies.sort((a, b) => a - b);
    const row = (name: string, s: TreeSample): BenchRow => ({
      name,
      p50Ms: Number.NaN,
      p99Ms: Number.NaN,
      callsPerSec: Number.NaN,
      extra: {
        'tree RSS MiB': (s.totalBytes / MiB).toFixed(0),
        'tree PSS MiB': s.pssBytes > 0 ? (s.pssBytes / MiB).toFixed(0) : 'n/a',
        'MiB by process': describe(s),
        languages: languages.join('+'),
      },
    });
    return [
      row(`whole-tree idle RSS (${label}), every language warm, fresh`, fresh),
      {
        ...row(`whole-tree idle RSS (${label}), after ${calls} calls of each language`, after),
        p50Ms: percentile(latencies, 50),
        p99Ms: percentile(latencies, 99),
      },
      row(`whole-tree idle RSS (${label}), ${RESTED_MS / 1000} s after the last call`, rested),
    ];
  } finally {
    await server.close();
  }
}

export async function benchMemory(): Promise<BenchRow[]> {
  if (processTree(process.pid).length === 0) {
    return [
      {
        name: 'whole-tree idle RSS: no /proc here',
        p50Ms: Number.NaN,
        p99Ms: Number.NaN,
        callsPerSec: Number.NaN,
      },
    ];
  }
  const calls = quick ? 30 : 100;
  // As `node dist/src/main.js` starts with this environment, then as the Dockerfile starts it.
  const inherited = process.env.GLIBC_TUNABLES === undefined ? 'glibc defaults' : 'inherited GLIBC_TUNABLES';
  return [
    ...(await measureTree(`service: ${inherited}`, {}, calls)),
    ...(await measureTree('service: GLIBC_TUNABLES as in the Dockerfile', MALLOC_ENV, calls)),
  ];
}

// Run on its own: node dist/scripts/bench-memory.js [--quick]
if (import.meta.url === `file://${process.argv[1]}`) {
  for (const row of await benchMemory()) console.log(row.name, JSON.stringify(row.extra ?? {}));
}

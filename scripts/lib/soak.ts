// The soak: sustained mixed load on a real server across every enabled language, about one call in
// ten hostile (loops, memory balloons, output floods, exceptions, syntax errors, results JSON cannot
// carry). It counts what matters for an operator:
//   - good calls lost: an honest call that did not come back 200 with its exact value (a 503, a 5xx,
//     a wrong value, a transport error: all count); the goal is 0;
//   - error-code accuracy: hostile calls that ended with one of the codes their attack must end with;
//   - latency p50/p99 per language (good calls, end to end as the client sees them);
//   - resident memory over time of the service and of its whole process tree (sandbox hosts
//     included), and its trend after warm-up (the goal: flat within 10 %).
// scripts/soak.ts is the command line (npm run soak -- --minutes N); test/soak/soak.test.ts runs a
// short one in npm test. Traffic goes to 127.0.0.1 only.

import { readFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { percentile, send } from './load.js';
import { descendants } from './proc.js';
import { type RunningServer, startServer } from './server.js';

export const SOAK_LANGUAGES = ['javascript', 'lua', 'wasm', 'python'] as const;
export type SoakLanguage = (typeof SOAK_LANGUAGES)[number];

export interface SoakOptions {
  readonly durationMs: number;
  /** Concurrent callers (closed loop). */
  readonly concurrency?: number;
  /** Share of calls that are hostile (default 0.1). */
  readonly hostileRatio?: number;
  readonly languages?: readonly SoakLanguage[];
  /** Use a running server instead of starting one (its process tree is then not measured). */
  readonly url?: string;
  /** How often resident memory is sampled (default: a 200th of the run, between 0.5 and 5 s). */
  readonly sampleEveryMs?: number;
  /** Called with one line of progress now and then. */
  readonly progress?: (line: string) => void;
  /** Deterministic choices (default: a seed from the clock, printed in the report). */
  readonly seed?: number;
}

export interface LanguageFigures {
  readonly good: number;
  readonly goodLost: number;
  readonly hostile: number;
  readonly hostileAccurate: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export interface MemorySample {
  /** Seconds since the soak started. */
  readonly t: number;
  /** Resident memory of the service process, bytes. */
  readonly serviceRss: number;
  /** Resident memory of the service and every process under it (sandbox hosts), bytes. */
  readonly treeRss: number;
}

export interface SoakReport {
  readonly seed: number;
  readonly seconds: number;
  readonly calls: number;
  readonly goodCalls: number;
  readonly goodLost: number;
  /** What was wrong with the first few lost good calls. */
  readonly lostExamples: readonly string[];
  readonly hostileCalls: number;
  readonly hostileAccurate: number;
  /** Hostile calls whose code was not one of the expected ones: attack → what came back. */
  readonly inaccurateExamples: readonly string[];
  readonly accuracy: number;
  readonly languages: Readonly<Record<string, LanguageFigures>>;
  readonly memory: readonly MemorySample[];
  /**
   * Growth of resident memory after warm-up: the last third of the samples against the middle
   * third (the first third is warm-up: workers' V8 heaps and the module caches grow to their
   * working size over the first minutes), for the service and for the tree. `service`/`tree`
   * compare medians; the `…Floor` figures compare 10th percentiles, which leave out the memory of
   * calls in flight (a memory balloon holds its whole limit while it runs).
   */
  readonly rssGrowth:
    | {
        readonly service: number;
        readonly tree: number;
        readonly serviceFloor: number;
        readonly treeFloor: number;
      }
    | undefined;
}

interface Good {
  readonly code: string;
  readonly fn: string;
  /** Builds arguments and the value the call must return. */
  readonly make: (rand: () => number) => { args: unknown[]; expected: unknown };
}

interface Hostile {
  readonly name: string;
  readonly code: string;
  readonly fn: string;
  readonly limits: Record<string, number>;
  readonly codes: readonly string[];
}

const LETTERS = Array.from('abcdefghijklmnopqrstuvwxyzé€😀');
const word = (rand: () => number): string =>
  Array.from(
    { length: 1 + Math.floor(rand() * 12) },
    () => LETTERS[Math.floor(rand() * LETTERS.length)],
  ).join('');
const int = (rand: () => number): number => Math.floor(rand() * 2_000_000) - 1_000_000;

/** add(a, b) = a + b on two random integers. */
const addCall = (code: string): Good => ({
  code,
  fn: 'add',
  make: (r) => {
    const [a, b] = [int(r), int(r)];
    return { args: [a, b], expected: a + b };
  },
});

/** pair(s, n) = { s: s + s, list: [n, 2n] } on a random word and integer. */
const pairCall = (code: string): Good => ({
  code,
  fn: 'pair',
  make: (r) => {
    const [s, n] = [word(r), int(r)];
    return { args: [s, n], expected: { s: s + s, list: [n, n * 2] } };
  },
});

const GOOD: Readonly<Record<SoakLanguage, readonly Good[]>> = {
  javascript: [
    addCall('function add(a, b) { return a + b }'),
    pairCall('function pair(s, n) { return { s: s + s, list: [n, n * 2] } }'),
  ],
  lua: [
    addCall('function add(a, b) return a + b end'),
    pairCall('function pair(s, n) return { s = s .. s, list = { n, n * 2 } } end'),
  ],
  wasm: [
    addCall(
      '(module (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))',
    ),
    {
      code: '(module (func (export "mul") (param i64 i64) (result i64) (i64.mul (local.get 0) (local.get 1))))',
      fn: 'mul',
      make: (r) => {
        const [a, b] = [int(r), int(r)];
        return { args: [a, b], expected: a * b };
      },
    },
  ],
  python: [
    addCall('def add(a, b):\n    return a + b\n'),
    pairCall('def pair(s, n):\n    return {"s": s + s, "list": [n, n * 2]}\n'),
  ],
};

const SHORT = { timeoutMs: 300 };
const HOSTILE: Readonly<Record<SoakLanguage, readonly Hostile[]>> = {
  javascript: [
    { name: 'loop', code: 'function main() { for (;;) {} }', fn: 'main', limits: SHORT, codes: ['TIMEOUT'] },
    {
      name: 'balloon',
      code: 'function main() { const a = []; for (;;) a.push(new Array(1e5).fill(a.length)) }',
      fn: 'main',
      limits: { memoryMb: 32, timeoutMs: 10_000 },
      codes: ['MEMORY_LIMIT'],
    },
    {
      name: 'flood',
      code: 'function main() { for (;;) console.log("x".repeat(1000)) }',
      fn: 'main',
      limits: { outputBytes: 10_000, timeoutMs: 10_000 },
      codes: ['OUTPUT_LIMIT'],
    },
    {
      name: 'throw',
      code: 'function main() { throw new Error("no") }',
      fn: 'main',
      limits: {},
      codes: ['RUNTIME_ERROR'],
    },
    { name: 'syntax', code: 'function main( {', fn: 'main', limits: {}, codes: ['SYNTAX_ERROR'] },
    {
      name: 'nan',
      code: 'function main() { return NaN }',
      fn: 'main',
      limits: {},
      codes: ['INVALID_RESULT'],
    },
  ],
  lua: [
    {
      name: 'loop',
      code: 'function main() while true do end end',
      fn: 'main',
      limits: SHORT,
      codes: ['TIMEOUT'],
    },
    {
      name: 'balloon',
      code: "function main() local t = {} while true do t[#t + 1] = string.rep('x', 1e5) .. #t end end",
      fn: 'main',
      limits: { memoryMb: 32, timeoutMs: 10_000 },
      codes: ['MEMORY_LIMIT'],
    },
    {
      name: 'flood',
      code: "function main() while true do print(string.rep('x', 1000)) end end",
      fn: 'main',
      limits: { outputBytes: 10_000, timeoutMs: 10_000 },
      codes: ['OUTPUT_LIMIT'],
    },
    {
      name: 'throw',
      code: "function main() error('no') end",
      fn: 'main',
      limits: {},
      codes: ['RUNTIME_ERROR'],
    },
    { name: 'syntax', code: 'function main( end', fn: 'main', limits: {}, codes: ['SYNTAX_ERROR'] },
    {
      name: 'function',
      code: 'function main() return main end',
      fn: 'main',
      limits: {},
      codes: ['INVALID_RESULT'],
    },
  ],
  wasm: [
    {
      name: 'loop',
      code: '(module (func (export "spin") (loop $l (br $l))))',
      fn: 'spin',
      limits: SHORT,
      codes: ['TIMEOUT'],
    },
    {
      name: 'balloon',
      code: `(module (memory 0) (func (export "grow") (result i32)
        (loop $more (br_if $more (i32.ne (memory.grow (i32.const 64)) (i32.const -1)))) (memory.size)))`,
      fn: 'grow',
      limits: { memoryMb: 32, timeoutMs: 10_000 },
      codes: ['MEMORY_LIMIT'],
    },
    {
      name: 'flood',
      code: `(module (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
        (memory 1) (func (export "_start") (i32.store (i32.const 0) (i32.const 64)) (i32.store (i32.const 4) (i32.const 1000))
        (loop $l (drop (call $w (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8))) (br $l))))`,
      fn: 'main',
      limits: { outputBytes: 10_000, timeoutMs: 10_000 },
      codes: ['OUTPUT_LIMIT'],
    },
    {
      name: 'trap',
      code: '(module (func (export "boom") (result i32) unreachable))',
      fn: 'boom',
      limits: {},
      codes: ['RUNTIME_ERROR'],
    },
    {
      name: 'syntax',
      code: '(module (func (export "f") (i32.add)))',
      fn: 'f',
      limits: {},
      codes: ['SYNTAX_ERROR'],
    },
    {
      name: 'nan',
      code: '(module (func (export "nan") (result f64) (f64.div (f64.const 0) (f64.const 0))))',
      fn: 'nan',
      limits: {},
      codes: ['INVALID_RESULT'],
    },
  ],
  python: [
    {
      name: 'loop',
      code: 'def f():\n    while True:\n        pass\n',
      fn: 'f',
      limits: SHORT,
      codes: ['TIMEOUT'],
    },
    {
      name: 'balloon',
      code: 'def f():\n    x = []\n    while True:\n        x.append(bytearray(10**6))\n',
      fn: 'f',
      limits: { memoryMb: 96, timeoutMs: 10_000 },
      codes: ['MEMORY_LIMIT'],
    },
    {
      name: 'flood',
      code: "def f():\n    while True:\n        print('x' * 1000)\n",
      fn: 'f',
      limits: { outputBytes: 10_000, timeoutMs: 10_000 },
      codes: ['OUTPUT_LIMIT'],
    },
    {
      name: 'throw',
      code: "def f():\n    raise ValueError('no')\n",
      fn: 'f',
      limits: {},
      codes: ['RUNTIME_ERROR'],
    },
    { name: 'syntax', code: 'def f(:\n    pass\n', fn: 'f', limits: {}, codes: ['SYNTAX_ERROR'] },
    {
      name: 'nan',
      code: "def f():\n    return float('nan')\n",
      fn: 'f',
      limits: {},
      codes: ['INVALID_RESULT'],
    },
  ],
};

/** mulberry32: a small seeded PRNG, so that a soak can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A POST that never rejects: a network failure or timeout is status 0 with the error's message. */
function post(
  agent: Agent,
  url: URL,
  body: string,
  timeoutMs: number,
): Promise<{ status: number; body: string }> {
  return send(agent, url, 'POST', body, timeoutMs).catch((e: Error) => ({ status: 0, body: e.message }));
}

/** Resident memory (bytes) of a process, 0 if it is gone. */
function rssOf(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match === null ? 0 : Number(match[1]) * 1024;
  } catch {
    return 0;
  }
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
};

/** JSON equality, whatever the key order (Lua tables have none). */
function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return (
    ka.length === kb.length &&
    ka.every(
      (k) =>
        Object.hasOwn(b, k) &&
        jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
    )
  );
}

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const seed = options.seed ?? Date.now() % 2 ** 31;
  const rand = prng(seed);
  const hostileRatio = options.hostileRatio ?? 0.1;
  const concurrency = options.concurrency ?? 4;
  let languages = [...(options.languages ?? SOAK_LANGUAGES)];
  let server: RunningServer | undefined;
  let base = options.url;
  if (base === undefined) {
    // Logs to a file: reading one log line per call from a pipe would steal the load generator's time.
    server = await startServer(
      { POLYEVAL_LANGUAGES: languages.join(','), POLYEVAL_POOL_SIZE: '2' },
      { logTo: 'file' },
    );
    base = server.url;
  } else {
    // Only the languages the server has.
    const info = (await (await fetch(`${base}/v1/languages`)).json()) as { languages: { id: string }[] };
    languages = languages.filter((l) => info.languages.some((x) => x.id === l));
  }
  const url = new URL('/v1/evaluate', base);
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const figures = new Map(
    languages.map((l) => [
      l,
      { good: 0, goodLost: 0, hostile: 0, hostileAccurate: 0, latencies: [] as number[] },
    ]),
  );
  const lostExamples: string[] = [];
  const inaccurateExamples: string[] = [];
  const memory: MemorySample[] = [];
  const started = performance.now();
  const deadline = started + options.durationMs;
  const sampleEvery =
    options.sampleEveryMs ?? Math.min(5_000, Math.max(500, Math.round(options.durationMs / 200)));

  const sample = (): void => {
    if (server?.process.pid === undefined) return;
    const pid = server.process.pid;
    const tree = [pid, ...descendants(pid)];
    memory.push({
      t: Math.round((performance.now() - started) / 100) / 10,
      serviceRss: rssOf(pid),
      treeRss: tree.reduce((sum, p) => sum + rssOf(p), 0),
    });
  };
  sample();
  const sampler = setInterval(sample, sampleEvery);
  let lastProgress = started;
  let calls = 0;

  const caller = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const language = languages[Math.floor(rand() * languages.length)]!;
      const f = figures.get(language)!;
      calls++;
      if (rand() < hostileRatio) {
        const list = HOSTILE[language];
        const attack = list[Math.floor(rand() * list.length)]!;
        const body = JSON.stringify({
          language,
          code: attack.code,
          function: attack.fn,
          args: [],
          limits: attack.limits,
        });
        const answer = await post(agent, url, body, 60_000);
        f.hostile++;
        let code = `HTTP ${answer.status}`;
        try {
          const parsed = JSON.parse(answer.body) as { ok?: boolean; error?: { code?: string } };
          if (answer.status === 200) code = parsed.ok === true ? 'OK' : (parsed.error?.code ?? '?');
        } catch {
          // not JSON: keep the status
        }
        if (attack.codes.includes(code)) f.hostileAccurate++;
        else if (inaccurateExamples.length < 10) {
          inaccurateExamples.push(`${language} ${attack.name}: ${code} (${answer.body.slice(0, 200)})`);
        }
      } else {
        const list = GOOD[language];
        const good = list[Math.floor(rand() * list.length)]!;
        const { args, expected } = good.make(rand);
        const body = JSON.stringify({
          language,
          code: good.code,
          function: good.fn,
          args,
          limits: { timeoutMs: 10_000 },
        });
        const t0 = performance.now();
        const answer = await post(agent, url, body, 60_000);
        const ms = performance.now() - t0;
        f.good++;
        let ok = false;
        try {
          const parsed = JSON.parse(answer.body) as { ok?: boolean; value?: unknown };
          ok = answer.status === 200 && parsed.ok === true && jsonEqual(parsed.value, expected);
        } catch {
          ok = false;
        }
        if (ok) f.latencies.push(ms);
        else {
          f.goodLost++;
          if (lostExamples.length < 10) {
            lostExamples.push(
              `${language} ${good.fn}(${JSON.stringify(args)}): HTTP ${answer.status} ${answer.body.slice(0, 300)}`,
            );
          }
        }
      }
      const now = performance.now();
      if (options.progress !== undefined && now - lastProgress > 10_000) {
        lastProgress = now;
        const m = memory[memory.length - 1];
        options.progress(
          `${Math.round((now - started) / 1000)} s: ${calls} calls` +
            (m === undefined
              ? ''
              : `, service RSS ${(m.serviceRss / 2 ** 20).toFixed(0)} MiB, tree ${(m.treeRss / 2 ** 20).toFixed(0)} MiB`),
        );
      }
    }
  };

  try {
    await Promise.all(Array.from({ length: concurrency }, caller));
  } finally {
    clearInterval(sampler);
    sample();
    agent.destroy();
    await server?.close();
  }

  const languagesOut: Record<string, LanguageFigures> = {};
  let goodCalls = 0;
  let goodLost = 0;
  let hostileCalls = 0;
  let hostileAccurate = 0;
  for (const [language, f] of figures) {
    const sorted = [...f.latencies].sort((a, b) => a - b);
    languagesOut[language] = {
      good: f.good,
      goodLost: f.goodLost,
      hostile: f.hostile,
      hostileAccurate: f.hostileAccurate,
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
    };
    goodCalls += f.good;
    goodLost += f.goodLost;
    hostileCalls += f.hostile;
    hostileAccurate += f.hostileAccurate;
  }
  let rssGrowth: SoakReport['rssGrowth'];
  if (memory.length >= 9) {
    const third = Math.floor(memory.length / 3);
    const second = memory.slice(third, 2 * third);
    const last = memory.slice(memory.length - third);
    const growth = (pick: (m: MemorySample) => number, stat: (xs: number[]) => number): number =>
      stat(last.map(pick)) / stat(second.map(pick)) - 1;
    const floor = (xs: number[]): number =>
      percentile(
        [...xs].sort((a, b) => a - b),
        10,
      );
    rssGrowth = {
      service: growth((m) => m.serviceRss, median),
      tree: growth((m) => m.treeRss, median),
      serviceFloor: growth((m) => m.serviceRss, floor),
      treeFloor: growth((m) => m.treeRss, floor),
    };
  }
  return {
    seed,
    seconds: (performance.now() - started) / 1000,
    calls,
    goodCalls,
    goodLost,
    lostExamples,
    hostileCalls,
    hostileAccurate,
    inaccurateExamples,
    accuracy: hostileCalls === 0 ? 1 : hostileAccurate / hostileCalls,
    languages: languagesOut,
    memory,
    rssGrowth,
  };
}

/** The report as text: a table per language, then memory. */
export function formatSoakReport(report: SoakReport): string {
  const lines: string[] = [];
  const pct = (x: number): string => `${(x * 100).toFixed(1)} %`;
  lines.push(
    `soak: ${report.seconds.toFixed(0)} s, ${report.calls} calls (seed ${report.seed}); ` +
      `good calls lost: ${report.goodLost} of ${report.goodCalls}; ` +
      `error-code accuracy: ${report.hostileAccurate}/${report.hostileCalls} (${pct(report.accuracy)})`,
  );
  lines.push('language     good  lost  hostile  accurate   p50 ms   p99 ms');
  for (const [language, f] of Object.entries(report.languages)) {
    lines.push(
      `${language.padEnd(11)} ${String(f.good).padStart(5)} ${String(f.goodLost).padStart(5)} ${String(f.hostile).padStart(8)} ${String(f.hostileAccurate).padStart(9)} ${f.p50Ms.toFixed(1).padStart(8)} ${f.p99Ms.toFixed(1).padStart(8)}`,
    );
  }
  if (report.memory.length >= 10) {
    // Ten windows of the run: the 10th percentile, median and peak of each.
    const mib = (b: number): string => (b / 2 ** 20).toFixed(0);
    const n = report.memory.length;
    lines.push('RSS MiB by tenth of the run: service p10/median/max · tree p10/median/max');
    for (let i = 0; i < 10; i++) {
      const w = report.memory.slice(Math.floor((i * n) / 10), Math.floor(((i + 1) * n) / 10));
      const stats = (pick: (m: MemorySample) => number): string => {
        const xs = w.map(pick).sort((a, b) => a - b);
        return `${mib(percentile(xs, 10))}/${mib(percentile(xs, 50))}/${mib(xs[xs.length - 1]!)}`;
      };
      lines.push(
        `  ${String(w[0]!.t).padStart(6)} s  ${stats((m) => m.serviceRss).padEnd(12)} · ${stats((m) => m.treeRss)}`,
      );
    }
  }
  if (report.rssGrowth !== undefined) {
    lines.push(
      `RSS after warm-up (last third vs middle third): median service ${pct(report.rssGrowth.service)}, tree ${pct(report.rssGrowth.tree)}; ` +
        `floor (10th percentile, calls in flight left out) service ${pct(report.rssGrowth.serviceFloor)}, tree ${pct(report.rssGrowth.treeFloor)}`,
    );
  }
  for (const e of report.lostExamples) lines.push(`lost: ${e}`);
  for (const e of report.inaccurateExamples) lines.push(`inaccurate: ${e}`);
  return lines.join('\n');
}

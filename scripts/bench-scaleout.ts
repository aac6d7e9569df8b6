// Scale-out benchmark: the orchestrator routing a language to 1, then 2 evaluator processes on
// this machine (POLYEVAL_REMOTE_<ID>=url1[,url2]), each evaluator with one sandbox slot, under the
// same closed-loop load; reports calls/s of each and their ratio. The call burns a few ms of guest
// CPU so that evaluator work, not the HTTP hop, is what scales. On a 2-core machine the client,
// the orchestrator and the evaluators share the cores: the ratio says how much of a second core
// the split actually buys, not what a cluster would.
//
//   node dist/scripts/bench-scaleout.js [--quick]        (standalone)
//   import { benchScaleout } from './bench-scaleout.js'   (a section of scripts/bench.ts)

import { type BenchRow, load } from './lib/load.js';
import { type RunningServer, startServer } from './lib/server.js';

export interface ScaleoutOptions {
  /** Requests per measurement (default 1000; 300 with quick). */
  readonly requests?: number;
  readonly concurrency?: number;
  readonly quick?: boolean;
  /** The language to route (default javascript) and a call body for it. */
  readonly language?: string;
  readonly body?: string;
}

const DEFAULT_BODY = JSON.stringify({
  language: 'javascript',
  code: 'function main(n) { let s = 0; for (let i = 0; i < n; i++) s = (s + i * i) % 1000003; return s }',
  args: [200000],
});

async function measure(
  evaluators: number,
  options: Required<Pick<ScaleoutOptions, 'requests' | 'concurrency' | 'language' | 'body'>>,
): Promise<{ callsPerSec: number; p50Ms: number; p99Ms: number; errors: number }> {
  const started: RunningServer[] = [];
  try {
    for (let i = 0; i < evaluators; i++) {
      started.push(
        await startServer(
          {
            POLYEVAL_LANGUAGES: options.language,
            POLYEVAL_POOL_SIZE: '1',
            POLYEVAL_PLAYGROUND: 'off',
          },
          { logTo: 'file' },
        ),
      );
    }
    const key = options.language.toUpperCase().replace(/-/g, '_');
    const orchestrator = await startServer(
      {
        POLYEVAL_LANGUAGES: options.language,
        [`POLYEVAL_REMOTE_${key}`]: started.map((s) => s.url).join(','),
      },
      { logTo: 'file' },
    );
    started.push(orchestrator);
    const r = await load({
      url: `${orchestrator.url}/v1/evaluate`,
      body: options.body,
      concurrency: options.concurrency,
      requests: options.requests,
      warmup: Math.min(100, options.requests),
      check: (status, text) => status === 200 && JSON.parse(text).ok === true,
    });
    return r;
  } finally {
    await Promise.all(started.map((s) => s.close()));
  }
}

/** Rows "1 evaluator" and "2 evaluators" (the second carries the throughput ratio). */
export async function benchScaleout(
  _url?: string,
  _floor?: BenchRow,
  options: ScaleoutOptions = {},
): Promise<BenchRow[]> {
  const settings = {
    requests: options.requests ?? (options.quick ? 300 : 1000),
    concurrency: options.concurrency ?? 4,
    language: options.language ?? 'javascript',
    body: options.body ?? DEFAULT_BODY,
  };
  const one = await measure(1, settings);
  const two = await measure(2, settings);
  const row = (name: string, r: typeof one, extra: Record<string, string | number>): BenchRow => ({
    name,
    p50Ms: r.p50Ms,
    p99Ms: r.p99Ms,
    callsPerSec: r.callsPerSec,
    extra: { ...extra, ...(r.errors > 0 ? { errors: r.errors } : {}) },
  });
  return [
    row(`scale-out: orchestrator + 1 evaluator, concurrency ${settings.concurrency}`, one, {}),
    row(`scale-out: orchestrator + 2 evaluators, concurrency ${settings.concurrency}`, two, {
      'throughput 2/1': (two.callsPerSec / one.callsPerSec).toFixed(2),
    }),
  ];
}

// Standalone: print the two rows.
if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = await benchScaleout(undefined, undefined, { quick: process.argv.includes('--quick') });
  for (const r of rows) {
    const notes = Object.entries(r.extra ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    console.log(
      `${r.name}  p50 ${r.p50Ms.toFixed(2)} ms  p99 ${r.p99Ms.toFixed(2)} ms  ${r.callsPerSec.toFixed(0)} calls/s  ${notes}`,
    );
  }
}

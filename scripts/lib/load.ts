// A small closed-loop load generator for the benchmarks: N concurrent callers over keep-alive
// HTTP/1.1 connections, each sending the next request when the previous answer arrives. Latencies
// are per request, end to end, as a client sees them.

import { Agent, request } from 'node:http';

export interface LoadOptions {
  readonly url: string;
  readonly method?: 'GET' | 'POST';
  readonly body?: string;
  readonly concurrency: number;
  /** Requests to send in total (after warm-up). */
  readonly requests: number;
  /**
   * Calls before measuring: a count, or 'steady' (the default): at least 3 s of calls, then batches
   * until two batches in a row have medians within 5 % of each other (at most 15 s in all). A freshly started
   * server and this client both take a few thousand calls to reach their steady speed (JIT and
   * WebAssembly tier-up): measured before that, a median mixes warm-up into the figure.
   */
  readonly warmup?: number | 'steady';
  /** Checks each answer; a false return counts as an error. */
  readonly check?: (status: number, body: string) => boolean;
}

export interface LoadResult {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly callsPerSec: number;
  readonly errors: number;
  readonly requests: number;
  /** Calls made before measuring. */
  readonly warmupCalls: number;
}

export interface BenchRow {
  readonly name: string;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly callsPerSec: number;
  /** Anything else worth printing (ratios, sizes, CPU...). */
  readonly extra?: Readonly<Record<string, string | number>>;
}

/** One request on `agent`; rejects on a network error, or when no answer came within `timeoutMs`. */
export function send(
  agent: Agent,
  url: URL,
  method: string,
  body: string | undefined,
  timeoutMs?: number,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        agent,
        method,
        headers:
          body === undefined
            ? {}
            : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on('error', reject);
      },
    );
    if (timeoutMs !== undefined) {
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    }
    req.on('error', reject);
    req.end(body);
  });
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const STEADY_MIN_MS = 3_000;
const STEADY_MAX_MS = 15_000;

export async function load(options: LoadOptions): Promise<LoadResult> {
  const url = new URL(options.url);
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  const method = options.method ?? (options.body === undefined ? 'GET' : 'POST');
  let errors = 0;
  const run = async (count: number, latencies: number[] | undefined): Promise<void> => {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < count) {
        next++;
        const started = performance.now();
        const answer = await send(agent, url, method, options.body).catch(() => ({ status: 0, body: '' }));
        latencies?.push(performance.now() - started);
        if (answer.status === 0 || !(options.check?.(answer.status, answer.body) ?? answer.status === 200))
          errors++;
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, worker));
  };
  let warmupCalls = 0;
  if (typeof options.warmup === 'number') {
    await run(options.warmup, undefined);
    warmupCalls = options.warmup;
  } else {
    const batch = Math.max(250, 50 * options.concurrency);
    const started = performance.now();
    let previous = Number.NaN;
    while (performance.now() - started < STEADY_MAX_MS) {
      const latencies: number[] = [];
      await run(batch, latencies);
      warmupCalls += batch;
      latencies.sort((a, b) => a - b);
      const median = percentile(latencies, 50);
      const steady = Math.abs(median - previous) <= 0.05 * previous;
      if (steady && performance.now() - started >= STEADY_MIN_MS) break;
      previous = median;
    }
  }
  errors = 0;
  const latencies: number[] = [];
  const started = performance.now();
  await run(options.requests, latencies);
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    callsPerSec: options.requests / seconds,
    errors,
    requests: options.requests,
    warmupCalls,
  };
}

/** A table row for a load result, with its p50 as a ratio of the floor measured in the same run. */
export function benchRow(
  name: string,
  result: LoadResult,
  floor?: BenchRow,
  extra: Readonly<Record<string, string | number>> = {},
): BenchRow {
  return {
    name,
    p50Ms: result.p50Ms,
    p99Ms: result.p99Ms,
    callsPerSec: result.callsPerSec,
    extra: {
      ...(floor === undefined ? {} : { 'p50/floor': (result.p50Ms / floor.p50Ms).toFixed(2) }),
      ...(result.errors > 0 ? { errors: result.errors } : {}),
      'warm-up calls': result.warmupCalls,
      ...extra,
    },
  };
}

/** A check for load(): HTTP 200 and a JSON answer whose `value` is `expected`. */
export const valueIs =
  (expected: unknown) =>
  (status: number, body: string): boolean =>
    status === 200 && JSON.stringify(JSON.parse(body).value) === JSON.stringify(expected);

/** One row per concurrency (1 and 4 by default), named `${name}, concurrency N`. */
export async function benchRows(
  name: string,
  options: Omit<LoadOptions, 'concurrency'>,
  floor: BenchRow | undefined,
  concurrencies: readonly number[] = [1, 4],
): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const concurrency of concurrencies) {
    rows.push(
      benchRow(`${name}, concurrency ${concurrency}`, await load({ ...options, concurrency }), floor),
    );
  }
  return rows;
}

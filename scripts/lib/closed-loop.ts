// A time-based closed loop for the benchmarks whose calls are slow enough (tens to hundreds of ms)
// that a fixed request count would either end before steady state or take minutes: `concurrency`
// callers each start the next call when the previous one ends, first for a warm-up period that is
// not measured, then for a measured period. lib/load.ts does the same by count for fast calls.

import { Agent } from 'node:http';
import { percentile, send } from './load.js';

export interface ClosedLoopResult {
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly callsPerSec: number;
  /** Calls measured (warm-up excluded). */
  readonly calls: number;
  readonly warmupCalls: number;
  readonly errors: number;
}

export interface ClosedLoopOptions {
  readonly concurrency: number;
  /** Calls run but not measured, for this long (ms), before the measured period. */
  readonly warmupMs: number;
  /** The measured period (ms); calls still running at its end are measured too. */
  readonly durationMs: number;
}

/**
 * Runs `call` in a closed loop and measures it. `call` resolves true for a correct answer; a false
 * or a rejection counts as an error (its latency is not measured).
 */
export async function closedLoop(
  call: () => Promise<boolean>,
  options: ClosedLoopOptions,
): Promise<ClosedLoopResult> {
  let warmupCalls = 0;
  let errors = 0;
  const latencies: number[] = [];
  const start = performance.now();
  const measureFrom = start + options.warmupMs;
  const stopAt = measureFrom + options.durationMs;
  let measuredStart = Number.NaN;
  let measuredEnd = measureFrom;
  const caller = async (): Promise<void> => {
    for (;;) {
      const started = performance.now();
      if (started >= stopAt) return;
      const ok = await call().catch(() => false);
      const ended = performance.now();
      if (started < measureFrom) {
        warmupCalls++;
        continue;
      }
      if (Number.isNaN(measuredStart) || started < measuredStart) measuredStart = started;
      measuredEnd = Math.max(measuredEnd, ended);
      if (ok) latencies.push(ended - started);
      else errors++;
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, caller));
  latencies.sort((a, b) => a - b);
  // From the first measured call's start to the last one's end: calls per second the loop sustained.
  const seconds = (measuredEnd - (Number.isNaN(measuredStart) ? measureFrom : measuredStart)) / 1000;
  return {
    p50Ms: percentile(latencies, 50),
    p90Ms: percentile(latencies, 90),
    p99Ms: percentile(latencies, 99),
    callsPerSec: seconds > 0 ? (latencies.length + errors) / seconds : 0,
    calls: latencies.length + errors,
    warmupCalls,
    errors,
  };
}

/** A `call` for closedLoop: one POST over a keep-alive connection, checked by `check`. */
export function httpCall(
  url: string,
  body: string,
  concurrency: number,
  check: (status: number, text: string) => boolean,
): { call: () => Promise<boolean>; close: () => void } {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const target = new URL(url);
  return {
    call: async () => {
      const answer = await send(agent, target, 'POST', body, 60_000);
      return check(answer.status, answer.body);
    },
    close: () => agent.destroy(),
  };
}

// Liveness under load, judged against the same server's idle latency measured in the same test: a
// blocked event loop turns milliseconds into the guest's whole deadline, far beyond any margin
// that noise on a loaded 2-core machine reaches. The figures are printed, never asserted as
// absolute numbers (hard latency limits belong to the benchmark and the soak).

import { expect } from 'vitest';

/** The median of some samples. */
export function median(samples: readonly number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The `p`-th percentile (0-100) of some samples, nearest rank: with few samples p99 is the slowest. */
export function percentile(samples: readonly number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? Number.POSITIVE_INFINITY;
}

/** `count` sequential GETs of `url`, each required to answer 200; their latencies in ms. */
export async function sampleLatency(url: string, count: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const response = await fetch(url);
    await response.arrayBuffer();
    expect(response.status, url).toBe(200);
    samples.push(performance.now() - started);
  }
  return samples;
}

/**
 * The loaded median stays within `factor` × the idle median + `slackMs`. The defaults let a loaded
 * machine slow an answer twentyfold and add a quarter of a second; a loop blocked by a guest (one
 * deadline, seconds) still crosses them.
 */
export function expectResponsive(
  what: string,
  idle: readonly number[],
  loaded: readonly number[],
  { factor = 20, slackMs = 250 }: { readonly factor?: number; readonly slackMs?: number } = {},
): void {
  const idleMedian = median(idle);
  const loadedMedian = median(loaded);
  const bound = idleMedian * factor + slackMs;
  const p99 = (samples: readonly number[]): string => percentile(samples, 99).toFixed(1);
  console.log(
    `${what}: median ${loadedMedian.toFixed(1)} ms (p99 ${p99(loaded)}, ${loaded.length} probes) under load, ` +
      `${idleMedian.toFixed(1)} ms (p99 ${p99(idle)}, ${idle.length} probes) idle; bound ${bound.toFixed(0)} ms`,
  );
  expect(loadedMedian, `${what}: median under load vs idle`).toBeLessThan(bound);
}

// threadCpuMs() is the per-call CPU figure in stats: it must count the calling thread's CPU time,
// keep counting across readings (the schedstat descriptor is re-read in place), and not count
// another thread's work (process-wide CPU would charge one call for its neighbours). No absolute
// thresholds: each figure is compared with the process's CPU time over the same interval (the
// baseline), with margins a loaded 2-core machine cannot cross; the figures are printed.

import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { threadCpuMs } from '../../src/executor/host/thread-cpu.js';

/** A fixed amount of work (not of wall time): the same CPU cost however loaded the machine is. */
const WORK = `let x = 0; for (let i = 0; i < 3e7; i++) x = (x + i * 7) % 1000003; globalThis.sink = x;`;
const work = new Function(WORK) as () => void;

/** Process CPU time (all threads) in ms. */
function processCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

describe('threadCpuMs', () => {
  it('grows with CPU burnt on this thread, reading after reading, as the process CPU does', () => {
    for (let i = 0; i < 3; i++) {
      const process0 = processCpuMs();
      const thread0 = threadCpuMs();
      work();
      const thread = threadCpuMs() - thread0;
      const processed = processCpuMs() - process0;
      console.log(
        `reading ${i}: this thread ${thread.toFixed(1)} ms, the process ${processed.toFixed(1)} ms`,
      );
      // This thread did nearly all of the process's work in the interval; the process also counts
      // its other threads (GC, the test runner's), hence the wide lower margin.
      expect(thread).toBeGreaterThan(processed * 0.4);
      expect(thread).toBeLessThan(processed * 1.1 + 5);
    }
  });

  // mutation: src/executor/host/thread-cpu.ts reading process-wide CPU (process.cpuUsage) instead
  // of this thread's schedstat → this thread is charged for the worker's work and this fails.
  it('does not count CPU burnt by another thread', async () => {
    const process0 = processCpuMs();
    const before = threadCpuMs();
    const worker = new Worker(`${WORK} require('node:worker_threads').parentPort.postMessage('done');`, {
      eval: true,
    });
    await new Promise((resolve) => worker.once('message', resolve));
    const mine = threadCpuMs() - before;
    const processed = processCpuMs() - process0;
    await worker.terminate();
    console.log(
      `this thread ${mine.toFixed(1)} ms, the process (with the worker) ${processed.toFixed(1)} ms`,
    );
    // The worker did the work; this thread only started it and waited. Counting the worker would
    // make `mine` close to `processed`.
    expect(mine).toBeLessThan(processed * 0.5);
  });
});

// threadCpuMs() is the per-call CPU figure in stats: it must count the calling thread's CPU time,
// keep counting across readings (the schedstat descriptor is re-read in place), and not count
// another thread's work (process-wide CPU would charge one call for its neighbours).

import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { threadCpuMs } from '../../src/executor/host/thread-cpu.js';

function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // burn CPU on this thread
  }
}

describe('threadCpuMs', () => {
  it('grows with CPU burnt on this thread, reading after reading', () => {
    const readings = [threadCpuMs()];
    for (let i = 0; i < 3; i++) {
      spin(30);
      readings.push(threadCpuMs());
    }
    for (let i = 1; i < readings.length; i++) {
      // 30 ms of wall time on a CPU; a loaded machine may take some of it away.
      expect(readings[i]! - readings[i - 1]!).toBeGreaterThan(5);
      expect(readings[i]! - readings[i - 1]!).toBeLessThan(1_000);
    }
  });

  it('does not count CPU burnt by another thread', async () => {
    const worker = new Worker(
      `const end = performance.now() + 300; while (performance.now() < end) {} require('node:worker_threads').parentPort.postMessage('done');`,
      { eval: true },
    );
    const before = threadCpuMs();
    await new Promise((resolve) => worker.once('message', resolve));
    const mine = threadCpuMs() - before;
    await worker.terminate();
    // The worker burnt ~300 ms; this thread only waited (and started the worker).
    expect(mine).toBeLessThan(150);
  });
});

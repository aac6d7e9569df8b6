// Vitest configuration: tests run against the compiled engines (npm test builds first), in forks so
// that a test file's worker threads and child processes die with it.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    // The machine has 2 cores and every e2e file boots real engines and measures its own server's
    // responsiveness under attack (/livez within 50 ms): files run one at a time, so that one file's
    // load does not fail another's timing.
    maxWorkers: 1,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});

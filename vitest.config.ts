// Vitest configuration: tests run against the compiled engines (npm test builds first), in forks so
// that a test file's worker threads and child processes die with it.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    // The machine has 2 cores and every e2e file boots real engines: run files two at a time.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});

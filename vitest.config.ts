// Vitest configuration: tests run against the compiled engines (npm test builds first), in forks so
// that a test file's worker threads and child processes die with it.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    // The machine has 2 cores and every e2e and security file boots a real server with real engines
    // (Python hosts, worker pools): files run one at a time, so that their warm-ups and sandboxes do
    // not compete for the cores and the suite's memory stays that of one server. (Timed checks compare
    // against a baseline of the same server measured in the same file, so they do not depend on it.)
    maxWorkers: 1,
    testTimeout: 60_000,
    // Python's reset in place compares the whole interpreter state with its golden image after every
    // call in tests (production samples it): servers the tests start inherit this.
    env: { POLYEVAL_PYTHON_RESET_VERIFY_EVERY: '1' },
    hookTimeout: 120_000,
  },
});

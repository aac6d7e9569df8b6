// The short soak of npm test: 25 s of mixed load across every language, about one call in ten
// hostile (scripts/lib/soak.ts; `npm run soak -- --minutes N` is the long one). Asserts what must
// hold under load on any machine: no honest call is lost and every hostile call ends with the code
// its attack must end with. Latency and memory are printed, not asserted (this machine is shared).

import { expect, it } from 'vitest';
import { formatSoakReport, runSoak } from '../../scripts/lib/soak.js';

it('loses no good call and reports every hostile call with the right code under mixed load', {
  timeout: 180_000,
}, async () => {
  const report = await runSoak({ durationMs: 25_000, concurrency: 3 });
  const text = formatSoakReport(report);
  console.log(text);
  expect(report.goodCalls, text).toBeGreaterThan(100);
  expect(report.hostileCalls, text).toBeGreaterThan(5);
  expect(report.goodLost, `good calls lost (replay with --seed ${report.seed}):\n${text}`).toBe(0);
  expect(report.accuracy, `inaccurate codes (replay with --seed ${report.seed}):\n${text}`).toBe(1);
});

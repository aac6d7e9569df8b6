// A sandbox host whose interpreters stop being able to start (a fault of the environment: here a
// marker file that makes the test worker throw as it loads) answers calls at once instead of
// holding them: after START_FAILURES_TO_TRIP failed starts in a row the queued calls get
// SANDBOX_CRASH naming the failure, so do the calls that arrive while no worker can start, and the
// host tries again after a growing pause; once the fault is gone a worker starts and calls are
// served again. Before, the host respawned failing workers for ever and a call waited for the
// service's outer watchdog (its time limit + 60 s), which then killed the host.
// The real process executor and the real serveSandboxHost(), with the test's worker.

import { rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Call, ExecutionResult, Executor } from '../../src/executor/contract.js';
import { compileFixture, hostileExecutor, type Logged } from '../helpers/fixtures.js';

compileFixture('hostile/probe-realm');
compileFixture('hostile/sandbox-worker');
const sandboxHost = compileFixture('hostile/sandbox-host');
// Inside a folder the sandbox host may read (its code paths), one name per test process.
const marker = fileURLToPath(new URL(`./start-marker-${process.pid}`, sandboxHost));

function call(args: number[]): Call {
  return {
    code: 'honest',
    function: 'main',
    args,
    limits: { timeoutMs: 2000, memoryMb: 64, outputBytes: 1000 },
  };
}

describe('a sandbox host whose interpreters cannot start', () => {
  const logs: Logged[] = [];
  let host: Executor;

  beforeAll(async () => {
    rmSync(marker, { force: true });
    host = hostileExecutor(sandboxHost, logs, {}, { startMarker: marker });
    await host.start();
  });

  afterAll(async () => {
    rmSync(marker, { force: true });
    await host?.close();
  });

  it('answers calls at once with SANDBOX_CRASH naming the failure, and serves again once a worker starts', async () => {
    expect(await host.execute(call([40, 2]))).toMatchObject({ ok: true, value: { sum: 42 } });
    writeFileSync(marker, 'fail');
    // The workers already waiting serve (single use); every one started from now on fails.
    const answers: ExecutionResult[] = [];
    const started = performance.now();
    for (let i = 0; i < 6; i++) answers.push(await host.execute(call([i, 1])));
    const elapsed = performance.now() - started;
    const refused = answers.filter((a) => !a.ok);
    expect(refused.length, JSON.stringify(answers)).toBeGreaterThanOrEqual(3);
    for (const a of refused) {
      expect(a).toMatchObject({ ok: false, error: { code: 'SANDBOX_CRASH' } });
      if (!a.ok) {
        expect(a.error.message).toMatch(
          /^Cannot run "main": the sandbox cannot start an interpreter \(\d+ failed in a row; the last: .*the start marker exists/,
        );
      }
    }
    // Six calls in far less than one call's time limit + the outer watchdog's 60 s.
    expect(elapsed).toBeLessThan(15_000);
    expect(logs).toContainEqual(
      expect.objectContaining({
        message: 'Sandbox workers keep failing to start; calls are refused until one starts',
      }),
    );
    rmSync(marker);
    await expect
      .poll(async () => (await host.execute(call([20, 22]))).ok, { timeout: 30_000, interval: 500 })
      .toBe(true);
    expect(await host.execute(call([1, 1]))).toMatchObject({ ok: true, value: { sum: 2 } });
  });
});

// SIGKILL, from outside, of the Python sandbox host: its wrapper (the `unshare` that holds its
// namespaces) and its node process, mid-call and while idle. Promise checked: the call in flight
// gets an answer — its value when the one retry on a fresh host succeeds, else a typed
// SANDBOX_CRASH naming the sandbox host that died — the next calls succeed, /metrics counts the
// loss (host restarts, the retried or failed call), and no process of the killed host outlives it.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Answer,
  alive,
  call,
  commandLine,
  descendants,
  metric,
  metricsText,
  type Service,
  sleep,
  startService,
  tally,
} from './helpers.js';

let service: Service;
/** Every process seen below the service: none may outlive it. */
const seen = new Set<number>();

beforeAll(async () => {
  service = await startService({
    POLYEVAL_LANGUAGES: 'python',
    POLYEVAL_POOL_SIZE: '1',
    POLYEVAL_PYTHON_HOSTS: '1',
  });
});

afterAll(async () => {
  // A graceful stop: the service must take every host process it started with it.
  service.process.kill('SIGTERM');
  const stopped = await Promise.race([service.exited.then(() => true), sleep(20_000).then(() => false)]);
  await service.kill();
  for (let i = 0; i < 50 && [...seen].some(alive); i++) await sleep(100);
  expect(stopped).toBe(true);
  expect([...seen].filter(alive)).toEqual([]);
});

// Busy for `ms`, then returns "done": long enough to be killed in the middle.
const busy = (ms: number) => ({
  language: 'python',
  code: `import time\ndef main():\n    end = time.monotonic() + ${ms / 1000}\n    while time.monotonic() < end:\n        pass\n    return "done"`,
  limits: { timeoutMs: 10_000 },
});
const quick = { language: 'python', code: 'def main(a, b):\n    return a + b', args: [2, 3] };

interface HostInfo {
  readonly state: string;
  readonly pid: number | null;
  readonly restarts: number;
  readonly busy: number;
}

async function host(): Promise<HostInfo> {
  const info = (await fetch(`${service.url}/v1/languages`).then((r) => r.json())) as {
    languages: Array<{ details: { hosts: HostInfo[] } }>;
  };
  return info.languages[0]!.details.hosts[0]!;
}

/** The host's processes: the direct child of the service (the wrapper) and the node process running sandbox-host.js. */
async function hostProcesses(): Promise<{ wrapper: number; node: number }> {
  const h = await host();
  expect(h.pid).not.toBeNull();
  const wrapper = h.pid!;
  const tree = [wrapper, ...descendants(wrapper)];
  for (const pid of tree) seen.add(pid);
  // The wrapper's own command line names sandbox-host.js too: the host is the node process.
  const node = tree.find((pid) => {
    const argv = commandLine(pid) ?? '';
    return /^(\S*\/)?node$/.test(argv.split(' ')[0] ?? '') && argv.includes('sandbox-host.js');
  });
  expect(node).toBeDefined();
  return { wrapper, node: node! };
}

/** Waits until the host is ready and running one call (the call posted to it and started). */
async function runningCall(): Promise<void> {
  await expect.poll(async () => (await host()).busy, { timeout: 20_000 }).toBe(1);
  await expect.poll(async () => (await host()).state, { timeout: 20_000 }).toBe('ready');
  await sleep(200);
}

async function counters(): Promise<{ restarts: number; requeued: number; crashes: number }> {
  const text = await metricsText(service.url);
  const labels = { language: 'python' };
  return {
    restarts: metric(text, 'polyeval_sandbox_host_restarts_total', labels),
    requeued: metric(text, 'polyeval_calls_requeued_total', labels),
    crashes: metric(text, 'polyeval_sandbox_crashes_total', labels),
  };
}

function expectAnswered(answer: Answer): void {
  expect(answer.failure).toBeUndefined();
  if (answer.body?.ok === true) expect(answer.body.value).toBe('done');
  else {
    expect(answer.body?.error?.code).toBe('SANDBOX_CRASH');
    expect(answer.body.error.message).toMatch(/the sandbox host died/);
  }
}

/** The next calls succeed; returns the time from `since` to the first success. */
async function expectRecovered(since: number): Promise<number> {
  const first = await call(service.url, quick);
  const recoveredMs = performance.now() - since;
  expect(first.body).toMatchObject({ ok: true, value: 5 });
  expect((await call(service.url, quick)).body).toMatchObject({ ok: true, value: 5 });
  return recoveredMs;
}

const killed = (pids: readonly number[]) =>
  expect.poll(() => pids.filter(alive), { timeout: 5_000 }).toEqual([]);

describe('SIGKILL of the Python sandbox host mid-call', () => {
  for (const target of ['wrapper', 'node'] as const) {
    it(`its ${target === 'wrapper' ? 'wrapper (unshare)' : 'node process'}: the call answered, the next ones succeed, counted, nothing left behind`, async (ctx) => {
      const before = await counters();
      const processes = await hostProcesses();
      if (target === 'wrapper' && processes.wrapper === processes.node) {
        ctx.skip(); // isolation off: the host has no wrapper
      }
      const pending = call(service.url, busy(1500));
      await runningCall();
      const killedAt = performance.now();
      process.kill(processes[target], 'SIGKILL');
      const answer = await pending;
      const answeredMs = performance.now() - killedAt;
      expectAnswered(answer);
      await killed([processes.wrapper, processes.node]);
      const recoveredMs = await expectRecovered(killedAt);
      const after = await counters();
      expect(after.restarts).toBe(before.restarts + 1);
      // The lost run is counted: retried on the fresh host, or failed as a crash.
      expect(after.requeued + after.crashes).toBe(before.requeued + before.crashes + 1);
      console.log(
        `[faults] python host ${target} SIGKILL mid-call: answered (${answer.body?.ok ? 'value after one retry' : answer.body?.error?.code}) ${Math.round(answeredMs)} ms after the kill (a 1.5 s call run again), next call ${Math.round(recoveredMs)} ms after the kill`,
      );
    });
  }

  it('killed again while the call runs its retry: a typed error naming the sandbox host', async () => {
    const before = await counters();
    const pending = call(service.url, busy(3000));
    await runningCall();
    const first = await hostProcesses();
    process.kill(first.node, 'SIGKILL');
    await killed([first.wrapper, first.node]);
    // The retry runs on the fresh host: kill that one too.
    await expect.poll(async () => (await host()).pid, { timeout: 20_000 }).not.toBe(first.wrapper);
    await runningCall();
    const second = await hostProcesses();
    process.kill(second.node, 'SIGKILL');
    const answer = await pending;
    expect(answer.body).toMatchObject({ ok: false, error: { code: 'SANDBOX_CRASH' } });
    expect(answer.body.error.message).toMatch(
      /Cannot run "main": the sandbox host died \(.*SIGKILL|exit code/,
    );
    await killed([second.wrapper, second.node]);
    await expectRecovered(performance.now());
    const after = await counters();
    expect(after.restarts).toBe(before.restarts + 2);
    expect(after.crashes).toBe(before.crashes + 1);
  });
});

describe("the Python host's interpreter threads, through their terminate path", () => {
  it('an interpreter past its deadline is stopped: TIMEOUT, the host lives on, the next call succeeds', async () => {
    const before = await counters();
    const { wrapper } = await hostProcesses();
    const stuck = await call(service.url, {
      language: 'python',
      code: 'def main():\n    while True:\n        pass',
      limits: { timeoutMs: 300 },
    });
    expect(stuck.body).toMatchObject({ ok: false, error: { code: 'TIMEOUT' } });
    expect(stuck.body.error.message).toMatch(/time limit of 300 ms exceeded/);
    expect((await call(service.url, quick)).body).toMatchObject({ ok: true, value: 5 });
    // The thread was stopped inside the host: the host itself was not restarted.
    expect((await host()).pid).toBe(wrapper);
    expect((await counters()).restarts).toBe(before.restarts);
  });
});

describe('SIGKILL of the Python sandbox host while idle', () => {
  it('the wrapper killed between calls: the next calls succeed', async () => {
    const { wrapper, node } = await hostProcesses();
    const killedAt = performance.now();
    process.kill(wrapper, 'SIGKILL');
    await killed([wrapper, node]);
    const recoveredMs = await expectRecovered(killedAt);
    const t = tally(await Promise.all(Array.from({ length: 6 }, () => call(service.url, quick))));
    expect(t).toEqual({ value: 6, typedError: 0, none: 0 });
    console.log(
      `[faults] python host wrapper SIGKILL idle: next call answered ${Math.round(recoveredMs)} ms after the kill`,
    );
  });
});

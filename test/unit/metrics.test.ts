// Metrics: names follow Prometheus' naming guide, calls are counted by language and outcome, and
// the sandbox counters read from the executors' readiness details become proper counters.

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/metrics.js';
import type { LanguageInfo } from '../../src/orchestrator/orchestrator.js';

function info(details: Record<string, unknown>): LanguageInfo {
  return {
    id: 'demo',
    displayName: 'Demo',
    aliases: [],
    engine: { name: 'Demo', version: '1' },
    limits: {
      defaults: { timeoutMs: 1, memoryMb: 1, outputBytes: 1 },
      ceilings: { timeoutMs: 1, memoryMb: 1, outputBytes: 1 },
      floors: { timeoutMs: 1, memoryMb: 1, outputBytes: 1 },
    },
    pool: { capacity: 4, queueMax: 16, inFlight: 2, queued: 3 },
    codecs: ['json'],
    deploy: false,
    ready: true,
    details,
  };
}

function sample(text: string, name: string, labels = ''): number | undefined {
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`${name}${labels} `) || l.startsWith(`${name}${labels}{`));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('metrics', () => {
  it('follow the naming guide', async () => {
    const metrics = createMetrics({ info: () => [info({ workers: 4, spawned: 4, killed: 0 })] });
    const { body, contentType } = await metrics.render();
    expect(contentType).toMatch(/^text\/plain/);
    const families = [...body.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => ({ name: m[1]!, type: m[2]! }));
    const ours = families.filter((f) => f.name.startsWith('polyeval_'));
    expect(ours.length).toBeGreaterThan(15);
    for (const { name } of families) expect(name).toMatch(/^[a-z_][a-z0-9_]*$/);
    // (prom-client's own nodejs_active_*_total gauges predate the guide's rule.)
    for (const { name, type } of ours) {
      if (type === 'counter') expect(name, name).toMatch(/_total$/);
      else expect(name, name).not.toMatch(/_total$/);
      expect(name, name).not.toMatch(/_(ms|milliseconds|mb|kb)(_|$)/);
    }
    // The memory of the process itself.
    expect(families.map((f) => f.name)).toContain('process_resident_memory_bytes');
  });

  it('count calls by language and outcome, with latency histograms', async () => {
    const metrics = createMetrics({ info: () => [info({})] });
    const stats = { durationMs: 5, cpuMs: 4, memoryBytes: 1 << 20 };
    metrics.observeCall({ language: 'demo', outcome: 'OK', durationMs: 6, queueMs: 1, remote: false, stats });
    metrics.observeCall({
      language: 'demo',
      outcome: 'TIMEOUT',
      durationMs: 900,
      queueMs: 0,
      remote: false,
      stats,
    });
    metrics.observeCall({
      language: 'demo',
      outcome: 'overloaded',
      durationMs: 0.1,
      queueMs: 0.1,
      remote: false,
    });
    const { body } = await metrics.render();
    expect(sample(body, 'polyeval_calls_total', '{language="demo",outcome="OK"}')).toBe(1);
    expect(sample(body, 'polyeval_calls_total', '{language="demo",outcome="TIMEOUT"}')).toBe(1);
    expect(sample(body, 'polyeval_calls_total', '{language="demo",outcome="overloaded"}')).toBe(1);
    expect(sample(body, 'polyeval_call_duration_seconds_count', '{language="demo"}')).toBe(3);
    expect(sample(body, 'polyeval_sandbox_duration_seconds_count', '{language="demo"}')).toBe(2);
    expect(sample(body, 'polyeval_queue_depth', '{language="demo"}')).toBe(3);
    expect(sample(body, 'polyeval_calls_in_flight', '{language="demo"}')).toBe(2);
    expect(sample(body, 'polyeval_pool_slots', '{language="demo"}')).toBe(4);
  });

  it('mirror the executors own counters (spawned, recycled, killed, crashed) as counters', async () => {
    let details: Record<string, unknown> = { workers: 2, spawned: 2, recycled: 0, killed: 0, crashed: 0 };
    const metrics = createMetrics({ info: () => [info(details)] });
    let { body } = await metrics.render();
    expect(sample(body, 'polyeval_sandboxes_spawned_total', '{language="demo"}')).toBe(2);
    details = { workers: 2, spawned: 5, recycled: 1, killed: 2, crashed: 0 };
    ({ body } = await metrics.render());
    expect(sample(body, 'polyeval_sandboxes_spawned_total', '{language="demo"}')).toBe(5);
    expect(sample(body, 'polyeval_sandbox_kills_total', '{language="demo"}')).toBe(2);
    expect(sample(body, 'polyeval_sandboxes_recycled_total', '{language="demo"}')).toBe(1);
    expect(sample(body, 'polyeval_pool_workers', '{language="demo"}')).toBe(2);
    // An executor that reports its crashes under another name is read too.
    details = { crashes: 3 };
    ({ body } = await metrics.render());
    expect(sample(body, 'polyeval_sandbox_crashes_total', '{language="demo"}')).toBe(3);
  });
  it('report each protection of the OS isolation layer, 1 in force and 0 missing', async () => {
    const metrics = createMetrics({
      info: () => [info({ isolation: { mode: 'auto', protections: { seccomp: false, network: true } } })],
    });
    const { body } = await metrics.render();
    expect(sample(body, 'polyeval_isolation_protection', '{language="demo",protection="seccomp"}')).toBe(0);
    expect(sample(body, 'polyeval_isolation_protection', '{language="demo",protection="network"}')).toBe(1);
  });
});

describe('metrics of languages whose sandboxes live in host processes', () => {
  it('give the same pool and sandbox series as worker pools, summed over the hosts', async () => {
    const details = {
      hosts: [
        { state: 'ready', busy: 1, interpretersWaiting: 2, interpretersStarted: 10, restarts: 1 },
        { state: 'restarting', busy: 0, interpretersWaiting: 0, interpretersStarted: 4, restarts: 2 },
      ],
      timeouts: 2,
      crashes: 1,
    };
    const metrics = createMetrics({ info: () => [info(details)] });
    const { body } = await metrics.render();
    const at = (name: string) => sample(body, name, '{language="demo"}');
    expect(at('polyeval_pool_workers')).toBe(3);
    expect(at('polyeval_pool_workers_busy')).toBe(1);
    expect(at('polyeval_sandbox_hosts_ready')).toBe(1);
    expect(at('polyeval_sandboxes_spawned_total')).toBe(14);
    expect(at('polyeval_sandbox_kills_total')).toBe(2);
    expect(at('polyeval_sandbox_crashes_total')).toBe(1);
    // 14 started, 3 alive, 2 killed, 1 crashed: 8 retired after their call.
    expect(at('polyeval_sandboxes_recycled_total')).toBe(8);
    expect(at('polyeval_sandbox_host_restarts_total')).toBe(3);
  });

  it('see every process of the tree: a child holding memory is counted with its language', async () => {
    // A real child process whose program lives in an interpreters/<id>/ folder, as sandbox hosts do.
    const dir = mkdtempSync(join(tmpdir(), 'polyeval-tree-'));
    mkdirSync(join(dir, 'interpreters', 'demo'), { recursive: true });
    const script = join(dir, 'interpreters', 'demo', 'host.js');
    writeFileSync(
      script,
      'const b = Buffer.alloc(96 * 1024 * 1024, 1); process.stdout.write("up\\n"); setInterval(() => b[0]++, 1000);',
    );
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise((resolve) => child.stdout.once('data', resolve));
      const metrics = createMetrics({ info: () => [] });
      const { body } = await metrics.render();
      const host = '{role="sandbox-host",language="demo"}';
      expect(sample(body, 'polyeval_process_tree_processes', host)).toBe(1);
      expect(sample(body, 'polyeval_process_tree_resident_memory_bytes', host)).toBeGreaterThan(96 * 2 ** 20);
      expect(sample(body, 'polyeval_process_tree_cpu_seconds', host)).toBeGreaterThanOrEqual(0);
      const service = sample(
        body,
        'polyeval_process_tree_resident_memory_bytes',
        '{role="service",language=""}',
      );
      expect(service).toBeGreaterThan(10 * 2 ** 20);
    } finally {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// Prometheus metrics (prom-client), served at GET /metrics. Names follow Prometheus' naming guide:
// a `polyeval_` prefix, base units (seconds, bytes), `_total` for counters. Calls are counted by
// language and outcome code from the orchestrator's call events; pool sizes, queue depth and the
// sandbox counters (spawned, recycled, killed, crashed, host restarts, requeued calls) are read
// from orchestrator.info() at scrape time: Readiness.counters where an executor reports them under
// those fixed names, else the same-named numbers in its readiness details (no hook into the
// executor host is needed); security events (a sandbox that broke its host's protocol and was
// killed) from details.securityEvents. The OS isolation layer's protections come from the same
// readiness details (`isolation.protections`). Languages whose sandboxes live in host processes
// (Python) report per-host figures in their readiness details (details.hosts); the pool series sum
// them, so that every language has the same series.
// Process metrics (memory, CPU, event-loop lag, GC) of the service process are prom-client's
// defaults; the polyeval_process_tree_* series add every process the service spawned (the Python
// sandbox hosts and theirs), read from /proc at scrape time (src/process-tree.ts); log lines
// dropped because stdout/stderr was not read come from the log sinks (src/logger.ts).

import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { droppedLogLines } from './logger.js';
import type { CallEvent, LanguageInfo, Orchestrator } from './orchestrator/orchestrator.js';
import { processTree } from './process-tree.js';

export interface Metrics {
  readonly registry: Registry;
  /** Records one call (subscribe with orchestrator.onCall). */
  observeCall(event: CallEvent): void;
  /** Records one HTTP request (route is the matched route pattern, never the raw path). */
  observeRequest(method: string, route: string, status: number, seconds: number): void;
  /** The exposition text and its content type. */
  render(): Promise<{ body: string; contentType: string }>;
}

/** Sub-millisecond to a minute: calls range from 0.2 ms (warm JS) to the longest time limit. */
const DURATION_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];
const MEMORY_BUCKETS = [2 ** 20, 2 ** 22, 2 ** 24, 2 ** 25, 2 ** 26, 2 ** 27, 2 ** 28, 2 ** 29, 2 ** 30];

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** The sandbox host processes a process-hosted executor reports (details.hosts), if any. */
function hosts(info: LanguageInfo): Record<string, unknown>[] | undefined {
  const list = info.details.hosts;
  return Array.isArray(list)
    ? (list.filter((h) => typeof h === 'object' && h !== null) as Record<string, unknown>[])
    : undefined;
}

/** The sum of one numeric field over the sandbox hosts, when the language has hosts. */
function overHosts(info: LanguageInfo, field: string): number | undefined {
  const list = hosts(info);
  if (list === undefined) return undefined;
  return list.reduce((sum, h) => sum + (num(h[field]) ?? 0), 0);
}

/**
 * Interpreters of a process-hosted pool that exist (warm and waiting, or running a call).
 * Single-use interpreters are retired after their call: started minus live minus those killed or
 * crashed is the number retired after normal use (the "recycled" of a worker pool).
 */
function hostPool(
  info: LanguageInfo,
):
  | { workers: number; busy: number; spawned: number; killed: number; crashed: number; recycled: number }
  | undefined {
  const busy = overHosts(info, 'busy');
  if (busy === undefined) return undefined;
  const workers = busy + (overHosts(info, 'interpretersWaiting') ?? 0);
  const spawned = overHosts(info, 'interpretersStarted') ?? 0;
  const killed = num(info.details.timeouts) ?? 0;
  const crashed = num(info.details.crashes) ?? 0;
  return {
    workers,
    busy,
    spawned,
    killed,
    crashed,
    recycled: Math.max(0, spawned - workers - killed - crashed),
  };
}

/** A counter that mirrors a monotonically growing number read at scrape time. */
function mirroredCounter(
  registry: Registry,
  name: string,
  help: string,
  read: () => Iterable<[language: string, value: number | undefined]>,
): void {
  const last = new Map<string, number>();
  new Counter({
    name,
    help,
    labelNames: ['language'],
    registers: [registry],
    collect() {
      for (const [language, value] of read()) {
        if (value === undefined) continue;
        const before = last.get(language) ?? 0;
        // A restarted executor starts from zero again: count from there.
        const delta = value >= before ? value - before : value;
        last.set(language, value);
        this.inc({ language }, delta);
      }
    },
  });
}

export function createMetrics(
  orchestrator: Pick<Orchestrator, 'info'>,
  options: { version?: string } = {},
): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  new Gauge({
    name: 'polyeval_build_info',
    help: 'Always 1; the labels say which Polyeval version is running.',
    labelNames: ['version'],
    registers: [registry],
  }).set({ version: options.version ?? 'unknown' }, 1);

  const calls = new Counter({
    name: 'polyeval_calls_total',
    help: 'Calls by language and outcome: OK, a guest error code (TIMEOUT, MEMORY_LIMIT…), cancelled (the client went away), or the problem type of a refused call (overloaded, shutting-down, upstream-failed…).',
    labelNames: ['language', 'outcome'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'polyeval_call_duration_seconds',
    help: 'Time from admission request to answer, queue included, by language.',
    labelNames: ['language'],
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  const queueWait = new Histogram({
    name: 'polyeval_queue_wait_seconds',
    help: 'Time calls waited for a sandbox slot, by language.',
    labelNames: ['language'],
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  const sandboxDuration = new Histogram({
    name: 'polyeval_sandbox_duration_seconds',
    help: 'Wall time of calls inside the sandbox host, by language.',
    labelNames: ['language'],
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  const sandboxCpu = new Counter({
    name: 'polyeval_sandbox_cpu_seconds_total',
    help: 'CPU time spent by sandboxes on calls, by language.',
    labelNames: ['language'],
    registers: [registry],
  });
  const guestMemory = new Histogram({
    name: 'polyeval_guest_memory_bytes',
    help: "Memory held by the guest's engine at the end of a call, by language.",
    labelNames: ['language'],
    buckets: MEMORY_BUCKETS,
    registers: [registry],
  });
  const http = new Histogram({
    name: 'polyeval_http_request_duration_seconds',
    help: 'HTTP requests by method, matched route and status.',
    labelNames: ['method', 'route', 'status'],
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });

  const perLanguage = <T>(pick: (info: ReturnType<Orchestrator['info']>[number]) => T) =>
    function* (): Iterable<[string, T]> {
      for (const info of orchestrator.info()) yield [info.id, pick(info)];
    };
  const gauge = (name: string, help: string, read: () => Iterable<[string, number | undefined]>): void => {
    new Gauge({
      name,
      help,
      labelNames: ['language'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [language, value] of read()) if (value !== undefined) this.set({ language }, value);
      },
    });
  };
  gauge(
    'polyeval_queue_depth',
    'Calls waiting for a sandbox slot, by language.',
    perLanguage((i) => i.pool.queued),
  );
  gauge(
    'polyeval_queue_capacity',
    'Calls that may wait before new ones are refused, by language.',
    perLanguage((i) => i.pool.queueMax),
  );
  gauge(
    'polyeval_calls_in_flight',
    'Calls running in a sandbox (or sent to a remote evaluator), by language.',
    perLanguage((i) => i.pool.inFlight),
  );
  gauge(
    'polyeval_pool_slots',
    'Sandbox slots (calls that may run at once), by language.',
    perLanguage((i) => i.pool.capacity),
  );
  gauge(
    'polyeval_pool_workers',
    'Sandbox workers (or interpreters, for sandbox host processes) that exist, by language.',
    perLanguage((i) => num(i.details.workers) ?? hostPool(i)?.workers),
  );
  gauge(
    'polyeval_pool_workers_ready',
    'Sandbox workers warm and waiting or working, by language.',
    perLanguage((i) => num(i.details.workersReady) ?? hostPool(i)?.workers),
  );
  gauge(
    'polyeval_pool_workers_busy',
    'Sandbox workers running a call, by language.',
    perLanguage((i) => num(i.details.busy) ?? hostPool(i)?.busy),
  );
  gauge(
    'polyeval_sandbox_hosts_ready',
    'Sandbox host processes ready for calls, by language (languages whose sandboxes live in separate processes).',
    perLanguage((i) => hosts(i)?.filter((h) => h.state === 'ready').length),
  );
  gauge(
    'polyeval_language_ready',
    '1 when the language can serve calls, by language.',
    perLanguage((i) => (i.ready ? 1 : 0)),
  );
  new Gauge({
    name: 'polyeval_isolation_protection',
    help: "1 when a protection of the OS isolation layer (mountNamespace, seccomp, noNewPrivs, rlimits, uid, network, pid) is in force for a language's sandbox processes, 0 when it is missing; only languages that run in separate processes report it.",
    labelNames: ['language', 'protection'],
    registers: [registry],
    collect() {
      this.reset();
      for (const info of orchestrator.info()) {
        const isolation = info.details.isolation;
        if (typeof isolation !== 'object' || isolation === null) continue;
        const protections = (isolation as { protections?: unknown }).protections;
        if (typeof protections !== 'object' || protections === null) continue;
        for (const [protection, on] of Object.entries(protections))
          if (typeof on === 'boolean') this.set({ language: info.id, protection }, on ? 1 : 0);
      }
    },
  });
  mirroredCounter(
    registry,
    'polyeval_sandboxes_spawned_total',
    'Sandbox workers (or interpreters in sandbox hosts) started, by language.',
    perLanguage((i) => i.counters?.spawned ?? num(i.details.spawned) ?? hostPool(i)?.spawned),
  );
  mirroredCounter(
    registry,
    'polyeval_sandboxes_recycled_total',
    'Sandbox workers replaced after normal use (call count, heap growth, single use), by language.',
    perLanguage((i) => i.counters?.recycled ?? num(i.details.recycled) ?? hostPool(i)?.recycled),
  );
  mirroredCounter(
    registry,
    'polyeval_sandbox_kills_total',
    'Sandboxes killed from outside mid-call (deadline, cancellation), by language.',
    perLanguage((i) => i.counters?.killed ?? num(i.details.killed) ?? hostPool(i)?.killed),
  );
  mirroredCounter(
    registry,
    'polyeval_sandbox_crashes_total',
    'Sandboxes that died on their own (out of heap, engine fault), by language.',
    perLanguage((i) => i.counters?.crashed ?? num(i.details.crashed) ?? num(i.details.crashes)),
  );
  mirroredCounter(
    registry,
    'polyeval_sandbox_host_restarts_total',
    'Sandbox host processes restarted after they died (killed from outside, crashed, over their memory limit or deadline), by language.',
    perLanguage((i) => overHosts(i, 'restarts')),
  );

  // Every process of the tree, grouped: the service itself, each language's sandbox hosts (and
  // their children), anything else it spawned. One /proc read serves the three series.
  let tree:
    | {
        at: number;
        groups: Map<string, { role: string; language: string; n: number; rss: number; cpu: number }>;
      }
    | undefined;
  const groups = () => {
    const now = performance.now();
    if (tree === undefined || now - tree.at > 100) {
      const map = new Map<string, { role: string; language: string; n: number; rss: number; cpu: number }>();
      for (const p of processTree()) {
        const role = p.pid === process.pid ? 'service' : p.language === undefined ? 'other' : 'sandbox-host';
        const language = p.pid === process.pid ? '' : (p.language ?? '');
        const key = `${role}/${language}`;
        const g = map.get(key) ?? { role, language, n: 0, rss: 0, cpu: 0 };
        g.n++;
        g.rss += p.rssBytes;
        g.cpu += p.cpuSeconds;
        map.set(key, g);
      }
      tree = { at: now, groups: map };
    }
    return tree.groups.values();
  };
  const treeGauge = (
    name: string,
    help: string,
    pick: (g: { n: number; rss: number; cpu: number }) => number,
  ): void => {
    new Gauge({
      name,
      help,
      labelNames: ['role', 'language'],
      registers: [registry],
      collect() {
        this.reset();
        for (const g of groups()) this.set({ role: g.role, language: g.language }, pick(g));
      },
    });
  };
  treeGauge(
    'polyeval_process_tree_processes',
    'Processes of the service tree, by role (service, sandbox-host with its language, other).',
    (g) => g.n,
  );
  treeGauge(
    'polyeval_process_tree_resident_memory_bytes',
    'Resident memory of the processes of the service tree, by role and language.',
    (g) => g.rss,
  );
  treeGauge(
    'polyeval_process_tree_cpu_seconds',
    'CPU time (user + system) used so far by the processes of the tree alive now, by role and language.',
    (g) => g.cpu,
  );

  // Security events by language and kind, mirrored from details.securityEvents ({kind: count}).
  const lastSecurity = new Map<string, number>();
  new Counter({
    name: 'polyeval_security_events_total',
    help: 'Sandboxes killed for breaking their host protocol (a forged ready or done, a wrong call id, output when not serving, an unknown or malformed or oversized message), by language and kind.',
    labelNames: ['language', 'kind'],
    registers: [registry],
    collect() {
      for (const info of orchestrator.info()) {
        const events = info.details.securityEvents;
        if (typeof events !== 'object' || events === null) continue;
        for (const [kind, raw] of Object.entries(events)) {
          const value = num(raw);
          if (value === undefined) continue;
          const key = `${info.id}\u0000${kind}`;
          const before = lastSecurity.get(key) ?? 0;
          lastSecurity.set(key, value);
          this.inc({ language: info.id, kind }, value >= before ? value - before : value);
        }
      }
    },
  });

  mirroredCounter(
    registry,
    'polyeval_calls_requeued_total',
    'Calls in flight on a sandbox host that died, sent again to a fresh one (once at most), by language.',
    perLanguage((i) => num(i.details.requeued)),
  );

  const logDropped = new Map<string, number>();
  new Counter({
    name: 'polyeval_log_lines_dropped_total',
    help: 'Log lines dropped because the stream (stdout, stderr) was not being read or was closed, by stream.',
    labelNames: ['stream'],
    registers: [registry],
    collect() {
      for (const [stream, lines] of droppedLogLines()) {
        this.inc({ stream }, Math.max(0, lines - (logDropped.get(stream) ?? 0)));
        logDropped.set(stream, lines);
      }
    },
  });

  return {
    registry,
    observeCall(event) {
      calls.inc({ language: event.language, outcome: event.outcome });
      duration.observe({ language: event.language }, event.durationMs / 1000);
      queueWait.observe({ language: event.language }, event.queueMs / 1000);
      if (event.stats !== undefined) {
        sandboxDuration.observe({ language: event.language }, event.stats.durationMs / 1000);
        sandboxCpu.inc({ language: event.language }, Math.max(0, event.stats.cpuMs) / 1000);
        if (event.stats.memoryBytes > 0)
          guestMemory.observe({ language: event.language }, event.stats.memoryBytes);
      }
    },
    observeRequest(method, route, status, seconds) {
      http.observe({ method, route, status: String(status) }, seconds);
    },
    async render() {
      return { body: await registry.metrics(), contentType: registry.contentType };
    },
  };
}

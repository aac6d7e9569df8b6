// Prometheus metrics (prom-client), served at GET /metrics. Names follow Prometheus' naming guide:
// a `polyeval_` prefix, base units (seconds, bytes), `_total` for counters. Calls are counted by
// language and outcome code from the orchestrator's call events; pool sizes, queue depth and the
// sandbox counters (spawned, recycled, killed, crashed, host restarts, requeued calls) are read
// from orchestrator.info() at scrape time: Readiness.counters where an executor reports them under
// those fixed names, else the same-named numbers in its readiness details (no hook into the
// executor host is needed); security events (a sandbox that broke its host's protocol and was
// killed) from details.securityEvents. The OS isolation layer's protections come from the same
// readiness details (`isolation.protections`).
// Process metrics (memory, CPU, event-loop lag, GC) are prom-client's defaults; log lines dropped
// because stdout/stderr was not read come from the log sinks (src/logger.ts).

import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { droppedLogLines } from './logger.js';
import type { CallEvent, Orchestrator } from './orchestrator/orchestrator.js';

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

/** Restarts summed over an executor's sandbox hosts (details.hosts[].restarts), if it has hosts. */
function hostRestarts(hosts: unknown): number | undefined {
  if (!Array.isArray(hosts)) return undefined;
  let sum = 0;
  for (const host of hosts) sum += num((host as { restarts?: unknown } | null)?.restarts) ?? 0;
  return sum;
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
    'Sandbox workers that exist, by language (where the executor reports them).',
    perLanguage((i) => num(i.details.workers)),
  );
  gauge(
    'polyeval_pool_workers_ready',
    'Sandbox workers warm and waiting or working, by language (where the executor reports them).',
    perLanguage((i) => num(i.details.workersReady)),
  );
  gauge(
    'polyeval_pool_workers_busy',
    'Sandbox workers running a call, by language (where the executor reports them).',
    perLanguage((i) => num(i.details.busy)),
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
    'Sandbox workers started, by language (where the executor reports them).',
    perLanguage((i) => i.counters?.spawned ?? num(i.details.spawned)),
  );
  mirroredCounter(
    registry,
    'polyeval_sandboxes_recycled_total',
    'Sandbox workers replaced after normal use (call count, heap growth), by language.',
    perLanguage((i) => i.counters?.recycled ?? num(i.details.recycled)),
  );
  mirroredCounter(
    registry,
    'polyeval_sandbox_kills_total',
    'Sandboxes killed from outside mid-call (deadline, cancellation), by language.',
    perLanguage((i) => i.counters?.killed ?? num(i.details.killed)),
  );
  mirroredCounter(
    registry,
    'polyeval_sandbox_crashes_total',
    'Sandboxes that died on their own (out of heap, engine fault), by language.',
    perLanguage((i) => i.counters?.crashed ?? num(i.details.crashed) ?? num(i.details.crashes)),
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
    'polyeval_sandbox_host_restarts_total',
    'Sandbox host processes restarted after they died (killed from outside, crashed, over their memory limit), by language.',
    perLanguage((i) => hostRestarts(i.details.hosts)),
  );
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

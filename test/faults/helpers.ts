// Shared parts of the fault-injection suite (test/faults/): the real service started as a child
// process with the stdout/stderr the fault needs (a pipe, a FIFO, a socket nobody reads), a
// closed-loop caller that records every answer, /metrics readers, and /proc process trees. Every
// test in the suite checks the same promise — every accepted call gets an answer (its value or a
// typed error) and the service keeps serving — with the fault injected from outside the service.

import { type ChildProcess, execFileSync, type StdioOptions, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { send } from '../../scripts/lib/load.js';
import { descendants } from '../../scripts/lib/proc.js';
import { sleep } from '../helpers/net.js';

export { descendants, sleep };

export const root = fileURLToPath(new URL('../../', import.meta.url));

export const isRoot = process.getuid?.() === 0;

/** A free TCP port on 127.0.0.1 (the service is started on it: its stdout may be unread). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

export interface Service {
  readonly url: string;
  readonly process: ChildProcess;
  readonly pid: number;
  /** Resolves with the exit code (or signal) once the process is gone. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILLs the service and everything below it (no orphan outlives a failed test). */
  kill(): Promise<void>;
}

/**
 * Starts `node dist/src/main.js` on a free port with the given stdio for fd 0–2 and waits for
 * /readyz (the port is chosen here: discovering it from the log would need a reader).
 */
export async function startService(
  env: Record<string, string>,
  stdio: StdioOptions = ['ignore', 'ignore', 'ignore'],
  readyTimeoutMs = 120_000,
): Promise<Service> {
  const port = await freePort();
  const child = spawn(process.execPath, ['dist/src/main.js'], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      POLYEVAL_LOG_LEVEL: 'info',
      ...env,
      PORT: String(port),
      POLYEVAL_HOST: '127.0.0.1',
    },
    stdio,
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const url = `http://127.0.0.1:${port}`;
  const service: Service = {
    url,
    process: child,
    pid: child.pid!,
    exited,
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const below = descendants(child.pid!);
      child.kill('SIGKILL');
      for (const pid of below) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone already
        }
      }
      await exited;
    },
  };
  const deadline = performance.now() + readyTimeoutMs;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`The service exited with code ${child.exitCode} before ready`);
    const ready = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) }).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ready) return service;
    if (performance.now() > deadline) {
      await service.kill();
      throw new Error('The service did not become ready');
    }
    await sleep(100);
  }
}

export interface Answer {
  readonly status: number;
  readonly body: any;
  /** Set when no HTTP answer came (connection reset, timeout): the promise was broken. */
  readonly failure?: string;
}

/** One POST; a network failure or no answer within `timeoutMs` is returned, not thrown. */
export async function call(url: string, body: unknown, timeoutMs = 30_000, agent?: Agent): Promise<Answer> {
  try {
    const target = new URL('/v1/evaluate', url);
    const reply = await send(agent ?? defaultAgent, target, 'POST', JSON.stringify(body), timeoutMs);
    let parsed: unknown = reply.body;
    try {
      parsed = JSON.parse(reply.body);
    } catch {
      // keep the text
    }
    return { status: reply.status, body: parsed };
  } catch (error) {
    return { status: 0, body: undefined, failure: error instanceof Error ? error.message : String(error) };
  }
}

const defaultAgent = new Agent({ keepAlive: true, maxSockets: 64 });

/** `total` calls from `concurrency` closed-loop callers; every answer, in order of sending. */
export async function flood(
  url: string,
  body: unknown | ((i: number) => unknown),
  total: number,
  concurrency: number,
  timeoutMs = 30_000,
): Promise<{ answers: Answer[]; ms: number }> {
  const answers: Answer[] = new Array(total);
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const i = next++;
        answers[i] = await call(url, typeof body === 'function' ? body(i) : body, timeoutMs);
      }
    }),
  );
  return { answers, ms: performance.now() - started };
}

/** Counts answers by kind: value (200 ok), typed error (a problem+json or an ok:false result), none. */
export function tally(answers: readonly Answer[]): { value: number; typedError: number; none: number } {
  let value = 0;
  let typedError = 0;
  let none = 0;
  for (const a of answers) {
    if (a.failure !== undefined || a.status === 0) none++;
    else if (a.status === 200 && a.body?.ok === true) value++;
    else if (typeof a.body?.type === 'string' || typeof a.body?.error?.code === 'string') typedError++;
    else none++;
  }
  return { value, typedError, none };
}

/** The /metrics text. */
export async function metricsText(url: string): Promise<string> {
  return fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) }).then((r) => r.text());
}

/** Sum of the samples of `name` whose labels include every pair of `labels`. */
export function metric(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const wanted = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
    if (wanted) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** The command line of a process, or undefined when it is gone. */
export function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
  } catch {
    return undefined;
  }
}

/** True while the process exists and is not a zombie. */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Makes a FIFO (a real pipe, as `main.js | collector` gives: Node's spawn 'pipe' is a socket). */
export function mkfifo(path: string): void {
  execFileSync('mkfifo', [path]);
  if (!existsSync(path)) throw new Error(`mkfifo did not create ${path}`);
}

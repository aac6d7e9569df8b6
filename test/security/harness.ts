// The security harness: one real server per test file (node dist/src/main.js, every language
// enabled) started with planted canaries, and the checks every attack must pass. An attack passes
// only if
//   1. it fails the way its own assertions say (a typed error, a refusal, a value that shows no
//      capability...);
//   2. no canary was read or touched: the environment secret and the file secret never appear in
//      any answer (stdout and stderr included) nor in the server's logs, the canary file's access,
//      change and modification times are what they were when it was planted (its access time is
//      set before its modification time, so that the first read moves it even under relatime), and
//      the loopback listener saw no connection;
//   3. the server kept serving: the median of the /livez round trips measured while the attack ran
//      stays within a margin of the same server's idle median, measured when the file starts (both
//      printed; a guest blocking the event loop crosses it by seconds, load on the machine does
//      not: test/helpers/latency.ts), the next honest call in every language succeeds, and the server's threads
//      (one per sandbox worker), file descriptors and child processes (sandbox hosts) come back to
//      the baseline measured after warm-up.
// Attacks are data (test/security/attacks/<family>.ts, most built with ./attack-builders.ts); each
// test file runs one family through runAttacks(); the Python escape suite runs its cases through the
// same guardedServer(). /proc is read by ./process-facts.ts. Traffic goes to 127.0.0.1 only; every request uses its own connection
// (Connection: close), so that the file-descriptor count does not depend on a client's pool.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INLINE_PARSE_BYTES } from '../../src/http/body-parser.js';
import { HONEST_CALLS } from '../helpers/calls.js';
import { expectResponsive } from '../helpers/latency.js';
import { openSocket, sleep } from '../helpers/net.js';
import { type RunningServer, startServer } from '../helpers/server.js';
import { type Counts, counts, describeProcess } from './process-facts.js';

export type Family = 'javascript' | 'python' | 'wasm' | 'lua' | 'http' | 'wikifunctions';

export const LANGUAGES = ['javascript', 'lua', 'wasm', 'python'] as const;
export type Language = (typeof LANGUAGES)[number];

/** One attack of the catalogue. */
export interface Attack {
  /** Stable id, unique across the catalogue (docs/security.md lists them). */
  readonly id: string;
  /** What the attacker tries, in one line. */
  readonly title: string;
  /** What must happen instead, in a few words (the catalogue's "result" column). */
  readonly result: string;
  /**
   * Set when the attack found a hole that this change fixed (the attack is its regression test):
   * what was wrong. The catalogue marks these.
   */
  readonly finding?: string;
  /** Set when an inner layer gave way and an outer one held (reported, not fixed here). */
  readonly contained?: string;
  /** Probe /livez while the attack runs (default true; off only where the probes cannot connect). */
  readonly livez?: boolean;
  /** Test timeout (default 60 s). */
  readonly timeoutMs?: number;
  run(h: AttackContext): Promise<void>;
}

export interface HttpAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
  /** The parsed JSON answer (the text when it is not JSON): arbitrary, checked by each attack. */
  readonly body: any;
  readonly ms: number;
}

export interface EvaluateOptions {
  readonly fn?: string;
  readonly args?: unknown[];
  readonly limits?: Record<string, number>;
  readonly codec?: string;
}

/** What an attack gets to work with. */
export interface AttackContext {
  readonly url: string;
  readonly port: number;
  readonly canaries: Canaries;
  /**
   * POST /v1/evaluate. {{PORT}}, {{SECRET_FILE}} and {{ENV_NAME}} in `code` are replaced by the
   * listener's port, the secret file's path and the secret variable's name.
   */
  evaluate(language: string, code: string, options?: EvaluateOptions): Promise<HttpAnswer>;
  /** Any request (Connection: close); every answer is scanned for the secrets. */
  request(
    method: string,
    path: string,
    options?: { body?: string | Uint8Array; headers?: Record<string, string> },
  ): Promise<HttpAnswer>;
  /** A raw TCP connection to the server (closed by the harness after the attack). */
  socket(): Promise<Socket>;
  /** Records text the attack read some other way (raw sockets), to be scanned for the secrets. */
  saw(text: string): void;
  /** The server's process id (to read /proc). */
  readonly pid: number;
  /** /livez round trips (ms, each on its own connection) of the same server idle, measured at start. */
  readonly idleLivez: readonly number[];
}

// ---------------------------------------------------------------------------------------------
// Canaries

export interface Canaries {
  readonly envName: string;
  readonly envSecret: string;
  readonly filePath: string;
  readonly fileSecret: string;
  /** Loopback port of the listener that records every connection. */
  readonly port: number;
  connections(): number;
  readonly secrets: readonly string[];
  /** What was read or touched, if anything (empty when every canary is intact). */
  disturbed(): string[];
  close(): Promise<void>;
}

export async function plantCanaries(): Promise<Canaries> {
  const envSecret = `env-canary-${randomBytes(12).toString('hex')}`;
  const fileSecret = `file-canary-${randomBytes(12).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'polyeval-security-'));
  const filePath = join(dir, 'secret.txt');
  writeFileSync(filePath, fileSecret);
  // relatime updates the access time on a read only when it is not after the modification time:
  // put it an hour before, so that the first read of the file shows.
  const written = statSync(filePath);
  utimesSync(filePath, new Date(written.mtimeMs - 3_600_000), written.mtime);
  const planted = statSync(filePath, { bigint: true });
  let connections = 0;
  const server: Server = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  const port = await new Promise<number>((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : 0);
    });
  });
  return {
    envName: 'POLYEVAL_SECURITY_CANARY',
    envSecret,
    filePath,
    fileSecret,
    port,
    connections: () => connections,
    secrets: [envSecret, fileSecret],
    disturbed() {
      const now = statSync(filePath, { bigint: true });
      const out: string[] = [];
      if (now.atimeNs !== planted.atimeNs) out.push('the secret file was read (its access time moved)');
      if (now.mtimeNs !== planted.mtimeNs || now.size !== planted.size)
        out.push('the secret file was written');
      if (now.ctimeNs !== planted.ctimeNs) out.push('the secret file was changed (ctime)');
      if (connections > 0) out.push(`the loopback listener saw ${connections} connection(s)`);
      return out;
    },
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// HTTP

function fill(code: string, canaries: Canaries): string {
  return code
    .replaceAll('{{PORT}}', String(canaries.port))
    .replaceAll('{{SECRET_FILE}}', canaries.filePath)
    .replaceAll('{{ENV_NAME}}', canaries.envName);
}

export function httpCall(
  base: string,
  method: string,
  path: string,
  options: { body?: string | Uint8Array; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<HttpAnswer> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, {
      method,
      agent: false,
      headers: {
        connection: 'close',
        ...(options.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(options.body)) }),
        ...options.headers,
      },
    });
    const timer = setTimeout(
      () => req.destroy(new Error(`No answer to ${method} ${path} within ${options.timeoutMs ?? 60_000} ms`)),
      options.timeoutMs ?? 60_000,
    );
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // not JSON: keep the text
        }
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          text,
          body,
          ms: performance.now() - started,
        });
      });
      res.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.end(options.body);
  });
}

// ---------------------------------------------------------------------------------------------
// The guarded server

export interface SuiteOptions {
  /** Extra server environment (POLYEVAL_* settings for this family). */
  readonly env?: Record<string, string>;
  /** Languages to enable (default: all four). */
  readonly languages?: readonly Language[];
}

/** What one attack needs from the guarded server: its run, and whether /livez can be probed meanwhile. */
export type AttackRun = Pick<Attack, 'id' | 'run'> & Partial<Pick<Attack, 'livez'>>;

/** One real server with planted canaries, and the checks every attack against it must pass. */
export interface GuardedServer {
  /** The server's base URL (once started). */
  readonly url: string;
  /** Plants the canaries, starts the server, warms it up and takes the baselines. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Runs one attack, then every check of this file's header (fails the test when one does not hold). */
  attack(attack: AttackRun): Promise<void>;
}

const MIN_LIVEZ_PROBES = 7;
const IDLE_LIVEZ_PROBES = 15;
const SETTLE_MS = 20_000;

/**
 * The server, canaries and checks shared by the attack catalogue (runAttacks) and the Python escape
 * suite (test/python/escape-suite.ts): one framework, the same checks for both.
 */
export function guardedServer(options: SuiteOptions = {}): GuardedServer {
  const languages = options.languages ?? LANGUAGES;
  let server: RunningServer;
  let canaries: Canaries;
  let baseline: Counts;
  let baselineDescription = '';
  let idleLivez: readonly number[] = [];
  let pid: number;
  const answers: string[] = [];
  const sockets: Socket[] = [];

  const request: AttackContext['request'] = async (method, path, opts = {}) => {
    const answer = await httpCall(server.url, method, path, opts);
    answers.push(answer.text);
    return answer;
  };
  const context = (): AttackContext => ({
    url: server.url,
    port: Number(new URL(server.url).port),
    canaries,
    pid,
    idleLivez,
    request,
    evaluate: (language, code, opts = {}) =>
      request('POST', '/v1/evaluate', {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          language,
          code: fill(code, canaries),
          function: opts.fn ?? 'main',
          args: opts.args ?? [],
          ...(opts.limits === undefined ? {} : { limits: opts.limits }),
          ...(opts.codec === undefined ? {} : { codec: opts.codec }),
        }),
      }),
    socket: async () => {
      const socket = await openSocket(server.url);
      sockets.push(socket);
      return socket;
    },
    saw: (text) => {
      answers.push(text);
    },
  });

  /** One honest call, its body padded with `padding` bytes of JSON whitespace (the parser thread takes bodies over 64 KiB). */
  async function honestCall(language: Language, padding = 0): Promise<void> {
    const { code, fn } = HONEST_CALLS[language];
    const answer = await httpCall(server.url, 'POST', '/v1/evaluate', {
      headers: { 'content-type': 'application/json' },
      body:
        JSON.stringify({ language, code, function: fn, args: [2, 3], limits: { timeoutMs: 10_000 } }) +
        ' '.repeat(padding),
    });
    answers.push(answer.text);
    expect(answer.status, `honest ${language} call: ${answer.text.slice(0, 300)}`).toBe(200);
    expect(answer.body, `honest ${language} call`).toMatchObject({ ok: true, value: 5 });
  }

  async function honestCalls(): Promise<void> {
    await Promise.all(languages.map((language) => honestCall(language)));
  }

  async function stableCounts(): Promise<Counts> {
    let last = counts(pid);
    for (let same = 0; same < 3; ) {
      await sleep(150);
      const now = counts(pid);
      same =
        now.threads === last.threads && now.fds === last.fds && now.children === last.children ? same + 1 : 0;
      last = now;
    }
    return last;
  }

  /**
   * Waits until the sandboxes are warm again: a Python host refills its interpreters after each
   * call (~0.1-0.4 s of CPU each), and /livez measured during that refill on this 2-core machine
   * would time the machine, not the attack.
   */
  async function quiesce(): Promise<void> {
    type Host = { interpretersWaiting?: number; interpretersTarget?: number };
    const deadline = performance.now() + SETTLE_MS;
    while (performance.now() < deadline) {
      const answer = await httpCall(server.url, 'GET', '/v1/languages');
      const listed: { details?: { hosts?: Host[] } }[] = answer.body?.languages ?? [];
      const hosts = listed.flatMap((l) => l.details?.hosts ?? []);
      // At least the target: a burst may have started more, retired after IDLE_RETIRE_MS.
      if (hosts.every((h) => (h.interpretersWaiting ?? 0) >= (h.interpretersTarget ?? 0))) return;
      await sleep(100);
    }
  }

  /**
   * Waits until the threads and descriptors are no more than at the baseline and the child
   * processes back to it (a descriptor the baseline caught in passing, a connection being closed,
   * may be gone since; one more is a leak). Threads may be fewer: the service stops threads that
   * stay idle 30 s (a worker pool's extra threads, the wasm compiler, the body parser), and starts
   * them again when needed. A thread's own CPU-clock descriptor is not counted while the thread
   * lives (process-facts.ts): a leaked thread or child process still fails here.
   */
  async function settle(): Promise<void> {
    const deadline = performance.now() + SETTLE_MS;
    let now = counts(pid);
    while (now.threads > baseline.threads || now.fds > baseline.fds || now.children !== baseline.children) {
      if (performance.now() > deadline) {
        throw new Error(
          `The server did not come back to its baseline within ${SETTLE_MS} ms: ` +
            `now ${JSON.stringify(now)} (${describeProcess(pid)}), ` +
            `baseline ${JSON.stringify(baseline)} (${baselineDescription})`,
        );
      }
      await sleep(100);
      now = counts(pid);
    }
  }

  /** One /livez round trip on its own connection, in ms (infinite when it fails or gets no answer). */
  async function probeLivez(): Promise<number> {
    const started = performance.now();
    const ok = await httpCall(server.url, 'GET', '/livez', { timeoutMs: 5_000 }).then(
      (a) => a.status === 200,
      () => false,
    );
    return ok ? performance.now() - started : Number.POSITIVE_INFINITY;
  }

  async function livezWhile(work: Promise<unknown>): Promise<number[]> {
    let done = false;
    void work.then(
      () => (done = true),
      () => (done = true),
    );
    const samples: number[] = [];
    while (!done || samples.length < MIN_LIVEZ_PROBES) {
      samples.push(await probeLivez());
      if (!done) await sleep(25);
    }
    return samples;
  }

  return {
    get url() {
      return server.url;
    },
    async start() {
      canaries = await plantCanaries();
      server = await startServer({
        POLYEVAL_LANGUAGES: languages.join(','),
        POLYEVAL_POOL_SIZE: '2',
        ...options.env,
        [canaries.envName]: canaries.envSecret,
      });
      pid = server.process.pid!;
      // Warm every path whose first use starts something (the wasm compile worker, the body
      // parser thread, a respawned worker's thread), then take the baseline once the counts hold
      // still: what an attack starts on demand is then no more than the baseline holds.
      await honestCalls();
      await honestCalls();
      await honestCall(languages[0]!, INLINE_PARSE_BYTES + 1);
      await quiesce();
      baseline = await stableCounts();
      baselineDescription = describeProcess(pid);
      // The idle latency every attack's /livez probes are compared with: the same probes, same
      // server, same machine load, measured now.
      const idle: number[] = [];
      for (let i = 0; i < IDLE_LIVEZ_PROBES; i++) {
        idle.push(await probeLivez());
        await sleep(25);
      }
      idleLivez = idle;
    },
    async stop() {
      for (const s of sockets) s.destroy();
      await server?.close();
      await canaries?.close();
    },
    async attack(attack) {
      answers.length = 0;
      const logStart = server.logs().length;
      const running = attack.run(context());
      const samples = attack.livez === false ? [] : await livezWhile(running);
      await running;
      for (const s of sockets.splice(0)) s.destroy();
      // A guest that blocks the event loop holds every probe for its whole deadline (seconds); the
      // bound (20× the idle median + 250 ms) is far above what load on 2 shared cores adds.
      if (samples.length > 0) expectResponsive(`${attack.id}: /livez during the attack`, idleLivez, samples);
      // A connection attempt or a file read may land a moment after the answer.
      await sleep(50);
      const seen = [...answers, server.logs().slice(logStart)].join('\n');
      for (const secret of canaries.secrets) {
        expect(seen.includes(secret), 'a secret appeared in an answer or in the logs').toBe(false);
      }
      expect(canaries.disturbed()).toEqual([]);
      await honestCalls();
      await settle();
      await quiesce();
      expect(server.process.exitCode, 'the server is still running').toBeNull();
    },
  };
}

/** Starts the server for one family's file and defines one test per attack. */
export function runAttacks(family: Family, attacks: readonly Attack[], options: SuiteOptions = {}): void {
  const guarded = guardedServer(options);
  describe(`security: ${family}`, () => {
    beforeAll(() => guarded.start());
    afterAll(() => guarded.stop());
    for (const attack of attacks) {
      it(`${attack.id}: ${attack.title}`, { timeout: attack.timeoutMs ?? 60_000 }, () =>
        guarded.attack(attack),
      );
    }
  });
}

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
//      is under 50 ms, the next honest call in every language succeeds, and the server's threads
//      (one per sandbox worker), file descriptors and child processes (sandbox hosts) come back to
//      the baseline measured after warm-up.
// Attacks are data (test/security/attacks/<family>.ts); each test file runs one family through
// runAttacks(). Traffic goes to 127.0.0.1 only; every request uses its own connection
// (Connection: close), so that the file-descriptor count does not depend on a client's pool.

import { randomBytes } from 'node:crypto';
import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { createServer, type Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { descendants } from '../../scripts/lib/proc.js';
import { type RunningServer, startServer } from '../helpers/server.js';

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
// Process facts

export interface Counts {
  readonly threads: number;
  readonly fds: number;
  readonly children: number;
}

export function counts(pid: number): Counts {
  return {
    threads: readdirSync(`/proc/${pid}/task`).length,
    fds: readdirSync(`/proc/${pid}/fd`).length,
    children: descendants(pid).length,
  };
}

function describeProcess(pid: number): string {
  const names = (dir: string, read: (e: string) => string): string[] => {
    try {
      return readdirSync(dir).map((e) => {
        try {
          return read(e);
        } catch {
          return '?';
        }
      });
    } catch {
      return [];
    }
  };
  const threads = names(`/proc/${pid}/task`, (t) =>
    readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8').trim(),
  );
  const fds = names(`/proc/${pid}/fd`, (f) => readlinkSync(`/proc/${pid}/fd/${f}`).replace(/\d+/g, 'N'));
  const tally = (list: string[]): string => {
    const map = new Map<string, number>();
    for (const x of list) map.set(x, (map.get(x) ?? 0) + 1);
    return [...map].map(([k, v]) => `${k}×${v}`).join(', ');
  };
  return `threads: ${tally(threads)}; fds: ${tally(fds)}; children: ${descendants(pid).join(', ')}`;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Honest calls: one per language, after every attack

export const HONEST: Readonly<Record<Language, { code: string; fn: string }>> = {
  javascript: { code: 'function add(a, b) { return a + b }', fn: 'add' },
  lua: { code: 'function add(a, b) return a + b end', fn: 'add' },
  wasm: {
    code: '(module (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))',
    fn: 'add',
  },
  python: { code: 'def add(a, b):\n    return a + b\n', fn: 'add' },
};

export function median(samples: readonly number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.POSITIVE_INFINITY;
}

// ---------------------------------------------------------------------------------------------
// The suite

export interface SuiteOptions {
  /** Extra server environment (POLYEVAL_* settings for this family). */
  readonly env?: Record<string, string>;
  /** Languages to enable (default: all four). */
  readonly languages?: readonly Language[];
}

const LIVEZ_LIMIT_MS = 50;
const MIN_LIVEZ_PROBES = 7;
const SETTLE_MS = 15_000;

/** Starts the server for one family's file and defines one test per attack. */
export function runAttacks(family: Family, attacks: readonly Attack[], options: SuiteOptions = {}): void {
  const languages = options.languages ?? LANGUAGES;
  let server: RunningServer;
  let canaries: Canaries;
  let baseline: Counts;
  let baselineDescription = '';
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
    socket: () =>
      new Promise((resolve, reject) => {
        const url = new URL(server.url);
        const socket = new Socket();
        socket.once('error', reject);
        socket.connect(Number(url.port), url.hostname, () => {
          socket.off('error', reject);
          socket.on('error', () => {});
          sockets.push(socket);
          resolve(socket);
        });
      }),
    saw: (text) => {
      answers.push(text);
    },
  });

  async function honestCalls(): Promise<void> {
    await Promise.all(
      languages.map(async (language) => {
        const { code, fn } = HONEST[language];
        const answer = await httpCall(server.url, 'POST', '/v1/evaluate', {
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ language, code, function: fn, args: [2, 3], limits: { timeoutMs: 10_000 } }),
        });
        answers.push(answer.text);
        expect(answer.status, `honest ${language} call: ${answer.text.slice(0, 300)}`).toBe(200);
        expect(answer.body, `honest ${language} call`).toMatchObject({ ok: true, value: 5 });
      }),
    );
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
      if (hosts.every((h) => h.interpretersWaiting === h.interpretersTarget)) return;
      await sleep(100);
    }
  }

  /**
   * Waits until the threads and child processes are back to the baseline and the descriptors no
   * more than it (a descriptor the baseline caught in passing, a connection being closed, may be
   * gone since; one more is a leak).
   */
  async function settle(): Promise<void> {
    const deadline = performance.now() + SETTLE_MS;
    let now = counts(pid);
    while (now.threads !== baseline.threads || now.fds > baseline.fds || now.children !== baseline.children) {
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

  async function livezWhile(work: Promise<unknown>): Promise<number[]> {
    let done = false;
    void work.then(
      () => (done = true),
      () => (done = true),
    );
    const samples: number[] = [];
    while (!done || samples.length < MIN_LIVEZ_PROBES) {
      const started = performance.now();
      const ok = await httpCall(server.url, 'GET', '/livez', { timeoutMs: 5_000 }).then(
        (a) => a.status === 200,
        () => false,
      );
      samples.push(ok ? performance.now() - started : Number.POSITIVE_INFINITY);
      if (!done) await sleep(25);
    }
    return samples;
  }

  describe(`security: ${family}`, () => {
    beforeAll(async () => {
      canaries = await plantCanaries();
      server = await startServer({
        POLYEVAL_LANGUAGES: languages.join(','),
        POLYEVAL_POOL_SIZE: '2',
        ...options.env,
        [canaries.envName]: canaries.envSecret,
      });
      pid = server.process.pid!;
      // Warm every path whose first use starts something for good (the wasm compile worker, a
      // respawned worker's thread), then take the baseline once the counts hold still.
      await honestCalls();
      await honestCalls();
      await quiesce();
      baseline = await stableCounts();
      baselineDescription = describeProcess(pid);
    });
    afterAll(async () => {
      for (const s of sockets) s.destroy();
      await server?.close();
      await canaries?.close();
    });

    for (const attack of attacks) {
      it(`${attack.id}: ${attack.title}`, { timeout: attack.timeoutMs ?? 60_000 }, async () => {
        answers.length = 0;
        const logStart = server.logs().length;
        const running = attack.run(context());
        const samples = attack.livez === false ? [] : await livezWhile(running);
        await running;
        for (const s of sockets.splice(0)) s.destroy();
        if (samples.length > 0) {
          const m = median(samples);
          expect(
            m,
            `/livez median ${m.toFixed(1)} ms over ${samples.length} probes during the attack`,
          ).toBeLessThan(LIVEZ_LIMIT_MS);
        }
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
      });
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Attack builders

export interface EvaluateAttack {
  readonly id: string;
  readonly title: string;
  readonly result: string;
  readonly finding?: string;
  readonly contained?: string;
  readonly language: string;
  readonly code: string;
  readonly fn?: string;
  readonly args?: unknown[];
  readonly limits?: Record<string, number>;
  readonly codec?: string;
  /** The error codes the call may end with (any of them); omit when `check` decides. */
  readonly codes?: readonly string[];
  /** Further assertions on the answer's body (status 200 is checked before); `text` is the raw body. */
  readonly check?: (body: HttpAnswer['body'], text: string) => void;
  readonly timeoutMs?: number;
}

/** An attack that is one call of /v1/evaluate. */
export function evaluateAttack(spec: EvaluateAttack): Attack {
  return {
    id: spec.id,
    title: spec.title,
    result: spec.result,
    ...(spec.finding === undefined ? {} : { finding: spec.finding }),
    ...(spec.contained === undefined ? {} : { contained: spec.contained }),
    ...(spec.timeoutMs === undefined ? {} : { timeoutMs: spec.timeoutMs }),
    async run(h) {
      const answer = await h.evaluate(spec.language, spec.code, {
        ...(spec.fn === undefined ? {} : { fn: spec.fn }),
        ...(spec.args === undefined ? {} : { args: spec.args }),
        ...(spec.limits === undefined ? {} : { limits: spec.limits }),
        ...(spec.codec === undefined ? {} : { codec: spec.codec }),
      });
      expect(answer.status, answer.text.slice(0, 500)).toBe(200);
      if (spec.codes !== undefined) {
        expect(answer.body.ok, answer.text.slice(0, 500)).toBe(false);
        expect(spec.codes, `${answer.body.error?.code}: ${answer.body.error?.message}`).toContain(
          answer.body.error?.code,
        );
      }
      spec.check?.(answer.body, answer.text);
    },
  };
}

// Starts the real service as a child process (node dist/src/main.js on a free port) and waits
// until it is ready. Used by the end-to-end tests and the benchmarks (both run the compiled build).

import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseJson, stringifyJson } from '../../src/executor/json-value.js';

// scripts/lib/ in sources, dist/scripts/lib/ when compiled: find the folder holding package.json.
const root = [new URL('../../', import.meta.url), new URL('../../../', import.meta.url)]
  .map((u) => fileURLToPath(u))
  .find((dir) => existsSync(`${dir}package.json`) && existsSync(`${dir}src`))!;

export interface RunningServer {
  readonly url: string;
  readonly process: ChildProcess;
  /** Everything the server wrote to stdout/stderr so far. */
  logs(): string;
  close(): Promise<void>;
}

export interface StartOptions {
  /** Wait for /readyz to answer 200 (default true). */
  readonly waitReady?: boolean;
  readonly readyTimeoutMs?: number;
  /** Replace the inherited environment entirely (plus PORT/POLYEVAL_HOST) instead of extending it. */
  readonly cleanEnv?: boolean;
  /**
   * Where the server's stdout/stderr go: a pipe read by this process (default), or a temporary
   * file. Benchmarks use the file: the load generator is this process, and reading one log line
   * per call from a pipe would steal its time (in production a log shipper reads the logs).
   */
  readonly logTo?: 'pipe' | 'file';
}

export async function startServer(
  env: Record<string, string> = {},
  options: StartOptions = {},
): Promise<RunningServer> {
  const base = options.cleanEnv ? { PATH: process.env.PATH ?? '/usr/bin:/bin' } : process.env;
  const logDir = options.logTo === 'file' ? mkdtempSync(join(tmpdir(), 'polyeval-server-')) : undefined;
  const logFd = logDir === undefined ? undefined : openSync(join(logDir, 'server.log'), 'w');
  const child = spawn(process.execPath, ['dist/src/main.js'], {
    cwd: root,
    env: { ...base, POLYEVAL_LOG_LEVEL: 'info', ...env, PORT: '0', POLYEVAL_HOST: '127.0.0.1' },
    stdio: logFd === undefined ? ['ignore', 'pipe', 'pipe'] : ['ignore', logFd, logFd],
  });
  if (logFd !== undefined) closeSync(logFd);
  let piped = '';
  const output = (): string =>
    logDir === undefined ? piped : readFileSync(join(logDir, 'server.log'), 'utf8');
  child.stdout?.setEncoding('utf8');
  child.stderr?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    piped += chunk;
  });
  child.stderr?.on('data', (chunk: string) => {
    piped += chunk;
  });
  const port = await new Promise<number>((resolve, reject) => {
    const started = Date.now();
    const poll = setInterval(() => {
      const match = /"msg":"Listening","port":(\d+)/.exec(output());
      if (match !== null) {
        clearInterval(poll);
        resolve(Number(match[1]));
      } else if (Date.now() - started > 30_000) {
        clearInterval(poll);
        reject(new Error(`The server did not start listening:\n${output()}`));
      }
    }, 20);
    child.on('exit', (code) => {
      clearInterval(poll);
      reject(new Error(`The server exited with code ${code} before listening:\n${output()}`));
    });
  });
  // A server that dies under a test is a finding: say so with everything it printed.
  let closing = false;
  child.on('exit', (code, signal) => {
    if (!closing)
      process.stderr.write(`polyeval server exited (code ${code}, signal ${signal}):\n${output()}\n`);
  });
  const url = `http://127.0.0.1:${port}`;
  const server: RunningServer = {
    url,
    process: child,
    logs: output,
    close: () =>
      new Promise<void>((resolve) => {
        closing = true;
        const removeLog = (): void => {
          if (logDir !== undefined) rmSync(logDir, { recursive: true, force: true });
        };
        if (child.exitCode !== null || child.signalCode !== null) {
          removeLog();
          return resolve();
        }
        const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', () => {
          clearTimeout(killer);
          removeLog();
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
  if (options.waitReady ?? true) {
    const deadline = Date.now() + (options.readyTimeoutMs ?? 120_000);
    for (;;) {
      const ready = await fetch(`${url}/readyz`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ready) break;
      if (Date.now() > deadline) {
        await server.close();
        throw new Error(`The server did not become ready:\n${output()}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return server;
}

/**
 * POSTs a JSON body (a bigint is written as an exact integer) and returns status, headers and the
 * parsed body (the text when it is not JSON). With `exact`, integers beyond 2^53 in the answer are
 * read as bigints; else as (rounded) numbers, as JSON.parse does.
 */
export async function postJson(
  url: string,
  body: unknown,
  init: RequestInit = {},
  { exact = false }: { readonly exact?: boolean } = {},
  // biome-ignore lint/suspicious/noExplicitAny: callers (tests, benchmarks) read arbitrary JSON answers
): Promise<{ status: number; headers: Headers; body: any }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : stringifyJson(body),
    ...init,
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = exact ? parseJson(text) : JSON.parse(text);
  } catch {
    // keep the text
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

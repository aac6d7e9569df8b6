// Baselines for the benchmarks: what a call costs with none of the service's own code around it.
// A bare node:http server (no hono, no validation, no admission queue, no logs or metrics) reads a
// POSTed JSON body and hands it to one of two backends:
//
// - the echo worker ("hop floor"): a worker thread that answers at once. No engine, no sandbox:
//   what the hop to a worker alone costs on this machine, the least any service of this
//   architecture (guest code never on the HTTP thread) can cost per call;
// - a language's real executor ("engine floor"): the same executor, worker pool and sandbox the
//   service runs, loaded from interpreters/<id>/ with the limits the service would apply. The
//   difference between it and the service is the service's own cost; between it and the hop floor,
//   the engine's.
//
// Compared with the service's /livez floor in the same run, these show whether a latency target
// is within reach of the architecture at all. The engine server accepts the service's bodies for
// POST /v1/evaluate (code or module, function, args; limits default) and POST /v1/modules.
//
// Run as a child process by the benchmarks (startBareServer); prints {"port": N} when listening.

import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { loadConfig } from '../../src/config.js';
import type { Call } from '../../src/executor/contract.js';
import { type JsonValue, parseJson, stringifyJson } from '../../src/executor/json-value.js';
import { discoverLanguages } from '../../src/executor/registry.js';
import { effectiveLimits } from '../../src/orchestrator/limits.js';
import { languagePlan } from '../../src/orchestrator/orchestrator.js';
import { runnableUrl } from '../../src/paths.js';
import { startExecutor } from './executor.js';

/** Answers one request body: [HTTP status, answer]. */
type Backend = (path: string, body: Record<string, unknown>) => Promise<[number, unknown]>;

const ECHO_WORKER = `
const { parentPort } = require('node:worker_threads');
parentPort.on('message', (m) => parentPort.postMessage({ id: m.id, ok: true, value: m.args.length }));
`;

function echoBackend(): Backend {
  const worker = new Worker(ECHO_WORKER, { eval: true });
  const waiting = new Map<number, (answer: unknown) => void>();
  let nextId = 1;
  worker.on('message', (m: { id: number }) => {
    waiting.get(m.id)?.(m);
    waiting.delete(m.id);
  });
  return (_path, body) =>
    new Promise((resolve) => {
      const id = nextId++;
      waiting.set(id, (answer) => resolve([200, answer]));
      worker.postMessage({ id, args: Array.isArray(body.args) ? body.args : [] });
    });
}

async function engineBackend(language: string): Promise<Backend> {
  const config = loadConfig(process.env);
  const entry = discoverLanguages().find((e) => e.manifest.id === language);
  if (entry === undefined) throw new Error(`No interpreters/${language}/manifest.json`);
  // The pool size, settings and limits the service gives this language.
  const { overrides, policy, poolSize } = languagePlan(entry.manifest, config);
  const executor = await startExecutor(language, {
    poolSize,
    settings: overrides.settings,
    ceilings: policy.ceilings,
  });
  const limits = effectiveLimits(policy, undefined);
  return async (path, body) => {
    if (path === '/v1/modules') {
      if (executor.deploy === undefined) return [404, { error: `${language} has no deployed modules` }];
      const deployed = await executor.deploy(String(body.code));
      return 'error' in deployed ? [422, deployed] : [201, { ok: true, id: deployed.id }];
    }
    const call: Call = {
      function: typeof body.function === 'string' ? body.function : 'main',
      args: (Array.isArray(body.args) ? body.args : []) as JsonValue[],
      limits,
      ...(typeof body.code === 'string' ? { code: body.code } : {}),
      ...(typeof body.module === 'string' ? { module: body.module } : {}),
    };
    return [200, await executor.execute(call)];
  };
}

function serve(backend: Backend): void {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = req.method === 'POST' ? (parseJson(Buffer.concat(chunks).toString()) as object) : {};
      backend(req.url ?? '/', body as Record<string, unknown>).then(
        ([status, answer]) => {
          const text = stringifyJson(answer);
          res.writeHead(status, {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(text),
          });
          res.end(text);
        },
        (error: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(String(error));
        },
      );
    });
  });
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' ? address?.port : 0 })}\n`);
  });
}

export interface BareServer {
  readonly url: string;
  close(): void;
}

/** Starts a bare server: the echo worker, or the executor of `language` when given. */
export function startBareServer(language?: string): Promise<BareServer> {
  // Always the compiled module (tests import this file from sources).
  const script = fileURLToPath(runnableUrl(new URL(import.meta.url)));
  const args = [script, '--serve', ...(language === undefined ? [] : [language])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      output += chunk;
      const match = /"port":(\d+)/.exec(output);
      if (match !== null) resolve({ url: `http://127.0.0.1:${match[1]}`, close: () => child.kill() });
    });
    child.on('exit', (code) => reject(new Error(`The bare server exited with code ${code}`)));
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv.includes('--serve')) {
  const language = process.argv[process.argv.indexOf('--serve') + 1];
  serve(language === undefined ? echoBackend() : await engineBackend(language));
}

// A second baseline for the benchmarks: the least any service of this architecture can cost per
// call. A bare node:http server that reads a POSTed JSON body and sends it to a worker thread,
// which answers at once (no engine, no sandbox, no validation, no logs); the server writes the
// answer back. Compared with the /livez floor it shows what the hop to a worker alone costs on
// this machine, so that a target can be checked against what is physically possible here.
//
// Run as a child process by the benchmarks (startHopServer); prints {"port": N} when listening.

import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

const ECHO_WORKER = `
const { parentPort } = require('node:worker_threads');
parentPort.on('message', (m) => parentPort.postMessage({ id: m.id, ok: true, value: m.args.length }));
`;

function serve(): void {
  const worker = new Worker(ECHO_WORKER, { eval: true });
  const waiting = new Map<number, (answer: unknown) => void>();
  let nextId = 1;
  worker.on('message', (m: { id: number }) => {
    waiting.get(m.id)?.(m);
    waiting.delete(m.id);
  });
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body =
        req.method === 'POST' ? (JSON.parse(Buffer.concat(chunks).toString()) as { args?: unknown[] }) : {};
      const id = nextId++;
      waiting.set(id, (answer) => {
        const text = JSON.stringify(answer);
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.end(text);
      });
      worker.postMessage({ id, args: body.args ?? [] });
    });
  });
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' ? address?.port : 0 })}\n`);
  });
}

export interface HopServer {
  readonly url: string;
  close(): void;
}

export function startHopServer(): Promise<HopServer> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--serve'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      output += chunk;
      const match = /"port":(\d+)/.exec(output);
      if (match !== null) resolve({ url: `http://127.0.0.1:${match[1]}`, close: () => child.kill() });
    });
    child.on('exit', (code) => reject(new Error(`The hop server exited with code ${code}`)));
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv.includes('--serve')) serve();

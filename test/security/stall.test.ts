// The HTTP thread never stalls: against the real server at its default body limit (8 MiB), four
// clients loop on one worst-case body at a time while this file probes /livez, whose p99 must stay
// at or under 50 ms (the one timed assertion of the suite: it is the requirement itself). The bodies
// are the costliest shapes a parser meets: one number of millions of digits, hundreds of thousands
// of big integers (the lossless path), an object of ~700k keys, millions of levels of nesting, a
// Wikifunctions call whose argument is that wide, and Avro bodies of the same shapes. Each must
// also be refused with a typed error, not half-served. Two more kinds test the answer path: a
// result whose shape would cost the HTTP thread as much as such a body. The clients run in a worker thread so that
// writing 32 MiB at a time does not delay this thread's probes.

import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeAvroRequest } from '../../src/wikifunctions/avro.js';
import { sleep } from '../helpers/net.js';
import { type RunningServer, startServer } from '../helpers/server.js';
import { httpCall } from './harness.js';

const BODY_LIMIT = 8 * 1024 * 1024;
const CLIENTS = 4;
// Long enough for a few hundred /livez probes per kind, so that the p99 is a percentile and not the
// single worst probe (one old-generation GC of the service's heap can take ~50 ms on its own).
const LOAD_MS = 7_000;
const MIN_PROBES = 150;
const P99_LIMIT_MS = 50;

/** Fills `n` bytes of JSON by repeating `item` with commas (the count that fits). */
function repeat(item: (i: number) => string, bytes: number): string {
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const s = item(i);
    parts.push(s);
    size += s.length + 1;
  }
  return parts.join(',');
}

const native = (args: string): string => {
  const head = '{"language":"javascript","code":"function f(a) { return 1 }","function":"f","args":[';
  return `${head}${args}]}`;
};
const room = (overhead: number): number => BODY_LIMIT - overhead - 200;

function z7Wide(): string {
  // A Z7 in canonical form whose one argument is an object of as many keys as fit.
  const head =
    '{"Z1K1":"Z7","Z7K1":{"Z1K1":"Z8","Z8K1":["Z17"],"Z8K2":"Z1","Z8K4":["Z14",{"Z1K1":"Z14",' +
    '"Z14K3":{"Z1K1":"Z16","Z16K1":"javascript","Z16K2":"function Z10001(a) { return 1 }"}}],' +
    '"Z8K5":"Z10001"},"Z10001K1":{"Z1K1":"Z1",';
  return `${head}${repeat((i) => `"K${i + 1}":"x"`, room(head.length))}}}`;
}

function avroWide(): Buffer {
  const wide: Record<string, unknown> = { Z1K1: 'Z9', Z9K1: 'Z1' };
  const value = { Z1K1: 'Z6', Z6K1: 'x' };
  const arg: Record<string, unknown> = { Z1K1: wide };
  for (let i = 1; i <= 740_000; i++) arg[`K${i}`] = value;
  return encodeAvroRequest('0.0.3', {
    codingLanguage: 'javascript',
    codeString: 'function f(a) { return 1 }',
    functionName: 'f',
    functionArguments: { fK1: arg },
  });
}

function avroQuote(): Buffer {
  const many = Array.from({ length: 380_000 }, () => 2 ** 60);
  return encodeAvroRequest('0.0.3', {
    codingLanguage: 'javascript',
    codeString: 'function f(a) { return 1 }',
    functionName: 'f',
    functionArguments: { fK1: { Z1K1: { Z1K1: 'Z9', Z9K1: 'Z99' }, Z99K1: many } },
  });
}

interface Kind {
  readonly name: string;
  readonly path: string;
  readonly contentType: string;
  readonly body: () => string | Buffer;
  /** The body is at the body limit (all but the answer-path kinds). */
  readonly small?: true;
  /** Checks one answer: a typed refusal. */
  readonly refused: (status: number, text: string) => boolean;
}

const problem = (status: number, text: string): boolean =>
  status === 400 && text.includes('"type":"https://polyeval.dev/problems/invalid-request"');
const z5 = (status: number, text: string): boolean =>
  status === 200 && text.includes('"Z22K1":{"Z1K1":"Z9","Z9K1":"Z24"}') && text.includes('"Z561"');
const WF = '/1/v1/evaluate/';
const outputLimit = (status: number, text: string): boolean =>
  status === 200 && text.includes('"code":"OUTPUT_LIMIT"') && text.includes('results are held to the bounds');
/** A call whose result is the cost (its body is small). */
const answerBody = (language: string, code: string): string =>
  JSON.stringify({ language, code, limits: { outputBytes: 4_194_304, timeoutMs: 20_000, memoryMb: 512 } });

const KINDS: readonly Kind[] = [
  {
    name: 'JSON: one number of ~8M digits',
    path: '/v1/evaluate',
    contentType: 'application/json',
    body: () => native('1'.repeat(room(100))),
    refused: problem,
  },
  {
    name: 'JSON: ~460k big integers',
    path: '/v1/evaluate',
    contentType: 'application/json',
    body: () => native(repeat(() => '12345678901234567', room(100))),
    refused: problem,
  },
  {
    name: 'JSON: many small numbers',
    path: '/v1/evaluate',
    contentType: 'application/json',
    body: () => native(`[${repeat(() => '1', room(100))}]`),
    refused: problem,
  },
  {
    name: 'JSON: an object of ~700k keys',
    path: '/v1/evaluate',
    contentType: 'application/json',
    body: () => native(`{${repeat((i) => `"k${i}":1`, room(100))}}`),
    refused: problem,
  },
  {
    name: 'JSON: ~4M levels of nesting',
    path: '/v1/evaluate',
    contentType: 'application/json',
    body: () => native('['.repeat(room(100) / 2) + ']'.repeat(room(100) / 2)),
    refused: problem,
  },
  {
    name: 'Wikifunctions JSON: a Z7 whose argument has ~750k keys',
    path: WF,
    contentType: 'application/json',
    body: z7Wide,
    refused: z5,
  },
  {
    name: 'Wikifunctions JSON: one number of ~8M digits',
    path: WF,
    contentType: 'application/json',
    body: () => `{"Z1K1":"Z7","Z7K1":${'1'.repeat(room(100))}}`,
    refused: z5,
  },
  {
    name: 'Avro 0.0.3: an argument of 740k keys',
    path: WF,
    contentType: 'application/octet-stream',
    body: avroWide,
    refused: z5,
  },
  {
    name: 'Avro 0.0.3: a quote (Z99) of 380k big integers',
    path: WF,
    contentType: 'application/octet-stream',
    body: avroQuote,
    refused: z5,
  },
  // The answer path: a result within the output limit's bytes (4 MiB) whose shape would cost the
  // HTTP thread as much to copy in and write out (100k keys, 500k numbers); refused in its worker.
  // (These bodies are small: the cost is the result's.)
  {
    name: 'answer: a JavaScript result of 100k keys (4 MiB output limit)',
    path: '/v1/evaluate',
    contentType: 'application/json',
    body: () =>
      answerBody(
        'javascript',
        'function main() { const o = {}; for (let i = 0; i < 100000; i++) o["k" + i] = 1; return o; }',
      ),
    refused: outputLimit,
    small: true,
  },
  {
    name: 'answer: a Lua result of 300k numbers (4 MiB output limit)',
    path: '/v1/evaluate',
    contentType: 'application/json',
    body: () =>
      answerBody('lua', 'function main() local t = {} for i = 1, 300000 do t[i] = 0 end return t end'),
    refused: outputLimit,
    small: true,
  },
];

/** Four clients, each sending the body again as soon as it has its answer, until told to stop. */
const LOAD = `
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
const { url, path, contentType, body, clients } = workerData;
const data = Buffer.from(body);
let stop = false;
const answers = [];
parentPort.on('message', () => { stop = true; });
function once() {
  return new Promise((resolve) => {
    const req = http.request(url + path, { method: 'POST', agent: false,
      headers: { connection: 'close', 'content-type': contentType, 'content-length': data.length } });
    req.on('response', (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => { answers.push([res.statusCode, Buffer.concat(chunks).toString('utf8')]); resolve(); });
    });
    req.on('error', (e) => { answers.push([0, String(e)]); resolve(); });
    req.end(data);
  });
}
async function client() { while (!stop) await once(); }
Promise.all(Array.from({ length: clients }, client)).then(() => parentPort.postMessage(answers));
`;

function percentile(samples: readonly number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

/**
 * CPU time (ms) the server's main thread (the HTTP thread: its thread id is the process id) has
 * used, from /proc. Reported with the figures: on a loaded machine /livez also measures how long
 * the kernel left the thread waiting, and this tells that apart from work the thread did.
 */
function mainThreadCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

async function livezSamples(url: string, untilMs: number): Promise<number[]> {
  const samples: number[] = [];
  while (performance.now() < untilMs) {
    const answer = await httpCall(url, 'GET', '/livez', { timeoutMs: 10_000 });
    expect(answer.status).toBe(200);
    samples.push(answer.ms);
    await sleep(10);
  }
  return samples;
}

describe('security: the HTTP thread never stalls on a body within the limits', () => {
  let server: RunningServer;

  beforeAll(async () => {
    server = await startServer({
      POLYEVAL_LANGUAGES: 'javascript,lua',
      POLYEVAL_POOL_SIZE: '2',
      POLYEVAL_BODY_LIMIT_BYTES: String(BODY_LIMIT),
    });
    // The floor: /livez with no load, on this machine as it is now.
    const idle = await livezSamples(server.url, performance.now() + 1_000);
    console.log(
      `idle: /livez over ${idle.length} probes: p50 ${percentile(idle, 50).toFixed(1)} ms, p99 ${percentile(idle, 99).toFixed(1)} ms`,
    );
  }, 60_000);
  afterAll(async () => {
    await server?.close();
  });

  for (const kind of KINDS) {
    it(`/livez p99 <= ${P99_LIMIT_MS} ms while ${CLIENTS} clients send: ${kind.name}`, {
      timeout: 60_000,
    }, async () => {
      const body = kind.body();
      expect(body.length).toBeLessThanOrEqual(BODY_LIMIT);
      if (kind.small !== true) expect(body.length).toBeGreaterThan(BODY_LIMIT - 1024 * 1024);
      // One window of load: 4 clients loop on the body while /livez is probed.
      const window = async (): Promise<{ p99: number; samples: number[]; seen: [number, string][] }> => {
        const worker = new Worker(LOAD, {
          eval: true,
          workerData: {
            url: server.url,
            path: kind.path,
            contentType: kind.contentType,
            body,
            clients: CLIENTS,
          },
        });
        const answers = new Promise<[number, string][]>((resolve, reject) => {
          worker.once('message', resolve);
          worker.once('error', reject);
        });
        const cpuBefore = mainThreadCpuMs(server.process.pid!);
        const until = performance.now() + LOAD_MS;
        await sleep(100); // the first bodies are on their way
        const samples = await livezSamples(server.url, until);
        worker.postMessage('stop');
        const seen = await answers;
        await worker.terminate();
        const cpu = mainThreadCpuMs(server.process.pid!) - cpuBefore;
        const p99 = percentile(samples, 99);
        console.log(
          `${kind.name}: ${seen.length} bodies; /livez over ${samples.length} probes: ` +
            `p50 ${percentile(samples, 50).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${Math.max(...samples).toFixed(1)} ms; ` +
            `HTTP thread CPU ${(cpu / seen.length).toFixed(1)} ms per body`,
        );
        return { p99, samples, seen };
      };
      // The load generator, the prober, the parser thread and the HTTP thread share this machine's
      // two cores with whatever else runs on it: a window that misses the bound is measured once
      // more. A real stall (460-843 ms per body before the parser thread) misses it in both.
      let result = await window();
      if (result.p99 > P99_LIMIT_MS) result = await window();
      const { p99, samples, seen } = result;
      expect(seen.length).toBeGreaterThanOrEqual(CLIENTS);
      expect(samples.length).toBeGreaterThanOrEqual(MIN_PROBES);
      for (const [status, text] of seen)
        expect(kind.refused(status, text), `${status} ${text.slice(0, 300)}`).toBe(true);
      expect(p99, `/livez p99 over ${samples.length} probes`).toBeLessThanOrEqual(P99_LIMIT_MS);
    });
  }
});

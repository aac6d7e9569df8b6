// The wasm section of `npm run bench` (scripts/bench.ts imports benchWasm): a deployed exported
// `add` and a WASI JSON echo over HTTP (POST /v1/evaluate with "module"), plus the same `add` sent
// inline as .wat (a cache hit after the first call), each beside the /livez floor.
//
// Run alone (node dist/scripts/bench-wasm.js [--quick]) it also starts its own server and measures,
// in-process and without HTTP, what recycling memories buys (fresh instance per call, memories of
// 1 and 256 pages) and what the fuel counter costs on three kernels.

import { readFileSync } from 'node:fs';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Call, Executor } from '../src/executor/contract.js';
import { projectRoot } from '../src/paths.js';
import { startBareServer } from './lib/bare-server.js';
import { startExecutor } from './lib/executor.js';
import { type BenchRow, benchRow, benchRows, load, percentile, valueIs } from './lib/load.js';
import { startServer } from './lib/server.js';

const quick = process.argv.includes('--quick');
const N = quick ? 1000 : 5000;

/** The conformance fixtures double as benchmark modules: an exported add and a WASI echo command. */
function fixture(name: string): string {
  return readFileSync(
    fileURLToPath(new URL(`interpreters/wasm/conformance/${name}.wat`, projectRoot)),
    'utf8',
  );
}
const ADD = fixture('001-add-integers');
const ECHO = fixture('002-roundtrip-null');

async function deploy(url: string, code: string): Promise<{ id: string } & Record<string, unknown>> {
  const response = await fetch(`${url}/v1/modules`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ language: 'wasm', code }),
  });
  const body = (await response.json()) as { id: string } & Record<string, unknown>;
  if (response.status !== 201) throw new Error(`Cannot deploy the benchmark module: ${JSON.stringify(body)}`);
  return body;
}

export async function benchWasm(
  url: string,
  floor: BenchRow | undefined,
  engine: () => Promise<string>,
): Promise<BenchRow[]> {
  const evaluate = `${url}/v1/evaluate`;
  /** The body of a call to a deployed module's function. */
  const byId = (id: string, fn: string, args: unknown[]) =>
    JSON.stringify({ language: 'wasm', module: id, function: fn, args });
  const add = await deploy(url, ADD);
  const rows = await benchRows(
    'wasm add (deployed module)',
    { url: evaluate, body: byId(add.id, 'add', [2, 3]), requests: N, check: valueIs(5) },
    floor,
  );
  // The same deployed add on the wasm executor behind a bare server (no service code).
  const bare = await engine();
  const bareAdd = await deploy(bare, ADD);
  rows.push(
    ...(await benchRows(
      'engine floor: bare POST + wasm executor, deployed add',
      { url: `${bare}/v1/evaluate`, body: byId(bareAdd.id, 'add', [2, 3]), requests: N, check: valueIs(5) },
      floor,
    )),
  );
  const inline = JSON.stringify({ language: 'wasm', code: ADD, function: 'add', args: [2, 3] });
  rows.push(
    ...(await benchRows(
      'wasm add (inline .wat, cached by hash)',
      { url: evaluate, body: inline, requests: N, check: valueIs(5) },
      floor,
      [1],
    )),
  );
  const echo = await deploy(url, ECHO);
  const value = { name: 'Ada', tags: ['math', 'engines'], born: 1815 };
  rows.push(
    ...(await benchRows(
      'wasm WASI JSON echo (deployed)',
      { url: evaluate, body: byId(echo.id, 'main', [value]), requests: N, check: valueIs(value) },
      floor,
    )),
  );
  rows.push(...(await benchComponents(url, floor)));
  return rows;
}

// --- Components (interpreters/wasm/component/): each call runs in a never-used worker of the
// confined sandbox host, so fewer requests than the raw-module rows.
const COMPONENT_N = quick ? 100 : 400;

function componentFixture(name: string): Buffer {
  return readFileSync(fileURLToPath(new URL(`test/fixtures/components/${name}`, projectRoot)));
}

async function benchComponents(url: string, floor: BenchRow | undefined): Promise<BenchRow[]> {
  const evaluate = `${url}/v1/evaluate`;
  const byId = (id: string, fn: string, args: unknown[]) =>
    JSON.stringify({ language: 'wasm', module: id, function: fn, args });
  // typed.wasm's run(string) -> string is an echo (the `run` convention); add.wasm's add is s64.
  const typed = await deploy(url, componentFixture('typed.wasm').toString('base64'));
  const add = await deploy(url, componentFixture('add.wasm').toString('base64'));
  const text = JSON.stringify({ name: 'Ada', tags: ['math', 'engines'], born: 1815 });
  return [
    ...(await benchRows(
      'wasm component run echo (deployed, typed.wasm)',
      { url: evaluate, body: byId(typed.id, 'run', [text]), requests: COMPONENT_N, check: valueIs(text) },
      floor,
      [1, 2],
    )),
    ...(await benchRows(
      'wasm component typed add s64 (deployed, add.wasm)',
      { url: evaluate, body: byId(add.id, 'add', [2, 3]), requests: COMPONENT_N, check: valueIs(5) },
      floor,
      [1, 2],
    )),
  ];
}

// ---------------------------------------------------------------------------------------------
// Standalone: server section, plus in-process measurements of memory recycling and fuel.

function inProcess(settings: Record<string, string>): Promise<Executor> {
  return startExecutor('wasm', {
    settings,
    ceilings: { timeoutMs: 30_000, memoryMb: 2048, outputBytes: 16_777_216 },
  });
}

const limits = { timeoutMs: 5000, memoryMb: 128, outputBytes: 1 << 20 };

async function latency(
  executor: Executor,
  call: Call,
  count: number,
): Promise<{ p50: number; p99: number; max: number }> {
  for (let i = 0; i < 200; i++) await executor.execute(call);
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    const result = await executor.execute(call);
    times.push(performance.now() - t);
    if (!result.ok) throw new Error(`${call.function}: ${result.error.message}`);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99), max: times[times.length - 1]! };
}

async function recycling(): Promise<void> {
  console.log('\nFresh instance per call, in-process (no HTTP), one worker:');
  const count = quick ? 2000 : 10_000;
  for (const pages of [1, 17, 256]) {
    const code = `(module (memory ${pages}) (func (export "touch") (result i32)
      (i32.store (i32.const 64) (i32.add (i32.load (i32.const 64)) (i32.const 1))) (i32.load (i32.const 64))))`;
    for (const recycle of ['1', '0']) {
      const executor = await inProcess({ RECYCLE_MEMORIES: recycle });
      const r = await latency(executor, { code, function: 'touch', args: [], limits }, count);
      console.log(
        `  memory ${String(pages).padStart(3)} pages, recycle ${recycle === '1' ? 'on ' : 'off'}: ` +
          `p50 ${r.p50.toFixed(3)} ms  p99 ${r.p99.toFixed(3)} ms  max ${r.max.toFixed(1)} ms`,
      );
      await executor.close();
    }
  }
}

type WatToBinary = (text: string) => Uint8Array<ArrayBuffer>;

async function loadWabt(): Promise<WatToBinary> {
  const wabt = await (
    (await import('wabt')) as unknown as {
      default: () => Promise<{
        parseWat(n: string, t: string): { toBinary(o: object): { buffer: Uint8Array<ArrayBuffer> } };
      }>;
    }
  ).default();
  return (text) => new Uint8Array(wabt.parseWat('bench.wat', text).toBinary({}).buffer);
}

/** The same loop as the runner's, in this thread, counting V8's garbage collections. */
async function gcCount(): Promise<void> {
  console.log('\nInstance per call in this thread (20,000 calls), with and without recycled memories:');
  const toBinary = await loadWabt();
  for (const pages of [1, 17, 256]) {
    const module = new WebAssembly.Module(
      toBinary(`(module (import "p" "m" (memory ${pages})) (func (export "t") (result i32)
        (i32.store (i32.const 64) (i32.add (i32.load (i32.const 64)) (i32.const 1))) (i32.load (i32.const 64))))`),
    );
    for (const recycle of [true, false]) {
      let major = 0;
      let minor = 0;
      let gcMs = 0;
      const observer = new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) {
          const kind = (entry as unknown as { detail?: { kind?: number } }).detail?.kind;
          if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) major++;
          else minor++;
          gcMs += entry.duration;
        }
      });
      observer.observe({ entryTypes: ['gc'] });
      const pool: WebAssembly.Memory[] = [];
      const times: number[] = [];
      for (let i = 0; i < 20_000; i++) {
        const t = performance.now();
        const memory =
          (recycle ? pool.pop() : undefined) ?? new WebAssembly.Memory({ initial: pages, maximum: 2048 });
        (new WebAssembly.Instance(module, { p: { m: memory } }).exports.t as () => number)();
        if (recycle) {
          new Uint8Array(memory.buffer).fill(0);
          pool.push(memory);
        }
        times.push(performance.now() - t);
      }
      await new Promise((r) => setTimeout(r, 100));
      observer.disconnect();
      times.sort((a, b) => a - b);
      console.log(
        `  ${String(pages).padStart(3)} pages, recycle ${recycle ? 'on ' : 'off'}: p50 ${(percentile(times, 50) * 1000).toFixed(1)} µs` +
          `  p99 ${(percentile(times, 99) * 1000).toFixed(1)} µs  GCs: ${major} major, ${minor} minor, ${gcMs.toFixed(0)} ms`,
      );
    }
  }
}

async function fuelCost(): Promise<void> {
  console.log('\nFuel counter cost (uninstrumented direct instance vs instrumented, in this thread):');
  const { inspectModule, instrumentModule, INTERNAL } = await import('../interpreters/wasm/instrument.js');
  const toBinary = await loadWabt();
  const kernels: [string, string, number][] = [
    [
      'tight loop (1e8 iterations)',
      `(func (export "k") (param $n i32) (result i32) (local $i i32)
        (loop $l (local.set $i (i32.add (local.get $i) (i32.const 1))) (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
        (local.get $i))`,
      100_000_000,
    ],
    [
      'recursive fib(30)',
      `(func $fib (export "k") (param $n i32) (result i32)
        (if (result i32) (i32.lt_u (local.get $n) (i32.const 2)) (then (local.get $n))
          (else (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1))) (call $fib (i32.sub (local.get $n) (i32.const 2)))))))`,
      30,
    ],
    [
      'memory sum (1 MiB x 100)',
      `(func (export "k") (param $reps i32) (result i32) (local $i i32) (local $s i32)
        (loop $r (local.set $i (i32.const 0))
          (loop $l (local.set $s (i32.add (local.get $s) (i32.load (local.get $i))))
            (i32.store (local.get $i) (local.get $s))
            (local.set $i (i32.add (local.get $i) (i32.const 4)))
            (br_if $l (i32.lt_u (local.get $i) (i32.const 1048576))))
          (local.set $reps (i32.sub (local.get $reps) (i32.const 1))) (br_if $r (local.get $reps)))
        (local.get $s))`,
      100,
    ],
  ];
  for (const [name, body, arg] of kernels) {
    const bytes = toBinary(`(module (memory 17) ${body})`);
    const plain = new WebAssembly.Instance(new WebAssembly.Module(bytes), {}).exports.k as (
      n: number,
    ) => number;
    const out = instrumentModule(bytes, inspectModule(bytes), { tableElements: 1000, maxInitialPages: 100 });
    const exports = new WebAssembly.Instance(new WebAssembly.Module(out.bytes), {
      polyeval: { memory: new WebAssembly.Memory({ initial: 17 }) },
    }).exports;
    const fuel = exports[INTERNAL.fuel] as WebAssembly.Global;
    const instrumented = exports.k as (n: number) => number;
    const best = (fn: () => void): number => {
      let min = Number.POSITIVE_INFINITY;
      for (let i = 0; i < 7; i++) {
        const t = performance.now();
        fn();
        min = Math.min(min, performance.now() - t);
      }
      return min;
    };
    const tp = best(() => plain(arg));
    let used = 0n;
    const ti = best(() => {
      fuel.value = 10n ** 15n;
      instrumented(arg);
      used = 10n ** 15n - (fuel.value as bigint);
    });
    console.log(
      `  ${name.padEnd(28)} plain ${tp.toFixed(1)} ms  instrumented ${ti.toFixed(1)} ms  ` +
        `(+${((ti / tp - 1) * 100).toFixed(0)}%)  fuel ${used}  ${((ti * 1e6) / Number(used)).toFixed(2)} ns/unit`,
    );
  }
}

async function main(): Promise<void> {
  const server = await startServer({ POLYEVAL_LANGUAGES: 'wasm' }, { logTo: 'file' });
  const bare = startBareServer('wasm');
  try {
    const floorRun = await load({ url: `${server.url}/livez`, concurrency: 1, requests: N });
    const floor: BenchRow = benchRow('floor: GET /livez, concurrency 1', floorRun, undefined);
    const rows = [floor, ...(await benchWasm(server.url, floor, async () => (await bare).url))];
    for (const r of rows) {
      const extra = Object.entries(r.extra ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(' ');
      console.log(
        `${r.name.padEnd(56)} p50 ${r.p50Ms.toFixed(3)} ms  p99 ${r.p99Ms.toFixed(3)} ms  ${r.callsPerSec.toFixed(0)}/s  ${extra}`,
      );
    }
  } finally {
    await server.close();
    (await bare).close();
  }
  await recycling();
  await gcCount();
  await fuelCost();
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}

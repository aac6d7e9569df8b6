// npm run bench: latency and throughput of the real server, each figure printed beside a baseline
// measured in the same run on the same server (the /livez round trip: HTTP with no work behind it).
// Not part of npm test: speed is measured here, never asserted in unit tests.
//
//   npm run bench [-- --quick] [-- --language <id>] [-- --json results.json]

import { writeFileSync } from 'node:fs';
import { type BareServer, startBareServer } from './lib/bare-server.js';
import { type BenchRow, benchRow, benchRows, load, valueIs } from './lib/load.js';
import { startServer } from './lib/server.js';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const jsonOut = argv.includes('--json') ? argv[argv.indexOf('--json') + 1] : undefined;
const N = quick ? 1000 : 5000;

/**
 * One language's rows. `engine()` starts (once) a bare server around the same language's executor
 * (scripts/lib/bare-server.ts): a section may measure its call there too, as the engine floor.
 */
export type Section = (url: string, floor: BenchRow, engine: () => Promise<string>) => Promise<BenchRow[]>;

const javascript: Section = async (url, floor, engine) => {
  const body = JSON.stringify({
    language: 'javascript',
    code: 'function add(a, b) { return a + b }',
    function: 'add',
    args: [2, 3],
  });
  const call = { body, requests: N, check: valueIs(5) };
  return [
    ...(await benchRows('javascript add', { url: `${url}/v1/evaluate`, ...call }, floor)),
    ...(await benchRows(
      'engine floor: bare POST + javascript executor',
      { url: `${await engine()}/v1/evaluate`, ...call },
      floor,
    )),
  ];
};

/** Sections contributed by language folders' benchmark modules, when present. */
async function optional(path: string, exportName: string): Promise<Section | undefined> {
  try {
    const mod = (await import(path)) as Record<string, Section>;
    return mod[exportName];
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') return undefined;
    throw error;
  }
}

function print(rows: readonly BenchRow[]): void {
  const lines = rows.map((r) => [
    r.name,
    r.p50Ms.toFixed(3),
    r.p99Ms.toFixed(3),
    // Slow rows (a Python interpreter per call, subprocesses) need the decimal.
    r.callsPerSec.toFixed(r.callsPerSec < 100 ? 1 : 0),
    Object.entries(r.extra ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(' '),
  ]);
  const header = ['benchmark', 'p50 ms', 'p99 ms', 'calls/s', 'notes'];
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cols: string[]) =>
    cols.map((c, i) => (i === 0 || i === 4 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(fmt(header));
  for (const l of lines) console.log(fmt(l));
}

/** Every section with the one language its server runs (undefined: the section starts its own). */
const SECTIONS: readonly (readonly [
  language: string | undefined,
  file: string | undefined,
  exportName: string,
])[] = [
  ['javascript', undefined, 'javascript'],
  ['wasm', './bench-wasm.js', 'benchWasm'],
  ['python', './bench-python.js', 'benchPython'],
  ['lua', './bench-lua.js', 'benchLua'],
  [undefined, './bench-scaleout.js', 'benchScaleout'],
  [undefined, './bench-memory.js', 'benchMemory'],
];

/**
 * The /livez round trip of a server: the floor every figure of that server is compared with. Each
 * language gets a server of its own with only that language enabled, so that one engine's
 * background work (a Python pool refilling its interpreters) does not slow another's figures.
 *
 * Beside it, the hop floor (scripts/lib/bare-server.ts): a bare node:http server handing the same
 * POST body to a worker thread that answers at once. No service of this architecture (guest code
 * never on the HTTP thread) can answer a call faster than that on the same machine. Sections add
 * the engine floor: the same bare server around the language's real executor.
 */
async function floorOf(url: string, language: string): Promise<BenchRow[]> {
  const floors: BenchRow[] = [];
  const hops: BenchRow[] = [];
  const hop = await startBareServer();
  try {
    const body = JSON.stringify({ language, code: 'function add(a, b) { return a + b }', args: [2, 3] });
    for (const concurrency of [1, 4]) {
      const floor = await load({ url: `${url}/livez`, concurrency, requests: N });
      floors.push(benchRow(`floor (${language} server): GET /livez, concurrency ${concurrency}`, floor));
      const bare = await load({ url: hop.url, body, concurrency, requests: N });
      hops.push(
        benchRow(`hop floor: bare POST + worker echo, concurrency ${concurrency}`, bare, floors.at(-1)),
      );
    }
  } finally {
    hop.close();
  }
  // The concurrency-1 /livez floor first: sections compare with it.
  return [...floors, ...hops];
}

async function main(): Promise<void> {
  const only = argv.includes('--language') ? argv[argv.indexOf('--language') + 1] : undefined;
  const rows: BenchRow[] = [];
  let lastFloor: BenchRow | undefined;
  for (const [language, file, exportName] of SECTIONS) {
    if (only !== undefined && language !== only) continue;
    const section = file === undefined ? javascript : await optional(file, exportName);
    if (section === undefined) continue;
    if (language === undefined) {
      const none = () => Promise.reject(new Error('This section has no language of its own'));
      rows.push(...(await section('', lastFloor ?? rows[0]!, none)));
      continue;
    }
    const server = await startServer({ POLYEVAL_LANGUAGES: language }, { logTo: 'file' });
    let bare: Promise<BareServer> | undefined;
    const engine = async (): Promise<string> => {
      bare ??= startBareServer(language);
      return (await bare).url;
    };
    try {
      const floors = await floorOf(server.url, language);
      rows.push(...floors, ...(await section(server.url, floors[0]!, engine)));
      lastFloor = floors[0];
    } finally {
      await server.close();
      if (bare !== undefined) (await bare).close();
    }
  }
  print(rows);
  if (jsonOut !== undefined) writeFileSync(jsonOut, JSON.stringify(rows, null, 2));
}

await main();

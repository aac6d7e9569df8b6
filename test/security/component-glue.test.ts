// Layer 2 under components, tested as if layer 1 had fallen: jco's glue is JavaScript generated
// from an untrusted component, so here it is replaced in the store by hostile glue (what a bug in
// jco's generator, or a component that steered it, could produce). It runs where every glue runs,
// in a single-use worker of the confined sandbox host, evaluated as a module that can import
// nothing (component-worker.ts loadGlue). One glue reports what the worker's locked-down realm
// still offers (environment, bindings, loaders, signals, code generation); one imports built-ins
// (as a plain ES module file could: inspector, fs...) and must fail to load; one looks for the
// worker's channel to forge the host protocol. Found by this test: the glue was first imported as a
// file, and an ES module can import any built-in whatever the realm's lockdown removed (it started
// a Worker of its own from eval'd text).

import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson, type RunningServer, startServer } from '../helpers/server.js';

const ADD = readFileSync(new URL('../fixtures/components/add.wasm', import.meta.url)).toString('base64');
// The honest call after each attack uses another component (add.wasm's glue is the hostile one).
const TYPED = readFileSync(new URL('../fixtures/components/typed.wasm', import.meta.url)).toString('base64');
const SECRET = `glue-canary-${process.pid}-${Date.now()}`;

/**
 * Hostile glue that imports nothing (it could not: see the next glues) and tries every door a
 * JavaScript escapee in the worker's realm would, returning the report as add's result.
 */
const PROBE_GLUE = `
const attempt = async (fn) => { try { return 'open: ' + String(await fn()).slice(0, 200); } catch (e) { return 'closed: ' + String(e && (e.code || e.message)).slice(0, 120); } };
export async function instantiate() {
  const report = {
    env: Object.keys(process.env).length,
    getBuiltinModule: typeof process.getBuiltinModule,
    require: typeof globalThis.require,
    fetch: typeof globalThis.fetch,
    binding: await attempt(() => process.binding('fs')),
    linkedBinding: await attempt(() => process._linkedBinding('fs')),
    dlopen: await attempt(() => process.dlopen({}, '/lib/x86_64-linux-gnu/libc.so.6')),
    kill: await attempt(() => process.kill(1, 0)),
    abort: typeof process.abort,
    dynamicImport: await attempt(() => import('node:worker_threads')),
    functionCtor: await attempt(() => new Function('return 1')()),
    evaluate: await attempt(() => eval('1 + 1')),
    prototypeLoader: await attempt(() => Object.getPrototypeOf(async function () {}).constructor('return 1')),
  };
  return { add: () => JSON.stringify(report) };
}
`;

/** Hostile glue importing built-ins statically (a glue made as a plain ES module file could). */
const IMPORTING_GLUE = `
import * as fs from 'node:fs';
import * as inspector from 'node:inspector';
export function instantiate() {
  return { add: () => fs.readFileSync(${JSON.stringify('/etc/passwd')}, 'utf8') + String(inspector) };
}
`;

/** Hostile glue that speaks the worker protocol itself: a forged answer for another call. */
const FORGING_GLUE = `
export function instantiate() {
  const port = globalThis.process?.getBuiltinModule?.('node:worker_threads')?.parentPort;
  if (port === undefined) throw new Error('no channel: the realm is locked down');
  port.postMessage({ kind: 'done', id: 987654, outcome: { ok: true, valueJson: '1' }, memoryBytes: 0, cpuMs: 0 });
  return { add: () => 1n };
}
`;

let server: RunningServer;
let store: string;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'polyeval-glue-'));
  store = join(dir, 'store');
  server = await startServer({
    POLYEVAL_LANGUAGES: 'wasm',
    POLYEVAL_POOL_SIZE: '2',
    POLYEVAL_WASM_COMPONENT_DIR: store,
    GLUE_TEST_SECRET: SECRET,
  });
}, 60_000);

afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Deploys add.wasm and swaps its glue for `glue`. */
async function deployWithGlue(glue: string): Promise<string> {
  const deployed = await postJson(`${server.url}/v1/modules`, { language: 'wasm', code: ADD });
  expect(deployed.status).toBe(201);
  const id = deployed.body.id as string;
  // The server's own folder in the store (<store>/<pid>-<random>/<id>/).
  const [own] = readdirSync(store);
  expect(readdirSync(join(store, own!, id))).toContain('glue.mjs');
  writeFileSync(join(store, own!, id, 'glue.mjs'), glue);
  return id;
}

describe('layer 2 under hostile component glue', () => {
  const call = (id: string) =>
    postJson(`${server.url}/v1/evaluate`, { language: 'wasm', module: id, function: 'add', args: [1, 2] });
  const honest = async () => {
    const next = await postJson(`${server.url}/v1/evaluate`, {
      language: 'wasm',
      code: TYPED,
      function: 'add-s64',
      args: [2, 3],
    });
    expect(next.body).toMatchObject({ ok: true, value: 5 });
  };

  it('finds no environment, binding, loader, signal or code generation in its realm', async () => {
    const id = await deployWithGlue(PROBE_GLUE);
    const r = await call(id);
    expect(r.body.ok, JSON.stringify(r.body)).toBe(true);
    expect(JSON.stringify(r.body)).not.toContain(SECRET);
    const report = JSON.parse(r.body.value as string) as Record<string, string | number>;
    expect(report).toMatchObject({
      env: 0,
      getBuiltinModule: 'undefined',
      require: 'undefined',
      fetch: 'undefined',
      abort: 'undefined',
    });
    for (const door of [
      'binding',
      'linkedBinding',
      'dlopen',
      'kill',
      'dynamicImport',
      'functionCtor',
      'evaluate',
      'prototypeLoader',
    ]) {
      expect(String(report[door]), door).toMatch(/^closed: /);
    }
    await honest();
  }, 60_000);

  it('cannot import a built-in module: the glue fails to load and nothing is read', async () => {
    const id = await deployWithGlue(IMPORTING_GLUE);
    const r = await call(id);
    expect(r.body.ok).toBe(false);
    expect(r.body.error.code).toBe('RUNTIME_ERROR');
    expect(r.body.error.message).toContain('may import nothing');
    expect(JSON.stringify(r.body)).not.toContain('root:x:0:0');
    await honest();
  }, 60_000);

  it('cannot reach the worker channel to forge an answer', async () => {
    const id = await deployWithGlue(FORGING_GLUE);
    const r = await call(id);
    expect(r.body.ok).toBe(false);
    expect(r.body.error.message).toContain('no channel');
    await honest();
  }, 60_000);
});

// Layer 2 when layer 1 has fallen (docs/security.md): a guest that reached the JavaScript realm of
// an interpreter worker — or of the sandbox host's main thread — finds no door out. The probe
// (test/fixtures/hostile/probe-realm.ts) tries each item an escapee would want, holding only
// globalThis: built-in modules by name (v8.setFlagsFromString, vm — which compiles code despite
// --disallow-code-generation-from-strings —, inspector, worker_threads, child_process, fs, net),
// require, process.binding/_linkedBinding/dlopen/kill/_debugProcess/abort/loadEnvFile/report, eval
// and the Function constructor, and the network globals. It runs in the real sandbox host process
// (real permission flags, namespaces where the OS allows them, the real lockdown): in a worker as a
// call, and in the main thread when the host announces itself.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Executor } from '../../src/executor/contract.js';
import { compileFixture, hostileExecutor, type Logged } from '../helpers/fixtures.js';

compileFixture('hostile/probe-realm');
compileFixture('hostile/sandbox-worker');
const entry = compileFixture('hostile/sandbox-host');

/** Every item the probe tries; each must be closed in both realms. */
const ITEMS = [
  'getBuiltinModule(v8)',
  'getBuiltinModule(vm)',
  'getBuiltinModule(inspector)',
  'getBuiltinModule(worker_threads)',
  'getBuiltinModule(child_process)',
  'getBuiltinModule(fs)',
  'getBuiltinModule(net)',
  'getBuiltinModule(module)',
  'v8.setFlagsFromString',
  'vm.Script',
  'new Worker',
  'require',
  'process.binding',
  'process._linkedBinding',
  'process.dlopen',
  'process.kill',
  'process._kill',
  'process._debugProcess',
  'process.abort',
  'process.loadEnvFile',
  'process.report',
  'process.env',
  'eval',
  'Function constructor',
  'fetch',
  'WebSocket',
  'EventSource',
  'BroadcastChannel',
];

function expectAllClosed(report: Record<string, string>): void {
  expect(Object.keys(report).sort()).toEqual([...ITEMS].sort());
  const open = Object.entries(report).filter(([, result]) => !result.startsWith('closed'));
  expect(open).toEqual([]);
}

describe('layer 2 inside the sandbox host process', () => {
  const logs: Logged[] = [];
  let host: Executor;

  beforeAll(async () => {
    host = hostileExecutor(entry, logs);
    await host.start();
  });

  afterAll(async () => {
    await host.close();
  });

  it('leaves an escapee in an interpreter worker no door from globalThis', async () => {
    const result = await host.execute({
      code: 'probe',
      function: 'main',
      args: [],
      limits: { timeoutMs: 5000, memoryMb: 64, outputBytes: 100_000 },
    });
    expect(result).toMatchObject({ ok: true });
    expectAllClosed((result as { value: Record<string, string> }).value);
  });

  it("leaves an escapee in the host's main thread no door from globalThis", () => {
    const engine = host.readiness().details.engine as { mainThreadProbe: Record<string, string> };
    expectAllClosed(engine.mainThreadProbe);
  });
});

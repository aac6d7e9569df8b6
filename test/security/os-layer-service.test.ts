// The OS layer as the running service reports it: /readyz and /v1/languages name each protection
// and what /proc shows of the real sandbox host (seccomp, no_new_privs, uid, own mount and network
// namespaces), /metrics has polyeval_isolation_protection; without bubblewrap on PATH, `auto`
// serves degraded with a start-up warning and 0 in the metric, and `required` refuses with the reason.

import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROTECTIONS } from '../../src/executor/host/process-isolation.js';
import { type RunningServer, startServer } from '../helpers/server.js';

interface Isolation {
  protections: Record<string, boolean>;
  missing: Record<string, string>;
  observed: { uid: number; seccomp: boolean; noNewPrivs: boolean; ownMountNamespace: boolean } | null;
}

async function pythonIsolation(server: RunningServer): Promise<Isolation> {
  const body = (await (await fetch(`${server.url}/v1/languages`)).json()) as {
    languages: { id: string; details: { isolation: Isolation } }[];
  };
  return body.languages.find((l) => l.id === 'python')!.details.isolation;
}

function metric(text: string, protection: string): number | undefined {
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`polyeval_isolation_protection{language="python",protection="${protection}"}`));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** A PATH with the usual tools but no bubblewrap. */
function pathWithoutBwrap(): { path: string; dispose: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'polyeval-nobwrap-'));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  for (const tool of ['prlimit', 'unshare', 'ldd', 'python3', 'sh']) {
    for (const folder of ['/usr/bin', '/bin']) {
      try {
        symlinkSync(join(folder, tool), join(bin, tool));
        break;
      } catch {
        // Not there, or already linked.
      }
    }
  }
  return { path: bin, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

describe('the service reports its OS layer', () => {
  const servers: RunningServer[] = [];
  const disposals: (() => void)[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    for (const dispose of disposals) dispose();
  });

  it('auto on this machine: every protection in force, as /proc shows the host', async () => {
    const server = await startServer({ POLYEVAL_LANGUAGES: 'python' });
    servers.push(server);
    const isolation = await pythonIsolation(server);
    expect(isolation.protections).toEqual(Object.fromEntries(PROTECTIONS.map((p) => [p, true])));
    expect(isolation.missing).toEqual({});
    expect(isolation.observed).toMatchObject({ seccomp: true, noNewPrivs: true, ownMountNamespace: true });
    expect(isolation.observed?.uid).not.toBe(0);
    const readyz = (await (await fetch(`${server.url}/readyz`)).json()) as {
      languages: { python: { details: { isolation: Isolation } } };
    };
    expect(readyz.languages.python.details.isolation.protections).toEqual(isolation.protections);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    for (const p of PROTECTIONS) expect(metric(metrics, p), p).toBe(1);
  }, 180_000);

  it('auto without bubblewrap: serves, warns at start, reports and counts what is missing', async () => {
    const { path, dispose } = pathWithoutBwrap();
    disposals.push(dispose);
    const server = await startServer({ POLYEVAL_LANGUAGES: 'python', PATH: path });
    servers.push(server);
    const isolation = await pythonIsolation(server);
    expect(isolation.protections).toMatchObject({ mountNamespace: false, seccomp: false, uid: false });
    expect(isolation.missing.mountNamespace).toMatch(/bubblewrap \(bwrap\) is not installed/);
    expect(server.logs()).toMatch(/"level":"warn".*The sandbox host runs without mountNamespace/);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metric(metrics, 'mountNamespace')).toBe(0);
    expect(metric(metrics, 'seccomp')).toBe(0);
    const answer = await fetch(`${server.url}/v1/evaluate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        language: 'python',
        code: 'def f(a):\n    return a * 2',
        function: 'f',
        args: [21],
      }),
    });
    expect(await answer.json()).toMatchObject({ ok: true, value: 42 });
  }, 180_000);

  it('required without bubblewrap: Python does not start, and says why', async () => {
    const { path, dispose } = pathWithoutBwrap();
    disposals.push(dispose);
    let logs = '';
    try {
      const server = await startServer(
        { POLYEVAL_LANGUAGES: 'python', POLYEVAL_PYTHON_ISOLATION: 'required', PATH: path },
        { waitReady: false },
      );
      servers.push(server);
      const deadline = Date.now() + 60_000;
      while (!/isolation=required but/i.test(server.logs()) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      logs = server.logs();
      expect((await fetch(`${server.url}/readyz`)).status).toBe(503);
    } catch (error) {
      // A service that stops on a language that cannot start is fine too.
      logs = String(error);
    }
    expect(logs).toMatch(
      /POLYEVAL_PYTHON_ISOLATION=required but mountNamespace is missing \(bubblewrap \(bwrap\) is not installed\)/,
    );
  }, 180_000);
});

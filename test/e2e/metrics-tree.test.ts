// /metrics of a real server running Python, whose sandboxes live in separate host processes: the
// memory of those processes and Python's pool and sandbox series are visible, as for every language.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson, type RunningServer, startServer } from '../helpers/server.js';

let server: RunningServer;
beforeAll(async () => {
  server = await startServer({ POLYEVAL_LANGUAGES: 'python,lua', POLYEVAL_POOL_SIZE: '1' });
}, 180_000);
afterAll(() => server?.close());

function value(body: string, series: string): number | undefined {
  const line = body.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('/metrics', () => {
  it("sees the Python sandbox host processes' memory and every language's pool series", async () => {
    const call = await postJson(`${server.url}/v1/evaluate`, {
      language: 'python',
      code: 'def main():\n  return 1',
    });
    expect(call.status).toBe(200);
    const body = await (await fetch(`${server.url}/metrics`)).text();
    const hostRss = value(
      body,
      'polyeval_process_tree_resident_memory_bytes{role="sandbox-host",language="python"}',
    );
    // A Pyodide host holds a whole CPython in WASM: well over 50 MiB.
    expect(hostRss).toBeGreaterThan(50 * 2 ** 20);
    expect(
      value(body, 'polyeval_process_tree_processes{role="sandbox-host",language="python"}'),
    ).toBeGreaterThanOrEqual(1);
    expect(
      value(body, 'polyeval_process_tree_resident_memory_bytes{role="service",language=""}'),
    ).toBeGreaterThan(0);
    for (const language of ['python', 'lua']) {
      for (const name of [
        'polyeval_pool_slots',
        'polyeval_pool_workers',
        'polyeval_pool_workers_busy',
        'polyeval_sandboxes_spawned_total',
        'polyeval_sandbox_kills_total',
        'polyeval_sandbox_crashes_total',
      ]) {
        expect(
          value(body, `${name}{language="${language}"}`),
          `${name} for ${language}`,
        ).toBeGreaterThanOrEqual(0);
      }
    }
    expect(value(body, 'polyeval_sandboxes_spawned_total{language="python"}')).toBeGreaterThanOrEqual(1);
  });
});

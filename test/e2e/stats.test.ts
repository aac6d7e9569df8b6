// The figures an answer gives are true: `limits` are what the call ran with (a memory limit below
// what the engine itself takes is refused, naming the floor), a fast call's CPU time is not 0,
// times are rounded to the microsecond, and a call stopped at its output limit keeps real stats.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson, type RunningServer, startServer } from '../helpers/server.js';

let server: RunningServer;
beforeAll(async () => {
  server = await startServer({ POLYEVAL_LANGUAGES: 'javascript,lua,python', POLYEVAL_POOL_SIZE: '1' });
}, 180_000);
afterAll(() => server?.close());

const evaluate = (body: object) => postJson(`${server.url}/v1/evaluate`, body);

const RETURN_ONE: Record<string, string> = {
  javascript: 'function main() { return 1 }',
  lua: 'function main() return 1 end',
  python: 'def main():\n  return 1',
};
const FLOOD: Record<string, string> = {
  javascript: 'function main() { for (;;) console.log("0123456789abcdef") }',
  lua: 'function main() while true do print("0123456789abcdef") end end',
  python: 'def main():\n  while True: print("0123456789abcdef")',
};

describe.each(Object.keys(RETURN_ONE))('%s', (language) => {
  it('refuses a memory limit below what the engine takes, naming the floor', async () => {
    const languages = (await (await fetch(`${server.url}/v1/languages`)).json()) as {
      languages: { id: string; limits: { floors: { memoryMb: number } } }[];
    };
    const floor = languages.languages.find((l) => l.id === language)!.limits.floors.memoryMb;
    expect(floor).toBeGreaterThan(1);
    const below = await evaluate({ language, code: RETURN_ONE[language], limits: { memoryMb: 1 } });
    expect(below.status).toBe(400);
    expect(below.body.detail).toContain(`${floor} MiB`);
    expect(below.body.errors[0].pointer).toBe('/limits/memoryMb');
    // At the floor the call runs, and its engine's memory is within the limit it reports.
    const at = await evaluate({ language, code: RETURN_ONE[language], limits: { memoryMb: floor } });
    expect(at.status).toBe(200);
    expect(at.body.ok).toBe(true);
    expect(at.body.limits.memoryMb).toBe(floor);
    expect(at.body.stats.memoryBytes).toBeLessThanOrEqual(floor * 2 ** 20);
  });

  it('reports the CPU time of a fast call, rounded to the microsecond', async () => {
    for (let i = 0; i < 5; i++) {
      const { body } = await evaluate({ language, code: RETURN_ONE[language] });
      expect(body.ok).toBe(true);
      expect(body.stats.cpuMs).toBeGreaterThan(0);
      for (const key of ['durationMs', 'cpuMs'] as const) {
        expect(String(body.stats[key]).split('.')[1]?.length ?? 0).toBeLessThanOrEqual(3);
      }
    }
  });

  it('keeps real stats on a call stopped at its output limit', async () => {
    const { body } = await evaluate({ language, code: FLOOD[language], limits: { outputBytes: 4096 } });
    expect(body.error.code).toBe('OUTPUT_LIMIT');
    expect(body.stats.cpuMs).toBeGreaterThan(0);
    expect(body.stats.memoryBytes).toBeGreaterThan(0);
  });
});

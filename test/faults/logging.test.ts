// Faults of the log reader: stdout (and stderr) a pipe nobody reads, or a pipe whose reader closed
// it (EPIPE). Promise checked: every accepted call gets its answer and the service keeps serving
// at full speed; the log lines that could not be written are dropped, counted in
// polyeval_log_lines_dropped_total, and one warning says how many once the reader is back.
// Before the non-blocking sink (src/logger.ts) the service froze after ~250 calls with a stalled
// reader: every later call timed out, /livez too.
//
// Both kinds of pipe are used: a socket pair (what Node's spawn gives for 'pipe', and systemd for
// the journal) and a real pipe, a FIFO (what `node dist/src/main.js | collector` gives).

import { closeSync, constants, mkdtempSync, openSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { flood, metric, metricsText, mkfifo, type Service, startService, tally } from './helpers.js';

const ENV = { POLYEVAL_LANGUAGES: 'javascript', POLYEVAL_POOL_SIZE: '4' };
const CALL = { language: 'javascript', code: 'function main(a) { return a * 2 }', args: [21] };
// Enough calls for their log lines (~230 bytes each) to overflow the pipe (64 KiB to a few hundred
// KiB) and the sink's 256 KiB buffer several times over.
const CALLS = 2000;
const CONCURRENCY = 8;

const dirs: string[] = [];
let service: Service | undefined;
afterEach(async () => {
  await service?.kill();
  service = undefined;
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A FIFO with a reader end held by this process (not reading until resumed). */
function fifo(): { path: string; reader: Socket } {
  const dir = mkdtempSync(join(tmpdir(), 'polyeval-faults-'));
  dirs.push(dir);
  const path = join(dir, 'out');
  mkfifo(path);
  // O_NONBLOCK: opening the read end must not wait for a writer; libuv reads it as a pipe.
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const reader = new Socket({ fd, readable: true, writable: false });
  reader.pause();
  return { path, reader };
}

function expectAllValues(answers: Awaited<ReturnType<typeof flood>>['answers']): void {
  const t = tally(answers);
  expect(t).toEqual({ value: answers.length, typedError: 0, none: 0 });
  for (const a of answers) expect(a.body.value).toBe(42);
}

async function livez(url: string): Promise<number> {
  return fetch(`${url}/livez`, { signal: AbortSignal.timeout(5_000) }).then((r) => r.status);
}

describe('stdout not read', () => {
  it('a socket nobody reads: every call answered, lines dropped and counted, one warning when the reader is back', async () => {
    service = await startService(ENV, ['ignore', 'pipe', 'ignore']);
    const out = service.process.stdout!;
    let text = '';
    out.setEncoding('utf8');
    out.on('data', (chunk: string) => {
      text += chunk;
    });
    const baseline = await flood(service.url, CALL, 500, CONCURRENCY);
    expectAllValues(baseline.answers);
    // The reader stops reading: nothing consumes the socket until it resumes below.
    out.pause();
    text = '';
    const stalled = await flood(service.url, CALL, CALLS, CONCURRENCY, 10_000);
    expectAllValues(stalled.answers);
    expect(await livez(service.url)).toBe(200);
    const dropped = metric(await metricsText(service.url), 'polyeval_log_lines_dropped_total', {
      stream: 'stdout',
    });
    expect(dropped).toBeGreaterThan(0);

    out.resume();
    await expect.poll(() => text, { timeout: 5_000 }).toContain('Log lines were dropped');
    const warnings = text.split('\n').filter((l) => l.includes('Log lines were dropped'));
    expect(warnings).toHaveLength(1);
    expect(JSON.parse(warnings[0]!)).toMatchObject({ level: 'warn', stream: 'stdout' });
    expect(JSON.parse(warnings[0]!).dropped).toBeGreaterThanOrEqual(dropped);
    // Lines written after the warning arrive whole again.
    expectAllValues((await flood(service.url, CALL, 20, 2)).answers);
    await expect
      .poll(() => text.split('\n').filter((l) => l.includes('"route":"/v1/evaluate"')).length)
      .toBeGreaterThan(0);
    console.log(
      `[faults] stdout socket unread: ${CALLS}/${CALLS} answered, ${dropped} lines dropped; ` +
        `${Math.round((CALLS / stalled.ms) * 1000)} calls/s stalled vs ${Math.round((500 / baseline.ms) * 1000)} calls/s while read`,
    );
  });

  it('a real pipe (FIFO) nobody reads: every call answered, lines dropped and counted, one warning when the reader is back', async () => {
    const { path, reader } = fifo();
    const fd = openSync(path, 'w');
    service = await startService(ENV, ['ignore', fd, 'ignore']);
    closeSync(fd);
    const stalled = await flood(service.url, CALL, CALLS, CONCURRENCY, 10_000);
    expectAllValues(stalled.answers);
    expect(await livez(service.url)).toBe(200);
    const dropped = metric(await metricsText(service.url), 'polyeval_log_lines_dropped_total', {
      stream: 'stdout',
    });
    expect(dropped).toBeGreaterThan(0);
    let text = '';
    reader.setEncoding('utf8');
    reader.on('data', (chunk: string) => {
      text += chunk;
    });
    reader.resume();
    await expect.poll(() => text, { timeout: 5_000 }).toContain('Log lines were dropped');
    expect(text.split('\n').filter((l) => l.includes('Log lines were dropped'))).toHaveLength(1);
    reader.destroy();
    console.log(
      `[faults] stdout FIFO unread: ${CALLS}/${CALLS} answered, ${dropped} lines dropped, ${Math.round((CALLS / stalled.ms) * 1000)} calls/s`,
    );
  });

  it('stdout and stderr on one pipe nobody reads (2>&1 | collector): the service keeps serving', async () => {
    const { path, reader } = fifo();
    const fd = openSync(path, 'w');
    service = await startService(ENV, ['ignore', fd, fd]);
    closeSync(fd);
    const stalled = await flood(service.url, CALL, CALLS, CONCURRENCY, 10_000);
    expectAllValues(stalled.answers);
    expect(await livez(service.url)).toBe(200);
    expect(
      metric(await metricsText(service.url), 'polyeval_log_lines_dropped_total', { stream: 'stdout' }),
    ).toBeGreaterThan(0);
    reader.destroy();
  });
});

describe('stdout closed (EPIPE)', () => {
  it('a socket whose reader closed it: every call answered, every line counted as dropped', async () => {
    service = await startService(ENV, ['ignore', 'pipe', 'pipe']);
    service.process.stdout!.destroy();
    service.process.stderr!.destroy();
    const run = await flood(service.url, CALL, 500, CONCURRENCY, 10_000);
    expectAllValues(run.answers);
    expect(await livez(service.url)).toBe(200);
    // One line per call at least; the scrape's own line may or may not be counted yet.
    expect(
      metric(await metricsText(service.url), 'polyeval_log_lines_dropped_total', { stream: 'stdout' }),
    ).toBeGreaterThanOrEqual(500);
    expect(service.process.exitCode).toBeNull();
  });

  it('a FIFO whose reader closed it (stdout and stderr): every call answered, lines counted as dropped', async () => {
    const { path, reader } = fifo();
    const fd = openSync(path, 'w');
    service = await startService(ENV, ['ignore', fd, fd]);
    closeSync(fd);
    reader.destroy();
    const run = await flood(service.url, CALL, 500, CONCURRENCY, 10_000);
    expectAllValues(run.answers);
    expect(await livez(service.url)).toBe(200);
    expect(
      metric(await metricsText(service.url), 'polyeval_log_lines_dropped_total', { stream: 'stdout' }),
    ).toBeGreaterThanOrEqual(500);
  });
});

// The non-blocking log sink (src/logger.ts) on a real pipe (a FIFO, both ends in this process):
// writes never wait; lines the pipe cannot take are kept up to the buffer, then dropped and
// counted; one recovery report once the reader drained the pipe; a closed pipe (EPIPE) drops and
// counts every later line. (test/faults/logging.test.ts drives the same through the real server.)

import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LogSink } from '../../src/logger.js';

const dir = mkdtempSync(join(tmpdir(), 'polyeval-log-sink-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
/** A FIFO: the read end (non-blocking, read by hand) and the write end given to the sink. */
function pipe(): { read: number; write: number } {
  const path = join(dir, `fifo-${n++}`);
  execFileSync('mkfifo', [path]);
  const read = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const write = openSync(path, constants.O_WRONLY);
  return { read, write };
}

/** Everything the pipe holds now. */
function drain(fd: number): string {
  const chunks: Buffer[] = [];
  const buffer = Buffer.alloc(65_536);
  for (;;) {
    let got = 0;
    try {
      got = readSync(fd, buffer);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EAGAIN') break;
      throw error;
    }
    if (got === 0) break;
    chunks.push(Buffer.from(buffer.subarray(0, got)));
  }
  return Buffer.concat(chunks).toString();
}

const line = (i: number): string => `{"n":${i},"pad":"${'x'.repeat(200)}"}\n`;

describe('LogSink on a pipe nobody reads', () => {
  it('never waits: keeps what fits, drops and counts the rest, reports once when the reader is back', () => {
    const { read, write } = pipe();
    const reports: number[] = [];
    const sink = new LogSink('test', write, 16 * 1024);
    sink.onRecovered = (dropped) => {
      reports.push(dropped);
      sink.write('{"recovered":true}\n');
    };
    // A 64 KiB pipe plus a 16 KiB buffer take ~390 of these 211-byte lines; 2000 are written.
    for (let i = 0; i < 2000; i++) sink.write(line(i));
    expect(sink.dropped).toBeGreaterThan(1000);
    expect(sink.dropped).toBeLessThan(2000);
    expect(reports).toEqual([]);

    // The reader comes back: it drains the pipe, the next write flushes what was kept.
    let text = drain(read);
    sink.flush();
    text += drain(read);
    expect(reports).toEqual([sink.dropped]);
    const lines = text.split('\n').filter((l) => l !== '');
    // Whole lines only, in order, the ones kept, then the report.
    const numbers = lines.slice(0, -1).map((l) => (JSON.parse(l) as { n: number }).n);
    expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
    expect(numbers.length + sink.dropped).toBe(2000);
    expect(lines.at(-1)).toBe('{"recovered":true}');

    // Back to normal: a line goes straight through, nothing more dropped or reported.
    const before = sink.dropped;
    sink.write(line(9999));
    expect(drain(read)).toBe(line(9999));
    expect(sink.dropped).toBe(before);
    expect(reports).toHaveLength(1);
    closeSync(read);
    closeSync(write);
  });

  it('a pipe whose reader closed (EPIPE): every line dropped and counted, nothing thrown', () => {
    const { read, write } = pipe();
    const sink = new LogSink('test', write);
    sink.write(line(0));
    closeSync(read);
    for (let i = 1; i <= 100; i++) sink.write(line(i));
    expect(sink.dropped).toBe(100);
    closeSync(write);
  });
});

// The output meter both sandbox hosts use: pieces pass until the limit, the crossing piece is cut
// at the limit on a character boundary, nothing passes afterwards, and the host hears once.

import { describe, expect, it } from 'vitest';
import { OutputMeter, type OutputStream } from '../../src/executor/host/output-meter.js';

function meter(limit: number) {
  const emitted: [OutputStream, string][] = [];
  let exceeded = 0;
  const m = new OutputMeter(
    limit,
    (stream, text) => emitted.push([stream, text]),
    () => exceeded++,
  );
  return { m, emitted, exceededCount: () => exceeded };
}

const bytes = (pieces: [OutputStream, string][]) =>
  pieces.reduce((n, [, text]) => n + Buffer.byteLength(text), 0);

describe('OutputMeter', () => {
  it('passes output under the limit, stdout and stderr counted together', () => {
    const { m, emitted, exceededCount } = meter(10);
    expect(m.write('stdout', 'abcd')).toBe(true);
    expect(m.write('stderr', 'efghij')).toBe(true);
    expect(emitted).toEqual([
      ['stdout', 'abcd'],
      ['stderr', 'efghij'],
    ]);
    expect(m.exceeded).toBe(false);
    expect(exceededCount()).toBe(0);
  });

  it('cuts the crossing write exactly at the limit and refuses everything after', () => {
    const { m, emitted, exceededCount } = meter(10);
    m.write('stdout', 'abcdef');
    expect(m.write('stdout', 'ghijklmnop')).toBe(false);
    expect(m.write('stderr', 'more')).toBe(false);
    expect(emitted).toEqual([
      ['stdout', 'abcdef'],
      ['stdout', 'ghij'],
    ]);
    expect(m.exceeded).toBe(true);
    expect(exceededCount()).toBe(1);
  });

  it('never splits a multi-byte character, so the bytes passed stay within the limit', () => {
    for (let limit = 1; limit <= 12; limit++) {
      const { m, emitted } = meter(limit);
      m.write('stdout', 'é€😀é€😀'); // 2 + 3 + 4 bytes, twice
      expect(bytes(emitted)).toBeLessThanOrEqual(limit);
      expect(emitted.map(([, t]) => t).join('')).not.toContain('\uFFFD');
      expect('é€😀é€😀'.startsWith(emitted.map(([, t]) => t).join(''))).toBe(true);
    }
  });
});

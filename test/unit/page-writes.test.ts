// writeDifferingPages (src/executor/host/page-writes.ts): the memory put back equals the image,
// and only the pages that differed were written (a page never written stays unresident).

import { describe, expect, it } from 'vitest';
import { writeDifferingPages } from '../../src/executor/host/page-writes.js';

const PAGE = 4096;

describe('writeDifferingPages', () => {
  it('makes the target equal the source, writing only the pages that differ (a short last page too)', () => {
    const source = new Uint8Array(3 * PAGE + 10).map((_, i) => i % 251);
    const target = source.slice();
    target[PAGE + 7] = 0xff; // page 1
    target[3 * PAGE + 9] = 0xee; // the short last page
    expect(writeDifferingPages(target, source)).toBe(2);
    expect(Buffer.compare(target, source)).toBe(0);
    expect(writeDifferingPages(target, source)).toBe(0);
  });

  it('zeroes without a source, leaving pages that are zero already alone', () => {
    const target = new Uint8Array(4 * PAGE);
    target[2 * PAGE] = 1;
    expect(writeDifferingPages(target)).toBe(1);
    expect(target.every((b) => b === 0)).toBe(true);
  });

  it('refuses a source of another length', () => {
    expect(() => writeDifferingPages(new Uint8Array(PAGE), new Uint8Array(PAGE + 1))).toThrow(RangeError);
  });
});

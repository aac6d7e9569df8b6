// Keeps docs/errors.md and the error catalogues in src/errors.ts in sync, both ways.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GUEST_ERRORS, PROBLEMS } from '../../src/errors.js';

const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');

function tableRows(section: string): string[][] {
  const start = doc.indexOf(section);
  expect(start, `section "${section}" in docs/errors.md`).toBeGreaterThanOrEqual(0);
  const next = doc.indexOf('\n## ', start + 1);
  return doc
    .slice(start, next < 0 ? undefined : next)
    .split('\n')
    .filter((line) => /^\| `/.test(line))
    .map((line) =>
      line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );
}

describe('docs/errors.md', () => {
  it('lists exactly the guest error codes, with their descriptions', () => {
    const rows = tableRows('## Guest failures');
    expect(rows.map((r) => r[0]!.replace(/`/g, ''))).toEqual(Object.keys(GUEST_ERRORS));
    for (const row of rows) {
      const code = row[0]!.replace(/`/g, '') as keyof typeof GUEST_ERRORS;
      expect(row[1]).toBe(GUEST_ERRORS[code]);
    }
  });

  it('lists exactly the problem types, with their statuses', () => {
    const rows = tableRows('## Request failures');
    expect(rows.map((r) => r[0]!.replace(/`/g, ''))).toEqual(Object.keys(PROBLEMS));
    for (const row of rows) {
      const type = row[0]!.replace(/`/g, '') as keyof typeof PROBLEMS;
      expect(Number(row[1])).toBe(PROBLEMS[type].status);
    }
  });
});

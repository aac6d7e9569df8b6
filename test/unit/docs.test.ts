// Keeps docs/errors.md and the error catalogues in src/errors.ts in sync, both ways; and the
// project's documents true to the tree: every relative link resolves, design notes cited where they are.

import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
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

describe('the project documents', () => {
  const root = new URL('../../', import.meta.url);
  const docs = [
    'README.md',
    ...readdirSync(new URL('docs/', root)).map((n) => `docs/${n}`),
    ...readdirSync(new URL('interpreters/', root)).map((id) => `interpreters/${id}/README.md`),
  ].filter((p) => p.endsWith('.md') && existsSync(new URL(p, root)));

  it('link only to files that exist', () => {
    const broken: string[] = [];
    for (const path of docs) {
      const text = readFileSync(new URL(path, root), 'utf8');
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^(https?:|mailto:|#)/.test(target!)) continue;
        const file = target!.split('#')[0]!;
        if (!existsSync(new URL(file, new URL(path, root)))) broken.push(`${path} → ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('cite the design notes where they are, by sections that exist', () => {
    const design = readFileSync(new URL('docs/design.md', root), 'utf8');
    const sections = new Set([...design.matchAll(/^## (\d+)\./gm)].map((m) => m[1]));
    const files = execFileSync('git', ['ls-files', 'src', 'interpreters', 'scripts', 'docs', 'README.md'], {
      cwd: fileURLToPath(root),
      encoding: 'utf8',
    })
      .split('\n')
      .filter((f) => /\.(ts|md)$/.test(f));
    const problems: string[] = [];
    for (const file of files) {
      const text = readFileSync(new URL(file, root), 'utf8');
      // The notes once lived outside the project as DESIGN.md: a citation of that file cannot resolve.
      if (/\bDESIGN\.md\b/.test(text)) problems.push(`${file} cites DESIGN.md`);
      for (const [, refs] of text.matchAll(/design\.md\)?((?:,? (?:and )?§\d+)+)/g)) {
        for (const [, n] of refs!.matchAll(/§(\d+)/g))
          if (!sections.has(n)) problems.push(`${file} cites §${n}`);
      }
    }
    expect(problems).toEqual([]);
  });
});

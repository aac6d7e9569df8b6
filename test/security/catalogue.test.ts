// Keeps the catalogue in docs/security.md in sync with the attacks the security tests run, and
// checks the catalogue's own rules: unique ids, at least 60 attacks, every family of the issue.

import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BEGIN, CATALOGUE, END, renderCatalogue } from './catalogue.js';

const DOC = new URL('../../docs/security.md', import.meta.url);

describe('the attack catalogue', () => {
  it('has at least 60 attacks with unique ids, prefixed by family', () => {
    const all = CATALOGUE.flatMap((f) => f.attacks.map((a) => ({ family: f.family, id: a.id })));
    expect(all.length).toBeGreaterThanOrEqual(60);
    expect(new Set(all.map((a) => a.id)).size).toBe(all.length);
    const prefix = {
      javascript: 'js-',
      python: 'py-',
      wasm: 'wasm-',
      lua: 'lua-',
      http: 'http-',
      wikifunctions: 'wf-',
    };
    for (const a of all) expect(a.id.startsWith(prefix[a.family]), a.id).toBe(true);
    for (const f of CATALOGUE) expect(f.attacks.length, f.family).toBeGreaterThanOrEqual(8);
  });

  it('is what docs/security.md shows (UPDATE_SECURITY_CATALOGUE=1 rewrites it)', () => {
    const doc = readFileSync(DOC, 'utf8');
    const start = doc.indexOf(BEGIN);
    const end = doc.indexOf(END);
    expect(start, 'the catalogue markers in docs/security.md').toBeGreaterThanOrEqual(0);
    expect(end).toBeGreaterThan(start);
    const rendered = renderCatalogue();
    if (process.env.UPDATE_SECURITY_CATALOGUE === '1') {
      writeFileSync(DOC, doc.slice(0, start) + rendered + doc.slice(end + END.length));
      return;
    }
    expect(doc.slice(start, end + END.length)).toBe(rendered);
  });
});

// docs/configuration.md is generated from the configuration schema (scripts/docs-config.ts): this
// keeps the committed file and the schema in sync, and checks that every variable the code reads
// is in the schema.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderConfigurationDoc } from '../../scripts/lib/config-docs.js';
import { CONFIG_VARIABLES, LANGUAGE_VARIABLES } from '../../src/config.js';

const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');

describe('docs/configuration.md', () => {
  it('is what the generator writes from the schema (run "npm run docs:config" after changing src/config.ts)', () => {
    expect(doc).toBe(renderConfigurationDoc());
  });

  it('lists every global and per-language variable with its default', () => {
    for (const [name, spec] of Object.entries(CONFIG_VARIABLES)) {
      const row = doc.split('\n').find((line) => line.startsWith(`| \`${name}\` |`));
      expect(row, name).toBeDefined();
      const shown = 'docDefault' in spec ? spec.docDefault : String(spec.default || '(empty)');
      expect(row).toContain(`| ${shown} |`);
    }
    for (const suffix of Object.keys(LANGUAGE_VARIABLES)) expect(doc).toContain(`POLYEVAL_<ID>_${suffix}`);
    expect(doc).toContain('POLYEVAL_REMOTE_<ID>');
  });

  it('names every POLYEVAL_* variable that src/ reads by name', async () => {
    const { readdirSync, statSync } = await import('node:fs');
    const { join } = await import('node:path');
    const root = new URL('../../src/', import.meta.url).pathname;
    const walk = (dir: string): string[] =>
      readdirSync(dir).flatMap((n) =>
        statSync(join(dir, n)).isDirectory() ? walk(join(dir, n)) : [join(dir, n)],
      );
    const named = new Set<string>();
    for (const file of walk(root).filter((f) => f.endsWith('.ts'))) {
      for (const m of readFileSync(file, 'utf8').matchAll(/\bPOLYEVAL_[A-Z0-9_]+\b/g)) named.add(m[0]);
    }
    const missing = [...named].filter(
      (name) =>
        !doc.includes(`\`${name}\``) &&
        // prefixes and per-language patterns written with <ID> in the doc
        !name.endsWith('_') &&
        !Object.keys(LANGUAGE_VARIABLES).some((s) => name === `POLYEVAL_${s}`),
    );
    expect(missing).toEqual([]);
  });
});

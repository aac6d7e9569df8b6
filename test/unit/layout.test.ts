// Architecture rules that keep languages pluggable: every language folder has a valid manifest
// whose id is its folder name, and no code in src/ names a language.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { discoverLanguages } from '../../src/executor/registry.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

describe('language folders', () => {
  const languages = discoverLanguages();

  it('are discovered with valid manifests whose id equals the folder name', () => {
    expect(languages.length).toBeGreaterThan(0);
    for (const { manifest, sourceDir } of languages) {
      expect(fileURLToPath(sourceDir)).toMatch(new RegExp(`/interpreters/${manifest.id}/$`));
    }
  });

  it('each have a README with the fixed sections', () => {
    for (const { sourceDir } of languages) {
      const readme = readFileSync(fileURLToPath(new URL('README.md', sourceDir)), 'utf8');
      for (const section of [
        /^## Overview/m,
        /^## Key files/m,
        /^## Limits/m,
        /^## Known gaps/m,
        /^## Testing/m,
      ]) {
        expect(readme, fileURLToPath(sourceDir)).toMatch(section);
      }
    }
  });

  // Words that name a system tool in these files, not a language: the OS layer runs the system's
  // python3 with Debian's python3-seccomp binding (libseccomp) to compile its seccomp filter.
  const TOOL_NAMES: Readonly<Record<string, readonly string[]>> = {
    'src/executor/host/process-isolation.ts': ['python', 'python3'],
  };

  it('are never named by any file in src/', () => {
    const names = languages.flatMap(({ manifest }) => [
      manifest.id,
      ...manifest.aliases,
      manifest.engine.name,
      ...(manifest.engine.package === undefined ? [] : [manifest.engine.package]),
    ]);
    const offenders: string[] = [];
    for (const file of files(join(root, 'src'))) {
      // Code only: comments may cite engines as examples, and the WebAssembly JS API is a platform
      // API every sandbox uses, not a language.
      const text = readFileSync(file, 'utf8')
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/(^|[^:'"`])\/\/.*$/gm, '$1')
        .replace(/\bWebAssembly\./g, '')
        .toLowerCase();
      for (const name of names) {
        // Whole words only: "js" must not match ".js" import specifiers or "json".
        const pattern = new RegExp(
          `(?<![\\w./-])${name.toLowerCase().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\w-])`,
        );
        if (TOOL_NAMES[file.slice(root.length)]?.includes(name)) continue;
        if (pattern.test(text)) offenders.push(`${file.slice(root.length)} names "${name}"`);
      }
    }
    expect(offenders).toEqual([]);
  });
});

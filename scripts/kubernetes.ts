// npm run deploy:kubernetes: writes deploy/kubernetes/ from the language folders (see
// scripts/lib/kubernetes.ts), then validates what it wrote.

import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { discoverLanguages } from '../src/executor/registry.js';
import { projectRoot } from '../src/paths.js';
import { packageVersion } from '../src/service.js';
import { readManifests, renderManifests, validateManifests } from './lib/kubernetes.js';

const dir = fileURLToPath(new URL('deploy/kubernetes/', projectRoot));
mkdirSync(dir, { recursive: true });
const languages = discoverLanguages();
const files = renderManifests(languages, packageVersion());
// Files of languages that are gone go too.
for (const name of readdirSync(dir)) if (/\.(yaml|json)$/.test(name)) rmSync(`${dir}${name}`);
for (const file of files) writeFileSync(`${dir}${file.name}`, file.text);
const problems = await validateManifests(
  readManifests(dir),
  languages.map((l) => l.manifest.id),
);
for (const problem of problems) console.error(problem);
console.log(
  `wrote ${files.length} files to ${dir}${problems.length > 0 ? `; ${problems.length} problems` : ''}`,
);
process.exitCode = problems.length > 0 ? 1 : 0;

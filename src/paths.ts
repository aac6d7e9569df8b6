// Where the project's files are at run time. The service always runs compiled output from
// dist/; when a module is loaded from TypeScript sources (vitest imports src/ directly), URLs of
// modules that must run in a worker thread or child process are mapped to their compiled twins.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

function findRoot(): URL {
  // src/paths.ts → root is one level up; dist/src/paths.js → two levels up.
  const here = new URL('.', import.meta.url);
  const candidates = [new URL('../', here), new URL('../../', here)];
  for (const candidate of candidates) {
    if (existsSync(fileURLToPath(new URL('package.json', candidate)))) return candidate;
  }
  throw new Error(`Cannot find the project root above ${fileURLToPath(here)}`);
}

/** The project root (the folder holding package.json), as a file: URL ending with a slash. */
export const projectRoot: URL = findRoot();

/** The folder that holds language folders' sources and manifests. */
export const interpretersSourceDir: URL = new URL('interpreters/', projectRoot);

/** The compiled tree. */
export const distDir: URL = new URL('dist/', projectRoot);

/**
 * The module `name` (no extension) in the folder of `moduleUrl` (the caller's import.meta.url), as a
 * file plain Node can run in a worker or child process: its compiled twin under dist/ when the
 * caller itself was loaded from TypeScript sources (vitest).
 */
export function runnableSibling(moduleUrl: string, name: string): URL {
  const extension = moduleUrl.endsWith('.ts') ? '.ts' : '.js';
  return runnableUrl(new URL(`./${name}${extension}`, moduleUrl));
}

/**
 * Maps a module URL to the file that can be run by plain Node: a .ts file under the project root
 * becomes the .js file under dist/; anything else is returned as it is.
 */
export function runnableUrl(url: URL): URL {
  const path = fileURLToPath(url);
  const root = fileURLToPath(projectRoot);
  if (!path.endsWith('.ts') || !path.startsWith(root) || path.startsWith(fileURLToPath(distDir))) return url;
  const compiled = new URL(path.slice(root.length).replace(/\.ts$/, '.js'), distDir);
  if (!existsSync(fileURLToPath(compiled))) {
    throw new Error(`${fileURLToPath(compiled)} does not exist: run "npm run build" first`);
  }
  return compiled;
}

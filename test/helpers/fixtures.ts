// Compiles TEST-ONLY modules (test/fixtures/hostile/*.ts) next to the service's compiled tree, so
// that real worker pools and sandbox host processes can load them: test/fixtures/x.ts becomes
// dist/test/fixtures/x.js, whose relative imports of ../../../src/... resolve to dist/src/...
// (npm test builds dist/ first). Transpiled only: tsc -p tsconfig.json type-checks these files.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { distDir, projectRoot } from '../../src/paths.js';

/** Compiles `test/fixtures/<path>.ts` and returns the file: URL of its compiled twin. */
export function compileFixture(path: string): URL {
  const source = new URL(`test/fixtures/${path}.ts`, projectRoot);
  const target = new URL(`test/fixtures/${path}.js`, distDir);
  const output = ts.transpileModule(readFileSync(source, 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
    fileName: fileURLToPath(source),
  });
  mkdirSync(dirname(fileURLToPath(target)), { recursive: true });
  writeFileSync(target, output.outputText);
  return target;
}

/** Compiles every fixture of a folder's list and returns the URL of the first (the entry). */
export function compileFixtures(paths: readonly string[]): URL {
  const urls = paths.map(compileFixture);
  return urls[0]!;
}

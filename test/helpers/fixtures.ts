// Compiles TEST-ONLY modules (test/fixtures/hostile/*.ts) next to the service's compiled tree, so
// that real worker pools and sandbox host processes can load them: test/fixtures/x.ts becomes
// dist/test/fixtures/x.js, whose relative imports of ../../../src/... resolve to dist/src/...
// (npm test builds dist/ first). Transpiled only: tsc -p tsconfig.json type-checks these files.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import type { Executor, ExecutorContext } from '../../src/executor/contract.js';
import { createProcessExecutor } from '../../src/executor/host/process-host.js';
import type { HostRuntimeConfig } from '../../src/executor/host/process-runtime.js';
import { distDir, projectRoot } from '../../src/paths.js';

/** Compiles `test/fixtures/<path>.ts` and returns the file: URL of its compiled twin. */
export function compileFixture(path: string): URL {
  const source = new URL(`test/fixtures/${path}.ts`, projectRoot);
  const target = new URL(`test/fixtures/${path}.js`, distDir);
  const output = ts.transpileModule(readFileSync(source, 'utf8'), {
    compilerOptions: {
      module: ts.ModuleKind.ES2022,
      target: ts.ScriptTarget.ES2022,
      verbatimModuleSyntax: true,
    },
    fileName: fileURLToPath(source),
  });
  mkdirSync(dirname(fileURLToPath(target)), { recursive: true });
  writeFileSync(target, output.outputText);
  return target;
}

export type Logged = { level: string; message: string; fields?: Record<string, unknown> };

const HOST: HostRuntimeConfig = {
  warm: 2,
  callsPerWorker: 1,
  interpretersPerWorker: 1,
  renewMaxMemoryBytes: 96 * 2 ** 20,
  graceMs: 150,
  spawnConcurrency: 2,
  rssLimitBytes: 2 ** 31,
};

/**
 * A real process executor (process-host.ts, isolation as in production) whose host entry is a
 * compiled test fixture (a hostile host, or the real serveSandboxHost() with a hostile worker).
 */
export function hostileExecutor(
  entry: URL,
  logs: Logged[],
  host: Partial<HostRuntimeConfig> = {},
  /** Handed to the fixture host's prepare() (sandbox-host.ts gives it to its workers). */
  config: Record<string, unknown> = {},
): Executor {
  const context = {
    manifest: { id: 'hostile' },
    poolSize: 2,
    settings: {},
    log: (level: Logged['level'], message: string, fields?: Record<string, unknown>) =>
      logs.push({ level, message, ...(fields === undefined ? {} : { fields }) }),
  } as unknown as ExecutorContext;
  return createProcessExecutor(context, {
    entry,
    codePaths: [
      fileURLToPath(new URL('src/executor/host/', distDir)),
      fileURLToPath(new URL('test/fixtures/hostile/', distDir)),
      fileURLToPath(new URL('package.json', projectRoot)),
    ],
    prepare: async () => ({ readPaths: ['/proc/thread-self/schedstat'], config }),
    host: { ...HOST, ...host },
    hosts: 1,
    capacity: 2,
    isolation: 'auto',
    hostRssLimitBytes: 2 ** 32,
  });
}

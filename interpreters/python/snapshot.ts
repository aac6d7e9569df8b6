// The memory snapshot every interpreter is restored from: built once per machine into a gitignored
// cache folder (.cache/python/ under the project root by default) and rebuilt automatically when
// anything it depends on changes — the pinned Pyodide version, the harness, or the builder's code —
// because all of those are hashed into its file name. The build runs in its own locked-down
// process (build-snapshot.ts), so a fresh clone needs nothing but `npm ci`.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  disposeWorkDir,
  type IsolationMode,
  planSandboxSpawn,
  spawnSandbox,
} from '../../src/executor/host/process-isolation.js';
import { interpretersSourceDir, projectRoot, runnableSibling } from '../../src/paths.js';
import type { BuildReply, BuildRequest } from './build-snapshot.js';

/** Modules imported before the snapshot is taken, so that calls using them start faster. */
export const PRELOAD = [
  'json',
  're',
  'math',
  'random',
  'collections',
  'itertools',
  'functools',
  'datetime',
  'decimal',
  'fractions',
  'string',
  'typing',
  'dataclasses',
  'traceback',
  'linecache',
  'asyncio',
  'statistics',
  'heapq',
  'bisect',
  'copy',
  'operator',
  'hashlib',
] as const;

export interface PyodideInstall {
  /** Folder of the installed pyodide package, ending with a slash. */
  readonly dir: string;
  readonly version: string;
}

export function findPyodide(): PyodideInstall {
  const require = createRequire(import.meta.url);
  const packageJson = require.resolve('pyodide/package.json');
  const { version } = JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string };
  return { dir: `${dirname(packageJson)}/`, version };
}

export function harnessSource(): string {
  return readFileSync(fileURLToPath(new URL('python/harness.py', interpretersSourceDir)), 'utf8');
}

export interface SnapshotInfo {
  readonly path: string;
  readonly key: string;
  /** Set when this call built the snapshot. */
  readonly built?: {
    readonly totalMs: number;
    readonly bootMs: number;
    readonly bytes: number;
    readonly removed: string[];
  };
}

/** Returns the snapshot for the installed Pyodide, building it first if it is missing or stale. */
export async function ensureSnapshot(options: {
  readonly cacheDir: string;
  readonly isolation: IsolationMode;
  readonly log?: (level: 'info' | 'warn', message: string, fields?: Record<string, unknown>) => void;
}): Promise<SnapshotInfo> {
  const pyodide = findPyodide();
  const harness = harnessSource();
  const builder = runnableSibling(import.meta.url, 'build-snapshot');
  const engine = new URL('./engine.js', builder);
  const hash = createHash('sha256');
  hash.update(`pyodide ${pyodide.version}\n`);
  hash.update(readFileSync(join(pyodide.dir, 'pyodide.asm.wasm')).subarray(0, 4096));
  hash.update(harness);
  hash.update(PRELOAD.join(','));
  hash.update(readFileSync(builder));
  hash.update(readFileSync(engine));
  const key = hash.digest('hex').slice(0, 16);
  const dir = options.cacheDir.endsWith('/') ? options.cacheDir : `${options.cacheDir}/`;
  const path = `${dir}snapshot-${pyodide.version}-${key}.bin`;
  if (existsSync(path)) return { path, key };

  mkdirSync(dir, { recursive: true });
  const temp = `${path}.${process.pid}.${Date.now()}.tmp`;
  options.log?.('info', 'Building the Pyodide memory snapshot (first boot or a version change)', { path });
  const plan = planSandboxSpawn({
    entry: fileURLToPath(builder),
    readPaths: [
      pyodide.dir,
      fileURLToPath(new URL('./', builder)),
      fileURLToPath(new URL('dist/src/', projectRoot)),
    ],
    writePaths: [dir],
    allowWorkers: false,
    mode: options.isolation === 'required' ? 'required' : options.isolation === 'off' ? 'off' : 'auto',
  });
  const request: BuildRequest = { kind: 'build', pyodideDir: pyodide.dir, harness, preload: PRELOAD, temp };
  try {
    const reply = await new Promise<BuildReply>((resolve, reject) => {
      const child = spawnSandbox(plan, {
        env: {},
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
        serialization: 'json',
      });
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr = (stderr + chunk.toString()).slice(-4000);
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
      child.on('message', (message: BuildReply) => resolve(message));
      child.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`The snapshot builder exited with code ${code}: ${stderr.trim().slice(-2000)}`));
      });
      child.send(request);
    });
    if (reply.kind === 'failed') throw new Error(`Cannot build the Pyodide snapshot: ${reply.message}`);
    renameSync(temp, path);
    // Older snapshots are of no use any more.
    for (const name of readdirSync(dir)) {
      if (name.startsWith('snapshot-') && `${dir}${name}` !== path && !name.endsWith('.tmp'))
        rmSync(`${dir}${name}`, { force: true });
    }
    options.log?.('info', 'Built the Pyodide memory snapshot', {
      path,
      ms: Math.round(reply.totalMs),
      bytes: reply.bytes,
    });
    return {
      path,
      key,
      built: { totalMs: reply.totalMs, bootMs: reply.bootMs, bytes: reply.bytes, removed: reply.removed },
    };
  } finally {
    rmSync(temp, { force: true });
    disposeWorkDir(plan.cwd);
  }
}

/** The default cache folder: .cache/python/ under the project root (gitignored). */
export function defaultCacheDir(): string {
  return fileURLToPath(new URL('.cache/python/', projectRoot));
}

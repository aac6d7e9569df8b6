// The memory snapshot every interpreter is restored from: built once per machine into a gitignored
// cache folder (.cache/python/ under the project root by default) and rebuilt automatically when
// anything it depends on changes — the pinned Pyodide version, the harness, or the builder's code —
// because all of those are hashed into its file name. The build runs in its own locked-down
// process (build-snapshot.ts), so a fresh clone needs nothing but `npm ci`.
//
// A cached engine image is code: its SHA-256 is written beside it (`<file>.sha256`) and checked
// before every use, here at boot and again by each sandbox host when it reads the file
// (sandbox-host.ts). A corrupted, truncated or unreadable cache is rebuilt with a warning; a cache
// folder that cannot be written costs only the cache (docs/reliability.md).

import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
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
  const read = (name: string): string =>
    readFileSync(fileURLToPath(new URL(`python/${name}`, interpretersSourceDir)), 'utf8');
  // One module, _polyeval: W (wikifunctions.py) uses the harness's codec.
  return `${read('harness.py')}\n\n${read('wikifunctions.py')}`;
}

export interface SnapshotInfo {
  readonly path: string;
  readonly key: string;
  /** SHA-256 of the file's content (hex): the sandbox host checks what it reads against it. */
  readonly sha256: string;
  /** Set when this call built the snapshot. */
  readonly built?: {
    readonly totalMs: number;
    readonly bootMs: number;
    readonly bytes: number;
    readonly removed: string[];
  };
  /** Set when the cache folder could not keep it: the file is a private temporary copy. */
  readonly temporary?: boolean;
}

type SnapshotLog = (level: 'info' | 'warn', message: string, fields?: Record<string, unknown>) => void;

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * The SHA-256 of a file read 1 MiB at a time: the service checks the 30 MiB snapshot at every start,
 * and a whole-file read left 30 MiB in the service's memory until its next full collection.
 */
function sha256OfFile(path: string): string {
  const hash = createHash('sha256');
  const chunk = Buffer.allocUnsafe(2 ** 20);
  const fd = openSync(path, 'r');
  try {
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      hash.update(chunk.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

/** A file's first `bytes` bytes (fewer when it is shorter), read without reading the rest. */
function fileHead(path: string, bytes: number): Uint8Array {
  const head = Buffer.alloc(bytes);
  const fd = openSync(path, 'r');
  try {
    return head.subarray(0, readSync(fd, head, 0, bytes, 0));
  } finally {
    closeSync(fd);
  }
}

function errorText(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  const message = error instanceof Error ? error.message : String(error);
  return code !== undefined && !message.includes(code) ? `${code}: ${message}` : message;
}

/**
 * Checks a cached snapshot against the hash written beside it (`<file>.sha256`, sha256sum's
 * format). Returns its hash when it matches; otherwise why it cannot be used, or undefined when
 * there is no file at all.
 */
export function verifySnapshot(path: string): { sha256: string } | { problem: string } | undefined {
  if (!existsSync(path) && !existsSync(`${path}.sha256`)) return undefined;
  let expected: string;
  try {
    expected = readFileSync(`${path}.sha256`, 'utf8').slice(0, 64);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      return { problem: 'no hash was recorded beside it (an older version wrote it, or it was cut short)' };
    return { problem: `its hash file cannot be read (${errorText(error)})` };
  }
  let actual: string;
  try {
    actual = sha256OfFile(path);
  } catch (error) {
    return { problem: `it cannot be read (${errorText(error)})` };
  }
  if (!/^[0-9a-f]{64}$/.test(expected)) return { problem: 'its hash file is malformed' };
  if (actual !== expected) return { problem: `its SHA-256 is ${actual}, not ${expected} as recorded` };
  return { sha256: actual };
}

/** Private folders of snapshots built for this run only, removed at exit. */
const temporaryDirs: string[] = [];

/**
 * Returns the snapshot for the installed Pyodide: the cached one if its hash checks, otherwise a
 * new one, built in a private temporary folder and then stored in the cache folder. A cache that
 * is missing, stale, corrupted, truncated or unreadable is rebuilt; a cache folder that cannot be
 * written (read-only, full, not permitted) costs the cache only: the service runs on the temporary
 * copy, with a warning, and builds again at the next start.
 */
export async function ensureSnapshot(options: {
  readonly cacheDir: string;
  readonly isolation: IsolationMode;
  readonly log?: SnapshotLog;
}): Promise<SnapshotInfo> {
  const pyodide = findPyodide();
  const harness = harnessSource();
  const builder = runnableSibling(import.meta.url, 'build-snapshot');
  const engine = new URL('./engine.js', builder);
  const hash = createHash('sha256');
  hash.update(`pyodide ${pyodide.version}\n`);
  hash.update(fileHead(join(pyodide.dir, 'pyodide.asm.wasm'), 4096));
  hash.update(harness);
  hash.update(PRELOAD.join(','));
  hash.update(readFileSync(builder));
  hash.update(readFileSync(engine));
  const key = hash.digest('hex').slice(0, 16);
  const dir = options.cacheDir.endsWith('/') ? options.cacheDir : `${options.cacheDir}/`;
  const name = `snapshot-${pyodide.version}-${key}.bin`;
  const path = `${dir}${name}`;
  const cached = verifySnapshot(path);
  if (cached !== undefined && 'sha256' in cached) return { path, key, sha256: cached.sha256 };
  if (cached !== undefined) {
    options.log?.('warn', `The cached Pyodide snapshot failed its check: ${cached.problem}; rebuilding it`, {
      path,
    });
  } else {
    options.log?.('info', 'Building the Pyodide memory snapshot (first boot or a version change)', { path });
  }

  const work = mkdtempSync(join(tmpdir(), 'polyeval-snapshot-'));
  const built = `${work}/${name}`;
  let reply: Extract<BuildReply, { kind: 'built' }>;
  try {
    const build = () => runBuilder(builder, pyodide, harness, `${work}/`, `${built}.tmp`, options.isolation);
    reply = await build().catch((error: unknown) => {
      // A builder that died (killed from outside, out of memory) gets one more chance; one that
      // reported a failure would fail the same way again.
      if (!(error instanceof BuilderDied)) throw error;
      options.log?.('warn', `${error.message}; building the Pyodide snapshot again`);
      return build();
    });
    renameSync(`${built}.tmp`, built);
  } catch (error) {
    rmSync(work, { recursive: true, force: true });
    throw error;
  }
  const bytes = readFileSync(built);
  const sha256 = sha256Hex(bytes);
  const info = {
    key,
    sha256,
    built: { totalMs: reply.totalMs, bootMs: reply.bootMs, bytes: reply.bytes, removed: reply.removed },
  };

  try {
    storeSnapshot(dir, name, bytes, sha256);
  } catch (error) {
    if (temporaryDirs.length === 0) {
      process.once('exit', () => {
        for (const d of temporaryDirs) rmSync(d, { recursive: true, force: true });
      });
    }
    temporaryDirs.push(work);
    options.log?.(
      'warn',
      `Cannot store the Pyodide snapshot in the cache folder (${errorText(error)}): using a temporary copy for this run`,
      { cacheDir: dir, path: built },
    );
    return { path: built, ...info, temporary: true };
  }
  rmSync(work, { recursive: true, force: true });
  options.log?.('info', 'Built the Pyodide memory snapshot', {
    path,
    ms: Math.round(reply.totalMs),
    bytes: reply.bytes,
  });
  return { path, ...info };
}

/** Writes the snapshot and its hash into the cache folder (each by rename) and removes stale ones. */
function storeSnapshot(dir: string, name: string, bytes: Uint8Array, sha256: string): void {
  mkdirSync(dir, { recursive: true });
  const path = `${dir}${name}`;
  const temp = `${path}.${process.pid}.tmp`;
  try {
    // The hash goes first: a snapshot without its hash is never used, a stale hash never matches.
    writeFileSync(`${temp}.sha256`, `${sha256}  ${name}\n`);
    renameSync(`${temp}.sha256`, `${path}.sha256`);
    writeFileSync(temp, bytes);
    // Whatever failed the check may not be a file (a folder in its place): it goes.
    rmSync(path, { recursive: true, force: true });
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    rmSync(`${temp}.sha256`, { force: true });
    throw error;
  }
  // Older snapshots are of no use any more.
  for (const entry of readdirSync(dir)) {
    if (entry.startsWith('snapshot-') && !entry.startsWith(name) && !entry.endsWith('.tmp'))
      rmSync(`${dir}${entry}`, { force: true, recursive: true });
  }
}

/** The builder process ended without a reply. */
class BuilderDied extends Error {}

/** Runs the builder process (build-snapshot.ts), locked down, writing into `dir` only. */
async function runBuilder(
  builder: URL,
  pyodide: PyodideInstall,
  harness: string,
  dir: string,
  temp: string,
  isolation: IsolationMode,
): Promise<Extract<BuildReply, { kind: 'built' }>> {
  const plan = planSandboxSpawn({
    entry: fileURLToPath(builder),
    readPaths: [
      pyodide.dir,
      fileURLToPath(new URL('./', builder)),
      fileURLToPath(new URL('dist/src/', projectRoot)),
    ],
    writePaths: [dir],
    allowWorkers: false,
    mode: isolation === 'required' ? 'required' : isolation === 'off' ? 'off' : 'auto',
    setting: 'POLYEVAL_PYTHON_ISOLATION',
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
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        reject(
          new BuilderDied(
            `The snapshot builder exited (code ${code}, signal ${signal})${stderr.trim() === '' ? '' : `: ${stderr.trim().slice(-2000)}`}`,
          ),
        );
      });
      child.send(request);
    });
    if (reply.kind === 'failed') throw new Error(`Cannot build the Pyodide snapshot: ${reply.message}`);
    return reply;
  } finally {
    disposeWorkDir(plan.cwd);
  }
}

/** The default cache folder: .cache/python/ under the project root (gitignored). */
export function defaultCacheDir(): string {
  return fileURLToPath(new URL('.cache/python/', projectRoot));
}

// Faults of the engine-image cache: the Python memory snapshot (.cache/python/snapshot-*.bin) is
// code the service restores every interpreter from. Promise checked: a corrupted, truncated or
// unreadable cached image is detected (its SHA-256, written beside it, does not match) and rebuilt
// with a clear warning, never used; a cache folder that is read-only or full (ENOSPC) costs the
// cache only: the service starts on a temporary copy and serves. Before the check, 4 KiB flipped
// at 1 MiB were restored into every interpreter without complaint.
//
// The builder of a missing snapshot killed mid-build is retried once.
// The read-only and full folders are tmpfs mounts (root only: skipped otherwise, with the reason).
// The JavaScript engine keeps no image on disk (its heap snapshot is taken in memory by each
// worker, interpreters/javascript/snapshot.ts), nor do the wasm and Lua engines.

import { execFileSync } from 'node:child_process';
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  defaultCacheDir,
  ensureSnapshot,
  type SnapshotInfo,
  verifySnapshot,
} from '../../interpreters/python/snapshot.js';
import { postJson, type RunningServer, startServer } from '../helpers/server.js';
import { alive, commandLine, descendants, isRoot, sleep } from './helpers.js';

let good: SnapshotInfo;
const work = mkdtempSync(join(tmpdir(), 'polyeval-snapshot-faults-'));
const mounts: string[] = [];

beforeAll(async () => {
  // The machine's cached snapshot (built once, shared with the other Python tests).
  good = await ensureSnapshot({ cacheDir: defaultCacheDir(), isolation: 'auto' });
}, 300_000);

afterAll(() => {
  for (const dir of mounts) execFileSync('umount', ['-l', dir]);
  rmSync(work, { recursive: true, force: true });
});

/** A cache folder holding a copy of the good snapshot and its hash, `mangle`d. */
function cacheWith(dir: string, mangle: (path: string) => void): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, basename(good.path));
  copyFileSync(good.path, path);
  copyFileSync(`${good.path}.sha256`, `${path}.sha256`);
  mangle(path);
  return path;
}

function flip4KiBAt1MiB(path: string): void {
  const bytes = readFileSync(path).subarray(2 ** 20, 2 ** 20 + 4096);
  const fd = openSync(path, 'r+');
  writeSync(fd, Buffer.from(bytes.map((b) => b ^ 0xff)), 0, 4096, 2 ** 20);
  closeSync(fd);
}

function tmpfs(dir: string, options: string): void {
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]);
  mounts.push(dir);
}

async function boot(cacheDir: string): Promise<RunningServer> {
  return startServer({
    POLYEVAL_LANGUAGES: 'python',
    POLYEVAL_POOL_SIZE: '1',
    POLYEVAL_PYTHON_SNAPSHOT_DIR: cacheDir,
  });
}

/** The service answers Python calls from a verified image: the value, and the next call too. */
async function expectServes(server: RunningServer): Promise<void> {
  for (const n of [1, 2]) {
    const answer = await postJson(`${server.url}/v1/evaluate`, {
      language: 'python',
      code: 'import json\ndef main(x):\n    return json.dumps({"x": x})',
      args: [n],
    });
    expect(answer.body).toMatchObject({ ok: true, value: `{"x": ${n}}` });
  }
}

function warnings(server: RunningServer): string[] {
  return server
    .logs()
    .split('\n')
    .filter((l) => l.includes('"level":"warn"'));
}

describe('a cached snapshot that fails its check is rebuilt, never used', () => {
  it('corrupted (4 KiB flipped at 1 MiB): detected, rebuilt, stored again', async () => {
    const dir = join(work, 'corrupted');
    const path = cacheWith(dir, flip4KiBAt1MiB);
    expect(verifySnapshot(path)).toMatchObject({ problem: expect.stringMatching(/SHA-256/) });
    const server = await boot(dir);
    try {
      await expectServes(server);
      expect(warnings(server).join('\n')).toMatch(
        /The cached Pyodide snapshot failed its check: its SHA-256 is/,
      );
      // Healed: the file in the cache checks again, and it is the image the interpreters use.
      expect(verifySnapshot(path)).toEqual({ sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    } finally {
      await server.close();
    }
  });
});

describe('the snapshot builder killed mid-build', () => {
  it('SIGKILL from outside: built again once, with a warning; the service starts and serves', async () => {
    const dir = join(work, 'builder-killed');
    const server = await startServer(
      { POLYEVAL_LANGUAGES: 'python', POLYEVAL_POOL_SIZE: '1', POLYEVAL_PYTHON_SNAPSHOT_DIR: dir },
      { waitReady: false },
    );
    try {
      let builder: number | undefined;
      for (let i = 0; i < 300 && builder === undefined; i++) {
        builder = descendants(server.process.pid!).find((pid) => {
          const argv = commandLine(pid) ?? '';
          return /^(\S*\/)?node$/.test(argv.split(' ')[0] ?? '') && argv.includes('build-snapshot.js');
        });
        if (builder === undefined) await sleep(50);
      }
      expect(builder).toBeDefined();
      process.kill(builder!, 'SIGKILL');
      await expect
        .poll(() => fetch(`${server.url}/readyz`).then((r) => r.status), { timeout: 50_000, interval: 250 })
        .toBe(200);
      expect(alive(builder!)).toBe(false);
      expect(warnings(server).join('\n')).toMatch(
        /The snapshot builder exited \(code .*; building the Pyodide snapshot again/,
      );
      await expectServes(server);
      expect(verifySnapshot(join(dir, basename(good.path)))).toEqual({
        sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      });
    } finally {
      await server.close();
    }
  });
});

describe('a snapshot changed on disk after the service checked it', () => {
  it('a sandbox host started later refuses it with a message, and never serves from it', async () => {
    const dir = join(work, 'changed-later');
    const path = cacheWith(dir, () => undefined); // whole: no rebuild at boot
    const server = await boot(dir);
    try {
      await expectServes(server);
      expect(server.logs()).not.toContain('Building the Pyodide memory snapshot');
      flip4KiBAt1MiB(path);
      // The host restarts (killed from outside) and reads the file again.
      const host = descendants(server.process.pid!).find((pid) => {
        const argv = commandLine(pid) ?? '';
        return /^(\S*\/)?node$/.test(argv.split(' ')[0] ?? '') && argv.includes('sandbox-host.js');
      });
      expect(host).toBeDefined();
      process.kill(host!, 'SIGKILL');
      await expect
        .poll(() => server.logs(), { timeout: 20_000 })
        .toMatch(/A sandbox host could not start.*the snapshot .* changed since it was checked \(SHA-256/);
      const ready = await fetch(`${server.url}/readyz`).then((r) => r.status);
      expect(ready).toBe(503);
      // Once it has failed to start twice in a row, a call is answered at once, naming why, instead
      // of waiting for a start that keeps failing (up to 60 s).
      await expect
        .poll(() => server.logs(), { timeout: 20_000 })
        .toMatch(/could not start[\s\S]*could not start/);
      const started = performance.now();
      const answer = await postJson(`${server.url}/v1/evaluate`, {
        language: 'python',
        code: 'def main():\n    return 1',
      });
      expect(answer.body).toMatchObject({ ok: false, error: { code: 'SANDBOX_CRASH' } });
      expect(answer.body.error.message).toMatch(
        /the sandbox host is not available \(.*changed since it was checked/,
      );
      expect(performance.now() - started).toBeLessThan(5_000);
    } finally {
      await server.close();
    }
  });
});

describe('a snapshot changed on disk while a sandbox host runs (reset mode)', () => {
  it('an interpreter the running host starts later reads the file itself and refuses it, naming why', async () => {
    const dir = join(work, 'changed-while-running');
    const path = cacheWith(dir, () => undefined);
    const server = await boot(dir);
    try {
      await expectServes(server);
      // The host keeps no copy of the snapshot's pages: the next interpreter reads the file.
      flip4KiBAt1MiB(path);
      // A call past its time limit discards its interpreter; the next one must start from the file.
      const looping = await postJson(`${server.url}/v1/evaluate`, {
        language: 'python',
        code: 'def main():\n    while True:\n        pass',
        limits: { timeoutMs: 300 },
      });
      expect(looping.body).toMatchObject({ ok: false, error: { code: 'TIMEOUT' } });
      // Refused, never restored: the calls that wait for it are answered with the reason once the
      // starts have failed three times in a row (a fraction of a second).
      await expect
        .poll(
          async () => {
            const answer = await postJson(`${server.url}/v1/evaluate`, {
              language: 'python',
              code: 'def main():\n    return 1',
            });
            return answer.body.ok === false
              ? `${answer.body.error.code}: ${answer.body.error.message}`
              : 'served';
          },
          { timeout: 30_000, interval: 200 },
        )
        .toMatch(
          /^SANDBOX_CRASH: .*cannot start an interpreter.*the snapshot .* changed since it was checked \(SHA-256/,
        );
    } finally {
      await server.close();
    }
  });
});

describe.skipIf(!isRoot)('a cache folder that cannot be written (tmpfs mounts: needs root)', () => {
  it('full (ENOSPC, 1 MiB tmpfs) holding a truncated snapshot: detected, built in a temporary folder, serves', async () => {
    const dir = join(work, 'full');
    tmpfs(dir, 'size=1m');
    // Truncated to 512 KiB (what a full disk leaves of a copy); the hash file is whole.
    const path = cacheWith(join(work, 'staging'), (p) => truncateSync(p, 512 * 1024));
    copyFileSync(path, join(dir, basename(path)));
    copyFileSync(`${path}.sha256`, join(dir, `${basename(path)}.sha256`));
    const server = await boot(dir);
    let temporary: string | undefined;
    try {
      await expectServes(server);
      const text = warnings(server).join('\n');
      expect(text).toMatch(/failed its check: its SHA-256 is/);
      expect(text).toMatch(/Cannot store the Pyodide snapshot in the cache folder \(ENOSPC/);
      temporary = /"path":"([^"]+)"/.exec(
        warnings(server).find((l) => l.includes('Cannot store')) ?? '',
      )?.[1];
      expect(temporary).toBeDefined();
      expect(existsSync(temporary!)).toBe(true);
      // Nothing half-written is left in the full folder.
      expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    } finally {
      await server.close();
    }
    // The private copy goes with the process.
    expect(existsSync(temporary!)).toBe(false);
  });

  it('read-only (EROFS) holding an unreadable snapshot (a folder in its place): detected, built in a temporary folder, serves', async () => {
    const dir = join(work, 'read-only');
    tmpfs(dir, 'size=64m');
    cacheWith(dir, (p) => {
      rmSync(p);
      mkdirSync(p);
    });
    execFileSync('mount', ['-o', 'remount,ro', dir]);
    const server = await boot(dir);
    try {
      await expectServes(server);
      const text = warnings(server).join('\n');
      expect(text).toMatch(/failed its check: it cannot be read \(EISDIR/);
      expect(text).toMatch(/Cannot store the Pyodide snapshot in the cache folder \(EROFS/);
    } finally {
      await server.close();
    }
  });
});

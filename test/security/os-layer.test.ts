// The OS layer under full compromise: the real confinement of the Python sandbox host (the same
// planSandboxSpawn + spawnSandbox path and the same read grants as the service), with a hostile
// entry point in place of the host's. The entry is native code (hostile.c, built static here with
// gcc) making raw syscalls, or node with the permission model off: layer 2 is assumed fallen, and
// each attack must still fail because of the OS layer alone. Every attack's failure is asserted.
// It also checks that `required` refuses to start where bubblewrap is missing, and that `auto` says
// which protections are missing.

import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultCacheDir, ensureSnapshot, findPyodide } from '../../interpreters/python/snapshot.js';
import {
  disposeWorkDir,
  PROTECTIONS,
  planSandboxSpawn,
  resetIsolationProbe,
  SANDBOX_RLIMITS,
  SANDBOX_TMP_BYTES,
  type SandboxSpawnPlan,
  spawnSandbox,
} from '../../src/executor/host/process-isolation.js';
import { distDir, projectRoot } from '../../src/paths.js';

const root = fileURLToPath(projectRoot);
const pyodide = findPyodide();
const work = mkdtempSync(join(tmpdir(), 'polyeval-os-layer-'));
const hostile = join(work, 'hostile');
const tmpCanary = join(tmpdir(), `polyeval-canary-${process.pid}.txt`);
const projectCanary = join(root, `.polyeval-canary-${process.pid}.txt`);
const SECRET = 'canary-secret-7f3a';
let snapshotPath = '';

interface Report {
  readonly attack: string;
  readonly escaped: boolean;
  readonly errno: number;
  readonly detail: string;
}

/** The plan the Python executor makes for its host (interpreters/python/executor.ts), plus the entry. */
function hostPlan(extraRead: readonly string[] = []): SandboxSpawnPlan {
  const entry = fileURLToPath(new URL('interpreters/python/sandbox-host.js', distDir));
  return planSandboxSpawn({
    entry,
    readPaths: [
      fileURLToPath(new URL('src/executor/host/', distDir)),
      fileURLToPath(new URL('interpreters/python/', distDir)),
      join(root, 'package.json'),
      pyodide.dir,
      snapshotPath,
      '/proc/thread-self/schedstat',
      ...extraRead,
    ],
    allowWorkers: true,
    mode: 'required',
  });
}

async function attack(name: string, arg = '', runAs?: SandboxSpawnPlan['runAs']): Promise<Report> {
  const { stdout, stderr } = await confined([hostile, name, arg], 60_000, runAs);
  const line = stdout.trim().split('\n').pop() ?? '';
  if (!line.startsWith('{')) throw new Error(`The hostile entry printed no report for ${name}: ${stderr}`);
  return JSON.parse(line) as Report;
}

/** Spawns argv in place of the host (see runConfined) and waits for its output. */
function confined(
  argv: readonly string[],
  timeoutMs = 60_000,
  runAs?: SandboxSpawnPlan['runAs'],
): Promise<{ stdout: string; stderr: string }> {
  const planned = hostPlan([`${work}/`]);
  const plan = runAs === undefined || planned.runAs === undefined ? planned : { ...planned, runAs };
  const at = plan.args.lastIndexOf(process.execPath);
  if (at <= 0) throw new Error('The plan does not run node under a launcher: no OS layer to test');
  const child = spawnSandbox(
    { ...plan, args: [...plan.args.slice(0, at), ...argv] },
    { env: {}, stdio: ['ignore', 'pipe', 'pipe', 'ignore'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      disposeWorkDir(plan.cwd);
      resolve({ stdout, stderr });
    });
  });
}

beforeAll(async () => {
  snapshotPath = (await ensureSnapshot({ cacheDir: defaultCacheDir(), isolation: 'auto' })).path;
  const gcc = spawnSync(
    'gcc',
    ['-static', '-O1', '-o', hostile, fileURLToPath(new URL('os-layer/hostile.c', import.meta.url))],
    { encoding: 'utf8' },
  );
  if (gcc.status !== 0) throw new Error(`Cannot build the hostile entry with gcc: ${gcc.stderr}`);
  // Readable by the sandbox's uid (65534) when the service runs as root.
  chmodSync(work, 0o755);
  chmodSync(hostile, 0o755);
  writeFileSync(tmpCanary, SECRET, { mode: 0o644 });
  writeFileSync(projectCanary, SECRET, { mode: 0o644 });
}, 300_000);

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  rmSync(tmpCanary, { force: true });
  rmSync(projectCanary, { force: true });
});

describe('the OS layer holds when native code owns the sandbox process', () => {
  it('runs the hostile entry with every protection in force', async () => {
    const plan = hostPlan();
    disposeWorkDir(plan.cwd);
    expect(plan.facts.protections).toEqual(Object.fromEntries(PROTECTIONS.map((p) => [p, true])));
    const ids = await attack('ids');
    expect(ids.detail).toBe('65534 65534');
  });

  it('cannot read a canary in the host /tmp or in the project folder', async () => {
    for (const path of [tmpCanary, projectCanary]) {
      const report = await attack('read', path);
      expect(report, path).toMatchObject({ escaped: false });
      expect(report.detail).not.toContain(SECRET);
    }
  });

  it('sees a root of its own: no home, no system or service files beyond what it loads', async () => {
    const rootList = (await attack('list', '/')).detail.trim().split(' ');
    for (const name of ['root', 'home', 'var', 'boot', 'srv', 'opt', 'sys', 'mnt', 'bin', 'sbin'])
      expect(rootList).not.toContain(name);
    expect((await attack('list', '/etc')).detail.trim().split(' ')).toEqual(['ld.so.cache']);
    // The executables: node, and setpriv where a root service drops to uid 65534 with it.
    const plan = hostPlan();
    disposeWorkDir(plan.cwd);
    const setpriv = plan.args.find((a) => a.endsWith('/setpriv'));
    const expected = [process.execPath, ...(setpriv === undefined ? [] : [setpriv])]
      .filter((p) => p.startsWith('/usr/bin/'))
      .map((p) => p.slice('/usr/bin/'.length))
      .sort();
    const usrBin = await attack('list', '/usr/bin');
    // No /usr/bin at all (node elsewhere, e.g. Node 24 from npm) is ENOENT: nothing to list.
    const listed = usrBin.errno === 2 ? [] : usrBin.detail.trim().split(' ');
    expect(listed.filter((n) => n !== '').sort()).toEqual(expected);
    // Of the project: the compiled host, the engine's files, the snapshot, package.json; no sources,
    // no tests, no .git, no canary.
    const projectList = (await attack('list', root)).detail.trim().split(' ').sort();
    expect(
      projectList.every((name) => ['.cache', 'dist', 'node_modules', 'package.json'].includes(name)),
    ).toBe(true);
    expect((await attack('list', join(root, 'node_modules'))).detail.trim()).toBe('pyodide');
    expect(readdirSync(root)).toContain('src');
  });

  it("cannot read the service's environment through /proc", async () => {
    for (const pid of [process.pid, process.ppid]) {
      const report = await attack('read', `/proc/${pid}/environ`);
      expect(report).toMatchObject({ escaped: false });
    }
  });

  it('cannot write into the project, node_modules or the snapshot folder', async () => {
    for (const path of [
      join(root, 'owned.txt'),
      join(root, 'dist/src/executor/host/owned.js'),
      join(pyodide.dir, 'owned.js'),
      join(defaultCacheDir(), 'owned.bin'),
    ]) {
      const report = await attack('write', path);
      expect(report, path).toMatchObject({ escaped: false });
    }
    expect(readdirSync(root)).not.toContain('owned.txt');
  });

  describe('network', () => {
    let server: Server;
    let port = 0;
    let connections = 0;
    beforeAll(async () => {
      server = createServer((socket) => {
        connections++;
        socket.destroy();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const address = server.address();
      port = typeof address === 'object' && address !== null ? address.port : 0;
    });
    afterAll(() => server.close());

    it('cannot connect to a loopback TCP listener of the host', async () => {
      const report = await attack('connect', String(port));
      expect(report).toMatchObject({ escaped: false });
      expect(connections).toBe(0);
    });

    it('cannot bind a port or open a socket of any family', async () => {
      expect(await attack('bind', '0')).toMatchObject({ escaped: false, errno: 1 });
      expect(await attack('sockets')).toMatchObject({ escaped: false, errno: 1 });
    });
  });

  it('cannot execute a shell', async () => {
    for (const shell of ['/bin/sh', '/usr/bin/sh', '/bin/bash']) {
      const report = await attack('exec', shell);
      expect(report, shell).toMatchObject({ escaped: false });
    }
  });

  it('cannot fork without bound', async () => {
    // RLIMIT_NPROC counts every task of the uid: as root the service starts sandboxes as 65534, and
    // a bomb under that uid would also starve the Python hosts of test files running alongside
    // (their worker threads), so this one runs under another unprivileged uid. Not root: same plan.
    const report = await attack('fork', '', { uid: 65533, gid: 65533 });
    expect(report.escaped).toBe(false);
    expect(report.errno).toBe(11); // EAGAIN: RLIMIT_NPROC
    expect(Number(report.detail)).toBeLessThanOrEqual(SANDBOX_RLIMITS.nproc);
  }, 120_000);

  it('cannot signal or trace the service process', async () => {
    expect(await attack('signal', String(process.pid))).toMatchObject({ escaped: false });
    expect(await attack('signal', String(process.ppid))).toMatchObject({ escaped: false });
    const trace = await attack('ptrace', String(process.pid));
    expect(trace).toMatchObject({ escaped: false, errno: 1 });
  });

  it('cannot write 10 GB', async () => {
    const report = await attack('bigwrite');
    expect(report.escaped).toBe(false);
    expect(Number(report.detail)).toBeLessThanOrEqual(SANDBOX_TMP_BYTES);
  });

  it('cannot raise its own limits', async () => {
    expect(await attack('rlimits')).toMatchObject({ escaped: false, errno: 1 });
  });

  it('is denied mount, namespaces, keyrings, bpf, perf, io_uring, userfaultfd, modules and kexec', async () => {
    expect(await attack('kernel')).toMatchObject({ escaped: false, detail: 'all denied' });
  });

  it('node without its permission model, inside the layer, reaches nothing either', async () => {
    const script = `
      const fs = require('node:fs');
      const out = {};
      const tryIt = (name, fn) => { try { out[name] = fn(); } catch (e) { out[name] = 'denied:' + e.code; } };
      tryIt('canary', () => fs.readFileSync(${JSON.stringify(tmpCanary)}, 'utf8'));
      tryIt('project', () => fs.readdirSync(${JSON.stringify(root)}));
      tryIt('status', () => fs.readFileSync('/proc/self/status', 'utf8').split('\\n').filter((l) => /^(NoNewPrivs|Seccomp|Uid):/.test(l)).join(';'));
      tryIt('spawn', () => require('node:child_process').execFileSync('/bin/sh', ['-c', 'echo escaped']).toString());
      const s = require('node:net').connect(${JSON.stringify(1)}, '127.0.0.1');
      s.on('error', (e) => { out.connect = 'denied:' + e.code; console.log(JSON.stringify(out)); });
      s.on('connect', () => { out.connect = 'connected'; console.log(JSON.stringify(out)); });
    `;
    const { stdout, stderr } = await confined([process.execPath, '-e', script]);
    const line = stdout.trim().split('\n').pop() ?? '';
    expect(line, stderr).toMatch(/^\{/);
    const out = JSON.parse(line) as Record<string, unknown>;
    expect(out.canary).toBe('denied:ENOENT');
    expect(out.spawn).toMatch(/^denied:/);
    expect(out.connect).toMatch(/^denied:/);
    expect(out.project).not.toContain('src');
    expect(out.status).toMatch(/Uid:\s+65534/);
    expect(out.status).toMatch(/NoNewPrivs:\s+1/);
    expect(out.status).toMatch(/Seccomp:\s+2/);
  });
});

describe('when the machine lacks the tools', () => {
  const bin = join(work, 'bin-without-bwrap');
  let savedPath: string | undefined;
  beforeAll(() => {
    // A PATH with the other tools but no bubblewrap.
    mkdirSync(bin, { recursive: true });
    for (const tool of ['prlimit', 'unshare', 'ldd', 'python3']) {
      const found = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
      if (found !== '') symlinkSync(found, join(bin, tool));
    }
    savedPath = process.env.PATH;
    process.env.PATH = bin;
    resetIsolationProbe();
  });
  afterAll(() => {
    process.env.PATH = savedPath;
    resetIsolationProbe();
  });

  it('required refuses to start, naming what is missing and why', () => {
    expect(() => hostPlan()).toThrow(
      /required but mountNamespace is missing \(bubblewrap \(bwrap\) is not installed\)/,
    );
  });

  it('auto starts degraded and reports each missing protection', () => {
    const plan = planSandboxSpawn({ entry: '/x/host.js', readPaths: [], allowWorkers: false, mode: 'auto' });
    disposeWorkDir(plan.cwd);
    expect(plan.facts.protections).toMatchObject({
      mountNamespace: false,
      seccomp: false,
      noNewPrivs: false,
    });
    expect(plan.facts.missing.mountNamespace).toMatch(/bubblewrap/);
    expect(plan.facts.warning).toMatch(/runs without mountNamespace, seccomp/);
  });
});

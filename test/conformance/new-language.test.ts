// `npm run new-language` end to end, in a throwaway copy of the project (so that the real tree and
// test files running in parallel never see the scaffolded language): the script writes only
// interpreters/<id>/ (git status of the copy says so), the scaffold compiles, the copy's server
// lists the new languages in /v1/languages and runs their calls, and the conformance suite reports
// them red (every case fails until written), and the project's tests that walk every language
// folder stay green with the new ones there. The copy is deleted afterwards.

import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scaffold } from '../../scripts/new-language.js';
import type { RunningServer, StartOptions } from '../helpers/server.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const WORKER_ID = 'zzscaffold';
const WASI_ID = 'zzscaffold-wasi';

describe('new-language', () => {
  it('refuses an id that is taken or invalid, writing nothing', () => {
    expect(() => scaffold({ id: 'javascript', template: 'worker' })).toThrow(/already exists/);
    expect(() => scaffold({ id: 'Bad Id', template: 'worker' })).toThrow(/lowercase/);
  });
});

describe('new-language in a copy of the project', () => {
  let copy: string;
  let server: RunningServer | undefined;
  let status: string;

  beforeAll(() => {
    copy = mkdtempSync(join(tmpdir(), 'polyeval-new-language-'));
    // The working tree as git sees it (tracked and untracked, not ignored), plus the build.
    const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], {
      cwd: root,
      encoding: 'utf8',
    })
      .split('\0')
      .filter((f) => f !== '');
    for (const file of files) {
      mkdirSync(dirname(join(copy, file)), { recursive: true });
      try {
        cpSync(join(root, file), join(copy, file));
      } catch {
        // deleted in the working tree but still in the index
      }
    }
    cpSync(join(root, 'dist'), join(copy, 'dist'), { recursive: true });
    symlinkSync(join(root, 'node_modules'), join(copy, 'node_modules'));
    const git = (...args: string[]) =>
      execFileSync('git', ['-c', 'user.name=test', '-c', 'user.email=test@invalid', ...args], {
        cwd: copy,
        encoding: 'utf8',
      });
    git('init', '-q');
    git('add', '-A');
    git('commit', '-qm', 'base', '--no-verify');

    for (const [id, template] of [
      [WORKER_ID, 'worker'],
      [WASI_ID, 'wasi'],
    ] as const) {
      const run = spawnSync(process.execPath, ['dist/scripts/new-language.js', id, '--template', template], {
        cwd: copy,
        encoding: 'utf8',
      });
      expect(run.status, run.stderr).toBe(0);
    }
    status = git('status', '--porcelain', '--untracked-files=all');

    // Compile only the new folders (and what they import) into the copy's dist/.
    const tsconfig = join(copy, '..', `${copy.split('/').at(-1)}-tsconfig.json`);
    writeFileSync(
      tsconfig,
      JSON.stringify({
        extends: join(copy, 'tsconfig.build.json'),
        compilerOptions: { typeRoots: [join(copy, 'node_modules/@types')] },
        include: [join(copy, 'interpreters', WORKER_ID), join(copy, 'interpreters', WASI_ID)],
      }),
    );
    const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', tsconfig], {
      cwd: copy,
      encoding: 'utf8',
    });
    rmSync(tsconfig, { force: true });
    expect(tsc.status, tsc.stdout + tsc.stderr).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await server?.close();
    if (copy !== undefined) rmSync(copy, { recursive: true, force: true });
  });

  it('changes nothing outside interpreters/<id>/', () => {
    const paths = status
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => l.slice(3));
    expect(paths.length).toBeGreaterThan(40);
    const outside = paths.filter(
      (p) => !p.startsWith(`interpreters/${WORKER_ID}/`) && !p.startsWith(`interpreters/${WASI_ID}/`),
    );
    expect(outside).toEqual([]);
    expect(paths).toContain(`interpreters/${WORKER_ID}/manifest.json`);
    expect(paths).toContain(`interpreters/${WASI_ID}/wasi.ts`);
  });

  it('keeps green the tests that walk every language folder (layout, Kubernetes manifests, docs)', () => {
    // The project's own tests, run in the copy that has the two new languages: adding a language
    // must not break `npm test` (docs/adding-a-language.md promises it touches nothing else).
    const files = [
      'test/unit/layout.test.ts',
      'test/unit/kubernetes.test.ts',
      'test/unit/config-docs.test.ts',
      'test/unit/docs.test.ts',
    ];
    const run = spawnSync(process.execPath, [join(root, 'node_modules/vitest/vitest.mjs'), 'run', ...files], {
      cwd: copy,
      encoding: 'utf8',
      timeout: 180_000,
      env: { ...process.env, CI: '1', NO_COLOR: '1' },
    });
    expect(run.status, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`Test Files\\s+${files.length} passed`));
  }, 200_000);

  it('is served: /v1/languages lists both new languages and a call answers a typed error', async () => {
    const { startServer, postJson } = (await import(
      pathToFileURL(join(copy, 'dist/scripts/lib/server.js')).href
    )) as {
      startServer: (env: Record<string, string>, options?: StartOptions) => Promise<RunningServer>;
      postJson: (url: string, body: unknown) => Promise<{ status: number; body: any }>;
    };
    server = await startServer({ POLYEVAL_LANGUAGES: `${WORKER_ID},${WASI_ID}`, POLYEVAL_POOL_SIZE: '1' });
    const languages = (await (await fetch(`${server.url}/v1/languages`)).json()) as {
      languages: { id: string; ready: boolean }[];
    };
    expect(languages.languages.map((l) => [l.id, l.ready])).toEqual([
      [WORKER_ID, true],
      [WASI_ID, true],
    ]);
    for (const id of [WORKER_ID, WASI_ID]) {
      const { status, body } = await postJson(`${server.url}/v1/evaluate`, { language: id, code: 'x' });
      expect(status).toBe(200);
      expect(body.error.code).toBe('RUNTIME_ERROR');
      expect(body.error.message).toMatch(/not written yet/);
    }
  });

  it('shows red in the conformance suite until the fixtures are written', () => {
    const report = join(copy, 'conformance.json');
    const run = spawnSync(
      process.execPath,
      ['dist/scripts/conformance.js', '--language', WORKER_ID, '--case', '/^00[12]-/', '--json', report],
      { cwd: copy, encoding: 'utf8', timeout: 90_000 },
    );
    expect(run.status, run.stdout + run.stderr).toBe(1);
    expect(run.stdout).toMatch(/FAIL/);
    const results = JSON.parse(readFileSync(report, 'utf8')) as {
      language: string;
      case: string;
      status: string;
      reason?: string;
    }[];
    expect(results.map((r) => [r.language, r.case, r.status])).toEqual([
      [WORKER_ID, '001-add-integers', 'fail'],
      [WORKER_ID, '002-roundtrip-null', 'fail'],
    ]);
    expect(results[0]!.reason).toMatch(/stub/);
  }, 120_000);
});

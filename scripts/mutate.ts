// npm run mutate: proves that named tests can fail. Each mutation breaks one defence on purpose
// (a file, a search string, its replacement) in a scratch copy of the project, rebuilds it, and runs
// only the tests that claim to guard that defence: every one of them must fail. A mutation that no
// test catches "survives", and the script exits non-zero. The tests name their mutation in a
// `// mutation: ...` comment; this list is where those claims are checked. Before any mutation the
// same tests run on the unmutated copy and must pass, so a failure is the mutation's doing.
//
// Usage: npm run mutate [-- name ...]   (default: every mutation; docs/testing.md)

import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { projectRoot } from '../src/paths.js';

interface Guard {
  /** A test file, relative to the project root. */
  readonly file: string;
  /** The test's name, or a part of it that names it alone in that file. */
  readonly test: string;
}

interface Mutation {
  readonly name: string;
  /** What the mutation breaks, in words. */
  readonly breaks: string;
  readonly file: string;
  readonly search: string;
  readonly replace: string;
  /** The tests that must fail with the mutation in place (each must pass without it). */
  readonly guards: readonly Guard[];
}

export const MUTATIONS: readonly Mutation[] = [
  {
    name: 'zobject-key-check',
    breaks: 'the codec no longer refuses invalid keys in a guest-made ZObject',
    file: 'src/wikifunctions/codec.ts',
    search: "if (key !== 'Z1K1' && !KEY_PATTERN.test(key)) {",
    replace: "if (key !== 'Z1K1' && !KEY_PATTERN.test(key) && key.length < 0) {",
    guards: [{ file: 'test/security/wikifunctions.test.ts', test: 'wf-guest-forged-tags' }],
  },
  {
    name: 'javascript-snapshots-off',
    breaks: 'the JavaScript runner never uses heap snapshots (a runtime per call, as with SNAPSHOTS=off)',
    file: 'interpreters/javascript/runner.ts',
    search: 'const build = data.snapshots ? KNOWN_BUILDS[data.wasmSha256] : undefined;',
    replace: 'const build = data.snapshots ? KNOWN_BUILDS[data.wasmSha256.toUpperCase()] : undefined;',
    guards: [{ file: 'test/e2e/javascript.test.ts', test: 'restores a heap snapshot per call' }],
  },
  {
    name: 'javascript-first-call-unrestored',
    breaks: "a new QuickJS instance's first call runs on the unrestored sandbox (clock-seeded Math.random)",
    file: 'interpreters/javascript/runner.ts',
    search: 'created.reusable = { sandbox, snapshot, baseHandles: sandbox.handles.length, dirty: true };',
    replace: 'created.reusable = { sandbox, snapshot, baseHandles: sandbox.handles.length, dirty: false };',
    guards: [{ file: 'test/javascript/random.test.ts', test: 'first call of a new instance' }],
  },
  {
    name: 'javascript-promise-state',
    breaks: "the settled value of an async entry is not read from the promise's state",
    file: 'interpreters/javascript/runner.ts',
    search: 'if (!state.notAPromise) value = keep(state.value);',
    replace: 'if (!state.notAPromise && value === undefined) value = keep(state.value);',
    guards: [{ file: 'test/security/javascript.test.ts', test: 'js-promise-hooks' }],
  },
  {
    name: 'javascript-console-stringify-throws',
    breaks: 'console.log rethrows a throwing JSON.stringify into the host instead of printing "[object]"',
    file: 'interpreters/javascript/runner.ts',
    search: "json.error.dispose();\n    return '[object]';",
    replace: "json.error.dispose();\n    throw new Error('JSON.stringify threw');",
    guards: [{ file: 'test/security/javascript.test.ts', test: 'js-console-reentrancy' }],
  },
  {
    name: 'pyodide-memory-maximum',
    breaks: "the Pyodide module's memory maximum is written as 4 GiB instead of the limit",
    file: 'interpreters/python/engine.ts',
    search: '...leb(min.value), ...leb(maxPages)]',
    replace: '...leb(min.value), ...leb(65536)]',
    guards: [
      {
        file: 'test/python/isolation.test.ts',
        test: 'patches a memory maximum that the engine then enforces',
      },
      { file: 'test/python/isolation.test.ts', test: "patches Pyodide's memory maximum" },
    ],
  },
  {
    name: 'lua-memory-cap',
    breaks: "the Lua VM's heap may grow to four times the call's memory limit",
    file: 'interpreters/lua/runner.ts',
    search: 'memoryCap: call.limits.memoryMb * MiB',
    replace: 'memoryCap: 4 * call.limits.memoryMb * MiB',
    guards: [{ file: 'test/lua/lua.test.ts', test: 'stops a memory balloon at the memory limit' }],
  },
  {
    name: 'thread-cpu-process-wide',
    breaks: "a call's CPU figure is the whole process's CPU time, other threads included",
    file: 'src/executor/host/thread-cpu.ts',
    search: 'export function threadCpuMs(): number {\n',
    replace:
      'export function threadCpuMs(): number {\n  if (process.pid > 0) return (process.cpuUsage().user + process.cpuUsage().system) / 1000;\n',
    guards: [{ file: 'test/unit/thread-cpu.test.ts', test: 'does not count CPU burnt by another thread' }],
  },
  {
    name: 'pyodide-core-in-inittab',
    breaks: "Pyodide's _pyodide_core stays in CPython's inittab (a second copy can be loaded)",
    file: 'interpreters/python/harness.py',
    search: '    "_pyodide_core",\n    "_ctypes",',
    replace: '    "_ctypes",',
    guards: [
      { file: 'test/security/python.test.ts', test: 'py-pyodide-core-to-process' },
      { file: 'test/security/python.test.ts', test: 'py-pyodide-core-to-network' },
    ],
  },
  {
    name: 'python-pyodide-module-allowed',
    breaks: 'the pyodide package is not among the modules the guest may not import',
    file: 'interpreters/python/harness.py',
    search: '        "pyodide",\n',
    replace: '',
    guards: [
      { file: 'test/python/escapes.test.ts', test: 'pyodide.code.run_js is unreachable' },
      { file: 'test/python/escapes.test.ts', test: 'pyodide.ffi is unreachable' },
    ],
  },
  {
    name: 'python-socket-events-allowed',
    breaks: 'socket.* audit events are no longer refused',
    file: 'interpreters/python/harness.py',
    search: 'BLOCKED_EVENT_PREFIXES = ("ctypes.", "socket.", ',
    replace: 'BLOCKED_EVENT_PREFIXES = ("ctypes.", ',
    guards: [
      { file: 'test/python/escapes.test.ts', test: 'a socket cannot listen' },
      { file: 'test/python/escapes.test.ts', test: 'a socket cannot connect to a loopback listener' },
    ],
  },
  {
    name: 'thread-cpu-schedstat-reopened',
    breaks: 'a thread opens /proc/thread-self/schedstat again on every reading (a descriptor leak)',
    file: 'src/executor/host/thread-cpu.ts',
    search: "schedstat ??= openSync('/proc/thread-self/schedstat', 'r');",
    replace: "schedstat = openSync('/proc/thread-self/schedstat', 'r');",
    guards: [{ file: 'test/security/lua.test.ts', test: 'lua-host-files-and-processes' }],
  },
];

const root = fileURLToPath(projectRoot);

function run(command: string, args: readonly string[], cwd: string): { status: number; output: string } {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', maxBuffer: 256 * 2 ** 20 });
  return { status: result.status ?? 1, output: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

/** A copy of the project's files (tracked and new, not ignored) with node_modules linked in. */
function scratchCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'polyeval-mutate-'));
  const listed = run('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], root);
  if (listed.status !== 0) throw new Error(`Cannot list the project's files: ${listed.output}`);
  for (const file of listed.output.split('\0')) {
    if (file === '' || !existsSync(join(root, file))) continue;
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    cpSync(join(root, file), join(dir, file));
  }
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return dir;
}

function build(dir: string): void {
  // Incremental: after the first build, a mutation re-emits only what its file touches.
  const tsc = run(
    process.execPath,
    [
      'node_modules/typescript/bin/tsc',
      '-p',
      'tsconfig.build.json',
      '--incremental',
      '--tsBuildInfoFile',
      join(dir, '.cache', 'mutate.tsbuildinfo'),
    ],
    dir,
  );
  if (tsc.status !== 0) throw new Error(`The build failed:\n${tsc.output}`);
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Runs the guards of one file; returns each guard's status ('passed', 'failed', or 'missing'). */
function runGuards(dir: string, file: string, tests: readonly string[]): Map<string, string> {
  const report = join(dir, '.cache', `mutate-${Date.now()}.json`);
  mkdirSync(dirname(report), { recursive: true });
  const pattern = tests.map(escapeRegExp).join('|');
  run(
    process.execPath,
    [
      'node_modules/vitest/vitest.mjs',
      'run',
      file,
      '-t',
      pattern,
      '--reporter=json',
      `--outputFile.json=${report}`,
    ],
    dir,
  );
  const statuses = new Map<string, string>(tests.map((t) => [t, 'missing']));
  if (!existsSync(report)) return statuses;
  const json = JSON.parse(readFileSync(report, 'utf8')) as {
    testResults: { assertionResults: { title: string; status: string }[] }[];
  };
  for (const result of json.testResults.flatMap((r) => r.assertionResults)) {
    for (const test of tests) {
      if (!result.title.includes(test) || result.status === 'pending' || result.status === 'skipped')
        continue;
      // Any failing test carrying the name counts as failed.
      if (statuses.get(test) !== 'failed') statuses.set(test, result.status);
    }
  }
  rmSync(report, { force: true });
  return statuses;
}

function groupByFile(guards: readonly Guard[]): Map<string, string[]> {
  const files = new Map<string, string[]>();
  for (const guard of guards) files.set(guard.file, [...(files.get(guard.file) ?? []), guard.test]);
  return files;
}

function main(): number {
  const wanted = process.argv.slice(2);
  const mutations = wanted.length === 0 ? MUTATIONS : MUTATIONS.filter((m) => wanted.includes(m.name));
  const unknown = wanted.filter((name) => !MUTATIONS.some((m) => m.name === name));
  if (unknown.length > 0) {
    console.error(
      `Cannot run unknown mutations: ${unknown.join(', ')} (known: ${MUTATIONS.map((m) => m.name).join(', ')})`,
    );
    return 2;
  }
  const started = performance.now();
  const dir = scratchCopy();
  console.log(`mutate: scratch copy at ${dir}`);
  try {
    // Every mutation must apply exactly once to today's sources.
    for (const m of mutations) {
      const source = readFileSync(join(dir, m.file), 'utf8');
      const count = source.split(m.search).length - 1;
      if (count !== 1)
        throw new Error(`Cannot apply ${m.name}: its search string occurs ${count} times in ${m.file}`);
    }

    build(dir);
    let failures = 0;
    console.log('mutate: the guards on the unmutated copy (each must pass)');
    for (const [file, tests] of groupByFile(mutations.flatMap((m) => m.guards))) {
      for (const [test, status] of runGuards(dir, file, tests)) {
        console.log(`  ${status === 'passed' ? 'ok  ' : 'FAIL'} ${file} > ${test}: ${status}`);
        if (status !== 'passed') failures++;
      }
    }
    if (failures > 0) {
      console.error('mutate: guards fail without any mutation: nothing can be judged');
      return 1;
    }

    const survived: string[] = [];
    for (const m of mutations) {
      const path = join(dir, m.file);
      const original = readFileSync(path, 'utf8');
      writeFileSync(path, original.replace(m.search, m.replace));
      const t0 = performance.now();
      try {
        try {
          build(dir);
        } catch (error) {
          survived.push(m.name);
          console.log(
            `BROKEN   ${m.name}: the mutated code does not build (fix its replacement)\n${String(error)}`,
          );
          continue;
        }
        const caught: string[] = [];
        const missed: string[] = [];
        for (const [file, tests] of groupByFile(m.guards)) {
          for (const [test, status] of runGuards(dir, file, tests)) {
            (status === 'failed' ? caught : missed).push(`${file} > ${test} (${status})`);
          }
        }
        const seconds = ((performance.now() - t0) / 1000).toFixed(0);
        if (missed.length === 0) {
          console.log(`caught   ${m.name} (${m.breaks}) in ${seconds} s by ${caught.join('; ')}`);
        } else {
          survived.push(m.name);
          console.log(`SURVIVED ${m.name} (${m.breaks}) in ${seconds} s: still passing ${missed.join('; ')}`);
        }
      } finally {
        writeFileSync(path, original);
      }
    }
    const total = ((performance.now() - started) / 1000).toFixed(0);
    console.log(
      `mutate: ${mutations.length - survived.length} of ${mutations.length} mutations caught in ${total} s` +
        (survived.length > 0 ? `; survived: ${survived.join(', ')}` : ''),
    );
    return survived.length === 0 ? 0 : 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

process.exitCode = main();

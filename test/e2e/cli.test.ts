// The `polyeval` command, run as a user would (node dist/src/cli/polyeval.js): `run` executes a
// file in the same sandbox and limits as the service and reflects the outcome in its exit code;
// `languages` lists what is installed; `conformance` delegates to the conformance runner.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'polyeval-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function polyeval(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, ['dist/src/cli/polyeval.js', ...args], {
    cwd: root,
    env: { ...process.env, POLYEVAL_LOG_LEVEL: 'warn', ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('polyeval run', () => {
  it('runs a file, printing its output and then the value as JSON; exit 0', () => {
    const path = file('add.js', 'function add(a, b) {\n  console.log("adding");\n  return a + b;\n}\n');
    const r = polyeval([
      'run',
      path,
      '--function',
      'add',
      '--args',
      '[20000000000000000001, 20000000000000000002]',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('adding\n40000000000000000003\n');
    expect(r.stderr).toContain('ready');
  });

  it('exits 1 on a guest failure, naming its code; limits apply as in the service', () => {
    const thrower = file('throw.js', 'function main() {\n  throw new TypeError("nope");\n}\n');
    const failed = polyeval(['run', thrower]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/RUNTIME_ERROR: .*nope/);
    const spin = file('spin.js', 'function main() { for (;;) {} }');
    const timeout = polyeval(['run', spin, '--timeout-ms', '100', '--json']);
    expect(timeout.code).toBe(1);
    expect(JSON.parse(timeout.stdout)).toMatchObject({
      ok: false,
      error: { code: 'TIMEOUT' },
      limits: { timeoutMs: 100 },
    });
  });

  it('exits 2 on bad usage, saying what is wrong', () => {
    expect(polyeval(['run', file('x.unknownext', '')]).stderr).toMatch(/pass --language/);
    expect(polyeval(['run', file('y.js', ''), '--args', '{']).code).toBe(2);
    expect(polyeval(['frobnicate']).code).toBe(2);
    expect(polyeval(['run', file('z.js', 'function main() {}'), '--language', 'cobol']).stderr).toMatch(
      /Unknown language "cobol"/,
    );
  });
});

describe('polyeval usage', () => {
  it("prints a command's own usage for --help, exit 0, and names the conformance --url", () => {
    const r = polyeval(['run', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('polyeval run <file>');
    expect(r.stdout).toContain('--timeout-ms N');
    expect(r.stderr).not.toContain('ERR_PARSE_ARGS');
    expect(polyeval(['conformance', '--help']).stdout).toContain('--url URL');
    expect(polyeval(['--help']).stdout).toContain('--url URL');
  });

  it('says what is wrong with an option in its own words', () => {
    const path = file('one.js', 'function main() { return 1 }');
    const negative = polyeval(['run', path, '--timeout-ms', '-1']);
    expect(negative.code).toBe(2);
    expect(negative.stderr).toContain('--timeout-ms must be a positive integer, got "-1"');
    expect(negative.stderr).not.toContain('ambiguous');
    const unknown = polyeval(['run', path, '--timeout', '5']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('Unknown option --timeout for "polyeval run"');
    const missing = polyeval(['run', path, '--memory-mb']);
    expect(missing.stderr).toContain('--memory-mb needs a value');
  });

  it('says when a limit was clamped to the ceiling', () => {
    const path = file('two.js', 'function main() { return 2 }');
    const r = polyeval(['run', path, '--timeout-ms', '999999']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(
      /--timeout-ms 999999 is above the ceiling of javascript: the call ran with \d+ ms/,
    );
  });
});

describe('polyeval languages', () => {
  it('lists every language folder with its limits', () => {
    const r = polyeval(['languages', '--json']);
    expect(r.code).toBe(0);
    const list = JSON.parse(r.stdout) as any[];
    const js = list.find((l) => l.id === 'javascript');
    expect(js).toMatchObject({ extension: 'js', enabled: true });
    expect(js.limits.defaults.timeoutMs).toBeLessThanOrEqual(js.limits.ceilings.timeoutMs);
    expect(polyeval(['languages']).stdout).toMatch(/^id\s+aliases/);
  });
});

describe('polyeval conformance', () => {
  it('names the URL and the cause when the server is not there', async () => {
    // A port that was free a moment ago: nothing listens on it.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise((resolve) => probe.close(resolve));
    const r = polyeval(['conformance', '--url', `http://127.0.0.1:${port}`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`Cannot reach the server at http://127.0.0.1:${port}: connection refused`);
    expect(r.stderr).not.toMatch(/^fetch failed$/m);
  });

  it('delegates to the conformance runner', () => {
    const r = polyeval(['conformance', '--language', 'javascript', '--case', '001-add']);
    expect(r.stdout + r.stderr).toContain('javascript');
    expect(r.code).toBe(0);
  });
});

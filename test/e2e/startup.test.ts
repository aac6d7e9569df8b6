// Starting the service as an operator does: a bad per-language setting stops it before it
// listens, exactly as a bad global variable does, with a message naming the variable and the same
// exit code from `npm start` (node dist/src/main.js) and `polyeval serve`.

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { startServer } from '../helpers/server.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

function start(entry: string[], env: Record<string, string>) {
  const result = spawnSync(process.execPath, entry, {
    cwd: root,
    env: { ...process.env, PORT: '0', POLYEVAL_HOST: '127.0.0.1', POLYEVAL_LANGUAGES: 'javascript', ...env },
    encoding: 'utf8',
    // A service that does not stop would run until killed: the test then fails on the status.
    timeout: 60_000,
  });
  return { code: result.status, stderr: result.stderr, stdout: result.stdout };
}

const MAIN = ['dist/src/main.js'];
const SERVE = ['dist/src/cli/polyeval.js', 'serve'];

describe('bad configuration at start', () => {
  it('a bad per-language setting stops the service, naming the variable (npm start and polyeval serve alike)', () => {
    for (const entry of [MAIN, SERVE]) {
      const r = start(entry, { POLYEVAL_JAVASCRIPT_SNAPSHOTS: 'maybe' });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(
        'polyeval: cannot start: Cannot start language "javascript": Invalid POLYEVAL_JAVASCRIPT_SNAPSHOTS="maybe": expected on or off',
      );
      expect(r.stdout).not.toContain('"msg":"Listening"');
    }
  });

  it('a bad global variable stops it with the same exit code', () => {
    for (const entry of [MAIN, SERVE]) {
      const r = start(entry, { POLYEVAL_POOL_SIZE: 'many' });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('Invalid POLYEVAL_POOL_SIZE="many"');
    }
  });
});

describe('a mistyped variable', () => {
  it('is reported at start with the closest known name, and the service still starts', async () => {
    const server = await startServer(
      { POLYEVAL_LANGUAGES: 'lua', POLYEVAL_POOLSIZE: '4' },
      { waitReady: false },
    );
    try {
      const line = server
        .logs()
        .split('\n')
        .find((l) => l.includes('POLYEVAL_POOLSIZE'));
      expect(line).toBeDefined();
      expect(JSON.parse(line!)).toMatchObject({
        level: 'warn',
        msg: 'Unknown configuration variable POLYEVAL_POOLSIZE is ignored; did you mean POLYEVAL_POOL_SIZE?',
        suggestion: 'POLYEVAL_POOL_SIZE',
      });
    } finally {
      await server.close();
    }
  });
});

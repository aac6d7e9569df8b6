// The wasm language through the real server (node dist/src/main.js on a free port): the cases the
// issue lists, each bad one followed by a good call, modules built from .wat by the suite and sent
// both as text and as base64 binaries, deploy-once/run-many through POST /v1/modules.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonValue } from '../../src/executor/json-value.js';
import { expectNextCallSucceeds } from '../helpers/calls.js';
import { postJson, type RunningServer, startServer } from '../helpers/server.js';
import { watBase64 } from './helpers.js';
import {
  ARITHMETIC,
  COUNTER,
  DEEP_RECURSION,
  ECHO_COMMAND,
  exitWith,
  flood,
  GROW_TO_1GIB,
  IMPORTS_ENV,
  PATH_OPEN,
  SPIN,
  START_LOOP,
  TABLE_GROWTH,
} from './modules.js';

let server: RunningServer;

beforeAll(async () => {
  // A low fuel rate so that fuel, not the watchdog, stops plain loops even on a loaded machine.
  server = await startServer({
    POLYEVAL_LANGUAGES: 'wasm',
    POLYEVAL_POOL_SIZE: '2',
    POLYEVAL_WASM_FUEL_PER_MS: '20000',
  });
});

afterAll(async () => {
  await server?.close();
});

function post(path: string, body: Record<string, unknown>): Promise<{ status: number; body: any }> {
  return postJson(`${server.url}${path}`, body, {}, { exact: true });
}

function evaluate(
  source: { code: string } | { module: string },
  fn: string,
  args: JsonValue[] = [],
  limits?: Record<string, number>,
) {
  return post('/v1/evaluate', {
    language: 'wasm',
    ...source,
    function: fn,
    args,
    ...(limits ? { limits } : {}),
  });
}

describe('wasm over HTTP', () => {
  it('echoes JSON through a WASI command (text and binary forms)', async () => {
    const value = { text: 'héllo 😀', list: [1, 2.5, null, false], big: 2n ** 60n };
    for (const code of [ECHO_COMMAND, await watBase64(ECHO_COMMAND)]) {
      const { status, body } = await evaluate({ code }, 'main', [value]);
      expect(status).toBe(200);
      expect(body).toMatchObject({ ok: true, value, stdout: '', stats: { exitCode: 0 } });
    }
  });

  it('adds i32 and i64 through a deployed module, 2^60 intact', async () => {
    const deployed = await post('/v1/modules', { language: 'wasm', code: await watBase64(ARITHMETIC) });
    expect(deployed.status).toBe(201);
    expect(deployed.body).toMatchObject({ ok: true, language: 'wasm', kind: 'library' });
    const id = deployed.body.id as string;
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect((await evaluate({ module: id }, 'add', [2, 3])).body).toMatchObject({ ok: true, value: 5 });
    const big = await evaluate({ module: id }, 'add64', [2n ** 60n, 2n ** 60n]);
    expect(big.body).toMatchObject({ ok: true, value: 2n ** 61n });
    const unknown = await evaluate({ module: '0'.repeat(64) }, 'add', [1, 2]);
    expect(unknown.status).toBe(404);
  });

  it('stops a module that loops forever, and one whose start function does', async () => {
    const loop = await evaluate({ code: SPIN }, 'spin', [], { timeoutMs: 500 });
    expect(loop.body).toMatchObject({ ok: false, error: { code: 'TIMEOUT' } });
    expect(loop.body.stats.fuel).toBeGreaterThan(0);
    const start = await evaluate({ code: START_LOOP }, 'f', [], { timeoutMs: 500 });
    expect(start.body).toMatchObject({ ok: false, error: { code: 'TIMEOUT' } });
    await expectNextCallSucceeds(server.url, 'wasm');
  });

  it('stops a module growing its memory to 1 GiB with MEMORY_LIMIT', async () => {
    const { body } = await evaluate({ code: GROW_TO_1GIB }, 'grow');
    expect(body).toMatchObject({ ok: false, error: { code: 'MEMORY_LIMIT' } });
    await expectNextCallSucceeds(server.url, 'wasm');
  });

  it('stops a module writing 100 MB to stdout at the output limit', async () => {
    const { body } = await evaluate({ code: flood(1, 100_000_000) }, 'main', [], { outputBytes: 65536 });
    expect(body).toMatchObject({ ok: false, error: { code: 'OUTPUT_LIMIT' } });
    expect(Buffer.byteLength(body.stdout)).toBe(65536);
    await expectNextCallSucceeds(server.url, 'wasm');
  });

  it('reports proc_exit(42) and lives on', async () => {
    const { body } = await evaluate({ code: exitWith(42) }, 'main');
    expect(body).toMatchObject({
      ok: false,
      error: { code: 'RUNTIME_ERROR', exitCode: 42 },
      stderr: 'bye\n',
    });
    await expectNextCallSucceeds(server.url, 'wasm');
  });

  it('rejects a module importing env.something at registration, naming it', async () => {
    const deployed = await post('/v1/modules', { language: 'wasm', code: IMPORTS_ENV });
    expect(deployed.status).toBe(422);
    expect(deployed.body.error.code).toBe('SYNTAX_ERROR');
    expect(deployed.body.error.message).toContain('env.something');
    const called = await evaluate({ code: IMPORTS_ENV }, 'f');
    expect(called.body).toMatchObject({ ok: false, error: { code: 'SYNTAX_ERROR' } });
    await expectNextCallSucceeds(server.url, 'wasm');
  });

  it('fails path_open on /etc/passwd', async () => {
    const { body } = await evaluate({ code: PATH_OPEN }, 'open', [3]);
    expect(body).toMatchObject({ ok: true, value: 8 }); // EBADF: there is no directory descriptor
  });

  it('calls a garbage binary SYNTAX_ERROR', async () => {
    const { body } = await evaluate({ code: Buffer.from('\0asm garbage').toString('base64') }, 'f');
    expect(body).toMatchObject({ ok: false, error: { code: 'SYNTAX_ERROR' } });
    await expectNextCallSucceeds(server.url, 'wasm');
  });

  it('shares no memory between two calls', async () => {
    const first = await evaluate({ code: COUNTER }, 'bump');
    const second = await evaluate({ code: COUNTER }, 'bump');
    expect([first.body.value, second.body.value]).toEqual([1001, 1001]);
  });

  it('survives deep recursion and table growth', async () => {
    expect((await evaluate({ code: DEEP_RECURSION }, 'down', [0])).body).toMatchObject({
      ok: false,
      error: { code: 'RUNTIME_ERROR' },
    });
    expect((await evaluate({ code: TABLE_GROWTH }, 'grow', [10_000_000])).body).toMatchObject({
      ok: true,
      value: -1,
    });
    await expectNextCallSucceeds(server.url, 'wasm');
  });
});

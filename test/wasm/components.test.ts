// WebAssembly components through the real server (node dist/src/main.js): deploy once with
// POST /v1/modules or send inline, typed exports, the string `run` convention, the limits and the
// refusals. Small components are fixtures of the project (test/fixtures/components/PROVENANCE.md);
// the ~12 MB StarlingMonkey ones are read from ../shared/components when that folder exists.

import { existsSync, readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { componentEmbed, componentNew, parse } from '@bytecodealliance/jco-transpile/wasm-tools';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson, type RunningServer, startServer } from '../helpers/server.js';

const FIXTURES = new URL('../fixtures/components/', import.meta.url);
// The workplace's shared components: ../shared/components beside the project, or the folder
// TEST_SHARED_COMPONENTS names (a checkout elsewhere).
const SHARED = process.env.TEST_SHARED_COMPONENTS
  ? pathToFileURL(`${process.env.TEST_SHARED_COMPONENTS.replace(/\/?$/, '/')}`)
  : new URL('../../../shared/components/', import.meta.url);
const fixture = (name: string): string => readFileSync(new URL(name, FIXTURES)).toString('base64');

let server: RunningServer;

beforeAll(async () => {
  server = await startServer({
    POLYEVAL_LANGUAGES: 'wasm',
    POLYEVAL_POOL_SIZE: '2',
    POLYEVAL_BODY_LIMIT_BYTES: String(24 * 2 ** 20),
  });
}, 60_000);

afterAll(async () => {
  await server?.close();
});

function post(path: string, body: Record<string, unknown>): Promise<{ status: number; body: any }> {
  return postJson(`${server.url}${path}`, body, {}, { exact: true });
}

describe('components over HTTP', () => {
  it('deploys add.wasm once and calls its s64 export exactly, beyond 2^53 too', async () => {
    const deployed = await post('/v1/modules', { language: 'wasm', code: fixture('add.wasm') });
    expect(deployed.status).toBe(201);
    expect(deployed.body.id).toBe('186a269d9b8d26aa0f789ab348eeab65039a6a4b951ed5bba88a6dfae3b0f0f6');
    expect(deployed.body.functions).toEqual({ add: '(a: s64, b: s64) -> s64' });
    const call = (args: unknown[]) =>
      post('/v1/evaluate', { language: 'wasm', module: deployed.body.id, function: 'add', args });
    expect((await call([40, 2])).body).toMatchObject({ ok: true, value: 42 });
    expect((await call([-5, 3])).body).toMatchObject({ ok: true, value: -2 });
    expect((await call([9007199254740993n, 1])).body.value).toBe(9007199254740994n);
  }, 60_000);

  it('refuses s64 arguments out of range instead of wrapping them', async () => {
    const r = await post('/v1/evaluate', {
      language: 'wasm',
      code: fixture('add.wasm'),
      function: 'add',
      args: [2 ** 63, 0],
    });
    expect(r.body.ok).toBe(false);
    expect(r.body.error.code).toBe('INVALID_ARGUMENT');
    expect(r.body.error.message).toMatch(/s64/);
  }, 60_000);

  it('calls the string run export of a componentize-qjs component', async () => {
    const r = await post('/v1/evaluate', {
      language: 'wasm',
      code: fixture('hello-qjs.wasm'),
      function: 'run',
      args: ['héllo wörld 🌍'],
    });
    expect(r.body).toMatchObject({ ok: true, value: '🌍 DLRÖW OLLÉH' });
  }, 60_000);
});

describe('typed exports map to and from JSON (typed.wasm)', () => {
  let id = '';
  const call = (fn: string, args: unknown[]) =>
    post('/v1/evaluate', { language: 'wasm', module: id, function: fn, args });

  beforeAll(async () => {
    const deployed = await post('/v1/modules', { language: 'wasm', code: fixture('typed.wasm') });
    expect(deployed.status, JSON.stringify(deployed.body)).toBe(201);
    id = deployed.body.id;
  }, 60_000);

  it('lists the typed signatures at deploy', async () => {
    const again = await post('/v1/modules', { language: 'wasm', code: fixture('typed.wasm') });
    expect(again.body.cached).toBe(true);
    expect(again.body.functions).toMatchObject({
      'add-u64': '(a: u64, b: u64) -> u64',
      scale: '(p: record, k: f64) -> record',
      'checked-div': '(a: s32, b: s32) -> result<s32, string>',
    });
  });

  it('u64 and s64 are exact beyond 2^53 and range-checked before the call', async () => {
    expect((await call('add-u64', [2n ** 63n, 2n ** 62n])).body).toMatchObject({
      ok: true,
      value: 2n ** 63n + 2n ** 62n,
    });
    expect((await call('add-s64', [-(2n ** 63n), 5])).body).toMatchObject({
      ok: true,
      value: -(2n ** 63n) + 5n,
    });
    for (const [fn, args] of [
      ['add-u64', [-1, 0]],
      ['add-u64', [2n ** 64n, 0]],
      ['add-s64', [2n ** 63n, 0]],
      ['add-s64', [1.5, 0]],
      ['add-s64', ['1', 0]],
    ] as const) {
      const r = await call(fn, [...args]);
      expect(r.body.error?.code, `${fn} ${String(args[0])}`).toBe('INVALID_ARGUMENT');
    }
  });

  it('records, lists, variants, options, results, enums and strings', async () => {
    expect((await call('scale', [{ x: 1.5, y: -2 }, 2])).body.value).toEqual({ x: 3, y: -4 });
    expect((await call('sum', [[1, 2, 9007199254740993n]])).body.value).toBe(9007199254740996n);
    expect((await call('sum', [[]])).body.value).toBe(0);
    expect((await call('area', [{ tag: 'square', val: 3 }])).body.value).toBe(9);
    expect((await call('area', [{ tag: 'nothing' }])).body.value).toBe(0);
    expect((await call('maybe-double', [21])).body.value).toBe(42);
    expect((await call('maybe-double', [null])).body).toMatchObject({ ok: true, value: null });
    expect((await call('checked-div', [7, 2])).body.value).toEqual({ ok: 3 });
    expect((await call('checked-div', [7, 0])).body.value).toEqual({ err: 'division by zero' });
    expect((await call('next-color', ['blue'])).body.value).toBe('red');
    expect((await call('echo', ['héllo 🌍'])).body.value).toBe('héllo 🌍');
  });

  it('refuses values of the wrong shape with INVALID_ARGUMENT naming the place', async () => {
    const cases: [string, unknown[], RegExp][] = [
      ['scale', [{ x: 1 }, 2], /"y"/],
      ['scale', [{ x: 1, y: 2, z: 3 }, 2], /"z"/],
      ['area', [{ tag: 'triangle', val: 1 }], /circle, square, nothing/],
      // Data the type has no place for: refused, not dropped.
      ['area', [{ tag: 'nothing', val: 5 }], /without "val" \(the case carries no value\)/],
      ['area', [{ tag: 'square', val: 3, side: 4 }], /without "side"/],
      ['next-color', ['purple'], /"red"/],
      ['sum', [[1, 'two']], /argument 1 \("xs"\)\[1\]/],
      ['echo', [42], /string/],
      ['echo', [], /takes 1 argument/],
    ];
    for (const [fn, args, message] of cases) {
      const r = await call(fn, args);
      expect(r.body.error?.code, fn).toBe('INVALID_ARGUMENT');
      expect(r.body.error.message).toMatch(message);
    }
  });

  it('names what it exports when the function is unknown', async () => {
    const r = await call('nope', []);
    expect(r.body.error.code).toBe('ENTRY_NOT_FOUND');
    expect(r.body.error.message).toContain('"add-u64"');
  });
});

describe('lifting a result from guest memory', () => {
  // hostile/list-past-memory.wasm (PROVENANCE.md): lists whose pointer or length lies outside the
  // component's memory. Before checkGlueSlices, jco's glue lifted them with a clamping
  // ArrayBuffer.slice and the calls answered ok with a shorter list (or the memory's last bytes).
  it('traps on a list past the memory instead of returning what the memory holds', async () => {
    const code = fixture('hostile/list-past-memory.wasm');
    const call = (fn: string) => post('/v1/evaluate', { language: 'wasm', code, function: fn, args: [] });
    expect((await call('fine-u8')).body).toMatchObject({ ok: true, value: [7, 0, 0] });
    for (const [fn, bytes, at] of [
      ['huge-u8', 2 ** 30, 16],
      ['crossing-u32', 8, 65532],
      ['negative-f64', 8, 2 ** 32 - 8],
    ] as const) {
      const r = await call(fn);
      expect(r.body.ok, JSON.stringify(r.body).slice(0, 300)).toBe(false);
      expect(r.body.error.code).toBe('RUNTIME_ERROR');
      expect(r.body.error.message).toBe(
        `Cannot run "${fn}": the component trapped (a list of ${bytes} bytes at ${at} lies outside the memory of 65536 bytes)`,
      );
    }
  }, 60_000);
});

describe('WIT names with acronym words', () => {
  // WIT allows all-uppercase words (`x-ABC`); jco names them as heck's lowerCamelCase does
  // (`xAbc`). Before wit.ts camel() did the same, such a record field was lowered from undefined
  // (0) and dropped from the result, and such a flag was never set: ok answers with wrong values.
  it('carries record fields and flags named with acronyms both ways', async () => {
    const core = await parse(`(module (memory (export "memory") 1)
      (func (export "rec") (param i32 i32 i32) (result i32)
        (i32.store (i32.const 0) (local.get 0)) (i32.store (i32.const 4) (local.get 1))
        (i32.store (i32.const 8) (local.get 2)) (i32.const 0))
      (func (export "fl") (param i32) (result i32) (local.get 0)))`);
    const wit = `package polyeval:names;
      world w {
        record r { x-ABC: u32, http-URL-x9: u32, %type: u32 }
        flags fl { a-BC, d }
        export rec: func(a: r) -> r;
        export fl: func(a: fl) -> fl;
      }`;
    const code = Buffer.from(
      await componentNew(await componentEmbed({ binary: core, witSource: wit, world: 'w' })),
    );
    const call = (fn: string, args: unknown[]) =>
      post('/v1/evaluate', { language: 'wasm', code: code.toString('base64'), function: fn, args });
    const record = { 'x-ABC': 1, 'http-URL-x9': 2, type: 3 };
    expect((await call('rec', [record])).body).toMatchObject({ ok: true, value: record });
    expect((await call('fl', [['a-BC']])).body).toMatchObject({ ok: true, value: ['a-BC'] });
    expect((await call('fl', [['a-BC', 'd']])).body).toMatchObject({ ok: true, value: ['a-BC', 'd'] });
  }, 60_000);
});

describe('WASI commands (wasi:cli/run)', () => {
  it('echo-command.wasm: stdin holds the JSON arguments, stdout is the JSON result', async () => {
    const args = [1, 'two', { x: [true, null] }, 9007199254740993n, 'é🌍'];
    const r = await post('/v1/evaluate', {
      language: 'wasm',
      code: fixture('echo-command.wasm'),
      function: 'main',
      args,
    });
    expect(r.body).toMatchObject({ ok: true, value: args });
    expect(r.body.stdout).toBe('');
  }, 60_000);

  it('exit-command.wasm: exit(err) is RUNTIME_ERROR with exitCode 1, and only the guest ends', async () => {
    const r = await post('/v1/evaluate', {
      language: 'wasm',
      code: fixture('exit-command.wasm'),
      function: 'main',
      args: [],
    });
    expect(r.body.ok).toBe(false);
    expect(r.body.error).toMatchObject({ code: 'RUNTIME_ERROR', exitCode: 1 });
    const next = await post('/v1/evaluate', {
      language: 'wasm',
      code: fixture('add.wasm'),
      function: 'add',
      args: [1, 2],
    });
    expect(next.body).toMatchObject({ ok: true, value: 3 });
  }, 60_000);

  it("a command's stdout past the output limit is OUTPUT_LIMIT", async () => {
    const big = 'x'.repeat(5000);
    const r = await post('/v1/evaluate', {
      language: 'wasm',
      code: fixture('echo-command.wasm'),
      function: 'main',
      args: [big],
      limits: { outputBytes: 1000 },
    });
    expect(r.body.ok).toBe(false);
    expect(r.body.error.code).toBe('OUTPUT_LIMIT');
  }, 60_000);
});

const hasShared = existsSync(new URL('EXPECTED.json', SHARED));
const sharedTitle = (title: string): string =>
  hasShared
    ? title
    : `${title} (skipped: ../shared/components, the 12 MB StarlingMonkey components, is absent; TEST_SHARED_COMPONENTS may name it)`;

/** Deploys a shared component with a binary upload (they are above the JSON body limit as base64). */
async function upload(name: string): Promise<string> {
  const bytes = readFileSync(new URL(name, SHARED));
  const response = await fetch(`${server.url}/v1/modules?language=wasm`, {
    method: 'POST',
    headers: { 'content-type': 'application/wasm' },
    body: bytes,
  });
  const body = (await response.json()) as { id?: string; error?: unknown };
  expect(response.status, JSON.stringify(body)).toBe(201);
  return body.id!;
}

function callModule(id: string, fn: string, args: unknown[], limits?: Record<string, number>) {
  return post('/v1/evaluate', {
    language: 'wasm',
    module: id,
    function: fn,
    args,
    ...(limits ? { limits } : {}),
  });
}

describe('StarlingMonkey components from ../shared (EXPECTED.json)', () => {
  it.skipIf(!hasShared)(
    sharedTitle('hello.wasm and json.wasm answer every expected case'),
    async () => {
      const expected = JSON.parse(readFileSync(new URL('EXPECTED.json', SHARED), 'utf8')).components;
      for (const name of ['hello.wasm', 'json.wasm']) {
        const id = await upload(name);
        expect(id).toBe(expected[name].sha256);
        for (const c of expected[name].cases) {
          const r = await callModule(id, c.function, c.args);
          expect(r.body, `${name} ${JSON.stringify(c.args)}`).toMatchObject({ ok: true, value: c.value });
        }
      }
    },
    120_000,
  );

  it.skipIf(!hasShared)(
    sharedTitle('loop.wasm ends with TIMEOUT and the next call is served'),
    async () => {
      const id = await upload('loop.wasm');
      const r = await callModule(id, 'run', ['x'], { timeoutMs: 1000 });
      expect(r.body.ok).toBe(false);
      expect(r.body.error.code).toBe('TIMEOUT');
      const next = await post('/v1/evaluate', {
        language: 'wasm',
        code: fixture('add.wasm'),
        function: 'add',
        args: [1, 2],
      });
      expect(next.body).toMatchObject({ ok: true, value: 3 });
    },
    120_000,
  );

  it.skipIf(!hasShared)(
    sharedTitle('alloc.wasm ends with MEMORY_LIMIT at 128 MiB'),
    async () => {
      const id = await upload('alloc.wasm');
      const r = await callModule(id, 'run', ['x'], { memoryMb: 128, timeoutMs: 20000 });
      expect(r.body.ok).toBe(false);
      expect(r.body.error.code).toBe('MEMORY_LIMIT');
    },
    120_000,
  );

  it.skipIf(!hasShared)(
    sharedTitle('env.wasm finds no environment, arguments, preopens or files'),
    async () => {
      const id = await upload('env.wasm');
      const files = ['/proc/self/environ', '/etc/passwd', `${process.cwd()}/package.json`];
      const r = await callModule(id, 'run', [JSON.stringify({ files })]);
      expect(r.body.ok, JSON.stringify(r.body)).toBe(true);
      const report = JSON.parse(r.body.value);
      expect(report.env).toEqual([]);
      expect(report.args).toEqual([]);
      expect(report.preopens).toEqual([]);
      for (const f of files) expect(report.files[f]).toEqual([]);
      expect(r.body.value).not.toContain('root:x:0:0');
    },
    120_000,
  );

  it.skipIf(!hasShared)(
    sharedTitle('socket.wasm connects nowhere'),
    async () => {
      const { createServer } = await import('node:net');
      let connections = 0;
      const listener = createServer((s) => {
        connections++;
        s.destroy();
      });
      await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
      const port = (listener.address() as { port: number }).port;
      try {
        const id = await upload('socket.wasm');
        const r = await callModule(id, 'run', [
          JSON.stringify({ address: [127, 0, 0, 1], port, message: 'guest was here' }),
        ]);
        if (r.body.ok) expect(JSON.parse(r.body.value).connected).toBe(false);
        else expect(r.body.error.message).toMatch(/wasi:sockets|access-denied/);
        expect(connections).toBe(0);
      } finally {
        listener.close();
      }
    },
    120_000,
  );

  it.skipIf(!hasShared)(
    sharedTitle('clock-random.wasm sees live clocks and fresh randomness'),
    async () => {
      const id = await upload('clock-random.wasm');
      const a = JSON.parse((await callModule(id, 'run', [''])).body.value);
      const b = JSON.parse((await callModule(id, 'run', [''])).body.value);
      expect(Math.abs(a.wallMs - Date.now())).toBeLessThan(60_000);
      expect(a.random).toMatch(/^[0-9a-f]{32}$/);
      expect(a.random).not.toBe(b.random);
      expect(a.cryptoRandom).not.toBe(b.cryptoRandom);
    },
    120_000,
  );
});

describe('the component store', () => {
  it('keeps at most COMPONENT_ENTRIES components: the least recently used is evicted (404 until deployed again)', async () => {
    const small = await startServer({
      POLYEVAL_LANGUAGES: 'wasm',
      POLYEVAL_POOL_SIZE: '1',
      POLYEVAL_WASM_COMPONENT_ENTRIES: '1',
    });
    try {
      const deploy = (name: string) =>
        postJson(`${small.url}/v1/modules`, { language: 'wasm', code: fixture(name) }, {}, { exact: true });
      const add = await deploy('add.wasm');
      expect(add.status).toBe(201);
      const first = await postJson(`${small.url}/v1/evaluate`, {
        language: 'wasm',
        module: add.body.id,
        function: 'add',
        args: [1, 2],
      });
      expect(first.body).toMatchObject({ ok: true, value: 3 });
      expect((await deploy('typed.wasm')).status).toBe(201);
      const evicted = await postJson(`${small.url}/v1/evaluate`, {
        language: 'wasm',
        module: add.body.id,
        function: 'add',
        args: [1, 2],
      });
      expect(evicted.status).toBe(404);
      const again = await deploy('add.wasm');
      expect(again.body).toMatchObject({ id: add.body.id, cached: false });
    } finally {
      await small.close();
    }
  }, 60_000);
});

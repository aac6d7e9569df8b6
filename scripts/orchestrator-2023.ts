// A check by hand (not in CI: it needs the real 2023 Wikifunctions orchestrator, which CI cannot
// fetch): starts Polyeval, a stub of the wiki API serving function-schemata's definitions, and the
// real orchestrator pointed at both (FUNCTION_EVALUATOR_URL and FUNCTION_EVALUATOR_WS at Polyeval),
// then sends it plain, failing and reentrant calls (JavaScript and Python: Wikifunctions.Call and
// W.Call) and compares what it answers with what it should. Exit code 0 when every answer is as
// expected and the orchestrator is still alive.
//
//   git clone https://github.com/wikimedia/mediawiki-services-function-orchestrator orch
//   git -C orch checkout 25abcfab29deb3aafc880463c474225a4a4db52a
//   git clone https://github.com/wikimedia/mediawiki-services-function-schemata orch/function-schemata
//   git -C orch/function-schemata checkout adb4e699831c46032a600acc66fb7dfff077620e
//   (cd orch && npm install --omit=dev && npm install --no-save json-stable-stringify-without-jsonify)
//   npm run check:orchestrator-2023 -- <orch> [--repaired] [--transport socket|http]
//
// --repaired preloads a module that repairs the orchestrator's getRemainingTime (a loop-relative
// clock minus epoch time, about -1.8e12, which makes it drop every reentrant `call`): the tree stays
// as it is. --transport: how Polyeval sends guests' calls (default socket: the orchestrator's
// websocket; http: its HTTP API, POLYEVAL_WIKIFUNCTIONS_ORCHESTRATOR_URL).

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from './lib/server.js';

const root = [new URL('../', import.meta.url), new URL('../../', import.meta.url)]
  .map((u) => fileURLToPath(u))
  .find((dir) => existsSync(`${dir}package.json`) && existsSync(`${dir}src`))!;
const FIXTURES = join(root, 'test/fixtures/wikifunctions/');

type Json = Record<string, unknown>;
const fixture = (name: string): Json => JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')) as Json;

/**
 * Functions of our own served by the stub wiki: Z10001 (JavaScript) appends "!", Z10002 (JavaScript)
 * and Z10003 (Python, W.Call) call Z10001 and append "?".
 */
function testFunction(zid: string, code: string, language = 'javascript'): Json {
  const key = `${zid}K1`;
  return {
    Z1K1: 'Z2',
    Z2K1: { Z1K1: 'Z6', Z6K1: zid },
    Z2K2: {
      Z1K1: 'Z8',
      Z8K1: ['Z17', { Z1K1: 'Z17', Z17K1: 'Z6', Z17K2: key, Z17K3: { Z1K1: 'Z12', Z12K1: ['Z11'] } }],
      Z8K2: 'Z6',
      Z8K3: ['Z20'],
      Z8K4: [
        'Z14',
        {
          Z1K1: 'Z14',
          Z14K1: zid,
          Z14K3: { Z1K1: 'Z16', Z16K1: { Z1K1: 'Z61', Z61K1: language }, Z16K2: code },
        },
      ],
      Z8K5: zid,
    },
    Z2K3: { Z1K1: 'Z12', Z12K1: ['Z11'] },
  };
}
const OWN: Record<string, Json> = {
  Z10001: testFunction('Z10001', "function Z10001(Z10001K1) { return Z10001K1 + '!'; }"),
  Z10002: testFunction(
    'Z10002',
    "function Z10002(Z10002K1) { return Wikifunctions.Call('Z10001', {Z10001K1: Z10002K1}) + '?'; }",
  ),
  Z10003: testFunction(
    'Z10003',
    'def Z10003(Z10003K1):\n    return W.Call("Z10001", Z10001K1=Z10003K1) + "?"',
    'python-3',
  ),
};

/** action=wikilambda_fetch over function-schemata's data/definitions (and OWN). */
function wikiStub(definitions: string): Promise<Server> {
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://stub');
    const out: Json = {};
    for (const zid of (url.searchParams.get('zids') ?? '').split('|')) {
      const file = join(definitions, `${zid}.json`);
      if (OWN[zid] !== undefined) out[zid] = { wikilambda_fetch: JSON.stringify(OWN[zid]) };
      else if (/^Z\d+$/.test(zid) && existsSync(file))
        out[zid] = { wikilambda_fetch: readFileSync(file, 'utf8') };
    }
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify(out));
  });
  return new Promise((done) => server.listen(0, '127.0.0.1', () => done(server)));
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  await new Promise((done) => server.close(done));
  return port;
}

/** The implementation (first Z14 with code) of a normal-form Z7 fixture, with new code. */
function withCode(name: string, code: string): Json {
  const z7 = structuredClone(fixture(name)) as { Z7K1: { Z8K4: Json } };
  const impl = z7.Z7K1.Z8K4.K1 as { Z14K3: { Z16K2: { Z6K1: string } } };
  impl.Z14K3.Z16K2.Z6K1 = code;
  return z7 as Json;
}
function withLanguage(name: string, language: string): Json {
  const z7 = structuredClone(fixture(name)) as { Z7K1: { Z8K4: Json } };
  const impl = z7.Z7K1.Z8K4.K1 as { Z14K3: Json };
  impl.Z14K3.Z16K1 = { Z1K1: { Z1K1: 'Z9', Z9K1: 'Z61' }, Z61K1: { Z1K1: 'Z6', Z6K1: language } };
  return z7 as Json;
}

interface Check {
  readonly name: string;
  readonly zobject: Json;
  readonly reentrant: boolean;
  /**
   * The Z22K1 expected (canonical); a pattern the error's text must match (the value void); or
   * `{ matching }`, a pattern the value (a string) must match.
   */
  readonly expect: unknown;
}

/** Python's Z1000(Z1000K1, Z1000K2) with this body (indented by the caller as it needs). */
const pythonCall = (body: string): Json =>
  withCode('python3_add_Z7.json', `def Z1000(Z1000K1, Z1000K2):\n${body}`);

function checks(reentrantAnswers: boolean): Check[] {
  const call = (code: string): Json =>
    withCode('javascript_add_Z7.json', `function Z1000(Z1000K1, Z1000K2) { ${code} }`);
  const reentrant = (name: string, zobject: Json, value: unknown): Check => ({
    name,
    zobject,
    reentrant: true,
    expect: reentrantAnswers ? value : /Function call timed out/,
  });
  return [
    ...[
      'javascript_add_Z7.json',
      'javascript_add_with_generics_Z7.json',
      'python3_add_Z7.json',
      'python3_add_with_generics_Z7.json',
    ].map((name): Check => ({ name, zobject: fixture(name), reentrant: false, expect: '13' })),
    ...['python-3-7', 'python-3-8', 'python'].map(
      (language): Check => ({
        name: `python3_add_Z7 as ${language}`,
        zobject: withLanguage('python3_add_Z7.json', language),
        reentrant: false,
        expect: '13',
      }),
    ),
    ...['javascript-es2020', 'javascript-es2015'].map(
      (language): Check => ({
        name: `javascript_add_Z7 as ${language}`,
        zobject: withLanguage('javascript_add_Z7.json', language),
        reentrant: false,
        expect: '13',
      }),
    ),
    {
      name: 'javascript_throw.json',
      zobject: fixture('javascript_throw.json'),
      reentrant: false,
      expect: /Hello, this is a good day to die/,
    },
    {
      name: 'orchestrator/evaluated.json (pre-2021 code)',
      zobject: fixture('orchestrator/evaluated.json'),
      reentrant: false,
      expect: /NameError: name 'Z1000K1' is not defined/,
    },
    {
      // The orchestrator's test expected its fallback's true; a working evaluator runs `lambda: False`.
      name: 'orchestrator/first-implementation-evaluator-down.json',
      zobject: fixture('orchestrator/first-implementation-evaluator-down.json'),
      reentrant: false,
      expect: { Z1K1: 'Z40', Z40K1: 'Z42' },
    },
    {
      // The orchestrator runs the composition after the code implementation: never sent to us.
      name: 'orchestrator/first-implementation-programming-language-nonexistent.json',
      zobject: fixture('orchestrator/first-implementation-programming-language-nonexistent.json'),
      reentrant: false,
      expect: { Z1K1: 'Z40', Z40K1: 'Z41' },
    },
    // Refused by the orchestrator itself (no evaluator configured for the language): never sent to us.
    ...Object.entries({
      'unsupported_language_java_throw.json': /No evaluator is available for Java/,
      'python_unsupported_version_throw.json': /No evaluator is available for python-1/,
    }).map(([name, expect]): Check => ({ name, zobject: fixture(name), reentrant: false, expect })),
    // Not marked reentrant (useReentrance false): the reference's Z507, in either language.
    {
      name: 'Wikifunctions.Call without useReentrance',
      zobject: call('return Wikifunctions.Call("Z801", {Z801K1: Z1000K1});'),
      reentrant: false,
      expect: /Non-reentrant executor tried to call back to the orchestrator/,
    },
    {
      name: 'Python W.Call without useReentrance',
      zobject: pythonCall('    return W.Call("Z801", Z801K1=Z1000K1)'),
      reentrant: false,
      expect: /Non-reentrant executor tried to call back to the orchestrator/,
    },
    reentrant(
      'Z801 echo through Wikifunctions.Call, plus 8',
      call('return String(Number(Wikifunctions.Call("Z801", {Z801K1: Z1000K1})) + Number(Z1000K2));'),
      '13',
    ),
    reentrant(
      'Z844 (a built-in) through Wikifunctions.Call',
      call(
        'return String(Wikifunctions.Call("Z844", {Z844K1: {Z1K1: "Z40", Z40K1: "Z41"}, Z844K2: {Z1K1: "Z40", Z40K1: "Z41"}}));',
      ),
      'true',
    ),
    reentrant(
      'a nested call that fails (Z10000 does not exist), caught',
      call(
        'try { return Wikifunctions.Call("Z10000", {Z10000K1: Z1000K1}); } catch (e) { return e.name + ": " + e.message; }',
      ),
      { matching: /^WikifunctionsError: Z10000 failed: / },
    ),
    reentrant(
      'Z10002("hi"): calls Z10001, evaluated here',
      { Z1K1: 'Z7', Z7K1: 'Z10002', Z10002K1: 'hi' },
      'hi!?',
    ),
    // Python W.Call, the reference executor's convention: first the captured 09 code as it is.
    reentrant(
      'Python: the captured 09 code, W.Call("Z801") plus 8',
      pythonCall('    return str(int(W.Call("Z801", Z801K1=Z1000K1)) + int(Z1000K2))'),
      '13',
    ),
    reentrant(
      'Python: Z844 (a built-in) through W.Call',
      pythonCall('    return str(W.Call("Z844", Z844K1=True, Z844K2=True))'),
      'True',
    ),
    reentrant(
      'Python: a nested call that fails (Z10000 does not exist), caught',
      pythonCall(
        '    try:\n        return W.Call("Z10000", Z10000K1=Z1000K1)\n    except WikifunctionsError as e:\n        return type(e).__name__ + ": " + str(e)',
      ),
      { matching: /^WikifunctionsError: Z10000 failed: / },
    ),
    reentrant(
      'Python: calls Z10001 (JavaScript, evaluated here)',
      pythonCall('    return W.Call("Z10001", Z10001K1=Z1000K1)'),
      '5!',
    ),
    reentrant(
      'Z10003("hi"): Python from the wiki, calls Z10001 (JavaScript, evaluated here)',
      { Z1K1: 'Z7', Z7K1: 'Z10003', Z10003K1: 'hi' },
      'hi!?',
    ),
  ];
}

async function send(
  orchestrator: string,
  check: Check,
): Promise<{ value: unknown; text: string; ms: number }> {
  const started = performance.now();
  const response = await fetch(orchestrator, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ zobject: check.zobject, doValidate: false, useReentrance: check.reentrant }),
  });
  const text = await response.text();
  const value = (JSON.parse(text) as Json).Z22K1;
  return { value, text, ms: Math.round(performance.now() - started) };
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const dir = args.find((a) => !a.startsWith('--'));
  if (dir === undefined || !existsSync(join(dir, 'routes/evaluate.js'))) {
    console.error('Usage: orchestrator-2023 <orchestrator checkout> [--repaired] [--transport socket|http]');
    return 2;
  }
  const orchDir = resolve(dir);
  const repaired = args.includes('--repaired');
  const transport = args[args.indexOf('--transport') + 1] === 'http' ? 'http' : 'socket';
  const work = mkdtempSync(join(tmpdir(), 'orchestrator-2023-'));
  const wiki = await wikiStub(join(orchDir, 'function-schemata/data/definitions'));
  const orchPort = await freePort();
  const orchestrator = `http://127.0.0.1:${orchPort}/1/v1/evaluate/`;
  const polyeval = await startServer({
    POLYEVAL_LANGUAGES: 'javascript,python',
    ...(transport === 'http' ? { POLYEVAL_WIKIFUNCTIONS_ORCHESTRATOR_URL: orchestrator } : {}),
  });
  const config = join(work, 'config.yaml');
  writeFileSync(
    config,
    [
      'num_workers: 0',
      'logging:',
      '  level: warn',
      'services:',
      '  - name: function-orchestrator',
      `    module: ${join(orchDir, 'app.js')}`,
      '    conf:',
      `      port: ${orchPort}`,
      '      interface: 127.0.0.1',
      `      spec: ${join(orchDir, 'spec.yaml')}`,
      '',
    ].join('\n'),
  );
  const repair = join(work, 'repair-remaining-time.cjs');
  // The orchestrator's own getRemainingTime() reads a loop-relative timer field as if it were
  // epoch time; this answers the time left since the request's first use of its Invariants.
  writeFileSync(
    repair,
    `const { Invariants } = require(${JSON.stringify(join(orchDir, 'src/Invariants.js'))});
     Invariants.prototype.getRemainingTime = function () {
       this.polyevalStarted = this.polyevalStarted || Date.now();
       return 20000 - (Date.now() - this.polyevalStarted);
     };\n`,
  );
  const child: ChildProcess = spawn(
    process.execPath,
    [...(repaired ? ['-r', repair] : []), 'server.js', '-c', config],
    {
      cwd: orchDir,
      env: {
        ...process.env,
        WIKI_API_URL: `http://127.0.0.1:${(wiki.address() as AddressInfo).port}/w/api.php`,
        FUNCTION_EVALUATOR_URL: `${polyeval.url}/1/v1/evaluate/`,
        FUNCTION_EVALUATOR_WS: `${polyeval.url.replace(/^http/, 'ws')}/`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let orchLog = '';
  child.stdout?.on('data', (c: Buffer) => (orchLog += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (orchLog += c.toString()));
  let exited = false;
  child.on('exit', () => (exited = true));
  let failures = 0;
  try {
    for (let i = 0; ; i++) {
      if (exited || i > 100) throw new Error(`The orchestrator did not start:\n${orchLog}`);
      const up = await fetch(`http://127.0.0.1:${orchPort}/_info`).then(
        () => true,
        () => false,
      );
      if (up) break;
      await new Promise((done) => setTimeout(done, 200));
    }
    const reentrantAnswers = repaired || transport === 'http';
    console.log(
      `orchestrator ${repaired ? 'with getRemainingTime repaired' : 'unmodified'}, Polyeval transport ${transport}`,
    );
    for (const check of checks(reentrantAnswers)) {
      const got = await send(orchestrator, check);
      const { expect } = check;
      const ok =
        expect instanceof RegExp
          ? got.value === 'Z24' && expect.test(got.text)
          : typeof expect === 'object' && expect !== null && 'matching' in expect
            ? typeof got.value === 'string' && (expect.matching as RegExp).test(got.value)
            : JSON.stringify(got.value) === JSON.stringify(expect);
      if (!ok) failures++;
      // Our errorMessage, else (an error of the orchestrator's own) the first Z5's type.
      const error =
        /"errorMessage","K2":"((?:[^"\\]|\\.)*)"/.exec(got.text)?.[1] ??
        /No evaluator is available for [^"\\]*/.exec(got.text)?.[0];
      console.log(
        `${ok ? 'ok  ' : 'FAIL'} ${check.name}${check.reentrant ? ' [useReentrance]' : ''}: ${JSON.stringify(got.value)}${error === undefined ? '' : ` (${error.slice(0, 160)})`} ${got.ms} ms`,
      );
    }
    // Four reentrant calls at once, in each language: each gets its own letters (or, over the
    // websocket, a refusal when its socket cannot be told from another's), never another's.
    const concurrently = {
      JavaScript: withCode(
        'javascript_add_Z7.json',
        'function Z1000(Z1000K1) { let v = ""; for (let i = 0; i < 3; i++) v += Wikifunctions.Call("Z801", {Z801K1: Z1000K1}); return v; }',
      ),
      Python: pythonCall('    return "".join(W.Call("Z801", Z801K1=Z1000K1) for _ in range(3))'),
    };
    for (const [language, code] of Object.entries(concurrently)) {
      const letters = ['a', 'b', 'c', 'd'];
      const concurrent = await Promise.all(
        letters.map((letter) => {
          const zobject = structuredClone(code);
          zobject.Z1000K1 = { Z1K1: 'Z6', Z6K1: letter };
          return send(orchestrator, { name: letter, zobject, reentrant: true, expect: undefined });
        }),
      );
      for (const [i, got] of concurrent.entries()) {
        const own = letters[i]!.repeat(3);
        const ok = reentrantAnswers
          ? got.value === own || (got.value === 'Z24' && /wait to be paired/.test(got.text))
          : got.value === 'Z24' && /Function call timed out/.test(got.text);
        if (!ok) failures++;
        const error = /"errorMessage","K2":"((?:[^"\\]|\\.)*)"/.exec(got.text)?.[1];
        console.log(
          `${ok ? 'ok  ' : 'FAIL'} ${language}, concurrent ${letters[i]} [useReentrance]: ${JSON.stringify(got.value)}${error === undefined ? '' : ` (${error.slice(0, 160)})`} ${got.ms} ms`,
        );
      }
    }
    if (exited) {
      failures++;
      console.log(`FAIL the orchestrator exited:\n${orchLog.slice(-2000)}`);
    } else console.log('ok   the orchestrator is still running');
  } finally {
    child.kill();
    await polyeval.close();
    await new Promise((done) => wiki.close(done));
  }
  return failures === 0 ? 0 : 1;
}

process.exitCode = await main();

// Unit tests of the Wikifunctions route with a stand-in orchestrator: what reaches the orchestrator
// (language, codec, arguments, limits) and how each kind of outcome becomes an envelope, including
// the ones the real engines cannot produce on demand (overload, shutdown, host failures).

import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { ServiceError } from '../../src/errors.js';
import type { ExecutionResult, GuestError } from '../../src/executor/contract.js';
import type { Manifest } from '../../src/executor/manifest.js';
import { discoverLanguages } from '../../src/executor/registry.js';
import { problemResponse } from '../../src/http/problem.js';
import { wikifunctionsRoutes } from '../../src/http/wikifunctions.js';
import type { EvaluateInput, EvaluateOutput, LanguageInfo } from '../../src/orchestrator/orchestrator.js';
import { readMetadata } from '../../src/wikifunctions/envelope.js';
import {
  evaluateWikifunctions,
  resolveWikifunctionsLanguage,
  type WikifunctionsBackend,
} from '../../src/wikifunctions/evaluate.js';
import type { ZNode } from '../../src/wikifunctions/zobject.js';
import { fixture, summarizeError } from './helpers.js';

const LIMITS = { timeoutMs: 2000, memoryMb: 64, outputBytes: 65536 };

const manifest = (id: string, names: string[], zids: string[]): Manifest =>
  ({ id, codecs: ['zobject'], wikifunctions: { names, zids } }) as unknown as Manifest;

const MANIFESTS = [
  manifest('lang-a', ['javascript', 'javascript-es2020'], ['Z600', 'Z607']),
  manifest('lang-b', ['python-3'], ['Z611']),
  { id: 'plain', codecs: [] } as unknown as Manifest,
];

interface Fake {
  readonly backend: WikifunctionsBackend;
  readonly calls: EvaluateInput[];
}

function fake(
  answer: (input: EvaluateInput) => Partial<ExecutionResult> | Promise<Partial<ExecutionResult>>,
): Fake {
  const calls: EvaluateInput[] = [];
  const backend: WikifunctionsBackend = {
    manifests: () => MANIFESTS,
    info: () =>
      MANIFESTS.map(
        (m) =>
          ({
            id: m.id,
            engine: { name: 'Engine', version: `Engine of ${m.id} 1.0` },
            limits: { defaults: LIMITS, ceilings: { ...LIMITS, timeoutMs: 15_000 } },
          }) as unknown as LanguageInfo,
      ),
    evaluate: async (input) => {
      calls.push(input);
      const result = await answer(input);
      return {
        ok: true,
        value: null,
        stdout: '',
        stderr: '',
        stats: { durationMs: 3, cpuMs: 2.5, memoryBytes: 3 * 1048576 },
        ...result,
        language: input.language,
        limits: { ...LIMITS, ...input.limits },
      } as EvaluateOutput;
    },
  };
  return { backend, calls };
}

const bytes = (body: unknown): Uint8Array<ArrayBuffer> => new TextEncoder().encode(JSON.stringify(body));
const flat = (code: string, extra: Record<string, unknown> = {}) =>
  bytes({
    codingLanguage: 'javascript',
    codeString: code,
    functionName: 'Z1000',
    functionArguments: { Z1000K1: 'x' },
    ...extra,
  });

async function run(f: Fake, body: Uint8Array, options = {}) {
  const response = await evaluateWikifunctions(f.backend, body, 'application/json', {
    hostname: 'test-host',
    ...options,
  });
  const envelope = JSON.parse(response.body) as ZNode;
  return { ...response, envelope, error: summarizeError(envelope), metadata: readMetadata(envelope) };
}

const guestError = (error: GuestError): Partial<ExecutionResult> =>
  ({ ok: false, error }) as Partial<ExecutionResult>;

describe('routing', () => {
  it('routes names (any case) and ZIDs through the manifests, nothing else', () => {
    expect(resolveWikifunctionsLanguage(MANIFESTS, 'JavaScript-ES2020')?.id).toBe('lang-a');
    expect(resolveWikifunctionsLanguage(MANIFESTS, 'Z611')?.id).toBe('lang-b');
    expect(resolveWikifunctionsLanguage(MANIFESTS, 'z611')).toBeUndefined();
    expect(resolveWikifunctionsLanguage(MANIFESTS, 'plain')).toBeUndefined();
    expect(resolveWikifunctionsLanguage(MANIFESTS, 'lang-a')).toBeUndefined();
  });

  it('routes every name the 2023 orchestrator sends and every JavaScript and Python Z61 of function-schemata, with the real manifests', () => {
    const manifests = discoverLanguages().map((l) => l.manifest);
    // routes/evaluate.js @ 25abcfa (the legacy evaluator configs): what it sends as codingLanguage.
    const orchestrator = {
      javascript: [
        'javascript-es2020',
        'javascript-es2019',
        'javascript-es2018',
        'javascript-es2017',
        'javascript-es2016',
        'javascript-es2015',
        'javascript',
      ],
      python: ['python-3-9', 'python-3-8', 'python-3-7', 'python-3', 'python'],
    };
    const schemata = fixture<Record<string, string>>('function-schemata/softwareLanguages.json');
    const expected: [string, string][] = [
      ...orchestrator.javascript.map((n): [string, string] => [n, 'javascript']),
      ...orchestrator.python.map((n): [string, string] => [n, 'python']),
      ...Object.entries(schemata).flatMap(([name, zid]): [string, string][] => {
        const family = name.startsWith('javascript')
          ? 'javascript'
          : name.startsWith('python')
            ? 'python'
            : undefined;
        return family === undefined
          ? []
          : [
              [name, family],
              [zid, family],
            ];
      }),
    ];
    const routed = expected.map(([name]) => [name, resolveWikifunctionsLanguage(manifests, name)?.id]);
    expect(routed).toEqual(expected);
  });

  it('hands the orchestrator the language id, the zobject codec and the converted arguments', async () => {
    const f = fake(() => ({ value: '13' }));
    const { status, envelope } = await run(f, bytes(fixture('javascript_add_Z7.json')));
    expect(status).toBe(200);
    expect(envelope.Z22K1).toEqual({ Z1K1: 'Z6', Z6K1: '13' });
    expect(f.calls).toHaveLength(1);
    expect(f.calls[0]).toMatchObject({
      language: 'lang-a',
      function: 'Z1000',
      codec: 'zobject',
      args: ['5', '8'],
      limits: {},
    });
  });

  it('answers an unknown language with Z558 naming it, without running anything', async () => {
    const f = fake(() => ({}));
    const { error } = await run(f, flat('x', { codingLanguage: 'plain' }));
    expect(error).toEqual({ type: 'Z558', text: 'plain' });
    expect(f.calls).toHaveLength(0);
  });
});

describe('remainingTime', () => {
  const honour = { remainingTime: 'honour' };

  it('is ignored by default, as the reference ignored it: the broken 2023 value and 0 run normally', async () => {
    const f = fake(() => ({ value: 'ok' }));
    for (const remainingTime of [-1796604524704, 0, -5, 15, 250]) {
      const { error } = await run(f, flat('x', { remainingTime }));
      expect(error).toBeUndefined();
    }
    expect(f.calls.map((c) => c.limits)).toEqual([{}, {}, {}, {}, {}]);
  });

  it('when honoured, is milliseconds: it lowers the time limit and never raises it', async () => {
    const f = fake(() => ({ value: 'ok' }));
    await run(f, flat('x', { remainingTime: 250 }), honour);
    await run(f, flat('x', { remainingTime: 0.4 }), honour);
    await run(f, flat('x', { remainingTime: 600_000 }), honour);
    expect(f.calls.map((c) => c.limits)).toEqual([{ timeoutMs: 250 }, { timeoutMs: 1 }, { timeoutMs: 2000 }]);
  });

  it('when honoured, with nothing left, is a time-limit error at once', async () => {
    for (const remainingTime of [0, -1, -86_400_000]) {
      const f = fake(() => ({}));
      const { error } = await run(f, flat('x', { remainingTime }), honour);
      expect(error).toEqual({ type: 'Z575', text: '0 ms' });
      expect(f.calls).toHaveLength(0);
    }
  });

  it('when honoured, a value beyond a day either way is nonsense and ignored (the 2023 orchestrator)', async () => {
    const f = fake(() => ({ value: 'ok' }));
    for (const remainingTime of [-1796604524704, -86_400_001, 86_400_001, 1e308]) {
      const { error } = await run(f, flat('x', { remainingTime }), honour);
      expect(error).toBeUndefined();
    }
    expect(f.calls.map((c) => c.limits)).toEqual([{}, {}, {}, {}]);
  });
});

describe('outcomes', () => {
  it('reports guest failures: time limit as Z575, the rest as Z507 quoting the call', async () => {
    const timeout = await run(
      fake(() => guestError({ code: 'TIMEOUT', message: 'late' })),
      flat('x', { remainingTime: 200 }),
      { remainingTime: 'honour' },
    );
    expect(timeout.error).toEqual({ type: 'Z575', text: '200 ms' });
    const memory = await run(
      fake(() =>
        guestError({ code: 'MEMORY_LIMIT', message: 'Cannot run "Z1000": memory limit of 64 MiB exceeded' }),
      ),
      flat('x'),
    );
    expect(memory.error).toEqual({
      type: 'Z507',
      text: 'Cannot run "Z1000": memory limit of 64 MiB exceeded',
    });
    const errors = readMetadata(memory.envelope).get('errors') as ZNode;
    expect((errors.Z5K2 as ZNode).Z507K1).toEqual({
      Z1K1: { Z1K1: 'Z9', Z9K1: 'Z99' },
      Z99K1: {
        Z1K1: { Z1K1: 'Z9', Z9K1: 'Z7' },
        Z7K1: { Z1K1: 'Z9', Z9K1: 'Z1000' },
        Z1000K1: { Z1K1: 'Z6', Z6K1: 'x' },
      },
    });
    const silent = await run(
      fake(() => guestError({ code: 'RUNTIME_ERROR', message: '' })),
      flat('x'),
    );
    expect(silent.error).toEqual({
      type: 'Z507',
      text: 'The function raised an exception without a message',
    });
  });

  it('reports results that do not serialize, or do not match the declared type', async () => {
    const unserializable = await run(
      fake(() => ({ value: 1.5 })),
      flat('x'),
    );
    expect(unserializable.error?.type).toBe('Z507');
    expect(unserializable.error?.text).toMatch(/the number 1.5 has no ZObject type/);
    const mismatch = await run(
      fake(() => ({ value: true })),
      bytes(fixture('javascript_add_Z7.json')),
    );
    expect(mismatch.error?.type).toBe('Z517');
    expect(mismatch.error?.text).toMatch(/declares Z6 but returned Z40/);
    const errors = readMetadata(mismatch.envelope).get('errors') as ZNode;
    expect((errors.Z5K2 as ZNode).Z517K3).toEqual({
      Z1K1: { Z1K1: 'Z9', Z9K1: 'Z40' },
      Z40K1: { Z1K1: 'Z9', Z9K1: 'Z41' },
    });
  });

  it('turns a result too large for an envelope into an error', async () => {
    const { error } = await run(
      fake(() => ({ value: Array(1000).fill('x') })),
      flat('x'),
      { maxResponseChars: 50_000 },
    );
    expect(error?.type).toBe('Z507');
    expect(error?.text).toMatch(/The result is too large/);
  });

  it('answers overload and shutdown with 503, Retry-After and a Z22', async () => {
    const overloaded = await run(
      fake(() => {
        throw new ServiceError('overloaded', 'Cannot queue the call: the queue is full (64 waiting)', {
          retryAfterSeconds: 1,
        });
      }),
      flat('x'),
    );
    expect(overloaded.status).toBe(503);
    expect(overloaded.headers['retry-after']).toBe('1');
    expect(overloaded.error).toEqual({
      type: 'Z571',
      text: 'Cannot queue the call: the queue is full (64 waiting)',
    });
    const closing = await run(
      fake(() => {
        throw new ServiceError('shutting-down', 'The service is shutting down', { retryAfterSeconds: 1 });
      }),
      flat('x'),
    );
    expect(closing.status).toBe(503);
    expect(closing.error).toEqual({ type: 'Z500', text: 'The service is shutting down' });
  });

  it('answers a language without the zobject codec as an invalid request', async () => {
    const { status, error } = await run(
      fake(() => {
        throw new ServiceError('invalid-request', 'Language "lang-a" does not support the "zobject" codec');
      }),
      flat('x'),
    );
    expect(status).toBe(200);
    expect(error).toEqual({ type: 'Z561', text: 'Language "lang-a" does not support the "zobject" codec' });
  });

  it('answers our own failures with 500 and a Z22, and reports them', async () => {
    const reported: unknown[] = [];
    const { status, error } = await run(
      fake(() => {
        throw new Error('the pool is on fire');
      }),
      flat('x'),
      { onInternalError: (e: unknown) => reported.push(e) },
    );
    expect(status).toBe(500);
    expect(error).toEqual({ type: 'Z500', text: 'Internal error while evaluating the function call' });
    expect(reported).toHaveLength(1);
  });
});

describe('metadata', () => {
  it('holds the sandbox measurements, engine version and guest output after a run', async () => {
    const f = fake(() => ({ value: 'v', stdout: 'out\n', stderr: 'err\n' }));
    const { metadata } = await run(f, flat('x'));
    const text = (key: string): string | undefined =>
      (metadata.get(key) as { Z6K1?: string } | undefined)?.Z6K1;
    expect(text('executionMemoryUsage')).toBe('3 MiB');
    expect(text('evaluationMemoryUsage')).toBe('3 MiB');
    expect(text('executionCpuUsage')).toBe('2.5 ms');
    expect(Number.parseFloat(text('evaluationCpuUsage')!)).toBeGreaterThanOrEqual(2.5);
    expect(text('evaluationHostname')).toBe('test-host');
    expect(text('programmingLanguageVersion')).toBe('Engine of lang-a 1.0');
    expect(text('executorDebugLogs')).toBe('out\nerr\n');
  });

  it('holds only the evaluation keys when nothing ran', async () => {
    const { metadata } = await run(
      fake(() => ({})),
      bytes({ Z1K1: 'Z7' }),
    );
    expect([...metadata.keys()]).toEqual([
      'errors',
      'errorMessage',
      'evaluationCpuUsage',
      'evaluationStartTime',
      'evaluationEndTime',
      'evaluationDuration',
      'evaluationHostname',
    ]);
  });
});

describe("errorMessage: the sentence next to each typed error, in the reference's words", () => {
  const sentence = (metadata: Map<string, ZNode>): unknown => metadata.get('errorMessage')?.Z6K1;

  it('names a language that routes nowhere as the reference did, the Z5 staying a Z558', async () => {
    const { error, metadata } = await run(
      fake(() => ({})),
      flat('x', { codingLanguage: 'python-1' }),
    );
    expect(error).toEqual({ type: 'Z558', text: 'python-1' });
    expect(sentence(metadata)).toBe('No executor found for programming language python-1.');
  });

  it('says what is missing from a request, the Z5 staying a Z562', async () => {
    const noName = await run(
      fake(() => ({})),
      bytes({ codingLanguage: 'javascript', codeString: 'x' }),
    );
    expect(noName.error).toEqual({ type: 'Z562', text: 'functionName' });
    expect(sentence(noName.metadata)).toBe('Function call did not provide functionName.');
    const noFunction = await run(
      fake(() => ({})),
      bytes({ Z1K1: 'Z7' }),
    );
    expect(noFunction.error).toEqual({ type: 'Z562', text: 'Z7K1' });
    expect(sentence(noFunction.metadata)).toMatch(/^Unable to find programming language in function call\. /);
  });

  it('says a call timed out, with the limit, the Z5 staying a Z575', async () => {
    const { error, metadata } = await run(
      fake(() => guestError({ code: 'TIMEOUT', message: 'late' })),
      flat('x'),
    );
    expect(error).toEqual({ type: 'Z575', text: '2000 ms' });
    expect(sentence(metadata)).toBe('Function call timed out: time limit of 2000 ms exceeded');
  });

  it("repeats a guest failure's message, and comes right after the error", async () => {
    const { metadata } = await run(
      fake(() =>
        guestError({ code: 'RUNTIME_ERROR', type: 'Error', message: 'Hello, this is a good day to die' }),
      ),
      flat('x'),
    );
    expect(sentence(metadata)).toBe('Error: Hello, this is a good day to die');
    expect([...metadata.keys()].slice(0, 2)).toEqual(['errors', 'errorMessage']);
  });

  it('is absent from a success', async () => {
    const { metadata } = await run(
      fake(() => ({ value: 'ok' })),
      flat('x'),
    );
    expect(metadata.has('errorMessage')).toBe(false);
    expect(metadata.has('errors')).toBe(false);
  });
});

describe('HTTP', () => {
  const app = (f: Fake, bodyLimit?: number): Hono => {
    const root = new Hono();
    root.route('/', wikifunctionsRoutes(f.backend, bodyLimit === undefined ? {} : { bodyLimit }));
    root.onError((error) =>
      error instanceof ServiceError ? problemResponse(error) : new Response('boom', { status: 500 }),
    );
    return root;
  };

  it('serves POST /:domain/v1/evaluate/ with any domain, with and without the slash', async () => {
    const f = fake(() => ({ value: '13' }));
    for (const path of ['/1/v1/evaluate/', '/wikifunctions.org/v1/evaluate']) {
      const response = await app(f).request(path, {
        method: 'POST',
        body: flat('x'),
        headers: { 'content-type': 'application/json' },
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(((await response.json()) as ZNode).Z22K1).toEqual({ Z1K1: 'Z6', Z6K1: '13' });
    }
  });

  it('refuses bodies over its own byte cap with 413', async () => {
    const response = await app(
      fake(() => ({})),
      100,
    ).request('/1/v1/evaluate/', { method: 'POST', body: new Uint8Array(1000) });
    expect(response.status).toBe(413);
  });

  it('serves GET /_info', async () => {
    const response = await app(fake(() => ({}))).request('/_info');
    expect(await response.json()).toMatchObject({ name: 'polyeval', version: '0.1.0' });
  });
});

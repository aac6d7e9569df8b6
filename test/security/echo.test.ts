// Echo nothing big: every text the service sends back from its input is short (about 1 KiB) and
// free of control characters (C0, NUL, DEL, C1, bidirectional controls). One test per echo point,
// against the real server: a WebAssembly import name of 3 MB, a Lua syntax error quoting NULs, a
// JavaScript entry name with NUL and a right-to-left override, a guest exception message of 3 MB,
// an unknown body key of 3 MB and a content type with C1 controls (problem+json), and a
// Wikifunctions language name of 3 MB with NUL (a Z5 in the envelope).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../helpers/server.js';
import { type HttpAnswer, httpCall } from './harness.js';

/** What no echoed string may hold (newline and tab aside, in texts that have lines). */
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;
/** An echo is at most 1 KiB, plus the few words that say it was cut. */
const ECHO_MAX = 1024 + 64;
const BIG = 3_000_000;
const HOSTILE = `\u0000\u202e\u0085\u001b[31m\u2066`;

/** Every string in a parsed answer, keys included. */
function strings(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const v of value) strings(v, out);
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      out.push(k);
      strings(v, out);
    }
  }
  return out;
}

function expectSafe(answer: HttpAnswer): void {
  expect(answer.text.length, answer.text.slice(0, 300)).toBeLessThan(16 * 1024);
  expect(typeof answer.body, answer.text.slice(0, 300)).toBe('object');
  for (const s of strings(answer.body)) {
    expect(s.length).toBeLessThanOrEqual(ECHO_MAX);
    expect(
      UNSAFE.test(s),
      `an answer string holds a control character: ${JSON.stringify(s.slice(0, 200))}`,
    ).toBe(false);
  }
}

/** A WebAssembly binary that imports one function, `module`.`name`. */
function wasmImporting(module: string, name: string): Buffer {
  const uleb = (n: number): number[] => {
    const out: number[] = [];
    do {
      let byte = n & 0x7f;
      n >>>= 7;
      if (n !== 0) byte |= 0x80;
      out.push(byte);
    } while (n !== 0);
    return out;
  };
  const text = (s: string): Buffer => {
    const bytes = Buffer.from(s, 'utf8');
    return Buffer.concat([Buffer.from(uleb(bytes.length)), bytes]);
  };
  const section = (id: number, body: Buffer): Buffer =>
    Buffer.concat([Buffer.from([id, ...uleb(body.length)]), body]);
  const types = section(1, Buffer.from([1, 0x60, 0, 0]));
  const imports = section(
    2,
    Buffer.concat([Buffer.from([1]), text(module), text(name), Buffer.from([0, 0])]),
  );
  return Buffer.concat([Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]), types, imports]);
}

describe('security: echo nothing big', () => {
  let server: RunningServer;
  const post = (path: string, body: unknown, headers: Record<string, string> = {}): Promise<HttpAnswer> =>
    httpCall(server.url, 'POST', path, {
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  beforeAll(async () => {
    server = await startServer({ POLYEVAL_LANGUAGES: 'javascript,lua,wasm', POLYEVAL_POOL_SIZE: '1' });
  }, 60_000);
  afterAll(async () => {
    await server?.close();
  });

  it('a WebAssembly import name of 3 MB (with NUL and bidi controls) is not echoed whole', {
    timeout: 60_000,
  }, async () => {
    const code = wasmImporting('env', `${HOSTILE}${'x'.repeat(BIG)}`).toString('base64');
    const answer = await post('/v1/evaluate', { language: 'wasm', code, function: 'main' });
    expect(answer.status).toBe(200);
    expect(answer.body.ok).toBe(false);
    expect(answer.body.error.code).toBe('SYNTAX_ERROR');
    expect(answer.body.error.message).toContain('env.');
    expectSafe(answer);
  });

  it('a Lua syntax error quoting NULs of the code carries no NUL', async () => {
    const answer = await post('/v1/evaluate', { language: 'lua', code: `x = "a\u0000b\u0000c${HOSTILE}` });
    expect(answer.body.ok, answer.text).toBe(false);
    expect(answer.body.error.code).toBe('SYNTAX_ERROR');
    expect(answer.body.error.message).toContain('unfinished string');
    expectSafe(answer);
  });

  it('an entry name with NUL and a right-to-left override is escaped (JavaScript, Lua)', async () => {
    for (const [language, code] of [
      ['javascript', 'function main() { return 1 }'],
      ['lua', 'function main() return 1 end'],
    ] as const) {
      const answer = await post('/v1/evaluate', { language, code, function: `ma${HOSTILE}in` });
      expect(answer.body.ok, answer.text).toBe(false);
      expect(answer.body.error.code).toBe('ENTRY_NOT_FOUND');
      expect(answer.body.error.message).toContain('ma\\u0000\\u202e');
      expectSafe(answer);
    }
  });

  it('a guest exception message of 3 MB with controls is cut and escaped (JavaScript, Lua)', async () => {
    for (const [language, code] of [
      ['javascript', `function main() { throw new Error(${JSON.stringify(HOSTILE)} + "y".repeat(${BIG})) }`],
      [
        'lua',
        `function main() error(string.char(0, 27) .. "\\u{202E}\\u{85}\\u{2066}" .. string.rep("y", ${BIG}), 0) end`,
      ],
    ] as const) {
      const answer = await post('/v1/evaluate', { language, code });
      expect(answer.body.ok, answer.text.slice(0, 500)).toBe(false);
      expect(answer.body.error.code).toBe('RUNTIME_ERROR');
      expect(answer.body.error.message).toContain('yyyy');
      expectSafe(answer);
    }
  });

  it('an unknown body key of 3 MB and a content type with C1 controls come back short and escaped', async () => {
    const key = await post('/v1/evaluate', {
      language: 'javascript',
      code: 'function main() {}',
      [`${HOSTILE}${'k'.repeat(BIG)}`]: 1,
    });
    expect(key.status).toBe(400);
    expect(key.headers['content-type']).toBe('application/problem+json');
    expectSafe(key);
    // Node accepts bytes 0x80-0xff in a header value (obs-text): 0x85 and 0x9b are C1 controls.
    const type = await post('/v1/evaluate', '{}', {
      'content-type': `text/plain\u0085\u009b${'t'.repeat(4000)}`,
    });
    expect(type.status).toBe(415);
    expectSafe(type);
  });

  it('a Wikifunctions language name of 3 MB with NUL is echoed short and escaped in the Z5', async () => {
    const answer = await post('/1/v1/evaluate/', {
      codingLanguage: `${HOSTILE}${'l'.repeat(BIG)}`,
      codeString: 'function f() { return "x" }',
      functionName: 'f',
      functionArguments: {},
    });
    expect(answer.status).toBe(200);
    expect(answer.text).toContain('Z558');
    expectSafe(answer);
  });
});

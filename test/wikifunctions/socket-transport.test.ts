// Reentrant calls over the 2023 orchestrator's websocket, against the real server with real
// sandboxes. CI cannot run the real orchestrator, so the orchestrator here is a stand-in client
// written to follow the captured exchange (orchestrator-2023/09-reentrant_echo_fix1.exchange.jsonl):
// it POSTs the Avro 0.0.4 body (reentrant: true, connection: close) and, in the same tick, opens a
// plain `ws` client socket to the same host with nothing tying the two; each `call <Z7>` text
// frame is answered with one frame holding the bare normal-form value (void Z24 when the nested
// call "failed"), in order; the socket is closed when the POST is answered. The guests are
// JavaScript (`Wikifunctions.Call`), and the captured bodies themselves are Python (`W.Call`,
// relayed by its sandbox host into the same channel, reentrance.ts).

import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { encodeAvroRequest } from '../../src/wikifunctions/avro.js';
import type { ZNode } from '../../src/wikifunctions/zobject.js';
import { type RunningServer, startServer } from '../helpers/server.js';
import { languageId } from './e2e.js';
import { summarizeError } from './helpers.js';

const FIXTURES = new URL('../fixtures/wikifunctions/orchestrator-2023/', import.meta.url);
const str = (s: string) => ({ Z1K1: 'Z6', Z6K1: s });
const VOID = { Z1K1: 'Z9', Z9K1: 'Z24' };

interface ExchangeEvent {
  readonly ev: string;
  readonly data?: string;
  readonly code?: number;
}
const captured = readFileSync(new URL('09-reentrant_echo_fix1.exchange.jsonl', FIXTURES), 'utf8')
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line) as ExchangeEvent);
const capturedCall = captured.find((e) => e.ev === 'ws-send')!.data!;
const capturedReply = captured.find((e) => e.ev === 'ws-receive')!.data!;
/** The captured request bodies, byte for byte (fix0: the unmodified orchestrator's broken remainingTime). */
const capturedBodies = ['09-reentrant_echo_fix1', '09-reentrant_echo_fix0'].map((name) => {
  const request = JSON.parse(readFileSync(new URL(`${name}.request.json`, FIXTURES), 'utf8')) as {
    bodyBase64: string;
  };
  return { name, body: Buffer.from(request.bodyBase64, 'base64') };
});
const decoded = JSON.parse(
  readFileSync(new URL('09-reentrant_echo_fix1.decoded.json', FIXTURES), 'utf8'),
) as {
  functionArguments: Record<string, unknown>;
};

/** What one stand-in orchestrator call saw and got. */
interface Exchange {
  readonly status: number;
  readonly envelope: ZNode;
  readonly value: unknown;
  readonly error: ReturnType<typeof summarizeError>;
  /** Text frames received from the service, in order. */
  readonly calls: string[];
  /** How the socket ended: who closed it first and with which code. */
  readonly closed: { by: 'service' | 'orchestrator'; code: number; reason: string } | undefined;
}

interface StandInOptions {
  /** Opens the socket this long before the POST (negative: after), in ms. */
  readonly socketLeadMs?: number;
  /** The client's local address (the service pairs by remote address). */
  readonly from?: string;
  /** Answers one call frame: a text, a Buffer (sent binary), or undefined (never answered). */
  readonly answer?: (
    z7: Record<string, unknown>,
    frame: string,
  ) => string | Buffer | (string | { afterMs: number; text: string })[] | undefined;
  /** Resolves when the POST is to be sent (concurrency tests hold it). */
  readonly holdPost?: Promise<void>;
  /** Resolves when the socket is to be opened. */
  readonly holdSocket?: Promise<void>;
}

/** The real orchestrator's answer: the bare Z22K1 of a nested orchestrate() (echo for Z801). */
function orchestratorAnswer(z7: Record<string, unknown>): string | undefined {
  if (z7.Z7K1 === 'Z801') return JSON.stringify(z7.Z801K1);
  if (z7.Z7K1 === 'Z10004') return undefined;
  return JSON.stringify(VOID);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One reentrant call the way the 2023 orchestrator makes it (Evaluator.evaluateReentrant_). */
async function orchestrate(
  server: RunningServer,
  body: Record<string, unknown> | Buffer,
  options: StandInOptions = {},
) {
  const url = new URL(server.url);
  const calls: string[] = [];
  let closed: Exchange['closed'];
  let socket: WebSocket | undefined;
  const ended = new Promise<void>((resolve) => {
    const openSocket = async (): Promise<void> => {
      await options.holdSocket;
      socket = new WebSocket(
        `ws://${url.host}/`,
        options.from === undefined ? {} : { localAddress: options.from },
      );
      socket.on('error', () => {}); // the real one has no listener; here an error must not end the test run
      socket.on('message', (data, isBinary) => {
        const frame = (data as Buffer).toString('utf8');
        calls.push(isBinary ? `<binary ${frame}>` : frame);
        if (!frame.startsWith('call')) return;
        const z7 = JSON.parse(frame.replace(/^call\s*/, '')) as Record<string, unknown>;
        const reply = (options.answer ?? orchestratorAnswer)(z7, frame);
        if (reply === undefined) return;
        for (const part of Array.isArray(reply) ? reply : [reply]) {
          if (typeof part === 'object' && !Buffer.isBuffer(part)) {
            setTimeout(() => socket!.send(part.text), part.afterMs);
          } else socket!.send(part, { binary: Buffer.isBuffer(part) });
        }
      });
      socket.on('close', (code, reason) => {
        // A close the orchestrator starts (close() without a code) ends with 1005; the service's carry a code and reason.
        closed ??= { by: code === 1005 ? 'orchestrator' : 'service', code, reason: reason.toString() };
        resolve();
      });
    };
    void openSocket();
  });
  const lead = options.socketLeadMs ?? 0;
  const post = (async () => {
    if (lead > 0) await sleep(lead);
    await options.holdPost;
    return await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const payload = Buffer.isBuffer(body) ? body : encodeAvroRequest('0.0.4', body as never);
      const req = httpRequest(
        {
          host: url.hostname,
          port: url.port,
          path: '/1/v1/evaluate/',
          method: 'POST',
          agent: false,
          ...(options.from === undefined ? {} : { localAddress: options.from }),
          headers: {
            'content-type': 'application/octet-stream',
            'user-agent': 'wikifunctions-function-orchestrator/0.0.1',
            connection: 'close',
            'content-length': payload.length,
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (c: Buffer) => chunks.push(c));
          response.on('end', () =>
            resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
          );
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  })();
  const answered = await post;
  // As the orchestrator: the socket is closed once the POST is answered.
  if (socket !== undefined && socket.readyState === WebSocket.OPEN) socket.close();
  else if (socket !== undefined && socket.readyState === WebSocket.CONNECTING) socket.terminate();
  await Promise.race([ended, sleep(3000)]);
  const envelope = JSON.parse(answered.text) as ZNode;
  return {
    status: answered.status,
    envelope,
    value: envelope.Z22K1,
    error: summarizeError(envelope),
    calls,
    closed,
  } satisfies Exchange;
}

const ADD =
  'function Z1000(Z1000K1, Z1000K2) { return String(Number(Wikifunctions.Call("Z801", {Z801K1: Z1000K1})) + Number(Z1000K2)); }';

function avroBody(code: string, args: Record<string, unknown> = decoded.functionArguments, reentrant = true) {
  return {
    reentrant,
    remainingTime: -1796604524704, // what the unmodified orchestrator sends
    codingLanguage: 'javascript',
    codeString: code,
    functionName: 'Z1000',
    functionArguments: args,
  };
}

describe('reentrance over the orchestrator websocket (no HTTP URL configured)', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({
      POLYEVAL_LANGUAGES: languageId('javascript'),
      POLYEVAL_POOL_SIZE: '2',
      POLYEVAL_TIMEOUT_MS: '4000',
    });
  }, 60_000);
  afterAll(async () => {
    await server?.close();
  });

  it('follows the captured exchange: one call frame as the reference wrote it, one bare value back, "13"', async () => {
    const x = await orchestrate(server, avroBody(ADD));
    expect(x.error).toBeUndefined();
    expect(x.value).toEqual(str('13'));
    expect(x.calls).toHaveLength(1);
    const frame = x.calls[0]!;
    // The reference executor's bytes, up to JSON spacing: "call ", the mixed-form Z7, a newline.
    expect(frame.startsWith('call {')).toBe(true);
    expect(frame.endsWith('\n')).toBe(true);
    expect(JSON.parse(frame.slice(5))).toEqual(JSON.parse(capturedCall.slice(5)));
    expect(capturedReply).toBe(JSON.stringify(str('5')));
  });

  it('pairs a socket that comes before its POST (the orchestrator does not wait for either)', async () => {
    const x = await orchestrate(server, avroBody(ADD), { socketLeadMs: 150 });
    expect(x.error).toBeUndefined();
    expect(x.value).toEqual(str('13'));
  });

  it('pairs a socket that comes well after its POST, while the guest waits for it', async () => {
    let open!: () => void;
    const holdSocket = new Promise<void>((resolve) => (open = resolve));
    setTimeout(() => open(), 500);
    const x = await orchestrate(server, avroBody(ADD), { holdSocket });
    expect(x.error).toBeUndefined();
    expect(x.value).toEqual(str('13'));
  });

  it('carries several calls in order, with values of every kind both ways', async () => {
    const code = `function Z1000() {
      const back = Wikifunctions.Call("Z801", {Z801K1: [new ZPair("a", 1n), new Map([["k", true]]), 123456789012345678901234567890n]});
      const again = Wikifunctions.Call("Z801", {Z801K1: "second"});
      return back[0] instanceof ZPair && back[0].K2 === 1n && back[1].get("k") === true && back[2] === 123456789012345678901234567890n ? again : "different";
    }`;
    const x = await orchestrate(server, avroBody(code, {}));
    expect(x.error).toBeUndefined();
    expect(x.value).toEqual(str('second'));
    expect(x.calls).toHaveLength(2);
  });

  it('maps a void answer (the orchestrator drops the nested error) to an exception, and uncaught to a typed Z507', async () => {
    const caught = await orchestrate(
      server,
      avroBody(
        'function Z1000() { try { return Wikifunctions.Call("Z10000", {}); } catch (e) { return e.name + ": " + e.message; } }',
        {},
      ),
    );
    expect(caught.error).toBeUndefined();
    expect(caught.value).toEqual(
      str(
        'WikifunctionsError: Z10000 failed: the orchestrator answered void over its websocket (the 2023 protocol does not carry the error)',
      ),
    );
    const uncaught = await orchestrate(
      server,
      avroBody('function Z1000() { return Wikifunctions.Call("Z10000", {}); }', {}),
    );
    expect(uncaught.value).toEqual(VOID);
    expect(uncaught.error?.type).toBe('Z507');
    expect(uncaught.error?.text).toContain('Z10000 failed: the orchestrator answered void');
  });

  it('closes the socket on garbage (not JSON, binary, an unasked frame) and fails only that call, typed', async () => {
    const code =
      'function Z1000() { try { Wikifunctions.Call("Z801", {Z801K1: "x"}); return "no error"; } catch (e) { return e.message; } }';
    const cases: [NonNullable<StandInOptions['answer']>, RegExp, number][] = [
      [() => 'not json at all', /its answer is not a ZObject/, 1007],
      [() => Buffer.from('binary'), /it sent a binary frame/, 1003],
    ];
    for (const [answer, why, code_] of cases) {
      const x = await orchestrate(server, avroBody(code, {}), { answer });
      expect(x.error).toBeUndefined();
      expect(String((x.value as ZNode).Z6K1)).toMatch(why);
      expect(x.closed).toMatchObject({ by: 'service', code: code_ });
    }
    // Two answers to one call, the second while no call waits (the guest is busy for 1 s): a frame
    // no call asked for; the next call fails typed. (A second answer that comes while the next call
    // waits cannot be told from that call's answer: the protocol matches by order alone.)
    const twice = await orchestrate(
      server,
      avroBody(
        'function Z1000() { const a = Wikifunctions.Call("Z801", {Z801K1: "x"}); const end = Date.now() + 1000; while (Date.now() < end) {} try { Wikifunctions.Call("Z801", {Z801K1: "y"}); return "no error"; } catch (e) { return a + " then " + e.message; } }',
        {},
      ),
      { answer: (z7) => [JSON.stringify(z7.Z801K1), { afterMs: 20, text: JSON.stringify(str('unasked')) }] },
    );
    expect(twice.value).toEqual(
      str(
        "x then Cannot call Z801 over the orchestrator's websocket: the socket is closed: it sent a frame no call asked for",
      ),
    );
    expect(twice.closed).toMatchObject({ by: 'service', code: 1008 });
    // The service serves the next reentrant call as before.
    expect((await orchestrate(server, avroBody(ADD))).value).toEqual(str('13'));
  });

  it('refuses a call whose normal form is over 1 MiB before sending it (Z507)', async () => {
    const x = await orchestrate(
      server,
      avroBody(
        'function Z1000() { return Wikifunctions.Call("Z801", {Z801K1: new Array(10000).fill("a")}); }',
        {},
      ),
    );
    expect(x.error?.type).toBe('Z507');
    expect(x.error?.text).toMatch(
      /Cannot call Z801: the call takes \d+ bytes in normal form, more than the limit of 1048576/,
    );
    expect(x.calls).toEqual([]);
  });

  it('ends a call that is never answered at the deadline (Z575), closes that socket, and serves the next', async () => {
    // What the unmodified 2023 orchestrator does: its remainingTime guard drops every call.
    const x = await orchestrate(
      server,
      avroBody('function Z1000() { return Wikifunctions.Call("Z10004", {}); }', {}),
    );
    expect(JSON.stringify(x.error)).toBe(JSON.stringify({ type: 'Z575', text: '4000 ms' }));
    expect(x.closed).toMatchObject({ by: 'service', reason: 'the call was abandoned' });
    expect((await orchestrate(server, avroBody(ADD))).value).toEqual(str('13'));
  });

  it('refuses a non-reentrant request that calls out with the reference Z507, socket or not', async () => {
    const x = await orchestrate(server, avroBody(ADD, decoded.functionArguments, false));
    expect(x.error).toEqual({
      type: 'Z507',
      text: 'Non-reentrant executor tried to call back to the orchestrator',
    });
    expect(x.calls).toEqual([]);
  });

  it('never cross-wires concurrent reentrant requests from one address: paired one at a time, refused typed when ambiguous', async () => {
    const code =
      'function Z1000(Z1000K1) { let v = ""; for (let i = 0; i < 3; i++) v += Wikifunctions.Call("Z801", {Z801K1: Z1000K1}); return v; }';
    // Staggered: each POST and its socket arrive before the next request (the usual case).
    const first = orchestrate(server, avroBody(code, { Z1000K1: str('a') }));
    await sleep(300);
    const second = orchestrate(server, avroBody(code, { Z1000K1: str('b') }));
    const [a, b] = await Promise.all([first, second]);
    expect([a.value, b.value]).toEqual([str('aaa'), str('bbb')]);
    for (const [x, letter] of [
      [a, 'a'],
      [b, 'b'],
    ] as const) {
      expect(x.calls).toHaveLength(3);
      for (const frame of x.calls) expect(JSON.parse(frame.slice(5)).Z801K1).toEqual(str(letter));
    }

    // Both POSTs first, then both sockets: which socket is whose cannot be told, so neither is
    // used while both wait; a request gets a typed refusal saying so, or, once the other's POST is
    // answered and the orchestrator has closed that socket, the one left (its own) — never the
    // other's.
    let release!: () => void;
    const holdSocket = new Promise<void>((resolve) => (release = resolve));
    const both = Promise.all(
      ['c', 'd'].map((letter) =>
        orchestrate(server, avroBody(code, { Z1000K1: str(letter) }), { holdSocket }),
      ),
    );
    await sleep(300);
    release();
    const answers = await both;
    let refused = 0;
    for (const [x, letter] of [
      [answers[0]!, 'c'],
      [answers[1]!, 'd'],
    ] as const) {
      for (const frame of x.calls) expect(JSON.parse(frame.slice(5)).Z801K1).toEqual(str(letter));
      if (x.error === undefined) {
        expect(x.value).toEqual(str(letter.repeat(3)));
        continue;
      }
      refused++;
      expect(x.value).toEqual(VOID);
      expect(x.error.type).toBe('Z507');
      expect(x.error.text).toMatch(
        /Cannot call back to the orchestrator over its websocket: [12] reentrant requests? and 2 websockets from 127\.0\.0\.1 wait to be paired/,
      );
      expect(x.calls).toEqual([]);
    }
    expect(refused).toBeGreaterThanOrEqual(1);
  });

  it('pairs concurrent requests from different addresses, each with its own socket', async () => {
    const code =
      'function Z1000(Z1000K1) { let v = ""; for (let i = 0; i < 3; i++) v += Wikifunctions.Call("Z801", {Z801K1: Z1000K1}); return v; }';
    let release!: () => void;
    const holdSocket = new Promise<void>((resolve) => (release = resolve));
    const both = Promise.all(
      [
        ['e', '127.0.0.1'],
        ['f', '127.0.0.2'],
      ].map(([letter, from]) =>
        orchestrate(server, avroBody(code, { Z1000K1: str(letter!) }), { holdSocket, from: from! }),
      ),
    );
    await sleep(300);
    release();
    const [e, f] = await both;
    expect([e!.value, f!.value]).toEqual([str('eee'), str('fff')]);
  });
});

describe('reentrance transport: socket first, HTTP when the socket cannot be paired', () => {
  let server: RunningServer;
  let http: { url: string; calls: number; close(): Promise<void> };
  beforeAll(async () => {
    const { createServer } = await import('node:http');
    let calls = 0;
    const stub = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (c: Buffer) => chunks.push(c));
      request.on('end', () => {
        calls++;
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { zobject: ZNode };
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ Z1K1: 'Z22', Z22K1: body.zobject.Z801K1, Z22K2: 'Z24' }));
      });
    });
    await new Promise<void>((resolve) => stub.listen(0, '127.0.0.1', resolve));
    const port = (stub.address() as { port: number }).port;
    http = {
      url: `http://127.0.0.1:${port}/1/v1/evaluate/`,
      get calls() {
        return calls;
      },
      close: () => new Promise<void>((resolve) => stub.close(() => resolve())),
    };
    server = await startServer({
      POLYEVAL_LANGUAGES: languageId('javascript'),
      POLYEVAL_POOL_SIZE: '2',
      POLYEVAL_TIMEOUT_MS: '4000',
      POLYEVAL_WIKIFUNCTIONS_ORCHESTRATOR_URL: http.url,
      POLYEVAL_WIKIFUNCTIONS_CALL_TRANSPORT: 'socket',
    });
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    await http?.close();
  });

  it('uses the paired socket, and HTTP for requests whose pairing is ambiguous', async () => {
    const before = http.calls;
    const paired = await orchestrate(server, avroBody(ADD));
    expect(paired.value).toEqual(str('13'));
    expect(paired.calls).toHaveLength(1);
    expect(http.calls).toBe(before);

    let release!: () => void;
    const holdSocket = new Promise<void>((resolve) => (release = resolve));
    const both = Promise.all([0, 1].map(() => orchestrate(server, avroBody(ADD), { holdSocket })));
    await sleep(300);
    release();
    for (const x of await both) {
      expect(x.value).toEqual(str('13'));
      expect(x.calls).toEqual([]);
    }
    expect(http.calls).toBe(before + 2);
  });
});

// The captured bodies themselves (Python, W.Call), sent byte for byte: the service sends exactly the
// captured call frame on the request's own socket, reads the captured answer, and the call is "13".
// fix0 carries the unmodified orchestrator's broken remainingTime (ignored by default).
describe('Python W.Call over the orchestrator websocket (relayed by its sandbox host)', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({
      POLYEVAL_LANGUAGES: [languageId('javascript'), languageId('python')].join(','),
      POLYEVAL_POOL_SIZE: '2',
      POLYEVAL_TIMEOUT_MS: '4000',
    });
  }, 120_000);
  afterAll(async () => {
    await server?.close();
  });

  for (const { name, body } of capturedBodies) {
    it(`${name}: the captured call frame, the captured answer, "13"`, async () => {
      const x = await orchestrate(server, body, { answer: () => capturedReply });
      expect(x.error).toBeUndefined();
      expect(x.value).toEqual(str('13'));
      // The same frame as captured, but for the whitespace between JSON tokens (the reference
      // wrote Python's json.dumps separators; the orchestrator JSON.parses the frame).
      expect(x.calls).toHaveLength(1);
      expect(x.calls[0]!.slice(0, 5)).toBe(capturedCall.slice(0, 5));
      expect(x.calls[0]!.endsWith('\n')).toBe(capturedCall.endsWith('\n'));
      expect(JSON.parse(x.calls[0]!.slice(5))).toEqual(JSON.parse(capturedCall.slice(5)));
    });
  }

  /** The flat Avro 0.0.4 body of a Python Z1000 with this body (indented by the caller). */
  const pyBody = (body: string, args: Record<string, unknown> = {}) => ({
    ...avroBody('', args),
    codingLanguage: 'python-3',
    codeString: `def Z1000(Z1000K1=None, Z1000K2=None):\n${body}`,
  });

  it('carries values of every kind both ways, several calls in order', async () => {
    const x = await orchestrate(
      server,
      pyBody(
        [
          '    back = W.Call("Z801", Z801K1=[ZPair("a", 1), {"k": True}, 123456789012345678901234567890])',
          '    again = W.Call("Z801", Z801K1="second")',
          '    ok = isinstance(back[0], ZPair) and back[0].K2 == 1 and back[1] == {"k": True} and back[2] == 123456789012345678901234567890',
          '    return again if ok else repr(back)',
        ].join('\n'),
      ),
    );
    expect(x.error).toBeUndefined();
    expect(x.value).toEqual(str('second'));
    expect(x.calls).toHaveLength(2);
    expect(JSON.parse(x.calls[1]!.slice(5))).toEqual({ Z1K1: 'Z7', Z7K1: 'Z801', Z801K1: str('second') });
  });

  it('maps a void answer to a WikifunctionsError the guest can catch, and uncaught to a typed Z507', async () => {
    const caught = await orchestrate(
      server,
      pyBody(
        '    try:\n        return W.Call("Z10000")\n    except WikifunctionsError as e:\n        return type(e).__name__ + ": " + str(e)',
      ),
    );
    expect(caught.error).toBeUndefined();
    expect(caught.value).toEqual(
      str(
        'WikifunctionsError: Z10000 failed: the orchestrator answered void over its websocket (the 2023 protocol does not carry the error)',
      ),
    );
    const uncaught = await orchestrate(server, pyBody('    return W.Call("Z10000")'));
    expect(uncaught.value).toEqual(VOID);
    expect(uncaught.error?.type).toBe('Z507');
    expect(uncaught.error?.text).toContain('Z10000 failed: the orchestrator answered void');
  });

  it('closes the socket on a binary answer and fails only that call, catchable', async () => {
    const x = await orchestrate(
      server,
      pyBody(
        '    try:\n        W.Call("Z801", Z801K1="x")\n        return "no error"\n    except WikifunctionsError as e:\n        return str(e)',
      ),
      { answer: () => Buffer.from('binary') },
    );
    expect(x.error).toBeUndefined();
    expect(String((x.value as ZNode).Z6K1)).toMatch(/it sent a binary frame/);
    expect(x.closed).toMatchObject({ by: 'service', code: 1003 });
  });

  it('ends a call that is never answered at the deadline (Z575) whatever the guest catches, closes the socket, and serves the next', async () => {
    // What the unmodified 2023 orchestrator does. The guest catches everything it can: the call
    // still ends at the deadline as a time limit, not as the guest's own value.
    const x = await orchestrate(
      server,
      pyBody('    try:\n        return W.Call("Z10004")\n    except BaseException:\n        return "caught"'),
    );
    // Python's own time limit (its manifest's default, not POLYEVAL_TIMEOUT_MS's JavaScript one).
    expect(x.value).toEqual(VOID);
    expect(x.error?.type).toBe('Z575');
    expect(x.error?.text).toMatch(/^\d+ ms$/);
    expect(x.closed).toMatchObject({ by: 'service', reason: 'the call was abandoned' });
    for (const { body } of capturedBodies.slice(0, 1)) {
      expect((await orchestrate(server, body)).value).toEqual(str('13'));
    }
  });

  it('refuses a non-reentrant request that calls out with the reference Z507, nothing sent', async () => {
    const x = await orchestrate(server, {
      ...pyBody('    return W.Call("Z801", Z801K1="x")'),
      reentrant: false,
    });
    expect(x.error).toEqual({
      type: 'Z507',
      text: 'Non-reentrant executor tried to call back to the orchestrator',
    });
    expect(x.calls).toEqual([]);
  });

  it('never cross-wires concurrent Python requests: from two addresses each gets its own socket', async () => {
    const body = (letter: string) =>
      pyBody('    return "".join(W.Call("Z801", Z801K1=Z1000K1) for _ in range(3))', {
        Z1000K1: str(letter),
      });
    let release!: () => void;
    const holdSocket = new Promise<void>((resolve) => (release = resolve));
    const both = Promise.all(
      [
        ['g', '127.0.0.1'],
        ['h', '127.0.0.2'],
      ].map(([letter, from]) => orchestrate(server, body(letter!), { holdSocket, from: from! })),
    );
    await sleep(300);
    release();
    const [g, h] = await both;
    expect([g!.value, h!.value]).toEqual([str('ggg'), str('hhh')]);
    for (const [x, letter] of [
      [g!, 'g'],
      [h!, 'h'],
    ] as const) {
      expect(x.calls).toHaveLength(3);
      for (const frame of x.calls) expect(JSON.parse(frame.slice(5)).Z801K1).toEqual(str(letter));
    }
  });
});

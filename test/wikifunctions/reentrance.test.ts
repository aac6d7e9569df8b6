// Reentrant calls end to end: JavaScript guests on the real server call other functions with
// Wikifunctions.Call, which the service sends to an orchestrator over HTTP. The orchestrator here
// is a small stand-in (CI cannot run the real one): it answers Z801 (echo) itself, a few test
// functions with fixed answers, and Z10001 by evaluating a JavaScript function on the same
// Polyeval, as the real orchestrator does with a function implemented in code.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ZNode } from '../../src/wikifunctions/zobject.js';
import { type RunningServer, startServer } from '../helpers/server.js';
import { evaluateFlat, str, withStandInServer } from '../helpers/stand-in-orchestrator.js';
import { languageId } from './e2e.js';

/**
 * The stand-in, with Z10001 a function implemented in JavaScript: evaluated by Polyeval, not
 * reentrant (as the orchestrator sends a nested call when it was itself asked without
 * useReentrance).
 */
const NESTED = {
  Z10001: (z7: ZNode) => ({
    codingLanguage: 'javascript',
    codeString:
      'function Z10001(x) { return typeof Wikifunctions.Call === "function" ? Wikifunctions.Call("Z801", {Z801K1: x + "!"}) : x; }',
    functionName: 'Z10001',
    functionArguments: { Z10001K1: z7.Z10001K1 },
  }),
};

const ADD =
  'function Z1000(a, b) { return String(Number(Wikifunctions.Call("Z801", {Z801K1: a})) + Number(b)); }';

function flat(
  code: string,
  reentrant: boolean,
  args: Record<string, unknown> = { Z1000K1: str('5'), Z1000K2: str('8') },
) {
  return {
    codingLanguage: 'javascript',
    codeString: code,
    functionName: 'Z1000',
    functionArguments: args,
    reentrant,
  };
}

const evaluate = evaluateFlat;

describe('Wikifunctions.Call with a pool of one', () => {
  const ctx = withStandInServer(
    NESTED,
    {
      POLYEVAL_LANGUAGES: languageId('javascript'),
      POLYEVAL_POOL_SIZE: '1',
      POLYEVAL_TIMEOUT_MS: '1000',
    },
    60_000,
  );

  it('calls the orchestrator with a normal-form Z7 and gets the value back like an argument', async () => {
    const before = ctx.orchestrator.received.length;
    const { value, error } = await evaluate(ctx.server, flat(ADD, true));
    expect(error).toBeUndefined();
    expect(value).toEqual(str('13'));
    expect(ctx.orchestrator.received.slice(before)).toEqual([
      { Z1K1: { Z1K1: 'Z9', Z9K1: 'Z7' }, Z7K1: { Z1K1: 'Z9', Z9K1: 'Z801' }, Z801K1: str('5') },
    ]);
  });

  it('works over Avro 0.0.4 as the orchestrator sends it (reentrant: true), with its broken remainingTime', async () => {
    const { value, error } = await evaluate(
      ctx.server,
      { ...flat(ADD, true), remainingTime: -1796604524704 },
      true,
    );
    expect(error).toBeUndefined();
    expect(value).toEqual(str('13'));
  });

  it('carries values of every kind both ways (lists, pairs, maps, integers)', async () => {
    const code = `function Z1000() {
      const back = Wikifunctions.Call("Z801", {Z801K1: [new ZPair("a", 1n), new Map([["k", true]]), 123456789012345678901234567890n]});
      return back[0] instanceof ZPair && back[0].K2 === 1n && back[1].get("k") === true && back[2] === 123456789012345678901234567890n ? "same" : JSON.stringify(String(back));
    }`;
    const { value, error } = await evaluate(ctx.server, flat(code, true, {}));
    expect(error).toBeUndefined();
    expect(value).toEqual(str('same'));
  });

  it('refuses a non-reentrant request with the reference Z507, even when the guest catches it', async () => {
    for (const code of [
      ADD,
      `function Z1000(a) { try { ${ADD.slice(ADD.indexOf('return'), -1)} } catch (e) { return "caught"; } }`,
    ]) {
      const { value, error } = await evaluate(ctx.server, flat(code, false));
      expect(value).toEqual({ Z1K1: 'Z9', Z9K1: 'Z24' });
      expect(error).toEqual({
        type: 'Z507',
        text: 'Non-reentrant executor tried to call back to the orchestrator',
      });
    }
  });

  it('gives a nested failure to the guest as an exception it may catch', async () => {
    const code =
      'function Z1000() { try { return Wikifunctions.Call("Z10002", {}); } catch (e) { return e.name + ": " + e.message; } }';
    const { value, error } = await evaluate(ctx.server, flat(code, true, {}));
    expect(error).toBeUndefined();
    expect(value).toEqual(str('WikifunctionsError: Z10002 failed: the stand-in says no'));
  });

  it('does not hang when the nested function needs the only sandbox: the caller fails typed at its deadline, then the nested call runs', async () => {
    const code = 'function Z1000(a) { return Wikifunctions.Call("Z10001", {Z10001K1: a}); }';
    const nestedBefore = ctx.orchestrator.nestedAnswers.length;
    const { value, error } = await evaluate(ctx.server, flat(code, true, { Z1000K1: str('x') }));
    expect(value).toEqual({ Z1K1: 'Z9', Z9K1: 'Z24' });
    expect(error).toEqual({ type: 'Z575', text: '1000 ms' });
    // The nested evaluation queued behind its caller and ran once the slot was free.
    await expect.poll(() => ctx.orchestrator.nestedAnswers.length, { timeout: 5000 }).toBe(nestedBefore + 1);
    const next = await evaluate(ctx.server, flat(ADD, true));
    expect(next.value).toEqual(str('13'));
  });

  it('caps the calls of one evaluation (Z507)', async () => {
    const code =
      'function Z1000() { for (let i = 0; i < 60; i++) Wikifunctions.Call("Z801", {Z801K1: "x"}); return "all"; }';
    const { error } = await evaluate(ctx.server, flat(code, true, {}));
    expect(error).toEqual({
      type: 'Z507',
      text: 'Cannot run "Z1000": Cannot call back to the orchestrator: one evaluation may make at most 50 calls',
    });
  });

  it('caps the bytes of an answer (Z507) and of the arguments (by the output limit)', async () => {
    const big = await evaluate(
      ctx.server,
      flat('function Z1000() { return Wikifunctions.Call("Z10003", {}).length; }', true, {}),
    );
    expect(big.error?.type).toBe('Z507');
    expect(big.error?.text).toMatch(/answer is larger than 1048576 bytes/);
    const args = await evaluate(
      ctx.server,
      flat('function Z1000() { return Wikifunctions.Call("Z801", {Z801K1: "y".repeat(100000)}); }', true, {}),
    );
    expect(args.error?.type).toBe('Z507');
    expect(args.error?.text).toMatch(/arguments are larger than the output limit/);
    // Within the output limit as the guest gives them, over 1 MiB in normal form: never sent.
    const before = ctx.orchestrator.received.length;
    const normal = await evaluate(
      ctx.server,
      flat(
        'function Z1000() { return Wikifunctions.Call("Z801", {Z801K1: new Array(10000).fill("a")}); }',
        true,
        {},
      ),
    );
    expect(normal.error?.type).toBe('Z507');
    expect(normal.error?.text).toMatch(
      /the call takes \d+ bytes in normal form, more than the limit of 1048576/,
    );
    expect(ctx.orchestrator.received.length).toBe(before);
  });

  it("waits for an answer within the caller's own time limit only (Z575), and serves the next call", async () => {
    const slow = await evaluate(
      ctx.server,
      flat('function Z1000() { return Wikifunctions.Call("Z10004", {}); }', true, {}),
    );
    expect(slow.error).toEqual({ type: 'Z575', text: '1000 ms' });
    const next = await evaluate(ctx.server, flat(ADD, true));
    expect(next.value).toEqual(str('13'));
  });

  it('refuses bad calls as exceptions the guest sees', async () => {
    const code = `function Z1000() {
      const out = [];
      for (const f of [() => Wikifunctions.Call(801, {}), () => Wikifunctions.Call("not a zid", {}), () => Wikifunctions.Call("Z801", {Z801K1: () => 1}), () => Wikifunctions.Call("Z801", {"bad key": "x"})]) {
        try { f(); out.push("no error"); } catch (e) { out.push(e.name); }
      }
      return out.join(",");
    }`;
    const { value, error } = await evaluate(ctx.server, flat(code, true, {}));
    expect(error).toBeUndefined();
    expect(value).toEqual(str('TypeError,WikifunctionsError,TypeError,WikifunctionsError'));
  });
});

describe('Wikifunctions.Call with a pool of two', () => {
  const ctx = withStandInServer(
    NESTED,
    {
      POLYEVAL_LANGUAGES: languageId('javascript'),
      POLYEVAL_POOL_SIZE: '2',
    },
    60_000,
  );

  it('runs a function that calls a function evaluated here; the nested one may not call out itself', async () => {
    const code = 'function Z1000(a) { return Wikifunctions.Call("Z10001", {Z10001K1: a}); }';
    const { error } = await evaluate(ctx.server, flat(code, true, { Z1000K1: str('x') }));
    // The nested evaluation is not reentrant (the orchestrator is asked without useReentrance),
    // so its own call-out is the reference's Z507, which reaches the caller as the nested failure.
    expect(error?.type).toBe('Z507');
    expect(error?.text).toContain(
      'Z10001 failed: Non-reentrant executor tried to call back to the orchestrator',
    );
  });

  it('keeps concurrent reentrant evaluations apart (each its own channel)', async () => {
    const code =
      'function Z1000(a) { let v = ""; for (let i = 0; i < 5; i++) v += Wikifunctions.Call("Z801", {Z801K1: a}); return v; }';
    const answers = await Promise.all(
      ['a', 'b', 'c', 'd', 'e', 'f'].map((letter) =>
        evaluate(ctx.server, flat(code, true, { Z1000K1: str(letter) })),
      ),
    );
    expect(answers.map((a) => a.value)).toEqual(['a', 'b', 'c', 'd', 'e', 'f'].map((l) => str(l.repeat(5))));
  });
});

describe('Wikifunctions.Call without an orchestrator configured', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ POLYEVAL_LANGUAGES: languageId('javascript'), POLYEVAL_POOL_SIZE: '1' });
  }, 60_000);
  afterAll(async () => {
    await server?.close();
  });

  it("refuses a reentrant request's call-out typed, naming the setting", async () => {
    const { error } = await evaluate(server, flat(ADD, true));
    expect(error?.type).toBe('Z507');
    expect(error?.text).toContain('POLYEVAL_WIKIFUNCTIONS_ORCHESTRATOR_URL');
  });

  it('is not there for native calls (only the Wikifunctions API has it)', async () => {
    const response = await fetch(`${server.url}/v1/evaluate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        language: 'javascript',
        code: 'function f() { return typeof Wikifunctions; }',
        function: 'f',
        args: [],
      }),
    });
    expect(await response.json()).toMatchObject({ ok: true, value: 'undefined' });
  });
});

// The call-out door (Wikifunctions reentrance: a guest calls another function and blocks) crosses
// two distrusting boundaries: worker → sandbox host process, and host process → service. Each side
// checks every `call-out` message (protocol-guard.ts checkCallOut): only from the call being served,
// only when that call has a channel, one at a time, never after a fatal answer, never larger than
// the channel. A hostile interpreter worker (test/fixtures/hostile/sandbox-worker.ts under the real
// sandbox host) or a hostile host process (test/fixtures/hostile/fake-host.ts) that forges one is
// killed: only its call fails (SANDBOX_CRASH), the event is counted, and the forgery never reaches
// the evaluation's channel. The honest path goes through the real relay and a real channel.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Call, ExecutionResult, Executor } from '../../src/executor/contract.js';
import { toTaggedJson } from '../../src/executor/json-value.js';
import { type CallOutAnswer, CallOutChannel } from '../../src/wikifunctions/call-out-channel.js';
import { compileFixture, hostileExecutor as executor, type Logged } from '../helpers/fixtures.js';

compileFixture('hostile/probe-realm');
compileFixture('hostile/sandbox-worker');
const sandboxHost = compileFixture('hostile/sandbox-host');
const fakeHost = compileFixture('hostile/fake-host');

const LIMITS = { timeoutMs: 5000, memoryMb: 64, outputBytes: 1000 };
const BIG = 123456789012345678901234567890n;

/**
 * A channel as an evaluation opens it, answering every call-out with BIG (fatally for Zfatal, after
 * 300 ms for Zslow).
 */
function openChannel(): { channel: CallOutChannel; seen: string[] } {
  const channel = new CallOutChannel(4096);
  const seen: string[] = [];
  channel.serve(async (text): Promise<CallOutAnswer> => {
    seen.push(text);
    if (text.includes('Zfatal')) return { ok: false, message: 'no more calls', fatal: true };
    if (text.includes('Zslow')) await new Promise((resolve) => setTimeout(resolve, 300));
    return { ok: true, text: toTaggedJson([BIG, 'ok']) };
  });
  return { channel, seen };
}

function call(code: string, channel?: CallOutChannel): Call {
  return {
    code,
    function: 'main',
    args: [1, 2],
    limits: LIMITS,
    ...(channel === undefined ? {} : { callOut: channel.buffer }),
  };
}

function events(executor: Executor): Record<string, number> {
  return (executor.readiness().details.securityEvents ?? {}) as Record<string, number>;
}

function expectViolation(result: ExecutionResult): void {
  expect(result.ok).toBe(false);
  if (result.ok) return;
  expect(result.error.code).toBe('SANDBOX_CRASH');
  expect(result.error.message).toMatch(/^Cannot run "main": the sandbox was killed for a protocol violation/);
}

const FORGERIES: [mode: string, kind: string, withChannel: boolean][] = [
  ['call-out-wrong-id', 'wrong-id', true],
  ['call-out-twice', 'unexpected-message', true],
  ['call-out-oversized', 'oversized', true],
  ['call-out-malformed', 'malformed', true],
  ['call-out-unasked', 'unexpected-message', false],
];

describe('a sandbox host distrusts the call-outs of its interpreter workers', () => {
  const logs: Logged[] = [];
  let host: Executor;

  beforeAll(async () => {
    host = executor(sandboxHost, logs);
    await host.start();
  });

  afterAll(async () => {
    await host.close();
  });

  it('relays an honest call-out to the channel with the time left by its own clock, and the value back as arguments travel', async () => {
    const { channel, seen } = openChannel();
    const result = await host.execute(call('call-out-honest', channel));
    channel.close();
    // Big integers come back as raw JSON integers (how arguments reach a guest), not tagged.
    expect(result).toMatchObject({
      ok: true,
      value: [
        { ok: true, text: `[${BIG},"ok"]` },
        { ok: true, text: `[${BIG},"ok"]` },
      ],
    });
    expect(seen).toHaveLength(2);
    for (const [i, text] of seen.entries()) {
      const [ms, zid, args] = text.split('\n');
      expect(Number(ms)).toBeGreaterThan(0);
      expect(Number(ms)).toBeLessThanOrEqual(LIMITS.timeoutMs);
      expect([zid, args]).toEqual(['Z801', `{"K1":${i}}`]);
    }
  });

  for (const [mode, kind, withChannel] of [
    ...FORGERIES,
    ['call-out-after-fatal', 'unexpected-message', true] as const,
  ]) {
    it(`kills a worker that forges ${mode}; an honest call runs in a never-used interpreter`, async () => {
      const before = events(host)[kind] ?? 0;
      const { channel, seen } = openChannel();
      const hostile = await host.execute(call(mode, withChannel ? channel : undefined));
      expectViolation(hostile);
      expect(events(host)[kind]).toBe(before + 1);
      // Nothing forged reached the channel (the first of two, and a refused one, are not forged).
      await expect
        .poll(() => seen.filter((t) => !t.endsWith('Zfatal\n{}')).length)
        .toBe(mode === 'call-out-twice' ? 1 : 0);
      channel.close();
      const honest = await host.execute(call('honest'));
      expect(honest).toMatchObject({ ok: true, value: { sum: 3, served: 1, infected: false } });
      expect(logs).toContainEqual(
        expect.objectContaining({ level: 'error', fields: expect.objectContaining({ securityEvent: kind }) }),
      );
    });
  }

  it('never relays a call-out sent after the call was answered', async () => {
    const { channel, seen } = openChannel();
    expect(await host.execute(call('call-out-after-done', channel))).toMatchObject({
      ok: true,
      value: 'hostile',
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    channel.close();
    expect(seen).toEqual([]);
  });
});

describe('the service distrusts the call-outs of its sandbox host processes', () => {
  const logs: Logged[] = [];
  let host: Executor;

  beforeAll(async () => {
    host = executor(fakeHost, logs);
    await host.start();
  });

  afterAll(async () => {
    await host.close();
  });

  it('relays an honest call-out and sends the answer back to the host', async () => {
    const { channel, seen } = openChannel();
    const result = await host.execute(call('call-out-honest', channel));
    channel.close();
    expect(result).toMatchObject({ ok: true, value: { ok: true, text: `[${BIG},"ok"]` } });
    expect(seen).toHaveLength(1);
    // The time left is the service's own reckoning, whatever the host might have claimed.
    expect(Number(seen[0]!.split('\n')[0])).toBeLessThanOrEqual(LIMITS.timeoutMs);
  });

  it('does not run a call that called out again when its host dies (its call-outs were made)', async () => {
    const { channel, seen } = openChannel();
    const result = await host.execute(call('call-out-then-die', channel));
    channel.close();
    expect(result).toMatchObject({
      ok: false,
      error: { code: 'SANDBOX_CRASH', message: expect.stringMatching(/the sandbox host died/) },
    });
    expect(seen).toHaveLength(1);
    expect(await host.execute(call('honest'))).toMatchObject({ ok: true, value: { sum: 3 } });
  });

  for (const [mode, kind, withChannel] of FORGERIES) {
    it(`kills a host that forges ${mode}; only its call fails`, async () => {
      const before = events(host)[kind] ?? 0;
      const { channel, seen } = openChannel();
      const hostile = host.execute(call(mode, withChannel ? channel : undefined));
      const honest = host.execute(call('honest'));
      expectViolation(await hostile);
      expect(await honest).toMatchObject({ ok: true, value: { sum: 3, infected: false } });
      expect(events(host)[kind]).toBe(before + 1);
      await expect.poll(() => seen.length).toBe(mode === 'call-out-twice' ? 1 : 0);
      channel.close();
    });
  }
});

// The call-out channel between a sandbox worker and the service thread, with real threads: a
// request and its answer, the deadline, the end of the evaluation, and a worker that no longer
// follows the protocol (as if the guest had escaped QuickJS into the worker's JavaScript): it
// floods the buffer and writes lengths past its end. The service thread must keep running its
// timers (they enforce every deadline) and must stop serving at the first fatal refusal.

import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { relayCallOut } from '../../src/executor/host/call-out-relay.js';
import { CallOutChannel } from '../../src/wikifunctions/call-out-channel.js';

const MODULE = new URL('../../dist/src/wikifunctions/call-out-channel.js', import.meta.url).href;

const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
});

/** Runs `body` in a worker with `buffer`, `requestBlocking` and `CHANNEL_STATE` in scope; resolves with what it posts. */
function inWorker(buffer: SharedArrayBuffer, body: string): Promise<unknown> {
  const worker = new Worker(
    `const { workerData, parentPort } = require('node:worker_threads');
     import(workerData.module).then(({ requestBlocking, CHANNEL_STATE }) => {
       const buffer = workerData.buffer;
       parentPort.postMessage((() => { ${body} })());
     });`,
    { eval: true, workerData: { buffer, module: MODULE } },
  );
  workers.push(worker);
  return new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

describe('call-out channel', () => {
  it('carries a request to the service thread and its answer back, in order', async () => {
    const channel = new CallOutChannel(1024);
    const seen: string[] = [];
    channel.serve(async (text) => {
      seen.push(text);
      await new Promise((r) => setTimeout(r, 5));
      return { ok: true, text: `answer to ${text}` };
    });
    const answers = await inWorker(
      channel.buffer,
      `const out = [];
       for (const t of ['one', 'two', 'trois ünïcödé']) out.push(requestBlocking(buffer, t, performance.now() + 5000));
       return out;`,
    );
    channel.close();
    expect(seen).toEqual(['one', 'two', 'trois ünïcödé']);
    expect(answers).toEqual([
      { ok: true, text: 'answer to one' },
      { ok: true, text: 'answer to two' },
      { ok: true, text: 'answer to trois ünïcödé' },
    ]);
  });

  it('carries the kind of a refusal: catchable, or the caller out of time (seen before its own clock says so)', async () => {
    const channel = new CallOutChannel(1024);
    const answers = [
      { ok: false, message: 'caught', fatal: false },
      { ok: false, message: 'late', fatal: true, timeout: true },
    ] as const;
    let next = 0;
    channel.serve(async () => answers[next++]!);
    const seen = await inWorker(
      channel.buffer,
      `return ['a', 'b'].map((t) => requestBlocking(buffer, t, performance.now() + 60000));`,
    );
    channel.close();
    expect(seen).toEqual([
      { ok: false, message: 'caught', fatal: false },
      { ok: false, message: 'late', fatal: true, timeout: true },
    ]);
  });

  it("carries the kind of a refusal to a sandbox host's call-out too (the relay), not only to a worker thread", async () => {
    // The relay (a Python guest's call-out, sent on by its sandbox host) reads the same channel:
    // a refusal at the caller's deadline that the service's timer saw before the relay's clock
    // must stay a TIMEOUT, or the guest gets a catchable error and carries on past its deadline.
    // One channel each: after a fatal refusal a channel serves nothing more.
    const answers = [
      { ok: false, message: 'caught', fatal: false },
      { ok: false, message: 'ended', fatal: true },
      { ok: false, message: 'no time left', fatal: true, timeout: true },
      { ok: true, text: '{"Z1K1":"Z6","Z6K1":"x"}' },
    ] as const;
    for (const answer of answers) {
      const channel = new CallOutChannel(1024);
      const seen: string[] = [];
      channel.serve(async (text) => {
        seen.push(text);
        return answer;
      });
      const got = await relayCallOut(channel.buffer, 'Z801\n{}', performance.now() + 60_000);
      channel.close();
      expect(seen.map((text) => text.split('\n').slice(1))).toEqual([['Z801', '{}']]);
      expect(got).toEqual(answer);
    }
  });

  it('stops waiting at the deadline, and when the evaluation ends', async () => {
    const late = new CallOutChannel(64);
    late.serve(() => new Promise(() => {}));
    const timedOut = await inWorker(
      late.buffer,
      `return requestBlocking(buffer, 'x', performance.now() + 50);`,
    );
    late.close();
    expect(timedOut).toMatchObject({ ok: false, fatal: true, timeout: true });

    const ended = new CallOutChannel(64);
    ended.serve(() => new Promise(() => {}));
    const waiting = inWorker(ended.buffer, `return requestBlocking(buffer, 'x', performance.now() + 60000);`);
    setTimeout(() => ended.close(), 50);
    expect(await waiting).toMatchObject({ ok: false, fatal: true, timeout: false });
  });

  it('refuses a request larger than the buffer without sending it, and an answer larger than it', async () => {
    const channel = new CallOutChannel(32);
    let served = 0;
    channel.serve(async () => {
      served++;
      return { ok: true, text: 'x'.repeat(33) };
    });
    const answers = await inWorker(
      channel.buffer,
      `return [requestBlocking(buffer, 'y'.repeat(33), performance.now() + 5000), requestBlocking(buffer, 'small', performance.now() + 5000), requestBlocking(buffer, 'again', performance.now() + 5000)];`,
    );
    channel.close();
    expect(served).toBe(1);
    expect(answers).toMatchObject([
      { ok: false, fatal: true, message: 'the call takes 33 bytes, more than the limit of 32' },
      { ok: false, fatal: true, message: expect.stringMatching(/^The answer takes 33 bytes/) },
      { ok: false, fatal: true, message: expect.stringMatching(/^The answer takes 33 bytes/) },
    ]);
  });

  it('survives a worker that floods the buffer and lies about lengths: timers keep running, serving stops at the first fatal refusal', async () => {
    const channel = new CallOutChannel(64);
    let served = 0;
    channel.serve(async () => {
      served++;
      return served < 20 ? { ok: true, text: 'fine' } : { ok: false, message: 'enough', fatal: true };
    });
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 5);
    const flooding = inWorker(
      channel.buffer,
      `const words = new Int32Array(buffer, 0, 2);
       const end = performance.now() + 300;
       let writes = 0;
       while (performance.now() < end) {
         Atomics.store(words, 1, 0x7fffffff);
         Atomics.store(words, 0, CHANNEL_STATE.REQUEST);
         Atomics.notify(words, 0);
         writes++;
       }
       return writes;`,
    );
    const writes = (await flooding) as number;
    await new Promise((r) => setTimeout(r, 50));
    clearInterval(ticker);
    channel.close();
    expect(writes).toBeGreaterThan(1000);
    expect(ticks).toBeGreaterThan(10);
    expect(served).toBe(20);
    // Over: every later request gets the same refusal, without reaching the handler.
  });
});

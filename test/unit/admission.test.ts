import { describe, expect, it } from 'vitest';
import { ServiceError } from '../../src/errors.js';
import { Admission } from '../../src/orchestrator/admission.js';

const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
};

describe('admission', () => {
  it('runs at most `capacity` tasks at once and queues the rest in order', async () => {
    const admission = new Admission('demo', { capacity: 2, queueMax: 10, queueTimeoutMs: 10_000 });
    const gates = [deferred(), deferred(), deferred()];
    const order: number[] = [];
    const runs = gates.map((g, i) =>
      admission.run(async () => {
        order.push(i);
        await g.promise;
      }),
    );
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual([0, 1]);
    expect(admission.inFlight).toBe(2);
    expect(admission.queued).toBe(1);
    gates[0]!.resolve();
    await runs[0];
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual([0, 1, 2]);
    gates[1]!.resolve();
    gates[2]!.resolve();
    await Promise.all(runs);
    expect(admission.inFlight).toBe(0);
  });

  it('refuses with overloaded + Retry-After when the queue is full', async () => {
    const admission = new Admission('demo', { capacity: 1, queueMax: 1, queueTimeoutMs: 10_000 });
    const gate = deferred();
    const first = admission.run(() => gate.promise);
    const second = admission.run(async () => 'queued');
    const error = await admission.run(async () => 'third').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceError);
    expect((error as ServiceError).problem).toBe('overloaded');
    expect((error as ServiceError).retryAfterSeconds).toBe(1);
    gate.resolve();
    await first;
    expect(await second).toBe('queued');
  });

  it('refuses a call that waited longer than the queue timeout, and frees its place', async () => {
    const admission = new Admission('demo', { capacity: 1, queueMax: 1, queueTimeoutMs: 50 });
    const gate = deferred();
    const first = admission.run(() => gate.promise);
    const error = await admission.run(async () => 1).catch((e: unknown) => e);
    expect((error as ServiceError).problem).toBe('overloaded');
    expect(admission.queued).toBe(0);
    gate.resolve();
    await first;
  });

  it('drops a queued call whose client went away', async () => {
    const admission = new Admission('demo', { capacity: 1, queueMax: 5, queueTimeoutMs: 10_000 });
    const gate = deferred();
    const first = admission.run(() => gate.promise);
    const controller = new AbortController();
    let ran = false;
    const queued = admission.run(async () => {
      ran = true;
    }, controller.signal);
    controller.abort();
    await expect(queued).rejects.toBeInstanceOf(ServiceError);
    gate.resolve();
    await first;
    expect(ran).toBe(false);
    expect(admission.queued).toBe(0);
  });
});

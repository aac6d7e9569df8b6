// Admission control for one language: at most `capacity` calls run at once, at most `queueMax`
// wait (first come, first served) and none waits longer than `queueTimeoutMs`. Anything beyond is
// refused at once with 503 + Retry-After instead of piling up in memory.

import { ServiceError } from '../errors.js';

interface Waiter {
  readonly admit: () => void;
  readonly refuse: (error: ServiceError) => void;
}

export class Admission {
  private running = 0;
  private readonly queue: Waiter[] = [];
  private closedReason: ServiceError | undefined;

  constructor(
    private readonly name: string,
    private readonly limits: { capacity: number; queueMax: number; queueTimeoutMs: number },
  ) {}

  get inFlight(): number {
    return this.running;
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Runs `task` when a slot is free. Throws ServiceError('overloaded') when the queue is full. */
  async run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.enter(signal);
    try {
      return await task();
    } finally {
      this.leave();
    }
  }

  /**
   * Refuses every future call (graceful shutdown). Calls already waiting keep their place: they
   * were accepted, and run as slots free up until refuseWaiting() (the end of the grace period).
   */
  close(reason: ServiceError): void {
    this.closedReason = reason;
  }

  /** Refuses every call still waiting for a slot. */
  refuseWaiting(reason: ServiceError): void {
    for (const waiter of this.queue.splice(0)) waiter.refuse(reason);
  }

  private enter(signal?: AbortSignal): Promise<void> {
    if (this.closedReason !== undefined) return Promise.reject(this.closedReason);
    if (this.running < this.limits.capacity && this.queue.length === 0) {
      this.running++;
      return Promise.resolve();
    }
    if (this.queue.length >= this.limits.queueMax) {
      return Promise.reject(
        new ServiceError(
          'overloaded',
          `Cannot queue the call: the ${this.name} queue is full (${this.limits.queueMax} waiting)`,
          {
            retryAfterSeconds: 1,
          },
        ),
      );
    }
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        remove();
        reject(
          new ServiceError(
            'overloaded',
            `Cannot run the call: it waited ${this.limits.queueTimeoutMs} ms in the ${this.name} queue`,
            { retryAfterSeconds: 1 },
          ),
        );
      }, this.limits.queueTimeoutMs);
      const onAbort = (): void => {
        remove();
        reject(new ServiceError('invalid-request', 'The client went away while the call was queued'));
      };
      const waiter: Waiter = {
        admit: () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          this.running++;
          resolve();
        },
        refuse: (error) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      const remove = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const i = this.queue.indexOf(waiter);
        if (i >= 0) this.queue.splice(i, 1);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(waiter);
    });
  }

  private leave(): void {
    this.running--;
    const next = this.queue.shift();
    if (next !== undefined) next.admit();
  }
}

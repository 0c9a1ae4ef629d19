/**
 * Time as the local runtime sees it. Everything in local/ that waits or timestamps takes a
 * Clock, so tests run on a FakeClock (no wall-clock waits, no flaky thresholds) and
 * `npm start` runs on the system clock.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      // Cleared on abort, so a stopped poller leaves no timer behind and the process can exit.
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
    }),
};

/**
 * A clock that only moves when told to, or when someone sleeps: `sleep(ms)` advances time
 * by `ms` and yields to the event loop (so real I/O, e.g. DynamoDB Local, still progresses).
 */
export class FakeClock implements Clock {
  private current: number;

  constructor(start: number | Date = Date.UTC(2026, 0, 1)) {
    this.current = typeof start === 'number' ? start : start.getTime();
  }

  now(): number {
    return this.current;
  }

  advance(ms: number): void {
    if (!(ms >= 0)) throw new Error(`FakeClock.advance: ms must be >= 0, got ${ms}`);
    this.current += ms;
  }

  set(ms: number | Date): void {
    this.current = typeof ms === 'number' ? ms : ms.getTime();
  }

  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return;
    this.current += Math.max(0, ms);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

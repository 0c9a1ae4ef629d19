/** Backoff for the indexer's I/O (BatchGetItem's UnprocessedKeys, Typesense calls). */
export interface IndexerRetryPolicy {
  /** Attempts per call, first try included. */
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Injected so tests never wait. */
  readonly sleep: (ms: number) => Promise<void>;
  /** In [0, 1): jitter. */
  readonly random: () => number;
}

export const DEFAULT_INDEXER_RETRY: IndexerRetryPolicy = {
  maxAttempts: 5,
  baseDelayMs: 100,
  maxDelayMs: 3_000,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: Math.random,
};

/** Exponential backoff with equal jitter: between half and all of min(max, base * 2^(n-1)). */
export function backoffMs(policy: IndexerRetryPolicy, attempt: number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (ceiling / 2) * policy.random());
}

/**
 * The invocation's deadline, shared by the handler (which sets the context) and the
 * Typesense port (which checks it): no call or retry starts unless `marginMs` would be left
 * after it, so a slow Typesense fails the batch's remaining documents (redelivered) instead
 * of the function timing out with its outcome unknown.
 */
export class InvocationDeadline {
  context?: { getRemainingTimeInMillis(): number };

  constructor(readonly marginMs: number) {}

  /** Milliseconds left before the margin (Infinity outside an invocation). */
  usableMs(): number {
    return this.context ? this.context.getRemainingTimeInMillis() - this.marginMs : Number.POSITIVE_INFINITY;
  }
}

export class DeadlineReached extends Error {
  override readonly name = 'DeadlineReached';
}

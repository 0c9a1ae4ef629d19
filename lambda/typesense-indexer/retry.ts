/** Backoff for the indexer's I/O (BatchGetItem's UnprocessedKeys, Typesense calls): the shared shape. */
import { realSleep, type RetryPolicy } from '../shared/backoff';

export type IndexerRetryPolicy = RetryPolicy;

export const DEFAULT_INDEXER_RETRY: IndexerRetryPolicy = {
  maxAttempts: 5,
  baseDelayMs: 100,
  maxDelayMs: 3_000,
  sleep: realSleep,
  random: Math.random,
};

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

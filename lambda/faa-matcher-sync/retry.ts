/** faa-matcher-sync's retry bounds; the error classes (lambda/shared/dynamo-errors.ts) and the backoff shape (lambda/shared/backoff.ts) are shared. */
import type { BackoffDelays } from '../shared/backoff';

export { backoffDelay, realSleep } from '../shared/backoff';
export { cancellationCodes, classifyWriteError as classifyDynamoError, type WriteFailure as ErrorClass } from '../shared/dynamo-errors';

export interface RetryPolicy extends BackoffDelays {
  /** Requests per key (transactions; BatchGetItem rounds for unprocessed keys), first one included. */
  readonly maxAttempts: number;
}

/** About 5 s of backoff in total before the record fails (the function timeout is 60 s). */
export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 8, baseDelayMs: 50, maxDelayMs: 2_000 };

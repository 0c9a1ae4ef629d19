/** image-sync's retry bounds; the error classes (lambda/shared/dynamo-errors.ts) and the backoff shape (lambda/shared/backoff.ts) are shared. */
import type { BackoffDelays } from '../shared/backoff';

export { backoffDelay, realSleep } from '../shared/backoff';
export { cancellationCodes, classifyWriteError, type WriteFailure } from '../shared/dynamo-errors';

export interface BackoffPolicy extends BackoffDelays {
  /** Retries of one round after transient failures, before the key fails. */
  readonly retries: number;
}

/** About 3 s of backoff in total before the key fails (the function timeout is 60 s). */
export const DEFAULT_BACKOFF: BackoffPolicy = { retries: 6, baseDelayMs: 50, maxDelayMs: 1_000 };

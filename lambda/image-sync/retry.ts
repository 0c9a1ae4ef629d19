/** image-sync's retry bounds; the error classes and backoff shape are shared (lambda/shared/dynamo-errors.ts). */
import type { BackoffDelays } from '../shared/dynamo-errors';

export { backoffDelay, cancellationCodes, classifyWriteError, realSleep, type WriteFailure } from '../shared/dynamo-errors';

export interface BackoffPolicy extends BackoffDelays {
  /** Retries of one round after transient failures, before the key fails. */
  readonly retries: number;
}

/** About 3 s of backoff in total before the key fails (the function timeout is 60 s). */
export const DEFAULT_BACKOFF: BackoffPolicy = { retries: 6, baseDelayMs: 50, maxDelayMs: 1_000 };

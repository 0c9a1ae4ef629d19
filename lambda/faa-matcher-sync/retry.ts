/** faa-matcher-sync's retry bounds; the error classes and backoff shape are shared (lambda/shared/dynamo-errors.ts). */
import type { BackoffDelays } from '../shared/dynamo-errors';

export {
  backoffDelay,
  cancellationCodes,
  classifyWriteError as classifyDynamoError,
  realSleep,
  type WriteFailure as ErrorClass,
} from '../shared/dynamo-errors';

export interface RetryPolicy extends BackoffDelays {
  /** Requests per key (transactions; BatchGetItem rounds for unprocessed keys), first one included. */
  readonly maxAttempts: number;
}

/** About 5 s of backoff in total before the record fails (the function timeout is 60 s). */
export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 8, baseDelayMs: 50, maxDelayMs: 2_000 };

/**
 * How a failed DynamoDB call is treated:
 * - `condition`: a condition did not hold (the link, its contribution row or a tuple count changed
 *   since it was read). Re-read and decide again; never blindly repeat.
 * - `retryable`: transient contention or throttling. Back off and try again.
 * - `fatal`: anything else (validation, access denied, ...). Fail the record now.
 */
export type ErrorClass =
  | { readonly kind: 'condition'; readonly code: string }
  | { readonly kind: 'retryable'; readonly code: string }
  | { readonly kind: 'fatal'; readonly code: string };

/** Cancellation reason codes of TransactWriteItems that are worth another attempt. */
const RETRYABLE_REASONS: ReadonlySet<string> = new Set([
  'TransactionConflict',
  'ProvisionedThroughputExceeded',
  'ThrottlingError',
  'ThrottlingException',
  'RequestLimitExceeded',
]);

/** Error names (SDK exceptions) worth another attempt. */
const RETRYABLE_NAMES: ReadonlySet<string> = new Set([
  'TransactionConflictException',
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'Throttling',
  'RequestLimitExceeded',
  'TransactionInProgressException',
]);

interface MaybeSdkError {
  name?: unknown;
  message?: unknown;
  CancellationReasons?: ReadonlyArray<{ Code?: string } | undefined>;
}

/** The per-item codes of a TransactionCanceledException (from CancellationReasons, else the message). */
export function cancellationCodes(error: unknown): string[] {
  const e = (error ?? {}) as MaybeSdkError;
  if (Array.isArray(e.CancellationReasons) && e.CancellationReasons.length > 0) {
    return e.CancellationReasons.map((r) => r?.Code ?? 'None');
  }
  const listed = /\[([^\]]*)\]/.exec(typeof e.message === 'string' ? e.message : '');
  return listed ? listed[1]!.split(',').map((s) => s.trim() || 'None') : [];
}

export function classifyDynamoError(error: unknown): ErrorClass {
  const name = typeof (error as MaybeSdkError)?.name === 'string' ? ((error as MaybeSdkError).name as string) : 'Error';
  if (name === 'TransactionCanceledException') {
    const codes = cancellationCodes(error);
    if (codes.includes('ConditionalCheckFailed')) {
      return { kind: 'condition', code: 'ConditionalCheckFailed' };
    }
    const retryable = codes.find((c) => RETRYABLE_REASONS.has(c));
    if (retryable) return { kind: 'retryable', code: retryable };
    return { kind: 'fatal', code: `TransactionCanceled[${codes.join(',')}]` };
  }
  if (name === 'ConditionalCheckFailedException') return { kind: 'condition', code: name };
  if (RETRYABLE_NAMES.has(name)) return { kind: 'retryable', code: name };
  return { kind: 'fatal', code: name };
}

export interface RetryPolicy {
  /** Requests per key (transactions; BatchGetItem rounds for unprocessed keys), first one included. */
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

/** About 5 s of backoff in total before the record fails (the function timeout is 60 s). */
export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 8, baseDelayMs: 50, maxDelayMs: 2_000 };

/**
 * Delay before attempt `attempt + 1`: exponential (base * 2^(attempt-1)), capped, with "equal
 * jitter" (half fixed, half random) so concurrent shards contending for one tuple spread out.
 */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

export const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

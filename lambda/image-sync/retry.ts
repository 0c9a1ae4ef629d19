/**
 * How a failed pointer write is treated (DESIGN §9):
 * - `condition`: the pointer or the source image changed since it was read. Re-read and decide
 *   again; never repeat the same write.
 * - `retryable`: transient contention or throttling. Back off and send the round again.
 * - `fatal`: anything else (validation, access denied, missing table). Fail now.
 */
export type WriteFailure =
  | { readonly kind: 'condition'; readonly code: string; readonly failed: readonly number[] }
  | { readonly kind: 'retryable'; readonly code: string }
  | { readonly kind: 'fatal'; readonly code: string };

const RETRYABLE_REASONS: ReadonlySet<string> = new Set([
  'TransactionConflict',
  'ProvisionedThroughputExceeded',
  'ThrottlingError',
  'ThrottlingException',
  'RequestLimitExceeded',
]);

const RETRYABLE_NAMES: ReadonlySet<string> = new Set([
  'TransactionConflictException',
  'TransactionInProgressException',
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'Throttling',
  'RequestLimitExceeded',
]);

interface MaybeSdkError {
  name?: unknown;
  message?: unknown;
  CancellationReasons?: ReadonlyArray<{ Code?: string } | undefined>;
}

/** Per-item codes of a TransactionCanceledException (CancellationReasons, else the message's `[..]` list). */
export function cancellationCodes(error: unknown): string[] {
  const e = (error ?? {}) as MaybeSdkError;
  if (Array.isArray(e.CancellationReasons) && e.CancellationReasons.length > 0) {
    return e.CancellationReasons.map((r) => r?.Code ?? 'None');
  }
  const listed = /\[([^\]]*)\]/.exec(typeof e.message === 'string' ? e.message : '');
  return listed ? listed[1]!.split(',').map((s) => s.trim() || 'None') : [];
}

/** `failed` lists the positions of the transaction items whose condition did not hold. */
export function classifyWriteError(error: unknown): WriteFailure {
  const name = typeof (error as MaybeSdkError)?.name === 'string' ? ((error as MaybeSdkError).name as string) : 'Error';
  if (name === 'TransactionCanceledException') {
    const codes = cancellationCodes(error);
    const failed = codes.flatMap((code, i) => (code === 'ConditionalCheckFailed' ? [i] : []));
    if (failed.length > 0) return { kind: 'condition', code: 'ConditionalCheckFailed', failed };
    const retryable = codes.find((c) => RETRYABLE_REASONS.has(c));
    if (retryable) return { kind: 'retryable', code: retryable };
    return { kind: 'fatal', code: `TransactionCanceled[${codes.join(',')}]` };
  }
  if (name === 'ConditionalCheckFailedException') return { kind: 'condition', code: name, failed: [0] };
  if (RETRYABLE_NAMES.has(name)) return { kind: 'retryable', code: name };
  return { kind: 'fatal', code: name };
}

export interface BackoffPolicy {
  /** Retries of one round after transient failures, before the key fails. */
  readonly retries: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

/** About 3 s of backoff in total before the key fails (the function timeout is 60 s). */
export const DEFAULT_BACKOFF: BackoffPolicy = { retries: 6, baseDelayMs: 50, maxDelayMs: 1_000 };

/** Delay before retry `retry` (1-based): exponential, capped, half fixed and half random ("equal jitter"). */
export function backoffDelay(retry: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retry - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

export const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

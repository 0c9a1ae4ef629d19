/**
 * How a failed DynamoDB write is treated by the reconcile paths (docs/architecture.md):
 * - `condition`: what was read changed before the write (a source row or the derived state).
 *   Read again and decide again; never repeat the same write blindly.
 * - `retryable`: transient contention or throttling. Back off and send it again.
 * - `fatal`: anything else (validation, access denied, missing table). Fail now.
 */
export type WriteFailure =
  | { readonly kind: 'condition'; readonly code: string; /** Transaction items whose condition failed. */ readonly failed: readonly number[] }
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

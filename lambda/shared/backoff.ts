/** The one backoff shape every adapter uses: DynamoDB writes and reads, SQS sends, Typesense calls. */
export interface BackoffDelays {
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

/**
 * Delay before attempt `attempt + 1` (1-based): exponential (base * 2^(attempt-1)), capped, with
 * "equal jitter" (half fixed, half random) so concurrent shards contending for one row spread out.
 */
export function backoffDelay(attempt: number, policy: BackoffDelays, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

export const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Attempts and delays for an adapter that sleeps itself (tests inject `sleep` and `random`). */
export interface RetryPolicy extends BackoffDelays {
  /** Attempts per call, first try included. */
  readonly maxAttempts: number;
  /** Injected so tests never wait. */
  readonly sleep: (ms: number) => Promise<void>;
  /** In [0, 1): jitter. */
  readonly random: () => number;
}

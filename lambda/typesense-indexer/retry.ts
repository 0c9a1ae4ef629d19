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

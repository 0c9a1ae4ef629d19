/**
 * Event-source-mapping settings: plain data (no aws-cdk-lib), so the stack and the local
 * emulator (`npm start`) run the same semantics. Each can be overridden by CDK context
 * (see README, "Context keys").
 */
export interface StreamMappingSettings {
  /** Records per invocation. Default 100: large enough for SendMessageBatch to fill up. */
  readonly batchSize: number;
  /** Seconds Lambda may wait to fill a batch. Default 1: bulk loads batch well, latency stays low. */
  readonly maxBatchingWindowSeconds: number;
  /** Retries after the first attempt before the batch goes to the failure bucket. Default 10 (Lambda's own default is infinite). */
  readonly retryAttempts: number;
  /**
   * Records older than this go to the failure bucket instead of being processed. Default 21600
   * (6 h): well below the stream's 24 h retention, so a record still failing reaches the bucket
   * (which keeps the whole record) before the stream trims it. At 24 h it could be trimmed first
   * and be lost.
   */
  readonly maxRecordAgeSeconds: number;
  /** Split a failing batch in two and retry each half. Default true: isolates a poison record. */
  readonly bisectBatchOnError: boolean;
  /** Concurrent batches per shard. Default 1: records of one key stay in order either way; 1 keeps GetRecords load low. */
  readonly parallelizationFactor: number;
  /** Where a new mapping starts reading. Default TRIM_HORIZON: nothing already in the stream is skipped. */
  readonly startingPosition: 'TRIM_HORIZON' | 'LATEST';
}

export const DEFAULT_MAPPING_SETTINGS: StreamMappingSettings = {
  batchSize: 100,
  maxBatchingWindowSeconds: 1,
  retryAttempts: 10,
  maxRecordAgeSeconds: 21_600,
  bisectBatchOnError: true,
  parallelizationFactor: 1,
  startingPosition: 'TRIM_HORIZON',
};

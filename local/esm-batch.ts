/**
 * Event-source-mapping semantics as pure functions: batch formation, reading a handler's
 * response, what happens after an invocation (commit, retry from a checkpoint, bisect,
 * discard), record age, and the on-failure record Lambda sends to the destination.
 * The emulator (esm-emulator.ts) only moves data and does I/O around these.
 */
import type { DynamoDBRecord } from 'aws-lambda';

/** One stream record as a mapping holds it. */
export interface StreamItem {
  readonly shardId: string;
  readonly sequenceNumber: string;
  /** The record in Lambda's event shape (what filters see and handlers receive). */
  readonly record: DynamoDBRecord;
  /** ApproximateCreationDateTime in ms; undefined: never expires by age. */
  readonly createdAtMs?: number;
  /** When the emulator read it from the stream (the batching window counts from here). */
  readonly readAtMs: number;
  /** Size of the record in the invocation payload. */
  readonly payloadBytes: number;
}

/** Lambda's synchronous invocation payload limit. */
export const MAX_INVOKE_PAYLOAD_BYTES = 6 * 1024 * 1024;

export interface BatchFormation {
  readonly batchSize: number;
  readonly batchingWindowMs: number;
  readonly nowMs: number;
  /** The shard is closed and fully read: nothing more will arrive, so waiting is pointless. */
  readonly shardExhausted: boolean;
  readonly maxPayloadBytes?: number;
}

/**
 * How many of the queued (filter-matched) items form the next batch: up to batchSize and
 * the payload limit. A partial batch waits for the batching window, as Lambda does.
 * Returns 0 to keep waiting.
 */
export function takeBatch(queue: readonly StreamItem[], f: BatchFormation): number {
  const maxBytes = f.maxPayloadBytes ?? MAX_INVOKE_PAYLOAD_BYTES;
  let count = 0;
  let bytes = 0;
  for (const item of queue) {
    if (count === f.batchSize) break;
    // A single oversized record still goes alone (Lambda would fail it; the handler decides here).
    if (count > 0 && bytes + item.payloadBytes > maxBytes) break;
    count += 1;
    bytes += item.payloadBytes;
  }
  if (count === 0) return 0;
  const full = count === f.batchSize || count < queue.length;
  const windowOver = f.nowMs - queue[0]!.readAtMs >= f.batchingWindowMs;
  return full || windowOver || f.shardExhausted ? count : 0;
}

/** How an invocation ended, as Lambda reads it (ReportBatchItemFailures on). */
export type InvokeOutcome =
  | { readonly kind: 'success' }
  /** Retry from `failedIndex` (the lowest reported sequence number); earlier records are done. */
  | { readonly kind: 'partial'; readonly failedIndex: number }
  /** The whole batch failed: the function threw (or timed out), or its response was invalid. */
  | { readonly kind: 'failure'; readonly error: Error; readonly functionError?: 'Unhandled' };

export class InvalidBatchResponseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidBatchResponseError';
  }
}

/**
 * Reads a handler's return value. Null/undefined, a missing or empty batchItemFailures list:
 * success. Failures: the lowest reported sequence number is the checkpoint. An entry with a
 * missing, empty or unknown itemIdentifier makes the whole batch a failure (Lambda's rule for
 * malformed responses; an unknown sequence number cannot be a checkpoint either).
 */
export function interpretResponse(sequenceNumbers: readonly string[], response: unknown): InvokeOutcome {
  if (response === undefined || response === null) return { kind: 'success' };
  if (typeof response !== 'object') {
    return { kind: 'failure', error: new InvalidBatchResponseError(`handler returned ${typeof response}, not a batch response`) };
  }
  const failures = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return { kind: 'success' };
  if (!Array.isArray(failures)) {
    return { kind: 'failure', error: new InvalidBatchResponseError('batchItemFailures is not an array') };
  }
  if (failures.length === 0) return { kind: 'success' };
  const indexOf = new Map(sequenceNumbers.map((s, i) => [s, i]));
  let lowest = Number.POSITIVE_INFINITY;
  for (const entry of failures) {
    const id = entry !== null && typeof entry === 'object' ? (entry as { itemIdentifier?: unknown }).itemIdentifier : undefined;
    const index = typeof id === 'string' && id !== '' ? indexOf.get(id) : undefined;
    if (index === undefined) {
      return {
        kind: 'failure',
        error: new InvalidBatchResponseError(`batchItemFailures entry ${JSON.stringify(entry)} names no record of this batch`),
      };
    }
    lowest = Math.min(lowest, index);
  }
  return { kind: 'partial', failedIndex: lowest };
}

/** A batch being worked on: the records still to deliver and what it has cost so far. */
export interface PendingBatch {
  readonly items: readonly StreamItem[];
  /** Retries consumed (against retryAttempts). */
  readonly retries: number;
  /** Invocations that carried (part of) this batch, inherited across bisection. */
  readonly invokeCount: number;
  /** How the last invocation ended, for the on-failure record. */
  readonly lastOutcome?: InvokeOutcome;
}

export interface RetryPolicy {
  /** Retries after the first attempt; -1 is infinite (until the record expires). */
  readonly retryAttempts: number;
  readonly bisectBatchOnError: boolean;
  /**
   * Lambda documents that splitting a batch does not count against the retry quota; set
   * true to make every bisection count as a retry (stricter, reaches the DLQ sooner).
   */
  readonly bisectConsumesRetry?: boolean;
}

/** What to do after an invocation of `batch` (its invokeCount already includes that invocation). */
export type NextStep =
  | { readonly kind: 'commit'; readonly count: number }
  | { readonly kind: 'retry'; readonly commit: number; readonly batch: PendingBatch }
  | { readonly kind: 'bisect'; readonly halves: readonly [PendingBatch, PendingBatch] }
  | { readonly kind: 'discard'; readonly commit: number; readonly batch: PendingBatch };

const exhausted = (retries: number, policy: RetryPolicy) => policy.retryAttempts >= 0 && retries > policy.retryAttempts;

export function nextStep(batch: PendingBatch, outcome: InvokeOutcome, policy: RetryPolicy): NextStep {
  const { items } = batch;
  if (outcome.kind === 'success') return { kind: 'commit', count: items.length };

  if (outcome.kind === 'partial') {
    // Checkpoint just before the lowest failure; only the rest is retried (and counts a retry).
    const rest: PendingBatch = { items: items.slice(outcome.failedIndex), retries: batch.retries + 1, invokeCount: batch.invokeCount, lastOutcome: outcome };
    return exhausted(rest.retries, policy)
      ? { kind: 'discard', commit: outcome.failedIndex, batch: rest }
      : { kind: 'retry', commit: outcome.failedIndex, batch: rest };
  }

  if (policy.bisectBatchOnError && items.length > 1) {
    const retries = policy.bisectConsumesRetry ? batch.retries + 1 : batch.retries;
    const whole: PendingBatch = { ...batch, retries, lastOutcome: outcome };
    if (exhausted(retries, policy)) return { kind: 'discard', commit: 0, batch: whole };
    const [first, second] = bisect(items);
    return {
      kind: 'bisect',
      halves: [
        { items: first, retries, invokeCount: batch.invokeCount, lastOutcome: outcome },
        { items: second, retries, invokeCount: batch.invokeCount, lastOutcome: outcome },
      ],
    };
  }
  const again: PendingBatch = { ...batch, retries: batch.retries + 1, lastOutcome: outcome };
  return exhausted(again.retries, policy) ? { kind: 'discard', commit: 0, batch: again } : { kind: 'retry', commit: 0, batch: again };
}

/** Splits a batch in two (the first half takes the odd record). */
export function bisect<T>(items: readonly T[]): [T[], T[]] {
  const middle = Math.ceil(items.length / 2);
  return [items.slice(0, middle), items.slice(middle)];
}

/**
 * How many leading items are too old to deliver (age > maxRecordAgeSeconds; -1 = no limit).
 * Records of a shard arrive in time order, so expired ones form a prefix; we cut after the
 * last expired one, which keeps the cut contiguous even with coarse timestamps.
 */
export function expiredPrefix(items: readonly StreamItem[], nowMs: number, maxRecordAgeSeconds: number): number {
  if (maxRecordAgeSeconds < 0) return 0;
  let cut = 0;
  items.forEach((item, i) => {
    if (item.createdAtMs !== undefined && nowMs - item.createdAtMs > maxRecordAgeSeconds * 1000) cut = i + 1;
  });
  return cut;
}

// ---- On-failure destination ---------------------------------------------------------

export type FailureCondition = 'RetryAttemptsExhausted' | 'RecordAgeExceeded';

/** The invocation record Lambda sends to a DynamoDB stream mapping's on-failure destination. */
export interface OnFailureRecord {
  readonly requestContext: {
    readonly requestId: string;
    readonly functionArn: string;
    readonly condition: FailureCondition;
    readonly approximateInvokeCount: number;
  };
  /** Absent when the batch was never invoked (e.g. it expired before its first attempt). */
  readonly responseContext?: {
    readonly statusCode: number;
    readonly executedVersion: string;
    readonly functionError?: string;
  };
  readonly version: '1.0';
  readonly timestamp: string;
  readonly DDBStreamBatchInfo: {
    readonly shardId: string;
    readonly startSequenceNumber: string;
    readonly endSequenceNumber: string;
    readonly approximateArrivalOfFirstRecord: string;
    readonly approximateArrivalOfLastRecord: string;
    readonly batchSize: number;
    readonly streamArn: string;
  };
}

/** Arrival times as Lambda prints them: second resolution, `Z` suffix. */
function arrival(item: StreamItem): string {
  const seconds = item.record.dynamodb?.ApproximateCreationDateTime;
  const ms = seconds !== undefined ? seconds * 1000 : (item.createdAtMs ?? item.readAtMs);
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

export function onFailureRecord(args: {
  readonly batch: PendingBatch;
  readonly condition: FailureCondition;
  readonly functionArn: string;
  readonly streamArn: string;
  readonly requestId: string;
  readonly nowMs: number;
}): OnFailureRecord {
  const { items, invokeCount, lastOutcome } = args.batch;
  const first = items[0];
  const last = items[items.length - 1];
  if (!first || !last) throw new Error('onFailureRecord: empty batch');
  return {
    requestContext: {
      requestId: args.requestId,
      functionArn: args.functionArn,
      condition: args.condition,
      approximateInvokeCount: invokeCount,
    },
    ...(invokeCount > 0 && {
      responseContext: {
        statusCode: 200,
        executedVersion: '$LATEST',
        ...(lastOutcome?.kind === 'failure' && lastOutcome.functionError && { functionError: lastOutcome.functionError }),
      },
    }),
    version: '1.0',
    timestamp: new Date(args.nowMs).toISOString(),
    DDBStreamBatchInfo: {
      shardId: first.shardId,
      startSequenceNumber: first.sequenceNumber,
      endSequenceNumber: last.sequenceNumber,
      approximateArrivalOfFirstRecord: arrival(first),
      approximateArrivalOfLastRecord: arrival(last),
      batchSize: items.length,
      streamArn: args.streamArn,
    },
  };
}

// ---- S3 on-failure destination ------------------------------------------------------

/**
 * What Lambda writes to an S3 on-failure destination: the invocation record plus `payload`,
 * the whole invocation event as JSON text (`{"Records":[...]}`), so the records survive the
 * stream's 24 h retention. SQS/SNS destinations get the record without the payload.
 */
export interface S3FailureRecord extends OnFailureRecord {
  readonly payload: string;
}

export interface S3FailureObject {
  /** `aws/lambda/<ESM-UUID>/<shardID>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<random UUID>` (UTC). */
  readonly key: string;
  readonly body: S3FailureRecord;
}

/** The object key Lambda gives a failure record in the destination bucket. */
export function s3FailureObjectKey(mappingUuid: string, shardId: string, nowMs: number, randomId: string): string {
  const iso = new Date(nowMs).toISOString(); // 2026-11-23T10:04:05.123Z
  const [date, time] = [iso.slice(0, 10), iso.slice(11, 19)];
  return `aws/lambda/${mappingUuid}/${shardId}/${date.replace(/-/g, '/')}/${date}T${time.replace(/:/g, '.')}-${randomId}`;
}

export function s3FailureObject(args: {
  readonly record: OnFailureRecord;
  readonly items: readonly StreamItem[];
  readonly mappingUuid: string;
  readonly nowMs: number;
  readonly randomId: string;
}): S3FailureObject {
  const payload = JSON.stringify({ Records: args.items.map((i) => i.record) });
  return {
    key: s3FailureObjectKey(args.mappingUuid, args.record.DDBStreamBatchInfo.shardId, args.nowMs, args.randomId),
    body: { ...args.record, payload },
  };
}

/**
 * Reading Lambda's on-failure records, from DynamoDB stream and Kinesis mappings alike. An S3 destination object is the invocation
 * record plus `payload`, the whole invocation event (`{"Records":[...]}`) as JSON text (or, as
 * some tools store it, as an object). An SQS/SNS destination message is the record alone: only
 * the shard and sequence range, which must be re-read from the stream while it retains them.
 */
import type { DynamoDBRecord } from 'aws-lambda';
import { readKeys } from '../lambda/shared/decode';
import { fromKinesisRecord, isKinesisRecord } from '../lambda/shared/kinesis-record';
import type { RowKeys } from '../lambda/shared/key-rules';

export interface StreamBatchInfo {
  readonly shardId: string;
  readonly startSequenceNumber: string;
  readonly endSequenceNumber: string;
  readonly streamArn: string;
  readonly batchSize?: number;
}

export class FailureRecordError extends Error {
  override readonly name = 'FailureRecordError';
}

/**
 * The batch's position: `DDBStreamBatchInfo` from a DynamoDB stream mapping, `KinesisBatchInfo`
 * from a Kinesis one (same fields that matter here). With `kinesis: false` (re-reading a range
 * from a DynamoDB stream) only the first is accepted.
 */
export function batchInfoOf(record: unknown, where: string, options: { kinesis?: boolean } = {}): StreamBatchInfo {
  const r = record as { DDBStreamBatchInfo?: Partial<StreamBatchInfo>; KinesisBatchInfo?: Partial<StreamBatchInfo> } | null;
  const [name, info] = r?.KinesisBatchInfo && options.kinesis !== false ? ['KinesisBatchInfo', r.KinesisBatchInfo] : ['DDBStreamBatchInfo', r?.DDBStreamBatchInfo];
  for (const field of ['shardId', 'startSequenceNumber', 'endSequenceNumber', 'streamArn'] as const) {
    if (typeof info?.[field] !== 'string') throw new FailureRecordError(`${where}: not a stream on-failure record (${name}.${field} missing)`);
  }
  return info as StreamBatchInfo;
}

/** The keys of every record in an S3 failure object (in record order, duplicates kept). */
export function keysOfFailureObject(text: string, where: string): { info: StreamBatchInfo; keys: RowKeys[] } {
  let record: { payload?: unknown };
  try {
    record = JSON.parse(text) as { payload?: unknown };
  } catch (error) {
    throw new FailureRecordError(`${where}: not JSON (${(error as Error).message})`);
  }
  const info = batchInfoOf(record, where);
  if (record.payload === undefined) {
    throw new FailureRecordError(`${where}: no payload (an SQS/SNS-style record holds only shard ${info.shardId} ${info.startSequenceNumber}..${info.endSequenceNumber}; use --dlq-url for those)`);
  }
  let event: unknown = record.payload;
  if (typeof event === 'string') {
    try {
      event = JSON.parse(event);
    } catch (error) {
      throw new FailureRecordError(`${where}: payload is not JSON (${(error as Error).message})`);
    }
  }
  const records = (event as { Records?: unknown } | null)?.Records;
  if (!Array.isArray(records)) throw new FailureRecordError(`${where}: payload has no Records array`);
  const keys = records.map((r: unknown, i) => {
    try {
      // A Kinesis mapping's payload holds Kinesis records: the change is in their data.
      return readKeys(isKinesisRecord(r) ? fromKinesisRecord(r) : (r as DynamoDBRecord));
    } catch (error) {
      throw new FailureRecordError(`${where}: record ${i}: ${(error as Error).message}`);
    }
  });
  return { info, keys };
}

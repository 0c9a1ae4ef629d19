/**
 * Reading Lambda's on-failure records (DESIGN §10). An S3 destination object is the invocation
 * record plus `payload`, the whole invocation event (`{"Records":[...]}`) as JSON text (or, as
 * some tools store it, as an object). An SQS/SNS destination message is the record alone: only
 * the shard and sequence range, which must be re-read from the stream while it retains them.
 */
import type { DynamoDBRecord } from 'aws-lambda';
import { readKeys } from '../lambda/shared/decode';
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

export function batchInfoOf(record: unknown, where: string): StreamBatchInfo {
  const info = (record as { DDBStreamBatchInfo?: Partial<StreamBatchInfo> } | null)?.DDBStreamBatchInfo;
  for (const field of ['shardId', 'startSequenceNumber', 'endSequenceNumber', 'streamArn'] as const) {
    if (typeof info?.[field] !== 'string') throw new FailureRecordError(`${where}: not a DynamoDB stream on-failure record (DDBStreamBatchInfo.${field} missing)`);
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
  const keys = records.map((r: DynamoDBRecord, i) => {
    try {
      return readKeys(r);
    } catch (error) {
      throw new FailureRecordError(`${where}: record ${i}: ${(error as Error).message}`);
    }
  });
  return { info, keys };
}

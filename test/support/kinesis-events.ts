import type { DynamoDBRecord, KinesisStreamRecord } from 'aws-lambda';
import { toKinesisRecord } from '../../local/kinesis/kinesis-invoke';

/**
 * Event factory: the Kinesis record Lambda delivers for a table change streamed through Kinesis
 * Data Streams for DynamoDB (the documented shape: `data` is base64 JSON with awsRegion, eventID,
 * eventName, userIdentity, recordFormat, tableName, dynamodb{ApproximateCreationDateTime,
 * Keys, NewImage, OldImage, SizeBytes}, eventSource). The change carries no stream sequence
 * number; the Kinesis record has its own.
 */
let kinesisSequence = 49_657_828_409_187_701_520_019_995_242_508_390_119_953_358_325_192_589_314n;

export interface KinesisOptions {
  /** Change time in epoch microseconds (the MICROSECOND precision); default from the record's seconds. */
  readonly changeTimeMicros?: number;
  readonly sequenceNumber?: string;
  readonly shardId?: string;
}

export function kinesisRecordOf(change: DynamoDBRecord, options: KinesisOptions = {}): KinesisStreamRecord {
  kinesisSequence += 1_000n;
  const sequenceNumber = options.sequenceNumber ?? kinesisSequence.toString();
  const micros = options.changeTimeMicros ?? (change.dynamodb?.ApproximateCreationDateTime ?? 1_780_000_000) * 1_000_000;
  // The same record shape the local Kinesis emulation delivers (local/kinesis/kinesis-invoke.ts).
  const record = toKinesisRecord({ ...change, awsRegion: 'eu-west-1', dynamodb: { ...change.dynamodb, SequenceNumber: sequenceNumber } }, micros, 'platform');
  return { ...record, eventID: `${options.shardId ?? 'shardId-000000000000'}:${sequenceNumber}`, eventSourceARN: 'arn:aws:kinesis:eu-west-1:123456789012:stream/platform-changes', awsRegion: 'eu-west-1' };
}

/** A Kinesis record with the given base64 data (for malformed-data tests). */
export function rawKinesisRecord(data: string, sequenceNumber: string, shardId = 'shardId-000000000000'): KinesisStreamRecord {
  return {
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey: '859F7C064A4818874FA67ABEC9BF2AF1',
      sequenceNumber,
      data,
      approximateArrivalTimestamp: 1_780_000_000.5,
    },
    eventSource: 'aws:kinesis',
    eventVersion: '1.0',
    eventID: `${shardId}:${sequenceNumber}`,
    eventName: 'aws:kinesis:record',
    invokeIdentityArn: 'arn:aws:iam::123456789012:role/fanout',
    awsRegion: 'eu-west-1',
    eventSourceARN: 'arn:aws:kinesis:eu-west-1:123456789012:stream/platform-changes',
  } as KinesisStreamRecord;
}

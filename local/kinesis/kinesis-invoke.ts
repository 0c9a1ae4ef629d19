/**
 * What a function on a Kinesis mapping receives: each record the emulator delivers becomes a
 * Kinesis record whose base64 `data` is the table change as Kinesis Data Streams for DynamoDB
 * writes it (eventID, eventName, userIdentity, recordFormat, tableName, dynamodb{
 * ApproximateCreationDateTime in microseconds, Keys, NewImage, OldImage, SizeBytes}). The
 * Kinesis sequence number is the one the emulation gave the record, so the handler's
 * batchItemFailures name positions the emulator knows.
 */
import type { Context, DynamoDBRecord, DynamoDBStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import type { StreamHandler } from '../esm-types';
import type { KinesisStreamEmulation } from './kinesis-stream';

export const LOCAL_KINESIS_STREAM_ARN = 'arn:aws:kinesis:us-east-1:000000000000:stream/local-table-changes';

export function toKinesisRecord(record: DynamoDBRecord, micros: number | undefined, tableName: string): KinesisStreamRecord {
  const d = record.dynamodb ?? {};
  const sequenceNumber = d.SequenceNumber!;
  const change = {
    awsRegion: record.awsRegion ?? 'us-east-1',
    eventID: record.eventID,
    eventName: record.eventName,
    userIdentity: record.userIdentity ?? null,
    recordFormat: 'application/json',
    tableName,
    dynamodb: {
      ApproximateCreationDateTime: micros ?? (d.ApproximateCreationDateTime ?? 0) * 1_000_000,
      Keys: d.Keys,
      ...(d.NewImage && { NewImage: d.NewImage }),
      ...(d.OldImage && { OldImage: d.OldImage }),
      SizeBytes: d.SizeBytes ?? 0,
      ApproximateCreationDateTimePrecision: 'MICROSECOND',
    },
    eventSource: 'aws:dynamodb',
  };
  return {
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey: String(d.Keys?.PK?.S ?? ''),
      sequenceNumber,
      data: Buffer.from(JSON.stringify(change)).toString('base64'),
      approximateArrivalTimestamp: Date.now() / 1000,
    },
    eventSource: 'aws:kinesis',
    eventVersion: '1.0',
    eventID: `shardId-000000000000:${sequenceNumber}`,
    eventName: 'aws:kinesis:record',
    invokeIdentityArn: 'arn:aws:iam::000000000000:role/local',
    awsRegion: 'us-east-1',
    eventSourceARN: LOCAL_KINESIS_STREAM_ARN,
  } as KinesisStreamRecord;
}

/** The handler as a Kinesis mapping invokes it (the emulator and its fault hooks keep the stream shape). */
export function kinesisHandler(handler: (event: { Records: KinesisStreamRecord[] }, context?: Context) => Promise<unknown>, emulation: KinesisStreamEmulation, tableName: string): StreamHandler {
  return (event: DynamoDBStreamEvent, context?: Context) =>
    handler({ Records: event.Records.map((r) => toKinesisRecord(r, emulation.changeTimeMicros.get(r.dynamodb?.SequenceNumber ?? ''), tableName)) }, context);
}

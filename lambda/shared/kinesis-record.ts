/**
 * Kinesis Data Streams for DynamoDB: a Kinesis record whose base64 `data` holds one table
 * change. The handlers see one shape: each Kinesis record becomes the DynamoDB Streams record
 * it carries, with two differences that keep the rest of the code unchanged:
 * - `dynamodb.SequenceNumber` is the Kinesis sequence number, so partial batch responses
 *   (`batchItemFailures[].itemIdentifier`) name the position the Kinesis mapping resumes from;
 * - `dynamodb.ApproximateCreationDateTime` is in seconds, as DynamoDB Streams gives it, with
 *   the fraction Kinesis carries (milli- or microseconds): `Math.round(s * 1e6)` recovers the
 *   microseconds exactly (a double's spacing near 2e9 s is about 0.24 µs).
 * A record whose data is not a table change is passed on marked, and fails at its own position
 * with its sequence number and the reason, like any malformed stream record.
 */
import type { DynamoDBRecord, DynamoDBStreamEvent, KinesisStreamRecord } from 'aws-lambda';

/** Set on a record whose Kinesis data could not be read as a table change. */
export const KINESIS_DECODE_ERROR = 'kinesisDecodeError';

export type SourceRecord = DynamoDBRecord | KinesisStreamRecord;

export const isKinesisRecord = (record: unknown): record is KinesisStreamRecord =>
  typeof record === 'object' && record !== null && (record as { eventSource?: unknown }).eventSource === 'aws:kinesis';

/**
 * Epoch seconds from a change time in seconds, milliseconds or microseconds. Kinesis gives
 * milli- or microseconds (the table destination's ApproximateCreationDateTimePrecision), DynamoDB
 * Streams seconds; the magnitude tells which for any date from 1973 to 5138.
 */
export function changeTimeSeconds(value: number): number {
  if (value >= 1e14) return value / 1e6;
  if (value >= 1e11) return value / 1e3;
  return value;
}

interface KinesisChange {
  eventID?: unknown;
  eventName?: unknown;
  awsRegion?: unknown;
  userIdentity?: unknown;
  dynamodb?: {
    ApproximateCreationDateTime?: unknown;
    Keys?: unknown;
    NewImage?: unknown;
    OldImage?: unknown;
    SizeBytes?: unknown;
  };
}

function readChange(data: string): KinesisChange {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(data, 'base64').toString('utf8'));
  } catch {
    throw new Error('data is not base64-encoded JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('data is not a JSON object');
  const change = parsed as KinesisChange;
  if (typeof change.dynamodb !== 'object' || change.dynamodb === null) throw new Error('data has no dynamodb object: not a DynamoDB change record');
  return change;
}

/** The DynamoDB change a Kinesis record carries, as a stream record (see the file comment). */
export function fromKinesisRecord(record: KinesisStreamRecord): DynamoDBRecord {
  const sequenceNumber = record.kinesis?.sequenceNumber;
  const position = { eventSource: 'aws:dynamodb', eventSourceARN: record.eventSourceARN, awsRegion: record.awsRegion };
  try {
    if (typeof sequenceNumber !== 'string' || sequenceNumber === '') throw new Error('kinesis record has no sequenceNumber');
    const change = readChange(record.kinesis.data);
    const d = change.dynamodb!;
    const time = typeof d.ApproximateCreationDateTime === 'number' ? changeTimeSeconds(d.ApproximateCreationDateTime) : undefined;
    return {
      ...position,
      eventID: typeof change.eventID === 'string' ? change.eventID : undefined,
      eventName: change.eventName as DynamoDBRecord['eventName'],
      ...(change.userIdentity ? { userIdentity: change.userIdentity } : {}),
      dynamodb: {
        ...(time !== undefined && { ApproximateCreationDateTime: time }),
        Keys: d.Keys as never,
        ...(d.NewImage !== undefined && { NewImage: d.NewImage as never }),
        ...(d.OldImage !== undefined && { OldImage: d.OldImage as never }),
        SequenceNumber: sequenceNumber,
        ...(typeof d.SizeBytes === 'number' && { SizeBytes: d.SizeBytes }),
        // The table destination always carries both images when they exist.
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
    };
  } catch (error) {
    return {
      ...position,
      eventID: `kinesis:${sequenceNumber ?? '?'}`,
      dynamodb: { SequenceNumber: sequenceNumber },
      [KINESIS_DECODE_ERROR]: `Kinesis record ${sequenceNumber ?? '(no sequence number)'}: ${(error as Error).message}`,
    } as DynamoDBRecord;
  }
}

/** A batch from either source as the stream batch the runner reads. */
export function toStreamEvent(event: { Records: readonly SourceRecord[] }): DynamoDBStreamEvent {
  return { Records: event.Records.map((r) => (isKinesisRecord(r) ? fromKinesisRecord(r) : r)) };
}

/** The reason a record marked by fromKinesisRecord could not be read, if it is one. */
export const kinesisDecodeError = (record: DynamoDBRecord): string | undefined =>
  (record as unknown as Record<string, string | undefined>)[KINESIS_DECODE_ERROR];

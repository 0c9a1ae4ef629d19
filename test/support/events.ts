import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';

/** Event factories: real-shaped DynamoDB stream records from plain items. */
let sequence = 100_000_000_000_000_000_000n;

type Row = Record<string, unknown> & { PK: string; SK: string };

const image = (row: Row) => marshall(row, { removeUndefinedValues: true, convertClassInstanceToMap: true }) as Record<string, AttributeValue>;

export interface RecordOptions {
  eventID?: string;
  sequenceNumber?: string;
  streamViewType?: 'NEW_AND_OLD_IMAGES' | 'NEW_IMAGE' | 'OLD_IMAGE' | 'KEYS_ONLY';
}

function record(eventName: 'INSERT' | 'MODIFY' | 'REMOVE', keys: Row, newRow: Row | undefined, oldRow: Row | undefined, options: RecordOptions): DynamoDBRecord {
  sequence += 1n;
  const sequenceNumber = options.sequenceNumber ?? sequence.toString();
  const view = options.streamViewType ?? 'NEW_AND_OLD_IMAGES';
  const keepNew = view === 'NEW_AND_OLD_IMAGES' || view === 'NEW_IMAGE';
  const keepOld = view === 'NEW_AND_OLD_IMAGES' || view === 'OLD_IMAGE';
  const NewImage = newRow && keepNew ? image(newRow) : undefined;
  const OldImage = oldRow && keepOld ? image(oldRow) : undefined;
  return {
    eventID: options.eventID ?? `evt-${sequenceNumber}`,
    eventName,
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'us-east-1',
    eventSourceARN: 'arn:aws:dynamodb:us-east-1:123456789012:table/test/stream/2026-01-01T00:00:00.000',
    dynamodb: {
      ApproximateCreationDateTime: 1_780_000_000,
      Keys: { PK: { S: keys.PK }, SK: { S: keys.SK } },
      ...(NewImage && { NewImage }),
      ...(OldImage && { OldImage }),
      SequenceNumber: sequenceNumber,
      SizeBytes: JSON.stringify(NewImage ?? OldImage ?? {}).length,
      StreamViewType: view,
    },
  } as DynamoDBRecord;
}

export const insertRecord = (row: Row, options: RecordOptions = {}) => record('INSERT', row, row, undefined, options);
export const modifyRecord = (oldRow: Row, newRow: Row, options: RecordOptions = {}) => record('MODIFY', newRow, newRow, oldRow, options);
export const removeRecord = (row: Row, options: RecordOptions = {}) => record('REMOVE', row, undefined, row, options);

export const streamEvent = (...records: DynamoDBRecord[]): DynamoDBStreamEvent => ({ Records: records });

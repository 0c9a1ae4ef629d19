import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { NumberValueImpl as NumberValue, unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { StreamRecordError, type RecordRef } from './errors';
import type { RowKeys } from './key-rules';
import { kinesisDecodeError } from './kinesis-record';

/** A decoded table row: plain values; numbers that a JS number cannot hold exactly stay NumberValue. */
export type Item = Record<string, unknown>;

export type EventName = 'INSERT' | 'MODIFY' | 'REMOVE';

/** One stream record, decoded and checked. */
export interface StreamChange {
  readonly eventID: string;
  readonly eventName: EventName;
  readonly keys: RowKeys;
  /** Present for INSERT and MODIFY. */
  readonly newImage?: Item;
  /** Present for MODIFY and REMOVE. */
  readonly oldImage?: Item;
  readonly sequenceNumber: string;
  /** Epoch seconds, as the stream gives it. */
  readonly approximateCreationDateTime?: number;
  readonly sizeBytes?: number;
  /** Who made the change, when the record says: DynamoDB's TTL deletes are `{ type: 'Service', principalId: 'dynamodb.amazonaws.com' }`. */
  readonly userIdentity?: { readonly type: string; readonly principalId: string };
}

/** The record's userIdentity when it has the documented shape (only TTL deletions carry one today). */
function withUserIdentity(record: DynamoDBRecord): Pick<StreamChange, 'userIdentity'> {
  const u = record.userIdentity as { type?: unknown; principalId?: unknown } | undefined;
  return u && typeof u.type === 'string' && typeof u.principalId === 'string' ? { userIdentity: { type: u.type, principalId: u.principalId } } : {};
}

const EVENT_NAMES: ReadonlySet<string> = new Set(['INSERT', 'MODIFY', 'REMOVE']);

/**
 * Converts a DynamoDB number string to a JS number only when that loses nothing:
 * integers within ±(2^53 - 1), other values with at most 15 significant digits
 * (a double round-trips any 15-digit decimal). Anything else stays a NumberValue
 * holding the exact string: never silently rounded.
 */
export function decodeNumber(text: string): number | NumberValue {
  // NumberValue is the SDK's exact-number holder (its runtime export is NumberValueImpl).
  const trimmed = text.trim();
  if (/^[+-]?\d+$/.test(trimmed)) {
    const n = Number(trimmed);
    return Number.isSafeInteger(n) ? n : NumberValue.from(trimmed);
  }
  const match = /^[+-]?(\d*)(?:\.(\d*))?(?:[eE][+-]?\d+)?$/.exec(trimmed);
  // The value itself stays out of the message: it is a row value (a log line must not hold one).
  if (!match || !/\d/.test(trimmed)) throw new Error(`invalid number (${text.length} characters)`);
  const digits = `${match[1] ?? ''}${match[2] ?? ''}`.replace(/^0+/, '').replace(/0+$/, '');
  const n = Number(trimmed);
  return digits.length <= 15 && Number.isFinite(n) ? n : NumberValue.from(trimmed);
}

/** Sets (SS, NS, BS) become arrays so items compare and serialise like plain data. */
function setsToArrays(value: unknown): unknown {
  if (value instanceof Set) return [...value].map(setsToArrays);
  if (Array.isArray(value)) return value.map(setsToArrays);
  if (value instanceof NumberValue || value instanceof Uint8Array) return value;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, setsToArrays(v)]));
  }
  return value;
}

export function decodeImage(image: Record<string, AttributeValue>): Item {
  return setsToArrays(unmarshall(image, { wrapNumbers: decodeNumber })) as Item;
}

function keyString(keys: Record<string, unknown> | undefined, name: string, ref: RecordRef): string {
  const attr = keys?.[name] as Record<string, unknown> | undefined;
  if (attr === undefined) throw new StreamRecordError(ref, `stream record Keys has no ${name}`);
  if (typeof attr.S !== 'string') {
    throw new StreamRecordError(ref, `stream record key ${name} is not a string attribute (${JSON.stringify(attr)})`);
  }
  return attr.S;
}

/** Reads PK/SK without decoding the images: cheap, for ownership checks and log lines. */
export function readKeys(record: DynamoDBRecord): RowKeys {
  const ref: RecordRef = { eventID: record.eventID };
  const unreadable = kinesisDecodeError(record);
  if (unreadable !== undefined) throw new StreamRecordError(ref, unreadable);
  const keys = record.dynamodb?.Keys as Record<string, unknown> | undefined;
  if (keys === undefined) throw new StreamRecordError(ref, 'stream record has no dynamodb.Keys');
  const PK = keyString(keys, 'PK', ref);
  const SK = keyString(keys, 'SK', { ...ref, pk: PK });
  return { PK, SK };
}

export interface DecodeOptions {
  /**
   * false: a level-triggered subsystem needs only the keys and the record's position, so
   * the images are neither required nor decoded (DynamoDB Local, for one, emits REMOVE
   * records without OldImage under concurrent deletes). Default true.
   */
  readonly images?: boolean;
}

/**
 * Decodes and checks one stream record. Malformed input (unknown eventName, missing
 * Keys, non-string keys, an image missing for the event type, a bad attribute value)
 * is a StreamRecordError naming the record.
 */
export function decodeRecord(record: DynamoDBRecord, options: DecodeOptions = {}): StreamChange {
  const keys = readKeys(record);
  const ref: RecordRef = { eventID: record.eventID, pk: keys.PK, sk: keys.SK };
  if (!record.eventID) throw new StreamRecordError(ref, 'stream record has no eventID');
  const eventName = record.eventName;
  if (eventName === undefined || !EVENT_NAMES.has(eventName)) {
    throw new StreamRecordError(ref, `unknown eventName ${JSON.stringify(eventName)}`);
  }
  const data = record.dynamodb ?? {};
  if (!data.SequenceNumber) throw new StreamRecordError(ref, 'stream record has no SequenceNumber');

  if (options.images === false) {
    return {
      eventID: record.eventID,
      eventName: eventName as EventName,
      keys,
      sequenceNumber: data.SequenceNumber,
      approximateCreationDateTime: data.ApproximateCreationDateTime,
      sizeBytes: data.SizeBytes,
      ...withUserIdentity(record),
    };
  }

  const needsNew = eventName !== 'REMOVE';
  const needsOld = eventName !== 'INSERT';
  const missing = [needsNew && !data.NewImage && 'NewImage', needsOld && !data.OldImage && 'OldImage'].filter(Boolean);
  if (missing.length > 0) {
    throw new StreamRecordError(
      ref,
      `${eventName} record has no ${missing.join(' or ')}: the table stream must use StreamViewType NEW_AND_OLD_IMAGES` +
        (data.StreamViewType ? ` (it is ${data.StreamViewType})` : ''),
    );
  }

  const decode = (which: 'NewImage' | 'OldImage') => {
    const image = data[which];
    if (!image) return undefined;
    try {
      return decodeImage(image as Record<string, AttributeValue>);
    } catch (error) {
      throw new StreamRecordError(ref, `malformed ${which}: ${(error as Error).message}`, { cause: error });
    }
  };

  return {
    eventID: record.eventID,
    eventName: eventName as EventName,
    keys,
    newImage: decode('NewImage'),
    oldImage: decode('OldImage'),
    sequenceNumber: data.SequenceNumber,
    approximateCreationDateTime: data.ApproximateCreationDateTime,
    sizeBytes: data.SizeBytes,
    ...withUserIdentity(record),
  };
}

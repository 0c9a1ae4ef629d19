/**
 * The history table: one history per source item, one row per delivered change.
 *
 * - Partition key: the item's keys, encoded without ambiguity (`JSON.stringify([PK, SK])`), so
 *   rows that share a PK (every FAA link lives in FAA#LINKS) still get a partition each. Keys
 *   too long for a partition key (a source PK may be 2048 bytes, an SK 1024; a partition key
 *   at most 2048) are replaced by `sha256:` and the digest of that encoding.
 * - Sort key: the change time in epoch microseconds, zero-padded to 17 digits, then the
 *   record's id. For DynamoDB Streams (change time in whole seconds) the id is the sequence
 *   number, zero-padded to 40 digits, then the eventID: changes to one item within a second
 *   keep stream order. For Kinesis (change time in microseconds; a duplicate carries another
 *   Kinesis sequence number but the same eventID) it is the eventID alone.
 * The key derives from the record alone, so a duplicate, retry, bisect or redrive of the same
 * record names the same row, and a conditional put writes it at most once.
 */
import { createHash } from 'node:crypto';
import type { StreamChange } from '../shared/decode';
import { StreamRecordError } from '../shared/errors';
import type { RowKeys } from '../shared/key-rules';
import { keyedTableInput } from '../shared/table';

export const HISTORY_TABLE_SCHEMA = {
  partitionKey: 'PK',
  sortKey: 'SK',
  /** Retention (epoch seconds), as the source table's TTL attribute is named. */
  timeToLiveAttribute: 'expires_at',
} as const;

/** Days a history row is kept after its change, unless configured. */
export const DEFAULT_RETENTION_DAYS = 90;

/** Where the table's changes come from: it decides which record id orders and identifies a change. */
export type ChangeSource = 'dynamodb-streams' | 'kinesis';
export const CHANGE_SOURCES: readonly ChangeSource[] = ['dynamodb-streams', 'kinesis'];

const MAX_PARTITION_KEY_BYTES = 2048;
const TIME_DIGITS = 17;
const SEQUENCE_DIGITS = 40;

/** The history partition of an item. */
export function historyPartitionKey(keys: RowKeys): string {
  const encoded = JSON.stringify([keys.PK, keys.SK]);
  if (Buffer.byteLength(encoded, 'utf8') <= MAX_PARTITION_KEY_BYTES) return encoded;
  return `sha256:${createHash('sha256').update(encoded, 'utf8').digest('hex')}`;
}

/** The keys an encoded partition names, or undefined for a digest (the row's item_pk/item_sk hold them). */
export function itemKeysOf(partitionKey: string): RowKeys | undefined {
  if (partitionKey.startsWith('sha256:')) return undefined;
  const [PK, SK] = JSON.parse(partitionKey) as [string, string];
  return { PK, SK };
}

/**
 * The change time in epoch microseconds. DynamoDB Streams gives whole seconds; the Kinesis
 * decoder gives seconds with the microseconds as the fraction, which rounding recovers.
 */
export function changeTimeMicros(change: StreamChange): number {
  const seconds = change.approximateCreationDateTime;
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) {
    throw new StreamRecordError({ eventID: change.eventID, pk: change.keys.PK, sk: change.keys.SK }, 'record has no ApproximateCreationDateTime: a history row is ordered by the change time');
  }
  return Math.round(seconds * 1e6);
}

/** The history sort key of a change (see the file comment). */
export function historySortKey(change: StreamChange, source: ChangeSource): string {
  const time = String(changeTimeMicros(change)).padStart(TIME_DIGITS, '0');
  if (source === 'kinesis') return `${time}#${change.eventID}`;
  return `${time}#${change.sequenceNumber.padStart(SEQUENCE_DIGITS, '0')}#${change.eventID}`;
}

/** CreateTable input for DynamoDB Local (the stack creates the same: PK/SK strings, on-demand, no stream). */
export function createHistoryTableInput(tableName: string) {
  return keyedTableInput(tableName, HISTORY_TABLE_SCHEMA);
}

import type { StreamChange } from '../shared/decode';
import { StreamRecordError, type RecordRef } from '../shared/errors';
import type { SearchDocument } from './documents';
import { refOf, type Action } from './diff';
import { deduplicationId, messageGroupId } from './ids';

/** The Typesense queue message, version 1 (DESIGN §3). The JSON body of one FIFO message. */
export interface QueueMessageSource {
  readonly pk: string;
  readonly sk: string;
  readonly eventID: string;
  readonly sequenceNumber: string;
  /** Epoch seconds, as the stream gives it; null when the record has none. */
  readonly approximateCreationDateTime: number | null;
}

export type QueueMessage =
  | {
      readonly v: 1;
      readonly action: 'upsert';
      readonly collection: string;
      readonly id: string;
      readonly document: SearchDocument;
      readonly source: QueueMessageSource;
    }
  | {
      readonly v: 1;
      readonly action: 'delete';
      readonly collection: string;
      readonly id: string;
      readonly source: QueueMessageSource;
    };

/** SQS's default (and classic) maximum message size, and the maximum SendMessageBatch payload. */
export const SQS_MAX_MESSAGE_BYTES = 256 * 1024;
export const SQS_MAX_BATCH_BYTES = 256 * 1024;
export const SQS_MAX_BATCH_ENTRIES = 10;

/** One message ready to send, tied to the change (position in apply's list) it came from. */
export interface OutgoingMessage {
  readonly position: number;
  readonly ref: RecordRef;
  readonly collection: string;
  readonly id: string;
  readonly groupId: string;
  readonly deduplicationId: string;
  readonly body: string;
  readonly bytes: number;
}

export function queueMessage(action: Action, change: StreamChange): QueueMessage {
  const source: QueueMessageSource = {
    pk: change.keys.PK,
    sk: change.keys.SK,
    eventID: change.eventID,
    sequenceNumber: change.sequenceNumber,
    approximateCreationDateTime: change.approximateCreationDateTime ?? null,
  };
  return action.action === 'upsert'
    ? { v: 1, action: 'upsert', collection: action.collection, id: action.id, document: action.document, source }
    : { v: 1, action: 'delete', collection: action.collection, id: action.id, source };
}

/**
 * The outgoing message of one action-yielding record: exactly one per record, never
 * coalesced with other records of the same document (DESIGN §8, trap 1). A body over
 * `maxMessageBytes` is a StreamRecordError naming the record.
 */
export function outgoingMessage(
  action: Action,
  change: StreamChange,
  position: number,
  maxMessageBytes: number = SQS_MAX_MESSAGE_BYTES,
): OutgoingMessage {
  const body = JSON.stringify(queueMessage(action, change));
  const bytes = Buffer.byteLength(body, 'utf8');
  if (bytes > maxMessageBytes) {
    throw new StreamRecordError(
      refOf(change),
      `queue message for ${action.collection}/${action.id} is ${bytes} bytes, over the queue maximum of ${maxMessageBytes}`,
    );
  }
  return {
    position,
    ref: refOf(change),
    collection: action.collection,
    id: action.id,
    groupId: messageGroupId(action.collection, action.id),
    deduplicationId: deduplicationId(change.eventID, action.collection, action.id),
    body,
    bytes,
  };
}

export interface BatchLimits {
  readonly maxEntries: number;
  readonly maxBatchBytes: number;
}

/**
 * Splits messages (in stream order) into SendMessageBatch calls, greedily and in order:
 * a call ends when it holds `maxEntries` messages, when the next message's group is
 * already in it, or when the next message would push it over `maxBatchBytes`. So each
 * call is a contiguous run of the messages and holds at most one message per group
 * (DESIGN §8, trap 2). Pure.
 */
export function planCalls(
  messages: readonly OutgoingMessage[],
  limits: BatchLimits = { maxEntries: SQS_MAX_BATCH_ENTRIES, maxBatchBytes: SQS_MAX_BATCH_BYTES },
): OutgoingMessage[][] {
  const calls: OutgoingMessage[][] = [];
  let current: OutgoingMessage[] = [];
  let groups = new Set<string>();
  let bytes = 0;
  for (const message of messages) {
    const full =
      current.length >= limits.maxEntries || groups.has(message.groupId) || (current.length > 0 && bytes + message.bytes > limits.maxBatchBytes);
    if (full) {
      calls.push(current);
      current = [];
      groups = new Set();
      bytes = 0;
    }
    current.push(message);
    groups.add(message.groupId);
    bytes += message.bytes;
  }
  if (current.length > 0) calls.push(current);
  return calls;
}

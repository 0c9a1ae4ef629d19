import { StreamRecordError, type RecordRef } from '../shared/errors';
import type { RowKeys } from '../shared/key-rules';
import { classified } from '../shared/metrics';
import type { TriggerOrigin } from '../shared/trigger';
import { deduplicationId, messageGroupId } from './ids';

/**
 * The search queue message, version 2 (docs/queue-message.schema.json): a
 * trigger naming a document and the row it is projected from. `hint` is what the sender
 * saw (tools send 'upsert', meaning "unknown: read the row"); the indexer never trusts it.
 */
export type QueueHint = 'upsert' | 'delete';

export interface QueueMessage {
  readonly v: 2;
  readonly collection: string;
  readonly id: string;
  readonly key: { readonly pk: string; readonly sk: string };
  readonly hint: QueueHint;
  readonly origin: TriggerOrigin;
}

/**
 * SQS's maximum message size (1 MiB since 2025) and the queue's MaximumMessageSize: the
 * stack sets the queue attribute from this constant, so the two cannot drift apart.
 */
export const SQS_MAX_MESSAGE_BYTES = 1_048_576;
/** SendMessageBatch's maximum total payload (raised with the message size). */
export const SQS_MAX_BATCH_BYTES = 1_048_576;
export const SQS_MAX_BATCH_ENTRIES = 10;

/** One message ready to send, tied to the trigger (position in the caller's list) it came from. */
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

// Characters an SQS body may hold (XML 1.0's Char production); anything else is refused.
const NOT_SQS_CHAR = /[^\u0009\u000A\u000D\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/**
 * JSON text that holds only characters SQS accepts and parses back to the same value.
 * JSON.stringify already escapes control characters and lone surrogates; what is left
 * (U+FFFE, U+FFFF) can only occur inside strings, where `\uXXXX` means the same thing.
 */
export function sqsSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(NOT_SQS_CHAR, (char) =>
    [...Array(char.length).keys()].map((i) => `\\u${char.charCodeAt(i).toString(16).padStart(4, '0')}`).join(''),
  );
}

export const refOfTrigger = (key: RowKeys, origin: TriggerOrigin): RecordRef => ({
  pk: key.PK,
  sk: key.SK,
  ...(origin.kind === 'stream' ? { eventID: origin.eventID } : { eventID: `${origin.kind}:${origin.run}` }),
});

export interface TriggerTarget {
  readonly collection: string;
  readonly id: string;
  readonly key: RowKeys;
  readonly hint: QueueHint;
  readonly origin: TriggerOrigin;
}

export function queueMessage(target: TriggerTarget): QueueMessage {
  return {
    v: 2,
    collection: target.collection,
    id: target.id,
    key: { pk: target.key.PK, sk: target.key.SK },
    hint: target.hint,
    origin: target.origin,
  };
}

/**
 * The outgoing message of one trigger: exactly one per trigger. A body over
 * `maxMessageBytes` (a key near DynamoDB's limits) is a StreamRecordError naming the record.
 */
export function outgoingMessage(target: TriggerTarget, position: number, maxMessageBytes: number = SQS_MAX_MESSAGE_BYTES): OutgoingMessage {
  const body = sqsSafeJson(queueMessage(target));
  const bytes = Buffer.byteLength(body, 'utf8');
  const ref = refOfTrigger(target.key, target.origin);
  if (bytes > maxMessageBytes) {
    throw classified(new StreamRecordError(ref, `queue message for ${target.collection}/${target.id} is ${bytes} bytes, over the queue maximum of ${maxMessageBytes}`), 'rejected');
  }
  return {
    position,
    ref,
    collection: target.collection,
    id: target.id,
    groupId: messageGroupId(target.collection, target.id),
    deduplicationId: deduplicationId(target.origin, target.collection, target.id),
    body,
    bytes,
  };
}

export interface BatchLimits {
  readonly maxEntries: number;
  readonly maxBatchBytes: number;
}

/**
 * Splits messages (in trigger order) into SendMessageBatch calls, greedily and in order:
 * a call ends when it holds `maxEntries` messages, when the next message's group is
 * already in it, or when the next message would push it over `maxBatchBytes`. So each
 * call is a contiguous run of the messages and holds at most one message per group
 * (two entries of one group where the first fails would break the group's order). Pure.
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

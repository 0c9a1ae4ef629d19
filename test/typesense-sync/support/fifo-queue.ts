import {
  SendMessageBatchCommand,
  type BatchResultErrorEntry,
  type SendMessageBatchCommandOutput,
  type SendMessageBatchResultEntry,
} from '@aws-sdk/client-sqs';
import type { QueueMessage } from '../../../lambda/typesense-sync/messages';
import { matchIndexedSpec } from '../../../lambda/typesense-sync/specs';

/**
 * An in-process model of an SQS FIFO queue, behind the same `send(command)` the handler
 * uses. It honours what I1 depends on: order within a message group, and deduplication
 * by MessageDeduplicationId for 5 minutes after a message was accepted (queue scope).
 * It checks SQS's request rules (≤ 10 entries, distinct entry ids, id formats, sizes)
 * and can inject faults per call: a thrown error before or after accepting, and failed
 * entries in an HTTP-200 response.
 */

export const DEDUP_WINDOW_MS = 5 * 60 * 1000;

export type CallFault =
  | { readonly kind: 'none' }
  /** The request never reached the queue (throttled, 5xx, connection refused). */
  | { readonly kind: 'throw-before'; readonly name: string; readonly retryable: boolean }
  /** The queue accepted the entries but the response was lost (timeout). */
  | { readonly kind: 'throw-after' }
  /** HTTP 200 with these entry indexes in Failed[]; the others are accepted. */
  | { readonly kind: 'fail-entries'; readonly indexes: readonly number[]; readonly senderFault: boolean; readonly code: string };

export interface QueuedMessage {
  readonly groupId: string;
  readonly deduplicationId: string;
  readonly body: string;
  readonly acceptedAt: number;
}

const ALLOWED_ID = /^[A-Za-z0-9!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]{1,128}$/;
const ENTRY_ID = /^[A-Za-z0-9_-]{1,80}$/;

export class FifoQueueModel {
  /** Milliseconds of model time. */
  now = 0;
  calls = 0;
  readonly callSizes: number[] = [];
  /** Accepted (not deduplicated) messages in arrival order. */
  readonly accepted: QueuedMessage[] = [];
  readonly violations: string[] = [];
  private readonly groups = new Map<string, QueuedMessage[]>();
  private readonly dedup = new Map<string, number>();
  private readonly faults: CallFault[];

  constructor(faults: readonly CallFault[] = [], readonly maxMessageBytes = 256 * 1024) {
    this.faults = [...faults];
  }

  advance(ms: number): void {
    this.now += ms;
  }

  /** The handler's `sqs` dependency. */
  readonly send = async (command: SendMessageBatchCommand): Promise<SendMessageBatchCommandOutput> => {
    if (!(command instanceof SendMessageBatchCommand)) throw this.violation(`unexpected command ${String(command)}`);
    this.calls += 1;
    const entries = command.input.Entries ?? [];
    this.callSizes.push(entries.length);
    this.validate(entries);

    const fault = this.faults.shift() ?? { kind: 'none' };
    if (fault.kind === 'throw-before') {
      throw Object.assign(new Error(`injected ${fault.name}`), {
        name: fault.name,
        $fault: fault.retryable ? 'server' : 'client',
        $metadata: { httpStatusCode: fault.retryable ? 503 : 400 },
      });
    }
    const failing = new Set(fault.kind === 'fail-entries' ? fault.indexes.map((i) => i % Math.max(1, entries.length)) : []);
    const Successful: SendMessageBatchResultEntry[] = [];
    const Failed: BatchResultErrorEntry[] = [];
    entries.forEach((entry, index) => {
      if (fault.kind === 'fail-entries' && failing.has(index)) {
        Failed.push({ Id: entry.Id, Code: fault.code, Message: 'injected', SenderFault: fault.senderFault });
        return;
      }
      this.accept(entry.MessageGroupId!, entry.MessageDeduplicationId!, entry.MessageBody!);
      Successful.push({ Id: entry.Id, MessageId: `m${this.calls}-${index}`, MD5OfMessageBody: '' });
    });
    if (fault.kind === 'throw-after') {
      throw Object.assign(new Error('injected response timeout'), { name: 'TimeoutError', $metadata: {} });
    }
    return { Successful, Failed, $metadata: { httpStatusCode: 200 } };
  };

  private accept(groupId: string, deduplicationId: string, body: string): void {
    const seen = this.dedup.get(deduplicationId);
    if (seen !== undefined && this.now - seen < DEDUP_WINDOW_MS) return; // accepted, not delivered
    const message = { groupId, deduplicationId, body, acceptedAt: this.now };
    this.dedup.set(deduplicationId, this.now);
    this.accepted.push(message);
    const group = this.groups.get(groupId) ?? [];
    group.push(message);
    this.groups.set(groupId, group);
  }

  private validate(entries: NonNullable<SendMessageBatchCommand['input']['Entries']>): void {
    if (entries.length === 0) throw this.violation('EmptyBatchRequest');
    if (entries.length > 10) throw this.violation('TooManyEntriesInBatchRequest');
    if (new Set(entries.map((e) => e.Id)).size !== entries.length) throw this.violation('BatchEntryIdsNotDistinct');
    let total = 0;
    for (const e of entries) {
      if (!ENTRY_ID.test(e.Id ?? '')) throw this.violation(`InvalidBatchEntryId ${e.Id}`);
      if (!ALLOWED_ID.test(e.MessageGroupId ?? '')) throw this.violation(`invalid MessageGroupId ${e.MessageGroupId}`);
      if (!ALLOWED_ID.test(e.MessageDeduplicationId ?? '')) throw this.violation(`invalid MessageDeduplicationId`);
      const bytes = Buffer.byteLength(e.MessageBody ?? '', 'utf8');
      if (bytes > this.maxMessageBytes) throw this.violation('message too long');
      total += bytes;
    }
    if (total > 256 * 1024) throw this.violation('BatchRequestTooLong');
  }

  private violation(text: string): Error {
    this.violations.push(text);
    return Object.assign(new Error(text), { name: 'InvalidParameterValue', $fault: 'client' });
  }

  /** Each group's messages in FIFO order. */
  messagesByGroup(): ReadonlyMap<string, readonly QueuedMessage[]> {
    return this.groups;
  }
}

export type SearchIndex = Map<string, Map<string, Record<string, unknown>>>;

/** The current row for a key, as the indexer reads it when it runs. */
export type RowLookup = (key: { PK: string; SK: string }) => Record<string, unknown> | undefined;

/**
 * The indexer (DESIGN §11, v2): applies every group's triggers in FIFO order by reading the
 * row now and projecting it (groups are independent, so the interleaving across groups does
 * not matter). A projected document replaces the indexed one; no document removes it.
 */
export function drainInto(queue: FifoQueueModel, readRow: RowLookup, index: SearchIndex = new Map()): SearchIndex {
  for (const messages of queue.messagesByGroup().values()) {
    for (const { body } of messages) applyMessage(index, JSON.parse(body) as QueueMessage, readRow);
  }
  return index;
}

export function applyMessage(index: SearchIndex, message: QueueMessage, readRow: RowLookup): void {
  if (message.v !== 2) throw new Error(`unknown message version ${String(message.v)}`);
  const key = { PK: message.key.pk, SK: message.key.sk };
  const spec = matchIndexedSpec(key);
  if (!spec || spec.collection !== message.collection || spec.documentId(key) !== message.id) throw new Error(`trigger does not match its key: ${JSON.stringify(message)}`);
  const row = readRow(key);
  const document = row ? spec.toDocument(row as never) : null;
  const docs = index.get(message.collection) ?? new Map<string, Record<string, unknown>>();
  index.set(message.collection, docs);
  if (document) docs.set(message.id, { ...document });
  else docs.delete(message.id);
}

/** Plain sorted object view of an index, for toEqual. Empty collections are dropped. */
export function indexView(index: SearchIndex): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [collection, docs] of [...index.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    if (docs.size === 0) continue;
    out[collection] = Object.fromEntries([...docs.entries()].sort(([a], [b]) => a.localeCompare(b)));
  }
  return out;
}

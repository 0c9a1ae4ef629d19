/**
 * An in-process SQS FIFO queue. No SQS emulator is available from npm or Debian, so
 * typesense-sync's real adapter is handed this object as its client: `send()` accepts the
 * SDK's SendMessageBatchCommand / SendMessageCommand and answers like SQS (Successful /
 * Failed entries, request-level exceptions as the SDK throws them), so the adapter's
 * request building and Failed[] handling run unchanged.
 *
 * Semantics kept: order per MessageGroupId; at most one group member in flight at a time
 * (receivers never see a group out of order); 5-minute deduplication by
 * MessageDeduplicationId (or body hash with content-based deduplication); SendMessageBatch
 * limits; visibility timeout and maxReceiveCount redrive. Faults are injectable.
 */
import {
  BatchEntryIdsNotDistinct,
  BatchRequestTooLong,
  EmptyBatchRequest,
  InvalidBatchEntryId,
  QueueDoesNotExist,
  ReceiptHandleIsInvalid,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSServiceException,
  TooManyEntriesInBatchRequest,
  type BatchResultErrorEntry,
  type MessageAttributeValue,
  type SendMessageBatchCommandOutput,
  type SendMessageBatchRequestEntry,
  type SendMessageBatchResultEntry,
  type SendMessageCommandOutput,
} from '@aws-sdk/client-sqs';
import { createHash, randomUUID } from 'node:crypto';
import { systemClock } from './clock';

export const FIFO_DEDUPLICATION_WINDOW_MS = 5 * 60 * 1000;
export const SQS_MAX_BATCH_ENTRIES = 10;
/** SQS's limit on one message and on a SendMessageBatch payload: 1 MiB since 2025 (the queue's MaximumMessageSize). */
export const SQS_MAX_PAYLOAD_BYTES = 1_048_576;

/** What the failure hook returns to fail one entry (it is then neither queued nor remembered for deduplication). */
export interface InjectedEntryFailure {
  readonly Code: string;
  readonly Message?: string;
  /** Default false: a service-side failure the sender may retry (e.g. throttling). */
  readonly SenderFault?: boolean;
}

export interface EntryContext {
  /** 1-based number of the send() call on this queue. */
  readonly call: number;
  /** Position of the entry in its request. */
  readonly index: number;
}

export interface FifoQueueOptions {
  /** When set, requests naming another QueueUrl fail with QueueDoesNotExist. */
  readonly queueUrl?: string;
  readonly clock?: { now(): number };
  readonly deduplicationWindowMs?: number;
  readonly contentBasedDeduplication?: boolean;
  /** SQS's DeduplicationScope: 'queue' (default) or 'messageGroup' (high-throughput FIFO). */
  readonly deduplicationScope?: 'queue' | 'messageGroup';
  readonly maxBatchEntries?: number;
  /** Limit on one message and on a whole SendMessageBatch payload. Default 1 MiB. */
  readonly maxPayloadBytes?: number;
  readonly visibilityTimeoutMs?: number;
  /** Redrive: a message received this many times and not deleted moves to deadLetters(). */
  readonly maxReceiveCount?: number;
  /** Fault injection per entry (also applies to SendMessageCommand, which then throws). */
  readonly failEntry?: (entry: SendMessageBatchRequestEntry, ctx: EntryContext) => InjectedEntryFailure | undefined;
  /** Fault injection per call: an error to throw instead of answering (nothing is queued). */
  readonly failRequest?: (ctx: { readonly call: number; readonly command: SendMessageBatchCommand | SendMessageCommand }) => Error | undefined;
}

export interface QueuedMessage {
  readonly messageId: string;
  readonly body: string;
  readonly groupId: string;
  readonly deduplicationId: string;
  readonly sequenceNumber: string;
  readonly sentAtMs: number;
  readonly messageAttributes?: Record<string, MessageAttributeValue>;
  receiveCount: number;
  /** Set while received and not deleted. */
  inFlight?: { readonly receiptHandle: string; readonly visibleAtMs: number };
}

/** A received message, shaped like the SDK's Message. */
export interface ReceivedMessage {
  readonly MessageId: string;
  readonly ReceiptHandle: string;
  readonly Body: string;
  readonly MD5OfBody: string;
  readonly Attributes: {
    readonly MessageGroupId: string;
    readonly MessageDeduplicationId: string;
    readonly SequenceNumber: string;
    readonly ApproximateReceiveCount: string;
    readonly SentTimestamp: string;
  };
  readonly MessageAttributes?: Record<string, MessageAttributeValue>;
}

export interface FifoQueueStats {
  calls: number;
  /** Entries accepted and queued. */
  sent: number;
  /** Entries accepted but dropped as duplicates within the window. */
  duplicates: number;
  /** Entries answered in Failed (validation or injected). */
  failedEntries: number;
  /** Calls that threw (limits or injected). */
  rejectedCalls: number;
  received: number;
  deleted: number;
  /** Messages moved to deadLetters() by maxReceiveCount. */
  deadLettered: number;
}

const md5 = (text: string) => createHash('md5').update(text, 'utf8').digest('hex');
const meta = () => ({ httpStatusCode: 200, requestId: randomUUID(), attempts: 1, totalRetryDelay: 0 });
const ENTRY_ID = /^[A-Za-z0-9_-]{1,80}$/;
// SQS accepts alphanumerics and punctuation in group and deduplication ids, up to 128 characters.
const FIFO_ID = /^[A-Za-z0-9!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]{1,128}$/;
// XML 1.0 characters: SQS rejects anything else in a body.
const BODY_CHARS = /^[\u0009\u000A\u000D\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u;

function attributesBytes(attributes: Record<string, MessageAttributeValue> | undefined): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(attributes ?? {})) {
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value.DataType ?? '');
    if (value.StringValue !== undefined) bytes += Buffer.byteLength(value.StringValue);
    if (value.BinaryValue !== undefined) bytes += value.BinaryValue.length;
  }
  return bytes;
}

const entryBytes = (e: SendMessageBatchRequestEntry) => Buffer.byteLength(e.MessageBody ?? '') + attributesBytes(e.MessageAttributes);

const clientError = (Ctor: new (o: { message: string; $metadata: object }) => Error, message: string) =>
  new Ctor({ message, $metadata: { httpStatusCode: 400 } });

export class LocalFifoQueue {
  private readonly clock: { now(): number };
  /** Messages per group, oldest first; a message stays at its place until deleted. */
  private readonly groups = new Map<string, QueuedMessage[]>();
  private readonly dedup = new Map<string, { messageId: string; sequenceNumber: string; acceptedAtMs: number }>();
  private readonly dead: QueuedMessage[] = [];
  private sequence = 10_000_000_000_000_000_000n;
  private readonly stats_: FifoQueueStats = { calls: 0, sent: 0, duplicates: 0, failedEntries: 0, rejectedCalls: 0, received: 0, deleted: 0, deadLettered: 0 };

  constructor(private readonly options: FifoQueueOptions = {}) {
    this.clock = options.clock ?? systemClock;
  }

  // ---- the SQS client surface ------------------------------------------------------

  send(command: SendMessageBatchCommand): Promise<SendMessageBatchCommandOutput>;
  send(command: SendMessageCommand): Promise<SendMessageCommandOutput>;
  async send(command: SendMessageBatchCommand | SendMessageCommand): Promise<SendMessageBatchCommandOutput | SendMessageCommandOutput> {
    const call = ++this.stats_.calls;
    try {
      if (command instanceof SendMessageBatchCommand) return this.sendBatch(command, call);
      if (command instanceof SendMessageCommand) return this.sendOne(command, call);
    } catch (error) {
      this.stats_.rejectedCalls += 1;
      throw error;
    }
    this.stats_.rejectedCalls += 1;
    throw new Error(`LocalFifoQueue: unsupported command ${(command as object)?.constructor?.name ?? typeof command}`);
  }

  private sendBatch(command: SendMessageBatchCommand, call: number): SendMessageBatchCommandOutput {
    const { QueueUrl, Entries } = command.input;
    this.checkQueueUrl(QueueUrl);
    const entries = Entries ?? [];
    if (entries.length === 0) throw clientError(EmptyBatchRequest, 'There should be at least one SendMessageBatchRequestEntry in the request.');
    const max = this.options.maxBatchEntries ?? SQS_MAX_BATCH_ENTRIES;
    if (entries.length > max) {
      throw clientError(TooManyEntriesInBatchRequest, `Maximum number of entries per request are ${max}. You have sent ${entries.length}.`);
    }
    for (const e of entries) {
      if (typeof e.Id !== 'string' || !ENTRY_ID.test(e.Id)) {
        throw clientError(InvalidBatchEntryId, `A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long. (${JSON.stringify(e.Id)})`);
      }
    }
    if (new Set(entries.map((e) => e.Id)).size !== entries.length) {
      throw clientError(BatchEntryIdsNotDistinct, 'Two or more batch entries in the request have the same Id.');
    }
    const total = entries.reduce((n, e) => n + entryBytes(e), 0);
    const maxBytes = this.options.maxPayloadBytes ?? SQS_MAX_PAYLOAD_BYTES;
    if (total > maxBytes) {
      throw clientError(BatchRequestTooLong, `Batch requests cannot be longer than ${maxBytes} bytes. You have sent ${total} bytes.`);
    }
    const injected = this.options.failRequest?.({ call, command });
    if (injected) throw injected;

    const Successful: SendMessageBatchResultEntry[] = [];
    const Failed: BatchResultErrorEntry[] = [];
    entries.forEach((entry, index) => {
      const result = this.accept(entry, { call, index });
      if ('Code' in result) Failed.push({ ...result, Id: entry.Id });
      else Successful.push({ ...result, Id: entry.Id });
    });
    return { $metadata: meta(), Successful, Failed };
  }

  private sendOne(command: SendMessageCommand, call: number): SendMessageCommandOutput {
    const { QueueUrl, ...entry } = command.input;
    this.checkQueueUrl(QueueUrl);
    const maxBytes = this.options.maxPayloadBytes ?? SQS_MAX_PAYLOAD_BYTES;
    const asEntry: SendMessageBatchRequestEntry = { Id: 'single', ...entry, MessageBody: entry.MessageBody };
    const bytes = entryBytes(asEntry);
    if (bytes > maxBytes) {
      throw new SQSServiceException({ name: 'InvalidParameterValue', $fault: 'client', message: `One or more parameters are invalid. Reason: Message must be shorter than ${maxBytes} bytes.`, $metadata: { httpStatusCode: 400 } });
    }
    const injected = this.options.failRequest?.({ call, command });
    if (injected) throw injected;
    const result = this.accept(asEntry, { call, index: 0 });
    if ('Code' in result) {
      throw new SQSServiceException({
        name: result.Code!,
        $fault: result.SenderFault ? 'client' : 'server',
        message: result.Message ?? result.Code!,
        $metadata: { httpStatusCode: result.SenderFault ? 400 : 500 },
      });
    }
    return { $metadata: meta(), ...result };
  }

  private checkQueueUrl(url: string | undefined): void {
    if (this.options.queueUrl !== undefined && url !== this.options.queueUrl) {
      throw clientError(QueueDoesNotExist, `The specified queue does not exist: ${url}`);
    }
  }

  /** Validates, deduplicates and queues one entry; returns its result entry (without Id for failures). */
  private accept(entry: SendMessageBatchRequestEntry, ctx: EntryContext): Omit<SendMessageBatchResultEntry, 'Id'> | Omit<BatchResultErrorEntry, 'Id'> {
    const invalid = (Code: string, Message: string) => {
      this.stats_.failedEntries += 1;
      return { Code, Message, SenderFault: true };
    };
    const body = entry.MessageBody;
    if (body === undefined || body === '') return invalid('MissingParameter', 'The request must contain the parameter MessageBody.');
    if (!BODY_CHARS.test(body)) return invalid('InvalidMessageContents', 'Invalid characters found in the message body.');
    if (entry.MessageGroupId === undefined) return invalid('MissingParameter', 'The request must contain the parameter MessageGroupId.');
    if (!FIFO_ID.test(entry.MessageGroupId)) return invalid('InvalidParameterValue', `Value ${entry.MessageGroupId} for parameter MessageGroupId is invalid.`);
    if (entry.DelaySeconds !== undefined && entry.DelaySeconds !== 0) {
      return invalid('InvalidParameterValue', `Value ${entry.DelaySeconds} for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type.`);
    }
    let deduplicationId = entry.MessageDeduplicationId;
    if (deduplicationId === undefined) {
      if (!this.options.contentBasedDeduplication) {
        return invalid('InvalidParameterValue', 'The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly');
      }
      deduplicationId = createHash('sha256').update(body, 'utf8').digest('hex');
    } else if (!FIFO_ID.test(deduplicationId)) {
      return invalid('InvalidParameterValue', `Value ${deduplicationId} for parameter MessageDeduplicationId is invalid.`);
    }

    const fault = this.options.failEntry?.(entry, ctx);
    if (fault) {
      this.stats_.failedEntries += 1;
      return { Code: fault.Code, Message: fault.Message ?? fault.Code, SenderFault: fault.SenderFault ?? false };
    }

    const now = this.clock.now();
    const window = this.options.deduplicationWindowMs ?? FIFO_DEDUPLICATION_WINDOW_MS;
    const key = this.options.deduplicationScope === 'messageGroup' ? `${entry.MessageGroupId}\u0000${deduplicationId}` : deduplicationId;
    const seen = this.dedup.get(key);
    const result = { MD5OfMessageBody: md5(body), ...(entry.MessageAttributes && { MD5OfMessageAttributes: md5(JSON.stringify(entry.MessageAttributes)) }) };
    if (seen && now - seen.acceptedAtMs < window) {
      // Accepted (SQS answers success) but not delivered again.
      this.stats_.duplicates += 1;
      return { ...result, MessageId: seen.messageId, SequenceNumber: seen.sequenceNumber };
    }

    this.sequence += 1n;
    const message: QueuedMessage = {
      messageId: randomUUID(),
      body,
      groupId: entry.MessageGroupId,
      deduplicationId,
      sequenceNumber: this.sequence.toString(),
      sentAtMs: now,
      ...(entry.MessageAttributes && { messageAttributes: entry.MessageAttributes }),
      receiveCount: 0,
    };
    this.dedup.set(key, { messageId: message.messageId, sequenceNumber: message.sequenceNumber, acceptedAtMs: now });
    this.pruneDedup(now, window);
    const group = this.groups.get(message.groupId) ?? [];
    group.push(message);
    this.groups.set(message.groupId, group);
    this.stats_.sent += 1;
    return { ...result, MessageId: message.messageId, SequenceNumber: message.sequenceNumber };
  }

  private pruneDedup(now: number, window: number): void {
    // Insertion order is acceptance order: expired entries are at the front.
    for (const [key, seen] of this.dedup) {
      if (now - seen.acceptedAtMs < window) break;
      this.dedup.delete(key);
    }
  }

  // ---- the consumer surface --------------------------------------------------------

  /**
   * Receives up to `max` (1..10) messages. Groups are served oldest first; from each group only
   * its head messages, and none while an earlier message of the group is in flight, so a
   * consumer that deletes after applying sees every group strictly in order.
   */
  receive(max = 10): ReceivedMessage[] {
    if (!(max >= 1 && max <= 10)) throw new Error(`LocalFifoQueue.receive: max must be 1..10, got ${max}`);
    const now = this.clock.now();
    const visibility = this.options.visibilityTimeoutMs ?? 30_000;
    this.expireVisibility(now);
    const heads = [...this.groups.values()]
      .filter((g) => g.length > 0 && !g[0]!.inFlight)
      .sort((a, b) => (BigInt(a[0]!.sequenceNumber) < BigInt(b[0]!.sequenceNumber) ? -1 : 1));
    const out: ReceivedMessage[] = [];
    for (const group of heads) {
      for (let i = 0; i < group.length && out.length < max; ) {
        const message = group[i]!;
        if (message.inFlight) break; // a later message never overtakes one in flight
        if (this.options.maxReceiveCount !== undefined && message.receiveCount >= this.options.maxReceiveCount) {
          // Redrive: received too often without being deleted.
          group.splice(i, 1);
          this.dead.push(message);
          this.stats_.deadLettered += 1;
          continue;
        }
        message.receiveCount += 1;
        message.inFlight = { receiptHandle: `${message.messageId}:${randomUUID()}`, visibleAtMs: now + visibility };
        out.push(this.toReceived(message));
        i += 1;
      }
      if (out.length >= max) break;
    }
    for (const [id, group] of this.groups) if (group.length === 0) this.groups.delete(id);
    this.stats_.received += out.length;
    return out;
  }

  /** Deletes a received message (the consumer applied it). */
  delete(receiptHandle: string): void {
    const [group, index] = this.locate(receiptHandle);
    group.splice(index, 1);
    this.stats_.deleted += 1;
  }

  /** Makes a received message visible again at once (ChangeMessageVisibility to 0). */
  release(receiptHandle: string): void {
    const [group, index] = this.locate(receiptHandle);
    delete group[index]!.inFlight;
  }

  /**
   * Receives, applies and deletes until nothing is receivable. A message whose `apply` throws
   * is released (it stays at the head of its group, receive count raised) and the error is
   * rethrown: the consumer fails loudly and the group stays blocked, as in SQS.
   */
  async consume(apply: (message: ReceivedMessage) => void | Promise<void>): Promise<number> {
    let applied = 0;
    for (let batch = this.receive(); batch.length > 0; batch = this.receive()) {
      for (const [i, message] of batch.entries()) {
        try {
          await apply(message);
        } catch (error) {
          for (const rest of batch.slice(i)) this.release(rest.ReceiptHandle);
          throw error;
        }
        this.delete(message.ReceiptHandle);
        applied += 1;
      }
    }
    return applied;
  }

  private locate(receiptHandle: string): [QueuedMessage[], number] {
    for (const group of this.groups.values()) {
      const index = group.findIndex((m) => m.inFlight?.receiptHandle === receiptHandle);
      if (index >= 0) return [group, index];
    }
    throw clientError(ReceiptHandleIsInvalid, `The input receipt handle "${receiptHandle}" is not a valid receipt handle (or its visibility timed out).`);
  }

  private expireVisibility(now: number): void {
    for (const group of this.groups.values()) {
      for (const m of group) if (m.inFlight && m.inFlight.visibleAtMs <= now) delete m.inFlight;
    }
  }

  private toReceived(m: QueuedMessage): ReceivedMessage {
    return {
      MessageId: m.messageId,
      ReceiptHandle: m.inFlight!.receiptHandle,
      Body: m.body,
      MD5OfBody: md5(m.body),
      Attributes: {
        MessageGroupId: m.groupId,
        MessageDeduplicationId: m.deduplicationId,
        SequenceNumber: m.sequenceNumber,
        ApproximateReceiveCount: String(m.receiveCount),
        SentTimestamp: String(m.sentAtMs),
      },
      ...(m.messageAttributes && { MessageAttributes: m.messageAttributes }),
    };
  }

  // ---- inspection ------------------------------------------------------------------

  /** Messages waiting or in flight, in queue order per group (groups by oldest head). */
  messages(): readonly QueuedMessage[] {
    return [...this.groups.values()].flat().sort((a, b) => (BigInt(a.sequenceNumber) < BigInt(b.sequenceNumber) ? -1 : 1));
  }

  /** Messages not yet deleted (ApproximateNumberOfMessages + NotVisible). */
  depth(): number {
    let n = 0;
    for (const group of this.groups.values()) n += group.length;
    return n;
  }

  /** When the earliest in-flight message becomes receivable again (undefined when none is in flight). */
  nextVisibleAtMs(): number | undefined {
    let next: number | undefined;
    for (const group of this.groups.values()) {
      for (const m of group) if (m.inFlight && (next === undefined || m.inFlight.visibleAtMs < next)) next = m.inFlight.visibleAtMs;
    }
    return next;
  }

  deadLetters(): readonly QueuedMessage[] {
    return this.dead;
  }

  stats(): FifoQueueStats {
    return { ...this.stats_ };
  }
}

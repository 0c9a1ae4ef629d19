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
 * Request checks: sqs-request-checks.ts; limits, options and message shapes: fifo-queue-types.ts.
 */
import {
  QueueDoesNotExist,
  ReceiptHandleIsInvalid,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSServiceException,
  type BatchResultErrorEntry,
  type SendMessageBatchCommandOutput,
  type SendMessageBatchRequestEntry,
  type SendMessageBatchResultEntry,
  type SendMessageCommandOutput,
} from '@aws-sdk/client-sqs';
import { randomUUID } from 'node:crypto';
import { systemClock } from './clock';
import { FIFO_DEDUPLICATION_WINDOW_MS, SQS_MAX_BATCH_ENTRIES, SQS_MAX_PAYLOAD_BYTES, type EntryContext, type FifoQueueOptions, type FifoQueueStats, type QueuedMessage, type ReceivedMessage } from './fifo-queue-types';
import { checkBatchRequest, checkEntry, clientError, entryBytes, md5, meta } from './sqs-request-checks';

export * from './fifo-queue-types';

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
    checkBatchRequest(entries, this.options.maxBatchEntries ?? SQS_MAX_BATCH_ENTRIES, this.options.maxPayloadBytes ?? SQS_MAX_PAYLOAD_BYTES);
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
    const checked = checkEntry(entry, this.options.contentBasedDeduplication ?? false);
    if ('Code' in checked) return invalid(checked.Code, checked.Message);
    const { body, groupId, deduplicationId } = checked;

    const fault = this.options.failEntry?.(entry, ctx);
    if (fault) {
      this.stats_.failedEntries += 1;
      return { Code: fault.Code, Message: fault.Message ?? fault.Code, SenderFault: fault.SenderFault ?? false };
    }

    const now = this.clock.now();
    const window = this.options.deduplicationWindowMs ?? FIFO_DEDUPLICATION_WINDOW_MS;
    const key = this.options.deduplicationScope === 'messageGroup' ? `${groupId}\u0000${deduplicationId}` : deduplicationId;
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
      groupId,
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

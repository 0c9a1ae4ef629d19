/** The local SQS FIFO queue's limits, options, messages and counters. */
import type { MessageAttributeValue, SendMessageBatchCommand, SendMessageBatchRequestEntry, SendMessageCommand } from '@aws-sdk/client-sqs';

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

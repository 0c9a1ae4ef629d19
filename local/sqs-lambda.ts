/**
 * Lambda's SQS FIFO event source, emulated over the in-process queue (local/fifo-queue.ts),
 * so the real indexer handler runs locally exactly as it is invoked in AWS:
 * - receive up to `batchSize` (≤ 10) messages; the queue never hands out a message while
 *   an earlier one of its group is in flight, so each group has one batch in flight at most;
 * - invoke the handler with a real-shaped SQSEvent (FIFO attributes included);
 * - with ReportBatchItemFailures: delete the messages not reported; leave the reported ones
 *   in flight, so they come back after the visibility timeout; a thrown error, or a response
 *   naming an unknown message, fails the whole batch (as Lambda does);
 * - the queue moves a message to its dead-letter list once received `maxReceiveCount`
 *   times (the stack's redrive policy: 5).
 */
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { systemClock, type Clock } from './clock';
import type { LocalFifoQueue, ReceivedMessage } from './fifo-queue';

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | void>;

export interface SqsLambdaOptions {
  readonly queue: LocalFifoQueue;
  readonly handler: SqsHandler;
  readonly queueArn?: string;
  /** Default 10 (Lambda's maximum for FIFO sources). */
  readonly batchSize?: number;
  readonly clock?: Clock;
  readonly functionName?: string;
  readonly timeoutMs?: number;
}

export interface SqsLambdaCounters {
  invocations: number;
  messages: number;
  deleted: number;
  /** Messages reported failed (or in a batch that failed whole), left for redelivery. */
  failed: number;
  functionErrors: number;
}

export function toSqsRecord(m: ReceivedMessage, queueArn: string): SQSRecord {
  return {
    messageId: m.MessageId,
    receiptHandle: m.ReceiptHandle,
    body: m.Body,
    attributes: {
      ApproximateReceiveCount: m.Attributes.ApproximateReceiveCount,
      SentTimestamp: m.Attributes.SentTimestamp,
      SenderId: 'AIDALOCAL',
      ApproximateFirstReceiveTimestamp: m.Attributes.SentTimestamp,
      SequenceNumber: m.Attributes.SequenceNumber,
      MessageGroupId: m.Attributes.MessageGroupId,
      MessageDeduplicationId: m.Attributes.MessageDeduplicationId,
    },
    messageAttributes: {},
    md5OfBody: m.MD5OfBody,
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: 'us-east-1',
  };
}

export class SqsLambda {
  private readonly counters_: SqsLambdaCounters = { invocations: 0, messages: 0, deleted: 0, failed: 0, functionErrors: 0 };
  private readonly clock: Clock;

  constructor(private readonly options: SqsLambdaOptions) {
    this.clock = options.clock ?? systemClock;
  }

  /** One poll: receive a batch and invoke the handler. Returns the number of messages received. */
  async pollOnce(): Promise<number> {
    const { queue } = this.options;
    const batch = queue.receive(this.options.batchSize ?? 10);
    if (batch.length === 0) return 0;
    const arn = this.options.queueArn ?? 'arn:aws:sqs:us-east-1:000000000000:search-actions.fifo';
    const event: SQSEvent = { Records: batch.map((m) => toSqsRecord(m, arn)) };
    this.counters_.invocations += 1;
    this.counters_.messages += batch.length;
    let failed: Set<string>;
    try {
      const response = await this.options.handler(event, this.context());
      const ids = (response?.batchItemFailures ?? []).map((f) => f.itemIdentifier);
      const known = new Set(batch.map((m) => m.MessageId));
      // Lambda treats a response naming an unknown (or empty) id as a failure of the whole batch.
      failed = ids.every((id) => known.has(id)) ? new Set(ids) : known;
    } catch {
      this.counters_.functionErrors += 1;
      failed = new Set(batch.map((m) => m.MessageId));
    }
    for (const m of batch) {
      if (failed.has(m.MessageId)) this.counters_.failed += 1;
      else {
        queue.delete(m.ReceiptHandle);
        this.counters_.deleted += 1;
      }
    }
    return batch.length;
  }

  /**
   * Polls until the queue is empty (every message deleted or dead-lettered). When only
   * failed messages remain in flight, waits (on the clock) until they are visible again.
   */
  async drain(options: { maxWaits?: number } = {}): Promise<void> {
    const { queue } = this.options;
    let waits = 0;
    for (;;) {
      if ((await this.pollOnce()) > 0) continue;
      const next = queue.nextVisibleAtMs();
      if (next === undefined) {
        if (queue.depth() === 0) return;
        throw new Error(`SqsLambda.drain: ${queue.depth()} messages neither receivable nor in flight`);
      }
      if (++waits > (options.maxWaits ?? 1_000)) throw new Error('SqsLambda.drain: messages keep failing; giving up waiting');
      await this.clock.sleep(Math.max(1, next - this.clock.now()));
    }
  }

  counters(): SqsLambdaCounters {
    return { ...this.counters_ };
  }

  private context(): Context {
    const deadline = this.clock.now() + (this.options.timeoutMs ?? 60_000);
    const name = this.options.functionName ?? 'typesense-indexer';
    return {
      callbackWaitsForEmptyEventLoop: false,
      functionName: name,
      functionVersion: '$LATEST',
      invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${name}`,
      memoryLimitInMB: '256',
      awsRequestId: `local-${this.counters_.invocations}`,
      logGroupName: `/aws/lambda/${name}`,
      logStreamName: 'local',
      getRemainingTimeInMillis: () => Math.max(0, deadline - this.clock.now()),
      done: () => undefined,
      fail: () => undefined,
      succeed: () => undefined,
    };
  }
}

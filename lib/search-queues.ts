import { Duration } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { SQS_MAX_MESSAGE_BYTES } from '../lambda/typesense-sync/messages';
import { INDEXER_TIMEOUT } from './indexer';

/** The search queue (FIFO, triggers per document in order) and its FIFO DLQ, in `scope` (their logical ids are the construct's). */
export function createSearchQueues(scope: Construct): { queue: sqs.Queue; dlq: sqs.Queue } {
  // Typesense actions: FIFO so actions on one document apply in order; its own FIFO DLQ.
  const dlq = new sqs.Queue(scope, 'SearchActionsDlq', {
    fifo: true,
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  const queue = new sqs.Queue(scope, 'SearchActionsQueue', {
    fifo: true,
    contentBasedDeduplication: false,
    // High-throughput FIFO: dedup and throughput per document group.
    deduplicationScope: sqs.DeduplicationScope.MESSAGE_GROUP,
    fifoThroughputLimit: sqs.FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(4),
    // Explicit, and the handler's own limit (SQS's default is 256 KiB on older queues).
    maxMessageSizeBytes: SQS_MAX_MESSAGE_BYTES,
    // Lambda's guidance for an SQS event source: at least six times the consumer's timeout.
    visibilityTimeout: Duration.seconds(6 * INDEXER_TIMEOUT.toSeconds()),
    deadLetterQueue: { queue: dlq, maxReceiveCount: 5 },
  });
  return { queue, dlq };
}

import { Validations } from 'aws-cdk-lib';
import type { StreamFanout } from './stream-fanout';

/**
 * ServerlessChecks findings on resources StreamFanout creates outside the functions (the
 * function-level ones are acknowledged where each function is built), so a team running cdk-nag
 * on its own stack sees none. Each names its rule and why the rule does not fit.
 */
export function acknowledgeFanoutFindings(fanout: Pick<StreamFanout, 'searchDlq' | 'indexer'>): void {
  Validations.of(fanout.searchDlq).acknowledge({
    id: 'Serverless-SQSRedrivePolicy',
    reason: "This is the search queue's dead-letter queue, where messages end: a DLQ behind it would only move them again. Its alarm fires on the first message; ops redrive and the runbook handle them.",
  });
  if (fanout.indexer) {
    Validations.of(fanout.indexer.fn.function).acknowledge({
      id: 'Serverless-LambdaEventSourceMappingDestination',
      reason: "An SQS event source mapping takes no on-failure destination (that setting is for stream and Kafka sources): a message that keeps failing moves to the search queue's dead-letter queue after 5 receives, by the queue's redrive policy.",
    });
  }
}

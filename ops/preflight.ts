/**
 * Checks made before a command reads or writes anything, so that a wrong queue (like a wrong
 * table, found by DescribeTable) ends the run with one line (exit 3) instead of failing every
 * key one by one.
 */
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { isNotThere } from './run-errors';

/**
 * The search queue exists and answers. Only an error meaning it cannot work at all stops the
 * run: an operator may be allowed to send and not to read attributes, and an SQS-compatible
 * stand-in may not implement GetQueueAttributes.
 */
export async function checkQueue(sqs: Pick<SQSClient, 'send'>, queueUrl: string): Promise<void> {
  try {
    await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
  } catch (error) {
    if (isNotThere(error)) throw error;
  }
}

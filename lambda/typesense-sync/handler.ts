import type { Logger } from '@aws-lambda-powertools/logger';
import type { StreamChange } from '../shared/decode';
import { ChangeFailedError } from '../shared/errors';
import type { RowKeys } from '../shared/key-rules';
import { createStreamHandler, type Subsystem } from '../shared/runner';
import { planAction } from './diff';
import { outgoingMessage, planCalls, SQS_MAX_BATCH_BYTES, SQS_MAX_BATCH_ENTRIES, SQS_MAX_MESSAGE_BYTES, type BatchLimits, type OutgoingMessage } from './messages';
import { DEFAULT_RETRY_POLICY, sendCalls, type RetryPolicy, type SqsSender } from './queue';
import { matchIndexedSpec } from './specs';

export type SubsystemLog = Pick<Logger, 'debug' | 'info' | 'warn'>;

export interface TypesenseSubsystemDeps {
  /** Anything with SQSClient's `send` for SendMessageBatchCommand (SQSClient, a mock, a local FIFO model). */
  readonly sqs: SqsSender;
  /** The Typesense FIFO queue. */
  readonly queueUrl: string;
  readonly logger: SubsystemLog;
  /** Overrides of the send retry policy (tests inject `sleep`). */
  readonly retry?: Partial<RetryPolicy>;
  /** The queue's MaximumMessageSize; default 256 KiB. */
  readonly maxMessageBytes?: number;
  readonly batchLimits?: Partial<BatchLimits>;
}

export const SUBSYSTEM_NAME = 'typesense-sync';

/**
 * typesense-sync as the shared runner sees it: owns the rows of the specs that feed a
 * collection; turns each owned change into at most one queue action (upsert/delete) and
 * sends them in order, batched. No Typesense call here: the indexer reads the queue.
 */
export function createTypesenseSubsystem(deps: TypesenseSubsystemDeps): Subsystem {
  const { sqs, queueUrl, logger } = deps;
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...deps.retry };
  const maxMessageBytes = deps.maxMessageBytes ?? SQS_MAX_MESSAGE_BYTES;
  const limits: BatchLimits = {
    maxEntries: Math.min(SQS_MAX_BATCH_ENTRIES, deps.batchLimits?.maxEntries ?? SQS_MAX_BATCH_ENTRIES),
    maxBatchBytes: deps.batchLimits?.maxBatchBytes ?? SQS_MAX_BATCH_BYTES,
  };

  return {
    name: SUBSYSTEM_NAME,
    owns: (keys: RowKeys) => matchIndexedSpec(keys) !== undefined,
    async apply(changes: readonly StreamChange[]): Promise<void> {
      const messages: OutgoingMessage[] = [];
      let planFailure: { position: number; error: unknown } | undefined;

      for (const [position, change] of changes.entries()) {
        const record = { pk: change.keys.PK, sk: change.keys.SK, eventID: change.eventID };
        try {
          const plan = planAction(change, (problem) =>
            logger.warn('old image has a malformed attribute; sending the action without the no-op check', {
              ...record,
              attribute: problem.attribute,
            }),
          );
          if (plan.action === 'none') {
            logger.debug('no queue action', { ...record, reason: plan.reason, collection: plan.collection, id: plan.id });
            continue;
          }
          messages.push(outgoingMessage(plan, change, position, maxMessageBytes));
        } catch (error) {
          // Stop planning here; everything before this record is still sent, so the
          // runner's "all before `position` took effect" holds.
          planFailure = { position, error };
          break;
        }
      }

      const calls = planCalls(messages, limits);
      logger.info('typesense actions', { changes: changes.length, messages: messages.length, calls: calls.length });
      // Throws ChangeFailedError for the earliest message that did not land, always
      // earlier than a planning failure (messages only cover records before it).
      await sendCalls(sqs, queueUrl, calls, policy, logger);
      if (planFailure) throw new ChangeFailedError(planFailure.position, planFailure.error);
    },
  };
}

/** The Lambda handler: the shared ordered runner around the typesense subsystem. */
export function createTypesenseHandler(deps: TypesenseSubsystemDeps & { readonly logger: Logger }) {
  return createStreamHandler(createTypesenseSubsystem(deps), deps.logger);
}

import type { Logger } from '@aws-lambda-powertools/logger';
import { ChangeFailedError, StreamRecordError } from '../shared/errors';
import type { RowKeys } from '../shared/key-rules';
import { distinctTriggers, type KeyResult, type Reconciler, type Trigger } from '../shared/trigger';
import { batchLimitsOf, deadlineOf, SUBSYSTEM_NAME, type TypesenseSubsystemDeps } from './handler';
import { outgoingMessage, planCalls, refOfTrigger, SQS_MAX_MESSAGE_BYTES, type OutgoingMessage } from './messages';
import { DEFAULT_RETRY_POLICY, sendCalls, type RetryPolicy } from './queue';
import { matchIndexedSpec } from './specs';

export interface SearchTriggerSenderDeps extends Omit<TypesenseSubsystemDeps, 'logger'> {
  readonly logger: Pick<Logger, 'debug' | 'info' | 'warn'>;
}

/**
 * The search path's Reconciler for tools (backfill, audit repair, redrive: DESIGN §10).
 * A tool cannot see images, so there is nothing to skip: each distinct indexed key gets one
 * v2 trigger carrying the tool's origin, with hint 'upsert', which for a tool origin means
 * "unknown, read the row" (the indexer never trusts a hint). Same batching, ordering,
 * retry and partial-failure rules as the stream handler: `reconcile` throws
 * ChangeFailedError(position of the first trigger that did not land).
 */
export function createSearchTriggerSender(deps: SearchTriggerSenderDeps): Reconciler {
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...deps.retry };
  const maxMessageBytes = deps.maxMessageBytes ?? SQS_MAX_MESSAGE_BYTES;
  const limits = batchLimitsOf(deps);

  return {
    name: SUBSYSTEM_NAME,
    accepts: (key: RowKeys) => matchIndexedSpec(key) !== undefined,
    async reconcile(triggers: readonly Trigger[]): Promise<KeyResult[]> {
      const messages: OutgoingMessage[] = [];
      let planFailure: { position: number; error: unknown } | undefined;
      for (const { trigger, position } of distinctTriggers(triggers)) {
        try {
          const spec = matchIndexedSpec(trigger.key);
          if (!spec) throw new StreamRecordError(refOfTrigger(trigger.key, trigger.origin), 'key is not indexed by any spec (check accepts() first)');
          const target = { collection: spec.collection, id: spec.documentId(trigger.key), key: trigger.key, hint: 'upsert' as const, origin: trigger.origin };
          messages.push(outgoingMessage(target, position, maxMessageBytes));
        } catch (error) {
          planFailure = { position, error };
          break;
        }
      }
      const calls = planCalls(messages, limits);
      deps.logger.info('search triggers', { triggers: triggers.length, messages: messages.length, calls: calls.length });
      await sendCalls(deps.sqs, deps.queueUrl, calls, policy, deps.logger, deadlineOf(deps));
      if (planFailure) throw new ChangeFailedError(planFailure.position, planFailure.error);
      return messages.map((m) => ({ key: triggers[m.position]!.key, action: 'sent', changed: true }));
    },
  };
}

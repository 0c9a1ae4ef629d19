import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { StreamChange } from '../shared/decode';
import type { RowKeys } from '../shared/key-rules';
import { classified, failureKindOf, MetricTally, STREAM_METRICS } from '../shared/metrics';
import { createDeadlineAwareHandler, type Subsystem } from '../shared/runner';
import { streamTrigger } from '../shared/trigger';
import { planAction } from './diff';
import { outgoingMessage, type OutgoingMessage } from './messages';
import type { SqsSender } from './queue';
import { triggerSending, type PlanFailure, type SendingDeps } from './sending';
import { matchIndexedSpec } from './specs';

export type TypesenseSubsystemDeps = SendingDeps;

export const SUBSYSTEM_NAME = 'typesense-sync';

/**
 * typesense-sync as the shared runner sees it: owns the rows of the specs that feed a
 * collection; turns each owned change into at most one trigger (message version 2), skipping
 * only changes that provably change nothing indexed, and sends them in order, batched.
 * It needs the images (for the skip rule only); no Typesense call here.
 */
export function createTypesenseSubsystem(deps: TypesenseSubsystemDeps): Subsystem {
  const { logger } = deps;
  const sending = triggerSending(deps);

  return {
    name: SUBSYSTEM_NAME,
    owns: (keys: RowKeys) => matchIndexedSpec(keys) !== undefined,
    async apply(changes: readonly StreamChange[]): Promise<void> {
      const messages: OutgoingMessage[] = [];
      let planFailure: PlanFailure | undefined;

      for (const [position, change] of changes.entries()) {
        const record = { pk: change.keys.PK, sk: change.keys.SK, eventID: change.eventID };
        try {
          const plan = planAction(change, (which, problem) =>
            logger.warn('image has a malformed attribute; sending the trigger without the skip check', { ...record, image: which, attribute: problem.attribute }),
          );
          if (plan.action === 'none') {
            logger.debug('no trigger', { ...record, reason: plan.reason, collection: plan.collection, id: plan.id });
            continue;
          }
          const { origin, key } = streamTrigger(change);
          messages.push(outgoingMessage({ collection: plan.collection, id: plan.id, key, hint: plan.hint, origin }, position, sending.maxMessageBytes));
        } catch (error) {
          // Stop planning here; everything before this record is still sent, so the
          // runner's "all before `position` took effect" holds.
          planFailure = { position, error: classified(error, failureKindOf(error, 'decode')) };
          break;
        }
      }

      await sending.send(messages, planFailure, { changes: changes.length });
    },
  };
}

/** Counts at the SQS boundary: every SendMessageBatch request (retries included) and the entries SQS accepted. */
export function countingSender(sqs: SqsSender, tally: MetricTally): SqsSender {
  return {
    send: async (command) => {
      tally.count('SendMessageBatchCalls');
      const output = await sqs.send(command);
      tally.count('TriggersSent', output.Successful?.length ?? 0);
      return output;
    },
  };
}

/**
 * The Lambda handler: the shared ordered runner around the typesense subsystem, aware of the
 * invocation's deadline; with `metrics`, it publishes one tally per invocation.
 */
export function createTypesenseHandler(deps: TypesenseSubsystemDeps & { readonly logger: Logger; readonly metrics?: Metrics }) {
  const tally = new MetricTally(deps.metrics, [...STREAM_METRICS, 'TriggersSent', 'SendMessageBatchCalls']);
  const sqs = deps.metrics ? countingSender(deps.sqs, tally) : deps.sqs;
  return createDeadlineAwareHandler((remainingMs) => createTypesenseSubsystem({ ...deps, sqs, remainingMs: deps.remainingMs ?? remainingMs }), deps.logger, tally);
}

import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context, DynamoDBStreamEvent } from 'aws-lambda';
import type { StreamChange } from '../shared/decode';
import { ChangeFailedError } from '../shared/errors';
import type { RowKeys } from '../shared/key-rules';
import { classified, failureKindOf, MetricTally, STREAM_METRICS } from '../shared/metrics';
import { createStreamHandler, type Subsystem } from '../shared/runner';
import { streamTrigger } from '../shared/trigger';
import { planAction } from './diff';
import { outgoingMessage, planCalls, SQS_MAX_BATCH_BYTES, SQS_MAX_BATCH_ENTRIES, SQS_MAX_MESSAGE_BYTES, type BatchLimits, type OutgoingMessage } from './messages';
import { DEFAULT_RETRY_POLICY, sendCalls, type Deadline, type RetryPolicy, type SqsSender } from './queue';
import { matchIndexedSpec } from './specs';

export type SubsystemLog = Pick<Logger, 'debug' | 'info' | 'warn'>;

/** Time kept in hand at the deadline: one SQS request timeout (lambda/typesense-sync/sqs-client.ts) plus 2 s. */
export const DEADLINE_MARGIN_MS = 7_000;

export interface TypesenseSubsystemDeps {
  /** Anything with SQSClient's `send` for SendMessageBatchCommand (SQSClient, a mock, a local FIFO model). */
  readonly sqs: SqsSender;
  /** The search queue (FIFO). */
  readonly queueUrl: string;
  readonly logger: SubsystemLog;
  /** Overrides of the send retry policy (tests inject `sleep`). */
  readonly retry?: Partial<RetryPolicy>;
  /** The queue's MaximumMessageSize; default SQS_MAX_MESSAGE_BYTES (1 MiB). */
  readonly maxMessageBytes?: number;
  readonly batchLimits?: Partial<BatchLimits>;
  /** Milliseconds left in this invocation (the handler wires the Lambda context in). */
  readonly remainingMs?: () => number | undefined;
  readonly deadlineMarginMs?: number;
}

export const SUBSYSTEM_NAME = 'typesense-sync';

export function batchLimitsOf(deps: Pick<TypesenseSubsystemDeps, 'batchLimits'>): BatchLimits {
  return {
    maxEntries: Math.min(SQS_MAX_BATCH_ENTRIES, deps.batchLimits?.maxEntries ?? SQS_MAX_BATCH_ENTRIES),
    maxBatchBytes: deps.batchLimits?.maxBatchBytes ?? SQS_MAX_BATCH_BYTES,
  };
}

export function deadlineOf(deps: Pick<TypesenseSubsystemDeps, 'remainingMs' | 'deadlineMarginMs'>): Deadline | undefined {
  const remaining = deps.remainingMs;
  if (!remaining) return undefined;
  return { remainingMs: () => remaining() ?? Number.POSITIVE_INFINITY, marginMs: deps.deadlineMarginMs ?? DEADLINE_MARGIN_MS };
}

/**
 * typesense-sync as the shared runner sees it: owns the rows of the specs that feed a
 * collection; turns each owned change into at most one trigger (DESIGN §3 v2), skipping
 * only changes that provably change nothing indexed, and sends them in order, batched.
 * It needs the images (for the skip rule only); no Typesense call here.
 */
export function createTypesenseSubsystem(deps: TypesenseSubsystemDeps): Subsystem {
  const { sqs, queueUrl, logger } = deps;
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...deps.retry };
  const maxMessageBytes = deps.maxMessageBytes ?? SQS_MAX_MESSAGE_BYTES;
  const limits = batchLimitsOf(deps);

  return {
    name: SUBSYSTEM_NAME,
    owns: (keys: RowKeys) => matchIndexedSpec(keys) !== undefined,
    async apply(changes: readonly StreamChange[]): Promise<void> {
      const messages: OutgoingMessage[] = [];
      let planFailure: { position: number; error: unknown } | undefined;

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
          messages.push(outgoingMessage({ collection: plan.collection, id: plan.id, key, hint: plan.hint, origin }, position, maxMessageBytes));
        } catch (error) {
          // Stop planning here; everything before this record is still sent, so the
          // runner's "all before `position` took effect" holds.
          planFailure = { position, error: classified(error, failureKindOf(error, 'decode')) };
          break;
        }
      }

      const calls = planCalls(messages, limits);
      logger.info('search triggers', { changes: changes.length, messages: messages.length, calls: calls.length });
      // Throws ChangeFailedError for the earliest message that did not land, always
      // earlier than a planning failure (messages only cover records before it).
      await sendCalls(sqs, queueUrl, calls, policy, logger, deadlineOf(deps));
      if (planFailure) throw new ChangeFailedError(planFailure.position, planFailure.error);
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
  let context: Context | undefined;
  const tally = new MetricTally(deps.metrics, [...STREAM_METRICS, 'TriggersSent', 'SendMessageBatchCalls']);
  const sqs = deps.metrics ? countingSender(deps.sqs, tally) : deps.sqs;
  const subsystem = createTypesenseSubsystem({ ...deps, sqs, remainingMs: deps.remainingMs ?? (() => context?.getRemainingTimeInMillis()) });
  const handler = createStreamHandler(subsystem, deps.logger, tally);
  // Lambda runs one invocation at a time per container, so one slot is enough.
  return async (event: DynamoDBStreamEvent, ctx?: Context) => {
    context = ctx;
    try {
      return await handler(event, ctx);
    } finally {
      context = undefined;
    }
  };
}

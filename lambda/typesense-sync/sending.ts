/**
 * Sending planned triggers, shared by the stream handler and the tools' sender: the batch
 * limits, the retry policy and the deadline come from the same settings, and the order of
 * failures is one rule: every planned message goes out (or the earliest that did not land
 * fails), then a planning failure, which always follows every planned message, is reported.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { ChangeFailedError } from '../shared/errors';
import { planCalls, SQS_MAX_BATCH_BYTES, SQS_MAX_BATCH_ENTRIES, SQS_MAX_MESSAGE_BYTES, type BatchLimits, type OutgoingMessage } from './messages';
import { DEFAULT_RETRY_POLICY, sendCalls, type Deadline, type RetryPolicy, type SqsSender } from './queue';

/** Time kept in hand at the deadline: one SQS request timeout (lambda/typesense-sync/sqs-client.ts) plus 2 s. */
export const DEADLINE_MARGIN_MS = 7_000;

export interface SendingDeps {
  /** Anything with SQSClient's `send` for SendMessageBatchCommand (SQSClient, a mock, a local FIFO model). */
  readonly sqs: SqsSender;
  /** The search queue (FIFO). */
  readonly queueUrl: string;
  readonly logger: Pick<Logger, 'debug' | 'info' | 'warn'>;
  /** Overrides of the send retry policy (tests inject `sleep`). */
  readonly retry?: Partial<RetryPolicy>;
  /** The queue's MaximumMessageSize; default SQS_MAX_MESSAGE_BYTES (1 MiB). */
  readonly maxMessageBytes?: number;
  readonly batchLimits?: Partial<BatchLimits>;
  /** Milliseconds left in this invocation (the handler wires the Lambda context in). */
  readonly remainingMs?: () => number | undefined;
  readonly deadlineMarginMs?: number;
}

/** A planning step stopped at `position` (it and every later change are retried). */
export interface PlanFailure {
  readonly position: number;
  readonly error: unknown;
}

export interface TriggerSending {
  readonly maxMessageBytes: number;
  /** Sends `messages` in order, then throws ChangeFailedError for `planFailure` if there is one. */
  send(messages: readonly OutgoingMessage[], planFailure: PlanFailure | undefined, summary: Record<string, number>): Promise<void>;
}

export function triggerSending(deps: SendingDeps): TriggerSending {
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...deps.retry };
  const limits: BatchLimits = {
    maxEntries: Math.min(SQS_MAX_BATCH_ENTRIES, deps.batchLimits?.maxEntries ?? SQS_MAX_BATCH_ENTRIES),
    maxBatchBytes: deps.batchLimits?.maxBatchBytes ?? SQS_MAX_BATCH_BYTES,
  };
  const remaining = deps.remainingMs;
  const deadline: Deadline | undefined = remaining && {
    remainingMs: () => remaining() ?? Number.POSITIVE_INFINITY,
    marginMs: deps.deadlineMarginMs ?? DEADLINE_MARGIN_MS,
  };
  return {
    maxMessageBytes: deps.maxMessageBytes ?? SQS_MAX_MESSAGE_BYTES,
    async send(messages, planFailure, summary) {
      const calls = planCalls(messages, limits);
      deps.logger.info('search triggers', { ...summary, messages: messages.length, calls: calls.length });
      // Throws ChangeFailedError for the earliest message that did not land, always earlier
      // than a planning failure (messages only cover positions before it).
      await sendCalls(deps.sqs, deps.queueUrl, calls, policy, deps.logger, deadline);
      if (planFailure) throw new ChangeFailedError(planFailure.position, planFailure.error);
    },
  };
}

import {
  SendMessageBatchCommand,
  type BatchResultErrorEntry,
  type SendMessageBatchCommandOutput,
} from '@aws-sdk/client-sqs';
import type { Logger } from '@aws-lambda-powertools/logger';
import { ChangeFailedError, StreamRecordError } from '../shared/errors';
import { classified } from '../shared/metrics';
import { safeError, safeReason } from '../shared/safe-error';
import type { OutgoingMessage } from './messages';
import { backoffDelay, realSleep, type RetryPolicy } from '../shared/backoff';

/**
 * The only I/O of typesense-sync: sending planned SendMessageBatch calls to the FIFO
 * queue. Typed minimally so an SQSClient, an aws-sdk-client-mock'ed client or an
 * in-process FIFO queue model (npm start, tests) plug in unchanged.
 */
export interface SqsSender {
  send(command: SendMessageBatchCommand): Promise<SendMessageBatchCommandOutput>;
}

export type { RetryPolicy };

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 4,
  baseDelayMs: 100,
  maxDelayMs: 2_000,
  sleep: realSleep,
  random: Math.random,
};

const RETRYABLE_NAMES = /throttl|timeout|unavailable|internal|toomanyrequests|requestlimitexceeded|econnreset|econnrefused|epipe|etimedout|socket|network/i;

/** A thrown send error worth another try: throttling, server side, or transport. */
export function isRetryableError(error: unknown): boolean {
  if (error === null || typeof error !== 'object') return false;
  const e = error as { name?: string; code?: string; $fault?: string; $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  return (
    e.$fault === 'server' ||
    e.$retryable !== undefined ||
    (status !== undefined && (status >= 500 || status === 429)) ||
    RETRYABLE_NAMES.test(`${e.name ?? ''} ${e.code ?? ''}`)
  );
}

/** A failed batch entry worth another try: SQS says it was not the sender's fault, or throttling. */
export function isRetryableEntry(entry: BatchResultErrorEntry): boolean {
  return entry.SenderFault === false || /throttl/i.test(entry.Code ?? '');
}

export type SendLog = Pick<Logger, 'warn'>;

/**
 * The function's deadline, as seen from inside an invocation. Sending stops when less than
 * `marginMs` is left (before a call, or before a backoff sleep that would cross it), so the
 * handler reports a partial failure instead of being killed by the timeout with its
 * outcome unknown. `marginMs` must cover one SQS request timeout plus the response.
 */
export interface Deadline {
  remainingMs(): number;
  readonly marginMs: number;
}

function checkDeadline(deadline: Deadline | undefined, first: OutgoingMessage, upcomingMs: number): void {
  if (!deadline) return;
  const left = deadline.remainingMs();
  if (left - upcomingMs < deadline.marginMs) {
    throw new ChangeFailedError(
      first.position,
      classified(
        new StreamRecordError(first.ref, `stopped sending before the function's deadline (${left} ms left, margin ${deadline.marginMs} ms); ${first.collection}/${first.id} and later triggers are retried`),
        'throttled',
      ),
    );
  }
}

/**
 * Sends the calls strictly one after another. Resolves when every message landed;
 * otherwise throws ChangeFailedError for the earliest message that did not.
 *
 * Why this keeps each document's messages in order (I1):
 * - a call holds at most one message per group and calls are contiguous runs of the
 *   messages in trigger order, so a later message of a document is always in a later call;
 * - a later call is issued only after every message of the earlier calls landed;
 * - on a failure we stop and report the earliest failed message's record. Messages after
 *   it in the same call may have landed: each is then its document's newest message so far
 *   (nothing later of that document was sent), and the runner reports its record for retry
 *   too, so the retry resends it with the same MessageDeduplicationId: SQS drops the copy
 *   within its 5-minute window, and after the window the copy repeats the same state right
 *   behind the original, which the indexer applies idempotently.
 */
export async function sendCalls(
  sqs: SqsSender,
  queueUrl: string,
  calls: readonly (readonly OutgoingMessage[])[],
  policy: RetryPolicy,
  log?: SendLog,
  deadline?: Deadline,
): Promise<void> {
  for (const call of calls) await sendOneCall(sqs, queueUrl, call, policy, log, deadline);
}

async function sendOneCall(
  sqs: SqsSender,
  queueUrl: string,
  call: readonly OutgoingMessage[],
  policy: RetryPolicy,
  log?: SendLog,
  deadline?: Deadline,
): Promise<void> {
  let pending = [...call];
  for (let attempt = 1; ; attempt += 1) {
    checkDeadline(deadline, pending[0]!, 0);
    const byEntryId = new Map(pending.map((m) => [`e${m.position}`, m]));
    let output: SendMessageBatchCommandOutput;
    try {
      output = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: pending.map((m) => ({
            Id: `e${m.position}`,
            MessageBody: m.body,
            MessageGroupId: m.groupId,
            MessageDeduplicationId: m.deduplicationId,
          })),
        }),
      );
    } catch (error) {
      // Whether any entry landed is unknown; resending is safe (same deduplication ids).
      const first = pending[0]!;
      if (!isRetryableError(error) || attempt >= policy.maxAttempts) {
        // The SDK's error in its safe shape only: it can carry the request, i.e. the message bodies.
        const failure = new StreamRecordError(first.ref, `SendMessageBatch failed (attempt ${attempt} of ${policy.maxAttempts}): ${safeReason(error)}`, {
          cause: safeError(error),
        });
        throw new ChangeFailedError(first.position, classified(failure, isRetryableError(error) ? 'throttled' : 'fatal'));
      }
      const delay = backoffDelay(attempt, policy, policy.random);
      checkDeadline(deadline, first, delay);
      log?.warn('SendMessageBatch threw; retrying the call', { attempt, delayMs: delay, entries: pending.length, error: safeReason(error) });
      await policy.sleep(delay);
      continue;
    }

    // HTTP 200 does not mean every entry landed: read Failed[], and treat an entry that is
    // in neither list as failed (retryable: its fate is unknown, a resend is deduplicated).
    const failedById = new Map<string, BatchResultErrorEntry>();
    for (const entry of output.Failed ?? []) if (entry.Id !== undefined) failedById.set(entry.Id, entry);
    const succeeded = new Set((output.Successful ?? []).map((entry) => entry.Id));
    for (const id of byEntryId.keys()) {
      if (!succeeded.has(id) && !failedById.has(id)) {
        failedById.set(id, { Id: id, Code: 'MissingResult', Message: 'entry is in neither Successful nor Failed', SenderFault: false });
      }
    }
    const failed = pending
      .filter((m) => failedById.has(`e${m.position}`))
      .map((m) => ({ message: m, entry: failedById.get(`e${m.position}`)! }));
    if (failed.length === 0) return;

    const retryable = failed.every(({ entry }) => isRetryableEntry(entry));
    if (!retryable || attempt >= policy.maxAttempts) {
      const { message, entry } = failed[0]!; // pending is in position order: the earliest
      const failure = new StreamRecordError(
        message.ref,
        `SQS rejected the message for ${message.collection}/${message.id}: ${entry.Code ?? '?'} ${entry.Message ?? ''} ` +
          `(SenderFault=${String(entry.SenderFault)}, attempt ${attempt} of ${policy.maxAttempts})`,
      );
      throw new ChangeFailedError(message.position, classified(failure, retryable ? 'throttled' : 'rejected'));
    }
    const delay = backoffDelay(attempt, policy, policy.random);
    checkDeadline(deadline, failed[0]!.message, delay);
    log?.warn('SendMessageBatch entries failed; retrying them', {
      attempt,
      delayMs: delay,
      failed: failed.map(({ entry }) => ({ id: entry.Id, code: entry.Code, senderFault: entry.SenderFault })),
    });
    // Only the failed entries go again: the others landed. Still at most one per group.
    pending = failed.map(({ message }) => message);
    await policy.sleep(delay);
  }
}

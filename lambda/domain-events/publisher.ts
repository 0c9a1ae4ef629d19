/**
 * The only I/O of domain-events: planned PutEvents calls, one after another. HTTP 200 does not
 * mean every entry was accepted: failed entries (FailedEntryCount, an ErrorCode per entry) are
 * retried alone with backoff; when they keep failing the earliest record not published fails and
 * no later call is made, so nothing is skipped and a later change of an item is never sent before
 * an earlier one (a call holds at most one entry per item, in order; entries.ts).
 */
import { PutEventsCommand, type PutEventsCommandOutput, type PutEventsResultEntry } from '@aws-sdk/client-eventbridge';
import type { Logger } from '@aws-lambda-powertools/logger';
import { backoffDelay, realSleep, type RetryPolicy } from '../shared/backoff';
import { ChangeFailedError, StreamRecordError } from '../shared/errors';
import { classified, failureKindOf, type MetricTally } from '../shared/metrics';
import { safeError, safeReason, type SafeError } from '../shared/safe-error';
import type { OutgoingEvent } from './entries';

/** Anything with EventBridgeClient's `send` for PutEventsCommand (the client, a mock, a counting wrapper). */
export interface EventsSender {
  send(command: PutEventsCommand): Promise<PutEventsCommandOutput>;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 4,
  baseDelayMs: 100,
  maxDelayMs: 2_000,
  sleep: realSleep,
  random: Math.random,
};

/** Entry error codes PutEvents documents as retryable (PutEventsResultEntry.ErrorCode), and ours for a missing result. */
const RETRYABLE_ENTRY_CODES = new Set(['InternalFailure', 'ThrottlingException', 'MissingResult']);

export const isRetryableEntry = (entry: PutEventsResultEntry): boolean => RETRYABLE_ENTRY_CODES.has(entry.ErrorCode ?? '');

/** AWS JSON services answer throttling with HTTP 400, so the name decides as much as the status. */
const RETRYABLE_ERROR_NAMES = /throttl|internal|serviceunavailable|timeout/i;

/** Whether a PutEvents call that threw is worth another try (the error already in its safe shape). */
export const isRetryableError = (error: SafeError): boolean => error.retryable || RETRYABLE_ERROR_NAMES.test(error.name);

/** The function's deadline as seen from inside an invocation: stop sending with `marginMs` left. */
export interface Deadline {
  remainingMs(): number;
  readonly marginMs: number;
}

export interface PublishDeps {
  readonly events: EventsSender;
  readonly policy: RetryPolicy;
  readonly logger: Pick<Logger, 'warn'>;
  readonly tally?: MetricTally;
  readonly deadline?: Deadline;
}

function checkDeadline(deadline: Deadline | undefined, first: OutgoingEvent, upcomingMs: number): void {
  if (!deadline) return;
  const left = deadline.remainingMs();
  if (left - upcomingMs < deadline.marginMs) {
    const reason = `stopped publishing before the function's deadline (${left} ms left, margin ${deadline.marginMs} ms); this and later events are retried`;
    throw new ChangeFailedError(first.position, classified(new StreamRecordError(first.ref, reason), 'throttled'));
  }
}

/**
 * Sends the calls in order. Resolves when every entry was accepted; otherwise throws
 * ChangeFailedError for the earliest position not accepted: the failed entry's, or an earlier
 * one left for a later call (planCalls), which is then named as not sent because of it.
 */
export async function publishCalls(deps: PublishDeps, calls: readonly (readonly OutgoingEvent[])[]): Promise<void> {
  for (const [index, call] of calls.entries()) {
    try {
      await publishOneCall(deps, call);
    } catch (error) {
      if (!(error instanceof ChangeFailedError)) throw error;
      const unsent = calls.slice(index + 1).flat();
      const earliest = unsent.reduce<OutgoingEvent | undefined>((min, e) => (e.position < (min?.position ?? error.position) ? e : min), undefined);
      if (!earliest) throw error;
      const reason = `not published: a call before it failed (${safeReason(error.cause)})`;
      throw new ChangeFailedError(earliest.position, classified(new StreamRecordError(earliest.ref, reason, { cause: error.cause }), failureKindOf(error.cause)));
    }
  }
}

async function publishOneCall(deps: PublishDeps, call: readonly OutgoingEvent[]): Promise<void> {
  const { policy, tally, deadline } = deps;
  let pending = [...call];
  for (let attempt = 1; ; attempt += 1) {
    checkDeadline(deadline, pending[0]!, 0);
    let output: PutEventsCommandOutput;
    try {
      output = await deps.events.send(new PutEventsCommand({ Entries: pending.map((e) => e.entry) }));
    } catch (thrown) {
      // Whether any entry was accepted is unknown: resending may duplicate, which consumers absorb (detail.eventID).
      tally?.count('EventsFailed', pending.length);
      const error = safeError(thrown);
      const retryable = isRetryableError(error);
      const first = pending[0]!;
      if (!retryable || attempt >= policy.maxAttempts) {
        const failure = new StreamRecordError(first.ref, `PutEvents failed (attempt ${attempt} of ${policy.maxAttempts}): ${safeReason(error)}`, { cause: error });
        throw new ChangeFailedError(first.position, classified(failure, retryable ? 'throttled' : 'fatal'));
      }
      const delayMs = backoffDelay(attempt, policy, policy.random);
      checkDeadline(deadline, first, delayMs);
      deps.logger.warn('PutEvents threw; retrying the call', { attempt, delayMs, entries: pending.length, error: safeReason(error) });
      await policy.sleep(delayMs);
      continue;
    }

    // Results are positional (same length and order as the request); one without an EventId failed.
    const results = output.Entries ?? [];
    const failed: { event: OutgoingEvent; result: PutEventsResultEntry }[] = [];
    pending.forEach((event, i) => {
      const result = results[i];
      if (result?.EventId && !result.ErrorCode) return;
      failed.push({ event, result: result ?? { ErrorCode: 'MissingResult', ErrorMessage: 'the response has no result for this entry' } });
    });
    tally?.count('EventsPublished', pending.length - failed.length);
    tally?.count('EventsFailed', failed.length);
    if (failed.length === 0) return;

    const retryable = failed.every(({ result }) => isRetryableEntry(result));
    if (!retryable || attempt >= policy.maxAttempts) {
      const { event, result } = failed[0]!; // pending is in position order: the earliest
      const failure = new StreamRecordError(
        event.ref,
        `EventBridge refused the event ${event.entry.DetailType}: ${result.ErrorCode ?? '?'} ${result.ErrorMessage ?? ''} (attempt ${attempt} of ${policy.maxAttempts})`,
      );
      throw new ChangeFailedError(event.position, classified(failure, retryable ? 'throttled' : 'rejected'));
    }
    const delayMs = backoffDelay(attempt, policy, policy.random);
    checkDeadline(deadline, failed[0]!.event, delayMs);
    deps.logger.warn('PutEvents entries failed; retrying them', {
      attempt,
      delayMs,
      failed: failed.map(({ event, result }) => ({ eventID: event.ref.eventID, code: result.ErrorCode })),
    });
    // Only the failed entries go again: the others were accepted. Still at most one per item.
    pending = failed.map(({ event }) => event);
    await policy.sleep(delayMs);
  }
}

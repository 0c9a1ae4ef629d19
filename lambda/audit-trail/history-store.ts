/**
 * Writes history rows: one conditional PutItem per row (`attribute_not_exists(PK)`), so a row
 * is written at most once whatever redelivers its record; a failed condition is a duplicate,
 * not an error. Rows are independent (each key derives from its own record), so they go out
 * concurrently; throttling and transient errors are retried with backoff here, then fail.
 */
import { PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { backoffDelay, realSleep, type RetryPolicy } from '../shared/backoff';
import { classifyWriteError } from '../shared/dynamo-errors';
import { describeRecord } from '../shared/errors';
import { classified } from '../shared/metrics';
import { safeReason } from '../shared/safe-error';
import type { HistoryRow } from './history-row';

export type PutOutcome = 'written' | 'duplicate';

export const DEFAULT_HISTORY_RETRY: RetryPolicy = { maxAttempts: 7, baseDelayMs: 50, maxDelayMs: 1_000, sleep: realSleep, random: Math.random };

/** Puts in flight at once, per invocation. */
export const DEFAULT_CONCURRENCY = 16;

export class HistoryStore {
  private readonly retry: RetryPolicy;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    retry: Partial<RetryPolicy> = {},
  ) {
    this.retry = { ...DEFAULT_HISTORY_RETRY, ...retry };
  }

  /** Writes the row unless a row with its key exists. */
  async put(row: HistoryRow): Promise<PutOutcome> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.doc.send(new PutCommand({ TableName: this.tableName, Item: row, ConditionExpression: 'attribute_not_exists(PK)' }));
        return 'written';
      } catch (error) {
        const failure = classifyWriteError(error);
        if (failure.kind === 'condition') return 'duplicate';
        const where = describeRecord({ eventID: row.event_id, pk: row.item_pk, sk: row.item_sk });
        if (failure.kind === 'retryable' && attempt < this.retry.maxAttempts) {
          await this.retry.sleep(backoffDelay(attempt, this.retry, this.retry.random));
          continue;
        }
        const reason = failure.kind === 'retryable' ? `still failing after ${attempt} attempts` : 'failed';
        throw classified(new Error(`history put ${reason} [${where}]: ${safeReason(error)}`), failure.kind === 'retryable' ? 'throttled' : 'fatal');
      }
    }
  }

  /**
   * Puts rows concurrently (at most `concurrency` in flight, started in order). Stops starting
   * new ones after a failure. Returns each row's outcome, or the earliest failure's position
   * and error: every row before it was written or found (the runner's contract); rows after it
   * may have been written too and read as duplicates when redelivered.
   */
  async putAll(rows: readonly HistoryRow[], concurrency = DEFAULT_CONCURRENCY): Promise<{ outcomes: PutOutcome[]; failed?: { position: number; error: unknown } }> {
    const outcomes: PutOutcome[] = [];
    type Failure = { position: number; error: unknown };
    const state: { next: number; failed?: Failure } = { next: 0 };
    // A function, so the loop's check on state.failed does not narrow what it reads after an await.
    const fail = (f: Failure) => {
      if (state.failed === undefined || f.position < state.failed.position) state.failed = f;
    };
    const worker = async () => {
      while (state.failed === undefined && state.next < rows.length) {
        const position = state.next++;
        try {
          outcomes[position] = await this.put(rows[position]!);
        } catch (error) {
          fail({ position, error });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, rows.length) }, worker));
    return state.failed ? { outcomes, failed: state.failed } : { outcomes };
  }
}

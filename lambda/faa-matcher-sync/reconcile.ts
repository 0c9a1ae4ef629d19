import type { Logger } from '@aws-lambda-powertools/logger';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { StreamRecordError, type RecordRef } from '../shared/errors';
import type { RowKeys } from '../shared/key-rules';
import { classified, MetricTally, type FailureKind } from '../shared/metrics';
import { safeError, safeReason } from '../shared/safe-error';
import { ruleMatches } from '../shared/key-rules';
import { reconcileEach, type KeyResult, type Reconciler, type Trigger } from '../shared/trigger';
import { decide, type Decision, type Tuple } from './domain';
import { LEGACY_COUNT_ATTRIBUTE, matcherTupleKey } from './keys';
import { FAA_LINK_KEY_RULES } from './ownership';
import {
  CorruptContributionError,
  ITEM,
  readLinkState,
  recordedTuple,
  transact,
  transactionFor,
  type DecrementForm,
  type LinkState,
} from './repository';
import { backoffDelay, cancellationCodes, classifyDynamoError, DEFAULT_RETRY_POLICY, realSleep, type RetryPolicy } from './retry';

export const SUBSYSTEM_NAME = 'faa-matcher-sync';

export interface MatcherHooks {
  /** Called after every read of a link's state, before anything is written (tests pause here). */
  readonly afterRead?: (key: RowKeys, state: LinkState) => Promise<void>;
}

export interface MatcherDeps {
  readonly doc: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly logger: Logger;
  /** Injected for tests; defaults to setTimeout. */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly retry?: Partial<RetryPolicy>;
  readonly hooks?: MatcherHooks;
  /** Counts TuplesWritten and ConditionalRetries (the handler factory publishes it). */
  readonly tally?: MetricTally;
}

export interface MatcherKeyResult extends KeyResult {
  readonly action: Decision['kind'];
  /** Transactions sent, including failed ones (0 for a no-op). */
  readonly transactions: number;
  /** Re-reads after a condition failed (the truth moved between read and write). */
  readonly conditionalRetries: number;
}

const label = (tuple: Tuple) => {
  const key = matcherTupleKey(tuple);
  return `${key.PK} ${key.SK}`;
};

export const acceptsLink = (key: RowKeys): boolean => FAA_LINK_KEY_RULES.some((rule) => ruleMatches(rule, key));

/**
 * The matcher's reconcile path, shared by the stream handler and the tools.
 *
 * Per distinct link key: one strongly consistent read of the link and its contribution row; if the
 * tuple the link should count toward differs from the recorded one, one TransactWriteItems moves
 * the count, conditioned on the contribution row and the link's matcher fields as read. A failed
 * condition on either means the truth moved: read again and decide again.
 *
 * The old tuple's -1 is optimistic: ADD -1 under `count > 1`. Only for a tuple's last link does
 * that fail; the failed item returns the row (ReturnValuesOnConditionCheckFailure), and the same
 * transaction is sent again with a Delete under `count = 1`. Cost: 1 read + 1 transaction, plus
 * one more transaction when a tuple row goes away; never an extra read.
 */
export function createMatcherReconciler(deps: MatcherDeps): Reconciler & {
  reconcile(triggers: readonly Trigger[]): Promise<MatcherKeyResult[]>;
} {
  const { doc, tableName, logger } = deps;
  const sleep = deps.sleep ?? realSleep;
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...deps.retry };
  const backoff = (attempt: number) => sleep(backoffDelay(attempt, policy));
  const repoDeps = { doc, tableName, backoff, maxAttempts: policy.maxAttempts };
  const tally = deps.tally ?? new MetricTally();

  async function read(key: RowKeys): Promise<LinkState> {
    const state = await readLinkState(repoDeps, key);
    await deps.hooks?.afterRead?.(key, state);
    return state;
  }

  async function reconcileKey(trigger: Trigger): Promise<MatcherKeyResult> {
    const { key } = trigger;
    const ref: RecordRef = { pk: key.PK, sk: key.SK, ...(trigger.origin.kind === 'stream' && { eventID: trigger.origin.eventID }) };
    // An SDK error can carry the item it returned (ReturnValuesOnConditionCheckFailure): only its safe shape is kept.
    const fail = (reason: string, cause?: unknown) => new StreamRecordError(ref, `matcher reconcile: ${reason}`, cause === undefined ? undefined : { cause: safeError(cause) });
    let transactions = 0;
    let conditionalRetries = 0;
    // What the last failed transaction met: names the Failures kind if the attempts run out.
    let lastFailure: FailureKind = 'throttled';
    const readOrFail = async () => {
      try {
        return await read(key);
      } catch (error) {
        if (error instanceof StreamRecordError) throw error;
        if (error instanceof CorruptContributionError) throw classified(fail(error.message, error), 'decode');
        throw classified(fail(`read failed: ${safeReason(error)}`, error), classifyDynamoError(error).kind === 'retryable' ? 'throttled' : 'fatal');
      }
    };
    let state = await readOrFail();
    let form: DecrementForm = 'add';

    for (;;) {
      const decision = decide(recordedTuple(state), state.desired);
      if (decision.kind === 'none') {
        logger.debug('link already counted where it should be; nothing written', { pk: key.PK, sk: key.SK });
        return { key, action: 'none', changed: false, transactions, conditionalRetries };
      }
      if (transactions >= policy.maxAttempts) {
        throw classified(fail(`gave up after ${transactions} transactions (the link or its counts kept changing, or throttling)`), lastFailure);
      }
      transactions += 1;
      try {
        await transact(doc, transactionFor(tableName, state, decision, form));
        tally.count('TuplesWritten', decision.kind === 'move' ? 2 : 1);
        logger.debug('matcher counts moved', {
          pk: key.PK,
          sk: key.SK,
          action: decision.kind,
          ...('from' in decision && { from: label(decision.from) }),
          ...('to' in decision && { to: label(decision.to) }),
          transactions,
        });
        return { key, action: decision.kind, changed: true, transactions, conditionalRetries };
      } catch (error) {
        const cls = classifyDynamoError(error);
        if (cls.kind === 'fatal') throw fail(`${cls.code}: ${safeError(error).message}`, error);
        if (cls.kind === 'retryable') {
          lastFailure = 'throttled';
          logger.warn('matcher transaction throttled or in conflict; backing off', { pk: key.PK, sk: key.SK, code: cls.code, transactions });
          await backoff(transactions);
          continue;
        }
        const codes = cancellationCodes(error);
        const failed = (i: number) => codes[i] === 'ConditionalCheckFailed';
        lastFailure = 'condition-exhausted';
        if (!failed(ITEM.contribution) && !failed(ITEM.link) && failed(ITEM.from) && decision.kind !== 'increment') {
          form = nextForm(error, decision.from, fail);
          continue; // the same conditions as read still guard the link and its contribution row
        }
        conditionalRetries += 1;
        tally.count('ConditionalRetries');
        logger.debug('link or contribution changed since read; reading again', { pk: key.PK, sk: key.SK, codes, transactions });
        await backoff(conditionalRetries);
        state = await readOrFail();
        form = 'add';
      }
    }
  }

  return {
    name: SUBSYSTEM_NAME,
    accepts: acceptsLink,
    reconcile: (triggers) => reconcileEach(triggers, reconcileKey) as Promise<MatcherKeyResult[]>,
  };
}

/** The old tuple's row as the failed decrement returned it decides the next form, or proves the counts wrong. */
function nextForm(error: unknown, from: Tuple, fail: (reason: string) => StreamRecordError): DecrementForm {
  const reasons = (error as { CancellationReasons?: { Item?: Record<string, never> }[] }).CancellationReasons;
  const item = reasons?.[ITEM.from]?.Item;
  const row = item ? unmarshall(item) : undefined;
  const count = row?.count;
  const legacy = row?.[LEGACY_COUNT_ATTRIBUTE];
  if (row && typeof count === 'number' && Number.isInteger(count)) {
    if (count > 1) return 'add';
    if (count === 1 && legacy === undefined) return 'delete';
  }
  const found = row
    ? `has count ${JSON.stringify(count)}${legacy === undefined ? '' : ` and ${LEGACY_COUNT_ATTRIBUTE} ${JSON.stringify(legacy)}`}`
    : 'has no row';
  throw fail(
    `tuple ${label(from)} ${found} but the contribution row records this link as counted there; ` +
      'refusing to decrement (counts changed outside this subsystem: audit them)',
  );
}

import type { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { StreamChange } from '../shared/decode';
import { StreamRecordError, type RecordRef } from '../shared/errors';
import { ruleMatches } from '../shared/key-rules';
import { applyInOrder, createStreamHandler, type Subsystem } from '../shared/runner';
import { decide, matcherFields, sequenceOrder, SEQUENCE_ORDER_WIDTH, type Decision, type Tuple } from './domain';
import { matcherTupleKey } from './keys';
import { FAA_LINK_KEY_RULES } from './ownership';
import { createMatcherRepository, LEDGER_ITEM_INDEX, type LedgerWrite, type MatcherRepository } from './repository';
import { backoffDelay, classifyDynamoError, DEFAULT_RETRY_POLICY, realSleep, type RetryPolicy } from './retry';

export const SUBSYSTEM_NAME = 'faa-matcher-sync';

export interface MatcherDeps {
  readonly doc: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly logger: Logger;
  /** Injected for tests; defaults to setTimeout. */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly retry?: Partial<RetryPolicy>;
  /** Clock for `applied_at` / `expires_at` on the ledger rows. */
  readonly now?: () => Date;
}

/** What one change did. */
export type ChangeOutcome =
  | { readonly kind: 'applied'; readonly decision: Exclude<Decision, { kind: 'none' }>; readonly attempts: number }
  | { readonly kind: 'none'; readonly reason: string }
  | { readonly kind: 'replay'; readonly appliedEventID: string };

const label = (tuple: Tuple) => {
  const key = matcherTupleKey(tuple);
  return `${key.PK} ${key.SK}`;
};

/** Thrown when the counts contradict the ledger (e.g. a tuple row removed by hand): retrying cannot fix it. */
class CountInvariantError extends StreamRecordError {}

/**
 * The matcher subsystem (DESIGN §5): keeps `ICAO#MATCHER#...` tuple counts equal to the number of
 * FAA link rows carrying each tuple, exactly once per stream record.
 *
 * Per change: read the link's contribution row (the ledger). If it already holds this record or a
 * later one, the record is a replay: do nothing. Otherwise decide from what the link contributes
 * now (the ledger, not the record's OldImage) and what its new image carries, and apply the
 * decision in one TransactWriteItems conditioned on the ledger row being exactly as read. A
 * condition failure means the state moved under us: re-read and decide again. Contention and
 * throttling back off and retry; after the last attempt the change fails, naming the record.
 */
export function createMatcherSubsystem(deps: MatcherDeps): Subsystem & {
  applyChange(change: StreamChange): Promise<ChangeOutcome>;
} {
  const { logger } = deps;
  const repo: MatcherRepository = createMatcherRepository({ doc: deps.doc, tableName: deps.tableName, now: deps.now });
  const sleep = deps.sleep ?? realSleep;
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...deps.retry };

  async function attempt(change: StreamChange, ref: RecordRef, seqOrder: string, attemptNo: number): Promise<ChangeOutcome> {
    const ledger = await repo.readContribution(change.keys);
    if (ledger && ledger.seqOrder >= seqOrder) {
      logger.info('replayed record: already applied, no-op', {
        eventID: change.eventID,
        pk: change.keys.PK,
        sk: change.keys.SK,
        sequenceNumber: change.sequenceNumber,
        appliedSequenceNumber: ledger.sequenceNumber,
        appliedEventID: ledger.eventID,
      });
      return { kind: 'replay', appliedEventID: ledger.eventID };
    }
    // No ledger row yet: the link was never applied here. An INSERT contributed nothing before;
    // for MODIFY/REMOVE the OldImage says what it carried (links counted before the ledger existed).
    const current = ledger ? ledger.tuple : change.eventName === 'INSERT' ? null : matcherFields(change.oldImage);
    const next = change.eventName === 'REMOVE' ? null : matcherFields(change.newImage);
    const decision = decide(current, next, change.eventName);
    if (decision.kind === 'none') {
      logger.debug('no count change', { eventID: change.eventID, pk: change.keys.PK, sk: change.keys.SK, reason: decision.reason });
      return { kind: 'none', reason: decision.reason };
    }

    const write: LedgerWrite = {
      linkKeys: change.keys,
      expectedSeqOrder: ledger?.seqOrder ?? null,
      seqOrder,
      sequenceNumber: change.sequenceNumber,
      eventID: change.eventID,
    };
    const countOf = async (tuple: Tuple): Promise<number> => {
      const count = await repo.readCount(tuple);
      if (count === null || count < 1) {
        throw new CountInvariantError(
          ref,
          `matcher tuple ${label(tuple)} has ${count === null ? 'no row' : `count ${count}`} but this link is recorded ` +
            'as counting towards it; refusing to decrement (the counts were changed outside this subsystem: reconcile them)',
        );
      }
      return count;
    };
    switch (decision.kind) {
      case 'increment':
        await repo.increment(write, decision.to);
        break;
      case 'decrement':
        await repo.decrement(write, decision.from, await countOf(decision.from));
        break;
      case 'move':
        await repo.move(write, decision.from, await countOf(decision.from), decision.to);
        break;
    }
    // The runner already logged the record's one info line; the count change is detail.
    logger.debug('matcher counts updated', {
      eventID: change.eventID,
      pk: change.keys.PK,
      sk: change.keys.SK,
      action: decision.kind,
      ...('from' in decision && { from: label(decision.from) }),
      ...('to' in decision && { to: label(decision.to) }),
      attempts: attemptNo,
    });
    return { kind: 'applied', decision, attempts: attemptNo };
  }

  async function applyChange(change: StreamChange): Promise<ChangeOutcome> {
    const ref: RecordRef = { eventID: change.eventID, pk: change.keys.PK, sk: change.keys.SK };
    const seqOrder = sequenceOrder(change.sequenceNumber);
    if (seqOrder === null) {
      throw new StreamRecordError(
        ref,
        `SequenceNumber ${JSON.stringify(change.sequenceNumber)} is not a decimal number of at most ${SEQUENCE_ORDER_WIDTH} digits`,
      );
    }
    for (let attemptNo = 1; ; attemptNo += 1) {
      try {
        return await attempt(change, ref, seqOrder, attemptNo);
      } catch (error) {
        if (error instanceof StreamRecordError) throw error;
        const cls = classifyDynamoError(error, LEDGER_ITEM_INDEX);
        const errorName = error instanceof Error ? error.name : 'Error';
        if (cls.kind === 'fatal') {
          throw new StreamRecordError(ref, `matcher update failed: ${errorName}: ${(error as Error)?.message ?? error}`, {
            cause: error,
          });
        }
        if (attemptNo >= policy.maxAttempts) {
          throw new StreamRecordError(
            ref,
            `matcher update gave up after ${attemptNo} attempts (last: ${cls.code}: ${(error as Error)?.message ?? error})`,
            { cause: error },
          );
        }
        const delayMs = backoffDelay(attemptNo, policy);
        const fields = { eventID: change.eventID, pk: change.keys.PK, sk: change.keys.SK, attempt: attemptNo, code: cls.code, delayMs };
        if (cls.kind === 'condition') {
          // The ledger row or a count changed since it was read (a concurrent writer, or this
          // record landed already): the next attempt re-reads and decides again.
          logger.debug('state changed under the transaction; re-reading', { ...fields, ledger: cls.ledger });
        } else {
          logger.warn('matcher transaction throttled or in conflict; backing off', fields);
        }
        await sleep(delayMs);
      }
    }
  }

  return {
    name: SUBSYSTEM_NAME,
    owns: (keys) => FAA_LINK_KEY_RULES.some((rule) => ruleMatches(rule, keys)),
    apply: (changes) => applyInOrder(changes, async (change) => void (await applyChange(change))),
    applyChange,
  };
}

/** The Lambda handler: the shared ordered runner around the matcher subsystem. */
export function createMatcherHandler(deps: MatcherDeps) {
  return createStreamHandler(createMatcherSubsystem(deps), deps.logger);
}

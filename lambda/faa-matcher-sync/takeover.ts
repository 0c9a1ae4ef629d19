/**
 * Taking over counts another worker made: tuple rows exist, no link has
 * a contribution row. Never a silent fallback; the ops CLI runs it as `backfill --takeover`:
 *
 * (a) `prepareTakeover`, with the old worker stopped and this matcher not yet deployed: every tuple
 *     row gets `legacy_count = count` (what the old worker counted). Upgrading from a matcher that
 *     already kept contribution rows for some links (0.1.0 after its own takeover) is the same with
 *     `existingContributions: 'subtract'`: `legacy_count = count - contribution rows naming the
 *     tuple`, valid because that matcher is stopped too, so nothing moves either side meanwhile.
 * (b) deploy this matcher; (c) reconcile every link (backfill). Each reconcile moves `count` by
 *     ±1 together with a contribution row, so `count - legacy_count` is always the number of
 *     contribution rows naming the tuple, whatever the stream does meanwhile.
 * (d) `releaseTakeover`: subtract `legacy_count` from every row that has it (delete the row when
 *     nothing else remains). The counts are then exactly the contributions: I3, even if the old
 *     worker's counts were wrong.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { DeleteCommand, GetCommand, ScanCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { CONTRIBUTION_PK_PREFIX, LEGACY_COUNT_ATTRIBUTE, MATCHER_TUPLE_PK_PREFIX } from './keys';
import { backoffDelay, classifyDynamoError, DEFAULT_RETRY_POLICY, realSleep, type RetryPolicy } from './retry';

/** What a takeover step reads: matcher rows matching a filter (string values only), strongly consistent. */
export interface MatcherScanRequest {
  readonly filterExpression: string;
  readonly attributes: readonly string[];
  readonly names: Record<string, string>;
  readonly values: Record<string, string>;
}

/**
 * Reads every row matching `request`, page by page; `onPage` resolves before the scan moves
 * past the page. The ops CLI passes its parallel, rate-limited, checkpointed table scan;
 * the default is one paginated scan. `complete: false` when it was stopped early.
 */
export type MatcherScan = (request: MatcherScanRequest, onPage: (rows: readonly Record<string, unknown>[]) => Promise<void>) => Promise<{ readonly complete: boolean }>;

export interface TakeoverDeps {
  readonly doc: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly logger: Logger;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly retry?: Partial<RetryPolicy>;
  readonly scan?: MatcherScan;
}

/** The takeover cannot go on with the table as it is (one line naming the rows; nothing half-done is lost). */
export class TakeoverRefusedError extends Error {
  override readonly name = 'TakeoverRefusedError';
}

interface ContributionRow {
  PK: string;
  SK: string;
  tuple_pk?: unknown;
  tuple_sk?: unknown;
}

interface TupleRow {
  PK: string;
  SK: string;
  count?: unknown;
  legacy_count?: unknown;
}

const NAMES = { '#count': 'count', '#legacy': LEGACY_COUNT_ATTRIBUTE };

/** One paginated, strongly consistent scan through the document client. */
function documentScan(deps: TakeoverDeps): MatcherScan {
  return async (request, onPage) => {
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await deps.doc.send(
        new ScanCommand({
          TableName: deps.tableName,
          ConsistentRead: true,
          ExclusiveStartKey,
          FilterExpression: request.filterExpression,
          ProjectionExpression: request.attributes.map((_, i) => `#a${i}`).join(', '),
          ExpressionAttributeNames: { ...request.names, ...Object.fromEntries(request.attributes.map((a, i) => [`#a${i}`, a])) },
          ExpressionAttributeValues: request.values,
        }),
      );
      await onPage(page.Items ?? []);
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    return { complete: true };
  };
}

/** Prepare's read: every tuple row and contribution row. */
const PREPARE_SCAN: MatcherScanRequest = {
  filterExpression: 'begins_with(#pk, :tuple) OR begins_with(#pk, :contrib)',
  attributes: ['PK', 'SK', 'count', LEGACY_COUNT_ATTRIBUTE, 'tuple_pk', 'tuple_sk'],
  names: { '#pk': 'PK' },
  values: { ':tuple': MATCHER_TUPLE_PK_PREFIX, ':contrib': CONTRIBUTION_PK_PREFIX },
};

/** Release's read: the tuple rows that still carry legacy_count. */
const RELEASE_SCAN: MatcherScanRequest = {
  filterExpression: 'begins_with(#pk, :tuple) AND attribute_exists(#legacy)',
  attributes: ['PK', 'SK', 'count', LEGACY_COUNT_ATTRIBUTE],
  names: { '#pk': 'PK', '#legacy': LEGACY_COUNT_ATTRIBUTE },
  values: { ':tuple': MATCHER_TUPLE_PK_PREFIX },
};

async function scanMatcherRows(deps: TakeoverDeps) {
  const tuples: TupleRow[] = [];
  const contributions: ContributionRow[] = [];
  const { complete } = await (deps.scan ?? documentScan(deps))(PREPARE_SCAN, async (rows) => {
    for (const item of rows as unknown as readonly TupleRow[]) {
      if (item.PK.startsWith(CONTRIBUTION_PK_PREFIX)) contributions.push(item as ContributionRow);
      else tuples.push(item);
    }
  });
  // Deciding on part of the table could mark rows the refusal checks never saw: stop instead.
  if (!complete) throw new TakeoverRefusedError('takeover prepare stopped before its scan finished; nothing was written, run it again');
  return { tuples, contributions };
}

const isPositiveInteger = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1;
const conditionFailed = (error: unknown) => classifyDynamoError(error).kind === 'condition';

/**
 * Sends one write, again after a backoff while it fails transiently (a TransactionConflict: a
 * matcher transaction holds the row; throttling). Returns the attempts it took; a condition
 * failure or any other error is thrown for the caller to decide.
 */
async function sendRetrying(deps: TakeoverDeps, key: { PK: string; SK: string }, write: () => Promise<unknown>): Promise<number> {
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...deps.retry };
  for (let attempt = 1; ; attempt += 1) {
    try {
      await write();
      return attempt;
    } catch (error) {
      const failure = classifyDynamoError(error);
      if (failure.kind !== 'retryable') throw error;
      if (attempt >= policy.maxAttempts) {
        throw new TakeoverRefusedError(`takeover: ${key.PK} ${key.SK} still failed with ${failure.code} after ${attempt} attempts; run the same command again`, { cause: error });
      }
      await (deps.sleep ?? realSleep)(backoffDelay(attempt, policy));
    }
  }
}

export interface PrepareReport {
  readonly tuples: number;
  /** Rows that got `legacy_count` in this run. */
  readonly marked: number;
  /** Rows that had it already (an earlier, interrupted or repeated run). */
  readonly alreadyMarked: number;
}

export interface PrepareOptions {
  /**
   * What existing contribution rows mean. `refuse` (default): this matcher already counts, so a
   * takeover would count its links twice: write nothing. `subtract`: a stopped matcher of an
   * earlier version kept them for some links; each tuple's legacy share excludes them.
   */
  readonly existingContributions?: 'refuse' | 'subtract';
}

/** Contribution rows naming each tuple (`tuple_pk|tuple_sk`); tombstones name none. */
function contributionsPerTuple(contributions: readonly ContributionRow[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const c of contributions) {
    if (typeof c.tuple_pk !== 'string' || typeof c.tuple_sk !== 'string') continue;
    const id = `${c.tuple_pk}|${c.tuple_sk}`;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

/**
 * Step (a). Refuses, writing nothing, when any contribution row exists (unless told to subtract
 * them) or when a tuple row's count is not a positive integer, or is below its contributions (fix
 * or delete it first). Idempotent and resumable: a row keeps its first `legacy_count`. A tuple
 * whose legacy share is 0 gets no `legacy_count`: it has nothing to release.
 */
export async function prepareTakeover(deps: TakeoverDeps, options: PrepareOptions = {}): Promise<PrepareReport> {
  const { tuples, contributions } = await scanMatcherRows(deps);
  if (contributions.length > 0 && options.existingContributions !== 'subtract') {
    const first = contributions[0]!;
    throw new TakeoverRefusedError(
      `takeover refused: ${contributions.length} contribution row(s) exist (first: ${first.PK} ${first.SK}); ` +
        'faa-matcher-sync already counts these links, a takeover would count them twice',
    );
  }
  const bad = tuples.filter((t) => !isPositiveInteger(t.count));
  if (bad.length > 0) {
    throw new TakeoverRefusedError(
      `takeover refused: ${bad.length} tuple row(s) without a positive integer count: ` +
        bad.slice(0, 5).map((t) => `${t.PK} ${t.SK} count=${JSON.stringify(t.count)}`).join('; '),
    );
  }
  const counted = contributionsPerTuple(contributions);
  const legacyOf = (t: TupleRow) => (t.count as number) - (counted.get(`${t.PK}|${t.SK}`) ?? 0);
  const below = tuples.filter((t) => legacyOf(t) < 0);
  if (below.length > 0) {
    throw new TakeoverRefusedError(
      `takeover refused: ${below.length} tuple row(s) count fewer links than their contribution rows name: ` +
        below.slice(0, 5).map((t) => `${t.PK} ${t.SK} count=${String(t.count)} contributions=${counted.get(`${t.PK}|${t.SK}`)}`).join('; '),
    );
  }
  let marked = 0;
  for (const t of tuples) {
    const legacy = legacyOf(t);
    if (legacy === 0) continue;
    try {
      // Conditioned on the count as scanned: the matchers are stopped, so a change here means they are not.
      await sendRetrying(deps, t, () =>
        deps.doc.send(
          new UpdateCommand({
            TableName: deps.tableName,
            Key: { PK: t.PK, SK: t.SK },
            UpdateExpression: 'SET #legacy = :legacy',
            ConditionExpression: 'attribute_exists(PK) AND attribute_not_exists(#legacy) AND #count = :count',
            ExpressionAttributeNames: NAMES,
            ExpressionAttributeValues: { ':legacy': legacy, ':count': t.count },
          }),
        ),
      );
      marked += 1;
    } catch (error) {
      if (!conditionFailed(error)) throw error;
      const { Item } = await deps.doc.send(new GetCommand({ TableName: deps.tableName, Key: { PK: t.PK, SK: t.SK }, ConsistentRead: true }));
      if (Item?.[LEGACY_COUNT_ATTRIBUTE] === undefined) {
        throw new TakeoverRefusedError(`takeover refused: ${t.PK} ${t.SK} changed while preparing: stop every matcher first`);
      }
    }
  }
  deps.logger.info('takeover prepared', { tuples: tuples.length, marked, subtracted: contributions.length });
  return { tuples: tuples.length, marked, alreadyMarked: tuples.filter((t) => legacyOf(t) > 0).length - marked };
}

export interface ReleaseReport {
  /** Rows whose `legacy_count` was subtracted and removed. */
  readonly released: number;
  /** Of those, rows deleted because no contribution counted there. */
  readonly deleted: number;
  /** Writes repeated after a re-read because a reconcile moved the count in between. */
  readonly conditionalRetries: number;
  /** Writes repeated after a transient failure (TransactionConflict, throttling). */
  readonly transientRetries: number;
  /** False when the scan was stopped before it read every row (run it again to finish). */
  readonly complete: boolean;
}

/** Releases one row: subtract legacy_count (delete the row when nothing else is left). */
async function releaseRow(deps: TakeoverDeps, policy: RetryPolicy, scanned: TupleRow, tally: { released: number; deleted: number; conditionalRetries: number; transientRetries: number }) {
  const key = { PK: scanned.PK, SK: scanned.SK };
  let row: TupleRow | undefined = scanned;
  for (let attempt = 1; row?.legacy_count !== undefined; attempt += 1) {
    const { count, legacy_count: legacy } = row;
    if (!isPositiveInteger(count) || !isPositiveInteger(legacy) || count < legacy) {
      throw new TakeoverRefusedError(
        `takeover release refused: ${key.PK} ${key.SK} has count ${JSON.stringify(count)} and ${LEGACY_COUNT_ATTRIBUTE} ${JSON.stringify(legacy)}: ` +
          'count must be at least legacy_count (counts changed outside faa-matcher-sync: audit them)',
      );
    }
    const condition = { ConditionExpression: '#count = :count AND #legacy = :legacy', ExpressionAttributeNames: NAMES };
    const write =
      count === legacy
        ? () => deps.doc.send(new DeleteCommand({ TableName: deps.tableName, Key: key, ...condition, ExpressionAttributeValues: { ':count': count, ':legacy': legacy } }))
        : () =>
            deps.doc.send(
              new UpdateCommand({
                TableName: deps.tableName,
                Key: key,
                UpdateExpression: 'SET #count = :rest REMOVE #legacy',
                ...condition,
                ExpressionAttributeValues: { ':count': count, ':legacy': legacy, ':rest': count - legacy },
              }),
            );
    try {
      // Read the tally after the await: segments release concurrently.
      const attempts = await sendRetrying(deps, key, write);
      tally.transientRetries += attempts - 1;
      tally.released += 1;
      if (count === legacy) tally.deleted += 1;
      return;
    } catch (error) {
      if (!conditionFailed(error)) throw error;
      if (attempt >= policy.maxAttempts) throw new TakeoverRefusedError(`takeover release: ${key.PK} ${key.SK} kept changing; gave up after ${attempt} attempts; run the same command again`, { cause: error });
      tally.conditionalRetries += 1;
      await (deps.sleep ?? realSleep)(backoffDelay(attempt, policy));
      const { Item } = await deps.doc.send(new GetCommand({ TableName: deps.tableName, Key: key, ConsistentRead: true }));
      row = Item as TupleRow | undefined;
    }
  }
}

/**
 * Step (d), after every link was reconciled (c). Per row with `legacy_count`, as the scan reads
 * it: one write conditioned on count and legacy_count as read; a failed condition (a reconcile
 * moved the count) re-reads; a transient failure (TransactionConflict) is sent again after a
 * backoff. Resumable: a row already released has no `legacy_count` and is not read again.
 */
export async function releaseTakeover(deps: TakeoverDeps): Promise<ReleaseReport> {
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...deps.retry };
  const tally = { released: 0, deleted: 0, conditionalRetries: 0, transientRetries: 0 };
  const { complete } = await (deps.scan ?? documentScan(deps))(RELEASE_SCAN, async (rows) => {
    for (const row of rows as unknown as readonly TupleRow[]) await releaseRow(deps, policy, row, tally);
  });
  deps.logger.info('takeover released', { ...tally, complete });
  return { ...tally, complete };
}

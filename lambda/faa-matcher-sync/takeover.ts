/**
 * Taking over counts another worker made (DESIGN §5, last sentence): tuple rows exist, no link has
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

export interface TakeoverDeps {
  readonly doc: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly logger: Logger;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly retry?: Partial<RetryPolicy>;
}

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

/** Every matcher tuple row and contribution row (one paginated, strongly consistent scan). */
async function scanMatcherRows(deps: TakeoverDeps) {
  const tuples: TupleRow[] = [];
  const contributions: ContributionRow[] = [];
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await deps.doc.send(
      new ScanCommand({
        TableName: deps.tableName,
        ConsistentRead: true,
        ExclusiveStartKey,
        FilterExpression: 'begins_with(PK, :tuple) OR begins_with(PK, :contrib)',
        ProjectionExpression: 'PK, SK, #count, #legacy, tuple_pk, tuple_sk',
        ExpressionAttributeNames: NAMES,
        ExpressionAttributeValues: { ':tuple': MATCHER_TUPLE_PK_PREFIX, ':contrib': CONTRIBUTION_PK_PREFIX },
      }),
    );
    for (const item of (page.Items ?? []) as TupleRow[]) {
      if (item.PK.startsWith(CONTRIBUTION_PK_PREFIX)) contributions.push(item as ContributionRow);
      else tuples.push(item);
    }
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return { tuples, contributions };
}

const isPositiveInteger = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1;
const conditionFailed = (error: unknown) => classifyDynamoError(error).kind === 'condition';

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
      await deps.doc.send(
        new UpdateCommand({
          TableName: deps.tableName,
          Key: { PK: t.PK, SK: t.SK },
          UpdateExpression: 'SET #legacy = :legacy',
          ConditionExpression: 'attribute_exists(PK) AND attribute_not_exists(#legacy) AND #count = :count',
          ExpressionAttributeNames: NAMES,
          ExpressionAttributeValues: { ':legacy': legacy, ':count': t.count },
        }),
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
  readonly conditionalRetries: number;
}

/**
 * Step (d), after every link was reconciled (c). Per row with `legacy_count`: one write conditioned
 * on count and legacy_count as read; a failed condition (a reconcile moved the count) re-reads.
 * Resumable: a row already released has no `legacy_count` and is skipped.
 */
export async function releaseTakeover(deps: TakeoverDeps): Promise<ReleaseReport> {
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...deps.retry };
  const sleep = deps.sleep ?? realSleep;
  const { tuples } = await scanMatcherRows(deps);
  let released = 0;
  let deleted = 0;
  let conditionalRetries = 0;
  for (const scanned of tuples.filter((t) => t.legacy_count !== undefined)) {
    const key = { PK: scanned.PK, SK: scanned.SK };
    let row: TupleRow | undefined = scanned;
    for (let attempt = 1; row?.legacy_count !== undefined; attempt += 1) {
      const { count, legacy_count: legacy } = row;
      if (!isPositiveInteger(count) || !isPositiveInteger(legacy) || count < legacy) {
        throw new Error(
          `takeover release: ${key.PK} ${key.SK} has count ${JSON.stringify(count)} and ${LEGACY_COUNT_ATTRIBUTE} ${JSON.stringify(legacy)}: ` +
            'count must be at least legacy_count (counts changed outside faa-matcher-sync: audit them)',
        );
      }
      const condition = {
        ConditionExpression: '#count = :count AND #legacy = :legacy',
        ExpressionAttributeNames: NAMES,
      };
      try {
        if (count === legacy) {
          await deps.doc.send(
            new DeleteCommand({ TableName: deps.tableName, Key: key, ...condition, ExpressionAttributeValues: { ':count': count, ':legacy': legacy } }),
          );
          deleted += 1;
        } else {
          await deps.doc.send(
            new UpdateCommand({
              TableName: deps.tableName,
              Key: key,
              UpdateExpression: 'SET #count = :rest REMOVE #legacy',
              ...condition,
              ExpressionAttributeValues: { ':count': count, ':legacy': legacy, ':rest': count - legacy },
            }),
          );
        }
        released += 1;
        break;
      } catch (error) {
        if (!conditionFailed(error)) throw error;
        if (attempt >= policy.maxAttempts) throw new Error(`takeover release: ${key.PK} ${key.SK} kept changing; gave up after ${attempt} attempts`, { cause: error });
        conditionalRetries += 1;
        await sleep(backoffDelay(attempt, policy));
        const { Item } = await deps.doc.send(new GetCommand({ TableName: deps.tableName, Key: key, ConsistentRead: true }));
        row = Item as TupleRow | undefined;
      }
    }
  }
  deps.logger.info('takeover released', { released, deleted, conditionalRetries });
  return { released, deleted, conditionalRetries };
}

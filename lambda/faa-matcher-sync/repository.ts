/**
 * The matcher's table I/O. A contribution row (key: `contributionKey(link)`) says which tuple the
 * link is counted in now: `{ PK, SK, link_pk, link_sk, type_designator, manufacturer, model,
 * tuple_pk, tuple_sk }`. A link counted nowhere has no row. Rows the previous version wrote are
 * read too: with a tuple (counted there; its stream bookkeeping is ignored) or without one (a
 * tombstone with `expires_at`: counts toward nothing, left to its TTL unless a write is due).
 *
 * Requests go through the document client's underlying client as raw AttributeValues
 * (`raw(doc)`: the document client shares its middleware stack, so request counting and fault
 * injection see them).
 */
import {
  BatchGetItemCommand,
  TransactWriteItemsCommand,
  type AttributeValue,
  type DynamoDBClient,
  type TransactWriteItem,
} from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { randomUUID } from 'node:crypto';
import type { RowKeys } from '../shared/key-rules';
import { classified } from '../shared/metrics';
import { matcherFields, type Decision, type Tuple } from './domain';
import { contributionKey, COUNT_TOKEN_ATTRIBUTE, LEGACY_COUNT_ATTRIBUTE, matcherTupleKey } from './keys';

/**
 * Raw attribute values (not the document client's JS values): a link's matcher field may hold
 * anything (a number beyond 2^53, a set), and it is compared back to the table exactly as read.
 */
export type RawItem = Record<string, AttributeValue>;

/** The three attributes a link and a contribution row share (the matcher fields / the recorded tuple). */
export const MATCHER_ATTRIBUTES = ['type_designator', 'manufacturer', 'model'] as const;

/** What one strongly consistent read of a link and its contribution row found. */
export interface LinkState {
  readonly linkKey: RowKeys;
  /** The link row's matcher attributes as read; null when the link row does not exist. */
  readonly link: RawItem | null;
  /** The tuple the link should count toward now (null: deleted, or fields not valid). */
  readonly desired: Tuple | null;
  /**
   * The contribution row as read: absent; a tuple (the link is counted there); or a row without a
   * tuple (a tombstone the previous version wrote, expiring by TTL: counts toward nothing).
   */
  readonly contribution: { readonly kind: 'absent' } | { readonly kind: 'tombstone' } | { readonly kind: 'counted'; readonly tuple: Tuple };
}

export const recordedTuple = (state: LinkState): Tuple | null =>
  state.contribution.kind === 'counted' ? state.contribution.tuple : null;

/** How the old tuple loses this link's count (see `transactionFor`). */
export type DecrementForm = 'add' | 'delete';

/** Positions in every TransactItems list; cancellation reasons follow them. */
export const ITEM = { contribution: 0, link: 1, from: 2 } as const;

const raw = (doc: DynamoDBDocumentClient) => doc as unknown as DynamoDBClient;

/** A contribution row whose tuple attributes are not all strings was not written by this subsystem. */
export class CorruptContributionError extends Error {}

function parseContribution(item: RawItem | undefined, key: RowKeys): LinkState['contribution'] {
  if (!item) return { kind: 'absent' };
  const present = MATCHER_ATTRIBUTES.filter((a) => item[a] !== undefined);
  if (present.length === 0) return { kind: 'tombstone' };
  const [td, mfr, model] = MATCHER_ATTRIBUTES.map((a) => item[a]?.S);
  if (td === undefined || mfr === undefined || model === undefined) {
    throw new CorruptContributionError(
      `contribution row ${key.PK} ${key.SK} has a partial or non-string tuple (${present.join(', ')}): not written by faa-matcher-sync`,
    );
  }
  return { kind: 'counted', tuple: { type_designator: td, manufacturer: mfr, model } };
}

/** Matcher fields as `matcherFields` judges them: a non-string value stays a non-string. */
const linkFields = (item: RawItem): Record<string, unknown> =>
  Object.fromEntries(MATCHER_ATTRIBUTES.map((a) => [a, item[a] === undefined ? undefined : (item[a].S ?? item[a])]));

const keyId = (k: RawItem | RowKeys) => {
  const pk = (k as RawItem).PK?.S ?? (k as RowKeys).PK;
  const sk = (k as RawItem).SK?.S ?? (k as RowKeys).SK;
  return `${pk}\u0000${sk}`;
};

export interface RepositoryDeps {
  readonly doc: DynamoDBDocumentClient;
  readonly tableName: string;
  /** Waits before re-requesting UnprocessedKeys; `attempt` counts from 1. */
  readonly backoff: (attempt: number) => Promise<void>;
  readonly maxAttempts: number;
}

/**
 * One BatchGetItem, strongly consistent, for the link row and its contribution row (projected to
 * the keys and the three matcher attributes, which both rows name the same way). UnprocessedKeys
 * are requested again with backoff, up to `maxAttempts` requests.
 */
export async function readLinkState(deps: RepositoryDeps, linkKey: RowKeys): Promise<LinkState> {
  const contribKey = contributionKey(linkKey);
  const found = new Map<string, RawItem>();
  let keys: RawItem[] = [linkKey, contribKey].map((k) => ({ PK: { S: k.PK }, SK: { S: k.SK } }));
  for (let attempt = 1; keys.length > 0; attempt += 1) {
    if (attempt > deps.maxAttempts) {
      throw classified(new Error(`BatchGetItem left keys unprocessed after ${deps.maxAttempts} requests (throttled)`), 'throttled');
    }
    if (attempt > 1) await deps.backoff(attempt - 1);
    const out = await raw(deps.doc).send(
      new BatchGetItemCommand({
        RequestItems: {
          [deps.tableName]: {
            Keys: keys,
            ConsistentRead: true,
            ProjectionExpression: 'PK, SK, #td, #mfr, #model',
            ExpressionAttributeNames: { '#td': 'type_designator', '#mfr': 'manufacturer', '#model': 'model' },
          },
        },
      }),
    );
    for (const item of out.Responses?.[deps.tableName] ?? []) found.set(keyId(item), item);
    keys = out.UnprocessedKeys?.[deps.tableName]?.Keys ?? [];
  }
  const linkItem = found.get(keyId(linkKey));
  const link = linkItem ? Object.fromEntries(MATCHER_ATTRIBUTES.filter((a) => linkItem[a]).map((a) => [a, linkItem[a]!])) : null;
  return {
    linkKey,
    link,
    desired: link ? matcherFields(linkFields(link)) : null,
    contribution: parseContribution(found.get(keyId(contribKey)), contribKey),
  };
}

const names = { '#td': 'type_designator', '#mfr': 'manufacturer', '#model': 'model' };
const s = (value: string): AttributeValue => ({ S: value });
const n = (value: number): AttributeValue => ({ N: String(value) });
const keyOf = (k: RowKeys): RawItem => ({ PK: s(k.PK), SK: s(k.SK) });

/** The contribution row must still be exactly as read (its tuple, or its absence / tombstone). */
function contributionCondition(state: LinkState) {
  const c = state.contribution;
  if (c.kind === 'absent') return { ConditionExpression: 'attribute_not_exists(PK)' };
  if (c.kind === 'tombstone') {
    return { ConditionExpression: 'attribute_exists(PK) AND attribute_not_exists(#td)', ExpressionAttributeNames: { '#td': 'type_designator' } };
  }
  return {
    ConditionExpression: '#td = :td AND #mfr = :mfr AND #model = :model',
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: { ':td': s(c.tuple.type_designator), ':mfr': s(c.tuple.manufacturer), ':model': s(c.tuple.model) },
  };
}

/** The link row must still carry its matcher attributes exactly as read: a link deleted after it was read must not be counted. */
function linkCheck(tableName: string, state: LinkState): TransactWriteItem {
  const Key = keyOf(state.linkKey);
  if (state.link === null) return { ConditionCheck: { TableName: tableName, Key, ConditionExpression: 'attribute_not_exists(PK)' } };
  const parts = ['attribute_exists(PK)'];
  const values: RawItem = {};
  MATCHER_ATTRIBUTES.forEach((a, i) => {
    const value = state.link![a];
    if (value === undefined) parts.push(`attribute_not_exists(#f${i})`);
    else {
      parts.push(`#f${i} = :f${i}`);
      values[`:f${i}`] = value;
    }
  });
  return {
    ConditionCheck: {
      TableName: tableName,
      Key,
      ConditionExpression: parts.join(' AND '),
      ExpressionAttributeNames: Object.fromEntries(MATCHER_ATTRIBUTES.map((a, i) => [`#f${i}`, a])),
      ...(Object.keys(values).length > 0 && { ExpressionAttributeValues: values }),
    },
  };
}

function contributionWrite(tableName: string, state: LinkState, to: Tuple | null): TransactWriteItem {
  const Key = contributionKey(state.linkKey);
  const condition = contributionCondition(state);
  if (to === null) return { Delete: { TableName: tableName, Key: keyOf(Key), ...condition } };
  const tupleKey = matcherTupleKey(to);
  const Item: RawItem = {
    ...keyOf(Key),
    link_pk: s(state.linkKey.PK),
    link_sk: s(state.linkKey.SK),
    type_designator: s(to.type_designator),
    manufacturer: s(to.manufacturer),
    model: s(to.model),
    tuple_pk: s(tupleKey.PK),
    tuple_sk: s(tupleKey.SK),
  };
  return { Put: { TableName: tableName, Item, ...condition } };
}

const increment = (tableName: string, to: Tuple, token: string): TransactWriteItem => ({
  Update: {
    TableName: tableName,
    Key: keyOf(matcherTupleKey(to)),
    UpdateExpression: 'SET #td = :td, #mfr = :mfr, #model = :model, #token = :token ADD #count :one',
    ExpressionAttributeNames: { ...names, '#count': 'count', '#token': COUNT_TOKEN_ATTRIBUTE },
    ExpressionAttributeValues: { ':td': s(to.type_designator), ':mfr': s(to.manufacturer), ':model': s(to.model), ':one': n(1), ':token': s(token) },
  },
});

/**
 * -1 on the old tuple, never leaving a row with count <= 0: `add` is ADD -1 under `count > 1`;
 * `delete` removes the row under `count = 1` (and no `legacy_count`: during a takeover a row that
 * still carries legacy counts is never the last link's). Either returns the row on a failed
 * condition, so the caller learns the count without another read.
 */
function decrement(tableName: string, from: Tuple, form: DecrementForm, token: string): TransactWriteItem {
  const common = {
    TableName: tableName,
    Key: keyOf(matcherTupleKey(from)),
    ExpressionAttributeNames: { '#count': 'count' },
    ExpressionAttributeValues: { ':one': n(1) },
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
  };
  if (form === 'delete') {
    return {
      Delete: {
        ...common,
        ConditionExpression: '#count = :one AND attribute_not_exists(#legacy)',
        ExpressionAttributeNames: { ...common.ExpressionAttributeNames, '#legacy': LEGACY_COUNT_ATTRIBUTE },
      },
    };
  }
  return {
    Update: {
      ...common,
      UpdateExpression: 'SET #token = :token ADD #count :minusOne',
      ConditionExpression: '#count > :one',
      ExpressionAttributeNames: { ...common.ExpressionAttributeNames, '#token': COUNT_TOKEN_ATTRIBUTE },
      ExpressionAttributeValues: { ...common.ExpressionAttributeValues, ':minusOne': n(-1), ':token': s(token) },
    },
  };
}

/** The one transaction that applies `decision` to the state as read (items in `ITEM` order). */
export function transactionFor(tableName: string, state: LinkState, decision: Exclude<Decision, { kind: 'none' }>, form: DecrementForm): TransactWriteItem[] {
  const to = decision.kind === 'decrement' ? null : decision.to;
  const token = randomUUID(); // this change's COUNT_TOKEN_ATTRIBUTE on every tuple row it updates
  const items = [contributionWrite(tableName, state, to), linkCheck(tableName, state)];
  if (decision.kind !== 'increment') items.push(decrement(tableName, decision.from, form, token));
  if (to !== null) items.push(increment(tableName, to, token));
  return items;
}

export async function transact(doc: DynamoDBDocumentClient, items: TransactWriteItem[]): Promise<void> {
  await raw(doc).send(new TransactWriteItemsCommand({ TransactItems: items }));
}

import {
  GetCommand,
  TransactWriteCommand,
  type DynamoDBDocumentClient,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type { RowKeys } from '../shared/key-rules';
import { sequenceOrder, type Tuple } from './domain';
import { contributionKey, matcherTupleKey } from './keys';
import { TABLE_SCHEMA } from '../shared/table';

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/**
 * What one FAA link currently contributes to the matcher counts, as the ledger recorded it.
 *
 * Stored as one row per link (see `contributionKey`):
 * `{ PK, SK, link_pk, link_sk, seq_order, sequence_number, event_id, applied_at,
 *    type_designator?, manufacturer?, model?, tuple_pk?, tuple_sk?, expires_at? }`
 * The tuple attributes are present when the link counts towards that tuple and absent when it
 * counts towards nothing (invalid fields, or removed: a tombstone). A row without a tuple carries
 * `expires_at` (epoch seconds) for a TTL: once no stream record older than it can be replayed, the
 * row is no longer needed.
 */
export interface Contribution {
  readonly linkKeys: RowKeys;
  readonly tuple: Tuple | null;
  /** The last applied record's sequence number in comparable form (`sequenceOrder`). */
  readonly seqOrder: string;
  readonly sequenceNumber: string;
  readonly eventID: string;
}

/** The ledger update that goes into every count transaction. */
export interface LedgerWrite {
  readonly linkKeys: RowKeys;
  /** `seqOrder` of the contribution row as read; null when there was no row. */
  readonly expectedSeqOrder: string | null;
  /** The record being applied. */
  readonly seqOrder: string;
  readonly sequenceNumber: string;
  readonly eventID: string;
}

export interface MatcherRepository {
  /** Strongly consistent read of a link's contribution row. */
  readContribution(linkKeys: RowKeys): Promise<Contribution | null>;
  /** Strongly consistent read of a tuple's count; null when the tuple has no row. */
  readCount(tuple: Tuple): Promise<number | null>;
  /** The link now counts towards `to` (it counted towards nothing). */
  increment(write: LedgerWrite, to: Tuple): Promise<void>;
  /** The link no longer counts towards `from`, whose count was read as `observedCount` (>= 1). */
  decrement(write: LedgerWrite, from: Tuple, observedCount: number): Promise<void>;
  /** The link moves from `from` (count read as `observedFromCount`) to `to`, atomically. */
  move(write: LedgerWrite, from: Tuple, observedFromCount: number, to: Tuple): Promise<void>;
}

export interface MatcherRepositoryDeps {
  readonly doc: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly now?: () => Date;
  /** How long a contribution row without a tuple is kept (TTL attribute `expires_at`). Default 7 days. */
  readonly tombstoneTtlSeconds?: number;
}

/** Longer than stream retention (24 h) and the longest maximum record age (7 days) a mapping allows. */
export const DEFAULT_TOMBSTONE_TTL_SECONDS = 8 * 24 * 3600;

/** Position of the ledger row in every TransactItems list (cancellation reasons follow it). */
export const LEDGER_ITEM_INDEX = 0;

/**
 * Counts and ledger over @aws-sdk/lib-dynamodb. Every change is ONE TransactWriteItems: the
 * contribution row, conditioned on being exactly as read (and older than the record), plus the
 * ADD/DELETE on the tuple row(s). A count that would reach 0 deletes the row instead, with a
 * condition on the count read, so no row with count <= 0 ever exists, not even transiently.
 */
export function createMatcherRepository(deps: MatcherRepositoryDeps): MatcherRepository {
  const { doc, tableName } = deps;
  const now = deps.now ?? (() => new Date());
  const ttl = deps.tombstoneTtlSeconds ?? DEFAULT_TOMBSTONE_TTL_SECONDS;

  const ledgerPut = (write: LedgerWrite, tuple: Tuple | null): TransactItem => {
    const at = now();
    const tupleKey = tuple && matcherTupleKey(tuple);
    const item: Record<string, unknown> = {
      ...contributionKey(write.linkKeys),
      link_pk: write.linkKeys.PK,
      link_sk: write.linkKeys.SK,
      seq_order: write.seqOrder,
      sequence_number: write.sequenceNumber,
      event_id: write.eventID,
      applied_at: at.toISOString(),
      ...(tuple && tupleKey
        ? { ...tuple, tuple_pk: tupleKey.PK, tuple_sk: tupleKey.SK }
        : { [TABLE_SCHEMA.timeToLiveAttribute]: Math.floor(at.getTime() / 1000) + ttl }),
    };
    return {
      Put: {
        TableName: tableName,
        Item: item,
        ...(write.expectedSeqOrder === null
          ? { ConditionExpression: 'attribute_not_exists(PK)' }
          : {
              ConditionExpression: '#seq = :expected AND #seq < :seq',
              ExpressionAttributeNames: { '#seq': 'seq_order' },
              ExpressionAttributeValues: { ':expected': write.expectedSeqOrder, ':seq': write.seqOrder },
            }),
      },
    };
  };

  const add = (to: Tuple): TransactItem => ({
    Update: {
      TableName: tableName,
      Key: matcherTupleKey(to),
      UpdateExpression: 'SET #td = :td, #mfr = :mfr, #model = :model ADD #count :one',
      ExpressionAttributeNames: { '#td': 'type_designator', '#mfr': 'manufacturer', '#model': 'model', '#count': 'count' },
      ExpressionAttributeValues: { ':td': to.type_designator, ':mfr': to.manufacturer, ':model': to.model, ':one': 1 },
    },
  });

  const subtract = (from: Tuple, observedCount: number): TransactItem => {
    if (!(observedCount >= 1)) throw new RangeError(`cannot decrement a count of ${observedCount}`);
    return observedCount === 1
      ? {
          Delete: {
            TableName: tableName,
            Key: matcherTupleKey(from),
            ConditionExpression: '#count = :one',
            ExpressionAttributeNames: { '#count': 'count' },
            ExpressionAttributeValues: { ':one': 1 },
          },
        }
      : {
          Update: {
            TableName: tableName,
            Key: matcherTupleKey(from),
            UpdateExpression: 'ADD #count :minusOne',
            ConditionExpression: '#count > :one',
            ExpressionAttributeNames: { '#count': 'count' },
            ExpressionAttributeValues: { ':minusOne': -1, ':one': 1 },
          },
        };
  };

  const transact = async (items: TransactItem[]) => {
    await doc.send(new TransactWriteCommand({ TransactItems: items }));
  };

  return {
    async readContribution(linkKeys) {
      const { Item } = await doc.send(
        new GetCommand({ TableName: tableName, Key: contributionKey(linkKeys), ConsistentRead: true }),
      );
      if (!Item) return null;
      if (typeof Item.seq_order !== 'string' || sequenceOrder(Item.seq_order) !== Item.seq_order) {
        // Never guess: a row without a usable position would turn every later record into a "replay".
        throw new Error(`contribution row ${Item.PK} has no valid seq_order (${JSON.stringify(Item.seq_order)})`);
      }
      const td = Item.type_designator;
      const mfr = Item.manufacturer;
      const model = Item.model;
      const tuple =
        typeof td === 'string' && typeof mfr === 'string' && typeof model === 'string'
          ? { type_designator: td, manufacturer: mfr, model }
          : null;
      return {
        linkKeys,
        tuple,
        seqOrder: Item.seq_order,
        sequenceNumber: String(Item.sequence_number),
        eventID: String(Item.event_id),
      };
    },

    async readCount(tuple) {
      const { Item } = await doc.send(
        new GetCommand({
          TableName: tableName,
          Key: matcherTupleKey(tuple),
          ConsistentRead: true,
          ProjectionExpression: '#count',
          ExpressionAttributeNames: { '#count': 'count' },
        }),
      );
      const count = Item?.count;
      return typeof count === 'number' ? count : null;
    },

    increment: (write, to) => transact([ledgerPut(write, to), add(to)]),
    decrement: (write, from, observedCount) => transact([ledgerPut(write, null), subtract(from, observedCount)]),
    move: (write, from, observedFromCount, to) =>
      transact([ledgerPut(write, to), subtract(from, observedFromCount), add(to)]),
  };
}

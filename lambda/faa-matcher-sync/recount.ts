/**
 * Exact recount of matcher tuples: the repair for drift no link reconcile can see, because it
 * is in the count itself (a hand-edited count, a deleted tuple row) or in the ledger (a deleted
 * contribution row: the link is counted but no row says so, and reconciling it would count it
 * twice).
 *
 * Every matcher transaction moves a tuple's `count` by ±1 together with one contribution row,
 * so `count - legacy_count - (contribution rows naming the tuple)` never changes under the
 * stream handler, a backfill or a takeover; only drift changes it. A recount measures it and
 * sets `count = legacy_count + contributions`, safe while links are written:
 *
 * 1. Fence: read each tuple row strongly consistently, with its `count_token` (a fresh random
 *    token the matcher writes with every count change). A missing row first gets a placeholder
 *    (fields and a token, no count), so that "absent" cannot be read twice across a create and
 *    a delete.
 * 2. Count the contribution rows naming each tuple in one strongly consistent scan.
 * 3. Write `count` (or delete the row at 0) conditioned on the token, count and legacy_count as
 *    fenced. The token unchanged proves no matcher transaction touched the tuple during the
 *    scan, so the set of contribution rows naming it was the one the scan saw. A tuple that
 *    moved is fenced and counted again in the next round; after the last, it is reported.
 *
 * Needs faa-matcher-sync 0.3.0 or later deployed (earlier versions do not write the token).
 */
import {
  BatchGetItemCommand,
  DeleteItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import type { Item } from '../shared/decode';
import type { RowKeys } from '../shared/key-rules';
import type { Tuple } from './domain';
import { COUNT_TOKEN_ATTRIBUTE, LEGACY_COUNT_ATTRIBUTE, matcherTupleKey } from './keys';
import { classifyDynamoError } from './retry';

type RawItem = Record<string, AttributeValue>;

/** `PK \0 SK` of a tuple row: how recount results and scan counts are keyed. */
export const tupleId = (key: RowKeys): string => `${key.PK}\u0000${key.SK}`;

/** The tuple a contribution row counts its link in (its three attributes, as the matcher reads them); null: a tombstone or a partial row. */
export function contributionTuple(row: Item): Tuple | null {
  const { type_designator: td, manufacturer: mfr, model } = row;
  return typeof td === 'string' && typeof mfr === 'string' && typeof model === 'string' ? { type_designator: td, manufacturer: mfr, model } : null;
}

/** One tuple row as fenced: absent, or the raw values a write is conditioned on. */
export interface Fence {
  readonly tuple: Tuple;
  readonly key: RowKeys;
  readonly row: null | { readonly count?: AttributeValue; readonly legacy?: AttributeValue; readonly token?: AttributeValue };
}

export type RecountPlan =
  | { readonly kind: 'exact' }
  | { readonly kind: 'set'; readonly count: number }
  | { readonly kind: 'delete' }
  | { readonly kind: 'refuse'; readonly reason: string };

const positiveInteger = (v: AttributeValue | undefined): number | null => {
  if (v?.N === undefined || !/^[1-9][0-9]{0,14}$/.test(v.N)) return null;
  return Number(v.N);
};

const shown = (v: AttributeValue | undefined): string => (v === undefined ? 'missing' : v.N ?? (v.S !== undefined ? JSON.stringify(v.S) : JSON.stringify(v)));

/** What the row should be: `count = legacy_count + contributions`, no row at 0. Pure. */
export function recountPlan(fence: Fence, contributions: number): RecountPlan {
  const row = fence.row;
  let legacy = 0;
  if (row?.legacy !== undefined) {
    const value = positiveInteger(row.legacy);
    if (value === null) return { kind: 'refuse', reason: `${LEGACY_COUNT_ATTRIBUTE} ${shown(row.legacy)} is not a positive integer (edited by hand: fix or remove it first)` };
    legacy = value;
  }
  const target = legacy + contributions;
  if (row === null) return target === 0 ? { kind: 'exact' } : { kind: 'set', count: target };
  if (target === 0) return { kind: 'delete' };
  return row.count?.N !== undefined && positiveInteger(row.count) === target ? { kind: 'exact' } : { kind: 'set', count: target };
}

export interface RecountDeps {
  readonly client: DynamoDBClient;
  readonly tableName: string;
}
const keyOf = (k: RowKeys): RawItem => ({ PK: { S: k.PK }, SK: { S: k.SK } });

/** Strongly consistent reads of the tuple rows (100 per BatchGetItem; unprocessed keys asked again). */
export async function readFences(deps: RecountDeps, tuples: readonly Tuple[]): Promise<Fence[]> {
  const found = new Map<string, RawItem>();
  const keys = tuples.map((t) => matcherTupleKey(t));
  for (let i = 0; i < keys.length; i += 100) {
    let pending: RawItem[] = keys.slice(i, i + 100).map(keyOf);
    for (let attempt = 1; pending.length > 0; attempt += 1) {
      if (attempt > 10) throw new Error('recount: BatchGetItem left tuple rows unprocessed after 10 requests (throttled)');
      if (attempt > 1) await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
      const out = await deps.client.send(
        new BatchGetItemCommand({
          RequestItems: {
            [deps.tableName]: {
              Keys: pending,
              ConsistentRead: true,
              ProjectionExpression: 'PK, SK, #count, #legacy, #token',
              ExpressionAttributeNames: { '#count': 'count', '#legacy': LEGACY_COUNT_ATTRIBUTE, '#token': COUNT_TOKEN_ATTRIBUTE },
            },
          },
        }),
      );
      for (const item of out.Responses?.[deps.tableName] ?? []) found.set(tupleId({ PK: item.PK!.S!, SK: item.SK!.S! }), item);
      pending = out.UnprocessedKeys?.[deps.tableName]?.Keys ?? [];
    }
  }
  return tuples.map((tuple, i) => {
    const item = found.get(tupleId(keys[i]!));
    return { tuple, key: keys[i]!, row: item ? { count: item.count, legacy: item[LEGACY_COUNT_ATTRIBUTE], token: item[COUNT_TOKEN_ATTRIBUTE] } : null };
  });
}

/** The write condition: the row exactly as fenced (token, count and legacy_count, or its absence). */
function fenceCondition(fence: Fence): { ConditionExpression: string; ExpressionAttributeNames?: Record<string, string>; ExpressionAttributeValues?: RawItem } {
  if (fence.row === null) return { ConditionExpression: 'attribute_not_exists(PK)' };
  const names: Record<string, string> = {};
  const values: RawItem = {};
  const parts = ['attribute_exists(PK)'];
  const attributes = [['count', fence.row.count], [LEGACY_COUNT_ATTRIBUTE, fence.row.legacy], [COUNT_TOKEN_ATTRIBUTE, fence.row.token]] as const;
  attributes.forEach(([name, value], i) => {
    names[`#f${i}`] = name;
    if (value === undefined) parts.push(`attribute_not_exists(#f${i})`);
    else {
      parts.push(`#f${i} = :f${i}`);
      values[`:f${i}`] = value;
    }
  });
  return { ConditionExpression: parts.join(' AND '), ExpressionAttributeNames: names, ...(Object.keys(values).length > 0 && { ExpressionAttributeValues: values }) };
}

const fields = (t: Tuple): RawItem => ({ type_designator: { S: t.type_designator }, manufacturer: { S: t.manufacturer }, model: { S: t.model } });

/**
 * A missing tuple row gets a placeholder (its fields and a token, no count) before counting, so
 * the fence is a token like any other. A matcher +1 meanwhile turns it into a counted row; a -1
 * is refused as it would be without a row (the matcher never decrements a row without a count).
 * Returns the new fence, or the row someone else created meanwhile.
 */
export async function placeFence(deps: RecountDeps, fence: Fence): Promise<Fence> {
  if (fence.row !== null) return fence;
  const token = randomUUID();
  try {
    await deps.client.send(
      new PutItemCommand({
        TableName: deps.tableName,
        Item: { ...keyOf(fence.key), ...fields(fence.tuple), [COUNT_TOKEN_ATTRIBUTE]: { S: token } },
        ConditionExpression: 'attribute_not_exists(PK)',
      }),
    );
    return { ...fence, row: { token: { S: token } } };
  } catch (error) {
    if (classifyDynamoError(error).kind !== 'condition') throw error;
    return (await readFences(deps, [fence.tuple]))[0]!;
  }
}

/** Applies a `set` or `delete` plan under the fence; false when the row moved since it was fenced. */
export async function writePlan(deps: RecountDeps, fence: Fence, plan: RecountPlan): Promise<boolean> {
  if (plan.kind !== 'set' && plan.kind !== 'delete') return true;
  const condition = fenceCondition(fence);
  try {
    if (plan.kind === 'delete') {
      await deps.client.send(new DeleteItemCommand({ TableName: deps.tableName, Key: keyOf(fence.key), ...condition }));
    } else {
      const values = { ...condition.ExpressionAttributeValues, ':count': { N: String(plan.count) }, ':token': { S: randomUUID() }, ':td': { S: fence.tuple.type_designator }, ':mfr': { S: fence.tuple.manufacturer }, ':model': { S: fence.tuple.model } };
      await deps.client.send(
        new UpdateItemCommand({
          TableName: deps.tableName,
          Key: keyOf(fence.key),
          UpdateExpression: 'SET #count = :count, #token = :token, #td = :td, #mfr = :mfr, #model = :model',
          ConditionExpression: condition.ConditionExpression,
          ExpressionAttributeNames: { ...condition.ExpressionAttributeNames, '#count': 'count', '#token': COUNT_TOKEN_ATTRIBUTE, '#td': 'type_designator', '#mfr': 'manufacturer', '#model': 'model' },
          ExpressionAttributeValues: values,
        }),
      );
    }
    return true;
  } catch (error) {
    if (classifyDynamoError(error).kind === 'condition') return false;
    throw error;
  }
}

/** Every contribution row (at least its keys and the three tuple attributes), strongly consistent, page by page. */
export type ContributionScan = (onPage: (rows: readonly Item[]) => Promise<void>) => Promise<void>;

/** Contribution rows naming each of `wanted` (tuple ids), counted over one scan. */
export async function countContributions(scan: ContributionScan, wanted: ReadonlySet<string>): Promise<Map<string, number>> {
  const counts = new Map<string, number>([...wanted].map((id) => [id, 0]));
  await scan(async (rows) => {
    for (const row of rows) {
      const tuple = contributionTuple(row);
      if (!tuple) continue;
      const id = tupleId(matcherTupleKey(tuple));
      const n = counts.get(id);
      if (n !== undefined) counts.set(id, n + 1);
    }
  });
  return counts;
}

const sameValue = (a: AttributeValue | undefined, b: AttributeValue | undefined) => JSON.stringify(a) === JSON.stringify(b);
/** The row still as fenced (what a read-only measurement checks after its scan). */
export const unchanged = (before: Fence, after: Fence): boolean =>
  (before.row === null) === (after.row === null) &&
  (before.row === null || (sameValue(before.row.count, after.row!.count) && sameValue(before.row.legacy, after.row!.legacy) && sameValue(before.row.token, after.row!.token)));

export interface TupleRecount {
  readonly key: RowKeys;
  readonly tuple: Tuple;
  /**
   * `exact`: the row already was legacy_count + contributions; `recounted`: written so;
   * `drifted` (measuring only): it is not, nothing written; `moved`: a matcher transaction (or
   * a hand edit) touched it in every round: nothing written; `refused`: its legacy_count is not
   * a count: nothing written.
   */
  readonly outcome: 'exact' | 'recounted' | 'drifted' | 'moved' | 'refused';
  /** The row's count and legacy_count as fenced (attribute values as text; null: no row). */
  readonly before: { readonly count: string; readonly legacy?: string } | null;
  /** Contribution rows naming the tuple (when measured under an unbroken fence). */
  readonly contributions?: number;
  /** legacy_count + contributions: the count written (`recounted`) or due (`drifted`); 0: no row. */
  readonly target?: number;
  readonly reason?: string;
}

export interface RecountHooks {
  /** After the fences were read (and placed), before the scan. */
  readonly afterFences?: (fences: readonly Fence[]) => Promise<void>;
  /** After the scan, before any write (tests interleave matcher transactions here). */
  readonly afterScan?: (counts: ReadonlyMap<string, number>) => Promise<void>;
}

export interface RecountOptions {
  /** Write (repair) or only measure (audit: reads only; a fence is checked by reading the row again). */
  readonly write: boolean;
  /** Fence, scan, write rounds for tuples that moved (default 3 when writing, 1 when measuring). */
  readonly rounds?: number;
  readonly hooks?: RecountHooks;
}

const before = (fence: Fence): TupleRecount['before'] =>
  fence.row === null ? null : { count: shown(fence.row.count), ...(fence.row.legacy !== undefined && { legacy: shown(fence.row.legacy) }) };

/**
 * Measures (and with `write`, recounts) `tuples`: each round fences the tuples still open, counts
 * their contribution rows in one scan and settles each whose fence held. One scan per round,
 * whatever the number of tuples; memory holds one counter per tuple.
 */
export async function recountTuples(deps: RecountDeps, tuples: readonly Tuple[], scan: ContributionScan, options: RecountOptions): Promise<TupleRecount[]> {
  const rounds = options.rounds ?? (options.write ? 3 : 1);
  const results = new Map<string, TupleRecount>();
  let open = [...new Map(tuples.map((t) => [tupleId(matcherTupleKey(t)), t])).values()];
  let last = new Map<string, Fence>();
  for (let round = 1; round <= rounds && open.length > 0; round += 1) {
    let fences = await readFences(deps, open);
    if (options.write) fences = await Promise.all(fences.map((f) => placeFence(deps, f)));
    await options.hooks?.afterFences?.(fences);
    const counts = await countContributions(scan, new Set(fences.map((f) => tupleId(f.key))));
    await options.hooks?.afterScan?.(counts);
    // A plan that writes nothing (or a measurement) is settled only if the row is still as fenced.
    const after = new Map((await readFences(deps, open)).map((f) => [tupleId(f.key), f]));
    const moved: Tuple[] = [];
    for (const fence of fences) {
      const id = tupleId(fence.key);
      last.set(id, fence);
      const contributions = counts.get(id) ?? 0;
      const plan = recountPlan(fence, contributions);
      const base = { key: fence.key, tuple: fence.tuple, before: before(fence) };
      const writes = options.write && (plan.kind === 'set' || plan.kind === 'delete');
      if (plan.kind === 'refuse') results.set(id, { ...base, outcome: 'refused', reason: plan.reason });
      else if (writes ? !(await writePlan(deps, fence, plan)) : !unchanged(fence, after.get(id)!)) moved.push(fence.tuple);
      else if (plan.kind === 'exact') results.set(id, { ...base, outcome: 'exact', contributions });
      else results.set(id, { ...base, outcome: options.write ? 'recounted' : 'drifted', contributions, target: plan.kind === 'set' ? plan.count : 0 });
    }
    open = moved;
  }
  for (const tuple of open) {
    const fence = last.get(tupleId(matcherTupleKey(tuple)))!;
    results.set(tupleId(fence.key), { key: fence.key, tuple, before: before(fence), outcome: 'moved', reason: `the tuple changed while its contribution rows were counted, in each of ${rounds} round(s): nothing written (run the repair again)` });
  }
  return [...results.values()];
}

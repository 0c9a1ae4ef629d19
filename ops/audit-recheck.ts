/**
 * The audit's re-check: a table whose stream is still draining looks drifted for a moment, so
 * each finding is evaluated again from strongly consistent reads of exactly the rows that decide
 * it, with the same pure checks. Only a place (invariant, keys, document) found drifted both
 * times is reported, with what the re-check found there. Also the re-audit after a repair.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { matcherFields } from '../lambda/faa-matcher-sync/domain';
import { contributionKey, LEGACY_COUNT_ATTRIBUTE, matcherTupleKey } from '../lambda/faa-matcher-sync/keys';
import type { RowKeys } from '../lambda/shared/key-rules';
import { owns } from '../lambda/subsystems';
import { batchGet, partitionRows, queryPartition, rowId } from './audit-io';
import { keyText, linkFinding, recordedOf, tupleFinding, tupleOfKey, type TupleTally } from './audit-matcher';
import { LINK_PARTITIONS, MATCHER_ATTRIBUTES } from './audit-pass';
import { evaluateDocuments, sourceKeyOf } from './audit-search';
import { auditImages, findingPlace, type Finding } from './invariants';
import type { SearchIndexReader } from './typesense';

export interface RecheckContext {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  readonly index?: SearchIndexReader;
  /** The matcher's ledger exists (a link counted nowhere is drift). */
  readonly ledger: boolean;
}

/** I2: each entity partition read whole, strongly consistent. */
async function entities(ctx: RecheckContext, pks: readonly string[]): Promise<Finding[]> {
  const out: Finding[] = [];
  for (const pk of pks) out.push(...auditImages(await partitionRows(ctx.client, ctx.tableName, pk)).drift);
  return out;
}

/** I3: each link and its contribution row. */
export async function links(ctx: RecheckContext, keys: readonly RowKeys[]): Promise<Finding[]> {
  const rows = await batchGet(ctx.client, ctx.tableName, keys.flatMap((k) => [k, contributionKey(k)]), { consistent: true, attributes: MATCHER_ATTRIBUTES });
  return keys.flatMap((link) => {
    const row = rows.get(rowId(link));
    const c = rows.get(rowId(contributionKey(link)));
    return linkFinding(link, row ? matcherFields(row) : undefined, c ? recordedOf(c) : undefined, ctx.ledger) ?? [];
  });
}

/** I3: each tuple row against the links carrying it (the links partition read once, page by page, counting only these tuples). */
export async function tuples(ctx: RecheckContext, keys: readonly RowKeys[]): Promise<Finding[]> {
  const rows = await batchGet(ctx.client, ctx.tableName, keys, { consistent: true, attributes: ['count', LEGACY_COUNT_ATTRIBUTE, ...MATCHER_ATTRIBUTES] });
  const tallies = new Map<string, TupleTally>(
    keys.map((key) => {
      const row = rows.get(rowId(key));
      const tuple = tupleOfKey(key) ?? undefined;
      return [keyText(key), { key, ...(tuple && { tuple }), row: row !== undefined, count: row?.count, legacy: row?.[LEGACY_COUNT_ATTRIBUTE], carriers: 0, contributions: 0 }];
    }),
  );
  for (const pk of LINK_PARTITIONS) {
    await queryPartition(ctx.client, ctx.tableName, pk, {
      consistent: true,
      attributes: MATCHER_ATTRIBUTES,
      onPage: async (page) => {
        for (const row of page) {
          const tuple = matcherFields(row);
          const t = tuple && owns('faa-matcher-sync', { PK: String(row.PK), SK: String(row.SK) }) ? tallies.get(keyText(matcherTupleKey(tuple))) : undefined;
          if (t) t.carriers += 1;
        }
      },
    });
  }
  return [...tallies.values()].flatMap((t) => tupleFinding(t) ?? []);
}

const isLink = (f: Finding) => f.pk !== null && f.sk !== null && owns('faa-matcher-sync', { PK: f.pk, SK: f.sk });
const distinct = (keys: RowKeys[]) => [...new Map(keys.map((k) => [rowId(k), k])).values()];

/** Evaluates the places of `findings` again (strongly consistent); returns what is drifted there now. */
export async function evaluatePlaces(ctx: RecheckContext, findings: readonly Finding[]): Promise<Finding[]> {
  const of = (invariant: string) => findings.filter((f) => f.invariant === invariant);
  const out: Finding[] = [];
  const i1 = of('I1');
  if (i1.length > 0 && ctx.index) {
    const documents = i1.map((f) => ({ collection: f.collection!, id: f.id!, key: f.pk !== null && f.sk !== null ? { PK: f.pk, SK: f.sk } : sourceKeyOf(f.collection!, f.id!) }));
    out.push(...(await evaluateDocuments(ctx.client, ctx.tableName, ctx.index, documents)));
  }
  out.push(...(await entities(ctx, [...new Set(of('I2').map((f) => f.pk!))])));
  const i3 = of('I3');
  const linkKeys = distinct(i3.filter(isLink).map((f) => ({ PK: f.pk!, SK: f.sk! })));
  const tupleKeys = distinct(i3.filter((f) => !isLink(f)).map((f) => ({ PK: f.pk!, SK: f.sk! })));
  if (linkKeys.length > 0) out.push(...(await links(ctx, linkKeys)));
  if (tupleKeys.length > 0) out.push(...(await tuples(ctx, tupleKeys)));
  return out;
}

/** The findings of the first pass that a consistent re-read confirms (as the re-read found them). */
export async function recheck(ctx: RecheckContext, findings: readonly Finding[]): Promise<Finding[]> {
  if (findings.length === 0) return [];
  const places = new Set(findings.map(findingPlace));
  return (await evaluatePlaces(ctx, findings)).filter((f) => places.has(findingPlace(f)));
}

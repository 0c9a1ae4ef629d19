import { Logger } from '@aws-lambda-powertools/logger';
import { DeleteCommand, DynamoDBDocumentClient, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { matcherFields } from '../../lambda/faa-matcher-sync/domain';
import { contributionKey, CONTRIBUTION_PK_PREFIX, matcherTupleKey, MATCHER_TUPLE_PK_PREFIX } from '../../lambda/faa-matcher-sync/keys';

/** An FAA link row (DESIGN §2). */
export type LinkRow = Record<string, unknown> & { PK: string; SK: string };

export interface LinkFields {
  type_designator?: unknown;
  manufacturer?: unknown;
  model?: unknown;
  [other: string]: unknown;
}

export function linkRow(code: string, serial: string, fields: LinkFields): LinkRow {
  const row: LinkRow = {
    PK: 'FAA#LINKS',
    SK: `MFR_MDL_CODE#${code}#SN#${serial}`,
    mfr_mdl_code: code,
    serial_number: serial,
  };
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) row[k] = v;
  return row;
}

/** A logger that prints nothing (spy on its methods to inspect what was logged). */
export function silentLogger(): Logger {
  return new Logger({ serviceName: 'faa-matcher-sync-test', logLevel: 'SILENT' });
}

export async function scanAll(doc: DynamoDBDocumentClient, tableName: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey, ConsistentRead: true }));
    items.push(...(page.Items ?? []));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return items;
}

export interface TableState {
  /** `${PK}|${SK}` of every matcher tuple row -> its count (whatever its value). */
  counts: Record<string, unknown>;
  tupleRows: Record<string, unknown>[];
  /** link SK -> contribution row. */
  contributions: Record<string, Record<string, unknown>>;
}

export async function readState(doc: DynamoDBDocumentClient, tableName: string): Promise<TableState> {
  const items = await scanAll(doc, tableName);
  const tupleRows = items.filter((i) => String(i.PK).startsWith(MATCHER_TUPLE_PK_PREFIX));
  const counts = Object.fromEntries(tupleRows.map((i) => [`${i.PK}|${i.SK}`, i.count]));
  const contributions = Object.fromEntries(
    items.filter((i) => String(i.PK).startsWith(CONTRIBUTION_PK_PREFIX)).map((i) => [String(i.link_sk), i]),
  );
  return { counts, tupleRows, contributions };
}

/** Seeded PRNG shared with the dataset generator, so a failing randomised run can be repeated from its seed. */
export { prng } from '../../local/dataset';

export { countingDoc } from '../support/dynamodb';

export const putLink = (doc: DynamoDBDocumentClient, tableName: string, row: LinkRow) =>
  doc.send(new PutCommand({ TableName: tableName, Item: row }));
export const deleteLink = (doc: DynamoDBDocumentClient, tableName: string, row: { PK: string; SK: string }) =>
  doc.send(new DeleteCommand({ TableName: tableName, Key: { PK: row.PK, SK: row.SK } }));

const LINK_PK = 'FAA#LINKS';

/**
 * I3 over the whole table (DESIGN §6): every tuple's count equals the number of link rows carrying
 * it; no tuple row with count <= 0 or a leftover legacy_count; a contribution row exactly for each
 * link with valid fields, naming its tuple. Returns the differences (empty when it holds).
 */
export async function i3Violations(doc: DynamoDBDocumentClient, tableName: string): Promise<string[]> {
  const items = await scanAll(doc, tableName);
  const expected = new Map<string, number>();
  const expectedContrib = new Map<string, string>();
  for (const link of items.filter((i) => i.PK === LINK_PK)) {
    const tuple = matcherFields(link);
    if (!tuple) continue;
    const key = matcherTupleKey(tuple);
    const id = `${key.PK}|${key.SK}`;
    expected.set(id, (expected.get(id) ?? 0) + 1);
    expectedContrib.set(contributionKey({ PK: LINK_PK, SK: String(link.SK) }).PK, id);
  }
  const problems: string[] = [];
  const tuples = items.filter((i) => String(i.PK).startsWith(MATCHER_TUPLE_PK_PREFIX));
  for (const row of tuples) {
    const id = `${row.PK}|${row.SK}`;
    if (row.count !== expected.get(id)) problems.push(`${id}: count ${JSON.stringify(row.count)}, links ${expected.get(id) ?? 0}`);
    if (row.legacy_count !== undefined) problems.push(`${id}: legacy_count left`);
  }
  for (const [id, n] of expected) if (!tuples.some((r) => `${r.PK}|${r.SK}` === id)) problems.push(`${id}: no row, links ${n}`);
  const contributions = items.filter((i) => String(i.PK).startsWith(CONTRIBUTION_PK_PREFIX));
  for (const c of contributions) {
    const want = expectedContrib.get(String(c.PK));
    if (c.type_designator === undefined && c.expires_at !== undefined && want === undefined) continue; // old tombstone
    if (want !== `${c.tuple_pk}|${c.tuple_sk}`) problems.push(`${c.PK}: contribution names ${c.tuple_pk}|${c.tuple_sk}, link carries ${want ?? 'nothing'}`);
  }
  for (const [pk, id] of expectedContrib) if (!contributions.some((c) => c.PK === pk)) problems.push(`${pk}: no contribution row for ${id}`);
  return problems;
}

/** A contribution row exactly as the 0.1.0 (sequence-number) matcher wrote it: counted, or a tombstone when `tuple` is null. */
export function oldContributionRow(link: LinkRow, tuple: { type_designator: string; manufacturer: string; model: string } | null) {
  const sequenceNumber = '49650000000000000000000000123';
  return {
    ...contributionKey(link),
    link_pk: link.PK,
    link_sk: link.SK,
    seq_order: sequenceNumber.padStart(64, '0'),
    sequence_number: sequenceNumber,
    event_id: 'c81e728d9d4c2f636f067f89cc14862c',
    applied_at: '2026-11-20T09:00:00.000Z',
    ...(tuple
      ? { ...tuple, tuple_pk: `ICAO#MATCHER#${tuple.type_designator}`, tuple_sk: `MFR#${tuple.manufacturer}#MODEL#${tuple.model}` }
      : { expires_at: 1_795_000_000 }),
  };
}

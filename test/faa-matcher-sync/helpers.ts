import { Logger } from '@aws-lambda-powertools/logger';
import { ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { CONTRIBUTION_PK_PREFIX, MATCHER_TUPLE_PK_PREFIX } from '../../lambda/faa-matcher-sync/keys';

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

/**
 * `ops history`: one item's changes from the audit trail's history table, newest first (one
 * Query on the item's history partition, ScanIndexForward=false). Personal values show as
 * encrypted or as a keyed digest; with --decrypt, encrypted values are opened with the row's
 * data key, which needs kms:Decrypt on the key that sealed it (or the local key file). Without
 * that permission the command ends with one line naming the key and the permission (exit 3).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { KMSClient } from '@aws-sdk/client-kms';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { DataKeyOpener } from '../lambda/audit-trail/envelope';
import type { HistoryEvent, HistoryRow } from '../lambda/audit-trail/history-row';
import { historyPartitionKey } from '../lambda/audit-trail/history-table';
import { keyFileDataKeys, readKeyFile } from '../lambda/audit-trail/key-file';
import { kmsDataKeyOpener } from '../lambda/audit-trail/kms-opener';
import { openHistoryRow, RowOpener, type FieldChange, type ShownValue } from '../lambda/audit-trail/open-row';
import { displayValue } from '../lambda/audit-trail/values';
import { decodeNumber } from '../lambda/shared/decode';
import type { RowKeys } from '../lambda/shared/key-rules';
import { CouldNotRunError, errorMessage, UsageError } from './common';

export const DEFAULT_HISTORY_LIMIT = 20;

export interface HistoryOptions {
  /** A document client that reads numbers exactly (unmarshallOptions.wrapNumbers: decodeNumber). */
  readonly doc: DynamoDBDocumentClient;
  /** The history table. */
  readonly tableName: string;
  readonly keys: RowKeys;
  /** At most this many changes, newest first. Default 20. */
  readonly limit?: number;
  /** --decrypt: the opener for a master key id (KMS for an ARN, the key file for `local:`). */
  readonly decrypt?: (keyId: string) => DataKeyOpener;
}

export interface HistoryChange {
  readonly changeTime: string;
  readonly event: HistoryEvent;
  readonly eventID: string;
  readonly sequenceNumber: string;
  readonly rowKind: string;
  /** Values left out to fit the item size limit. */
  readonly omitted?: number;
  readonly fields: readonly FieldChange[];
}

export interface HistoryReport {
  readonly pk: string;
  readonly sk: string;
  readonly changes: readonly HistoryChange[];
}

/** KMS (and key file) refusals that mean "this caller may not decrypt with that key". */
const DENIED = new Set(['AccessDeniedException', 'KMSAccessDeniedException', 'AccessDenied']);

export async function runHistory(options: HistoryOptions): Promise<HistoryReport> {
  const limit = options.limit ?? DEFAULT_HISTORY_LIMIT;
  const rows: HistoryRow[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await options.doc.send(
      new QueryCommand({
        TableName: options.tableName,
        KeyConditionExpression: 'PK = :pk',
        ExpressionAttributeValues: { ':pk': historyPartitionKey(options.keys) },
        ScanIndexForward: false,
        Limit: limit - rows.length,
        ExclusiveStartKey: start,
      }),
    );
    rows.push(...((out.Items ?? []) as HistoryRow[]));
    start = out.LastEvaluatedKey;
  } while (start && rows.length < limit);

  const opener = options.decrypt && new RowOpener(routing(options.decrypt));
  const changes: HistoryChange[] = [];
  for (const row of rows) {
    let fields: FieldChange[];
    try {
      fields = await openHistoryRow(row, opener);
    } catch (error) {
      const name = (error as { name?: unknown })?.name;
      const keyId = row.data_key?.key_id ?? '?';
      if (typeof name === 'string' && DENIED.has(name)) throw new CouldNotRunError(`--decrypt needs kms:Decrypt on ${keyId}, which this caller lacks (${name})`);
      throw error;
    }
    changes.push({
      changeTime: row.change_time,
      event: row.event,
      eventID: row.event_id,
      sequenceNumber: row.sequence_number,
      rowKind: row.row_kind,
      ...(row.omitted && { omitted: Number(row.omitted) }),
      fields,
    });
  }
  return { pk: options.keys.PK, sk: options.keys.SK, changes };
}

/** One opener per key id, made when a row first names it. */
function routing(openerFor: (keyId: string) => DataKeyOpener): DataKeyOpener {
  const openers = new Map<string, DataKeyOpener>();
  return {
    decryptDataKey: (encrypted, keyId) => {
      let opener = openers.get(keyId);
      if (!opener) openers.set(keyId, (opener = openerFor(keyId)));
      return opener.decryptDataKey(encrypted, keyId);
    },
  };
}

const shown = (v: ShownValue | undefined): string => {
  if (v === undefined) return '';
  if ('value' in v) return displayValue(v.value);
  if ('encrypted' in v) return '<encrypted>';
  if ('hmac' in v) return `<hmac ${v.hmac.slice(0, 16)}>`;
  return `<left out: ${v.omitted.bytes} bytes${v.omitted.sha256 ? `, sha256 ${v.omitted.sha256.slice(0, 16)}` : ''}>`;
};

/** The text report: one block per change, newest first. */
export function formatHistory(report: HistoryReport): string {
  const head = `history of PK=${report.pk} SK=${report.sk}: ${report.changes.length === 0 ? 'no changes recorded' : `${report.changes.length} change${report.changes.length === 1 ? '' : 's'}, newest first`}`;
  const blocks = report.changes.map((c) => {
    const lines = [`${c.changeTime}  ${c.event}  eventID=${c.eventID} sequence=${c.sequenceNumber}${c.omitted ? ` (${c.omitted} value${c.omitted === 1 ? '' : 's'} left out for size)` : ''}`];
    for (const f of c.fields) {
      if (f.change === 'added') lines.push(`  + ${f.field}: ${shown(f.new)}`);
      else if (f.change === 'removed') lines.push(`  - ${f.field}: ${shown(f.old)}`);
      else lines.push(`  ~ ${f.field}: ${shown(f.old)} -> ${shown(f.new)}`);
    }
    return lines.join('\n');
  });
  return [head, ...blocks].join('\n');
}

/** The JSON report: exact numbers as strings, binary as base64. */
export const historyJson = (report: HistoryReport): string => displayValue(report);

/** The command line of `ops history`, checked before any client exists. */
export interface HistoryArgs {
  readonly keys: RowKeys;
  readonly limit: number;
  readonly decrypt: boolean;
  readonly keyFile?: string;
}

export function parseHistoryArgs(values: Record<string, string | boolean | undefined>): HistoryArgs {
  const pk = values.pk;
  const sk = values.sk;
  if (typeof pk !== 'string' || pk === '' || typeof sk !== 'string' || sk === '') throw new UsageError('history: --pk and --sk (the item\'s keys) are required');
  const text = values.limit;
  const limit = text === undefined ? DEFAULT_HISTORY_LIMIT : Number(text);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit must be a positive integer (got ${JSON.stringify(text)})`);
  const keyFile = values['key-file'];
  if (keyFile !== undefined && !values.decrypt) throw new UsageError('history: --key-file goes with --decrypt');
  return { keys: { PK: pk, SK: sk }, limit, decrypt: Boolean(values.decrypt), ...(typeof keyFile === 'string' && { keyFile }) };
}

/**
 * `ops history` as the CLI runs it: the report as text or one JSON document. Rows sealed with
 * a KMS key open through `kms()` (made only if one is needed); rows sealed with the local key
 * file (`local:` key ids) need --key-file.
 */
export async function historyCommand(options: { client: DynamoDBClient; tableName: string; args: HistoryArgs; json: boolean; kms: () => KMSClient }): Promise<string> {
  const { args } = options;
  const doc = DynamoDBDocumentClient.from(options.client, { unmarshallOptions: { wrapNumbers: decodeNumber } });
  let kmsClient: KMSClient | undefined;
  let kms: DataKeyOpener | undefined;
  const openerFor = (keyId: string): DataKeyOpener => {
    if (!keyId.startsWith('local:')) return (kms ??= kmsDataKeyOpener((kmsClient = options.kms())));
    if (!args.keyFile) throw new CouldNotRunError(`the history was sealed with a local key file (${keyId}): give --key-file with --decrypt`);
    try {
      return keyFileDataKeys(readKeyFile(args.keyFile));
    } catch (error) {
      throw new CouldNotRunError(`--key-file ${args.keyFile}: ${errorMessage(error).split('\n')[0]}`);
    }
  };
  try {
    const report = await runHistory({ doc, tableName: options.tableName, keys: args.keys, limit: args.limit, ...(args.decrypt && { decrypt: openerFor }) });
    return options.json ? historyJson(report) : formatHistory(report);
  } finally {
    kmsClient?.destroy();
  }
}

/**
 * The audit trail on one machine: the real handler writing to a history table on DynamoDB
 * Local, personal fields sealed with a key file standing in for KMS (or the hash secret),
 * behind one more event-source mapping of the local emulator with the filters the stack
 * synthesises. `npm start -- --audit-trail` and the tests assemble it so:
 *
 *   const trail = await startAuditTrailLocal({ endpoint, keyFile: '.cache/audit-keys.json' });
 *   new EsmEmulator({ ..., mappings: [...mappings, trail.mapping] });
 *   ...drain...; formatAuditTrailReport(await trail.report()); await trail.stop();
 *
 * `trail.report().i5` is the history invariant over every change the mapping delivered; read
 * an item's history with `npm run ops -- history --endpoint ... --table <historyTableName>
 * --pk ... --sk ... [--decrypt --key-file <keyFile>]`.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { CreateTableCommand, DeleteTableCommand, DynamoDBClient, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { createAuditHandler } from '../../lambda/audit-trail/handler';
import type { HistoryRow } from '../../lambda/audit-trail/history-row';
import { createHistoryTableInput, type ChangeSource } from '../../lambda/audit-trail/history-table';
import { ensureKeyFile, keyFileDataKeys, keyFileHashKey } from '../../lambda/audit-trail/key-file';
import { encryptProtection, hashProtection, type SensitiveMode } from '../../lambda/audit-trail/sensitive';
import { decodeNumber, decodeRecord, type StreamChange } from '../../lambda/shared/decode';
import { toStreamEvent, type SourceRecord } from '../../lambda/shared/kinesis-record';
import { ROW_KIND_NAMES, rowKindFilters, rowKindOf, type RowKindName } from '../../lambda/shared/row-kinds';
import type { RetryPolicy } from '../../lambda/shared/backoff';
import type { StreamMappingSettings } from '../../lib/mapping-settings';
import { checkHistory, type HistoryAuditResult } from '../../ops/invariants-history';
import { localClientConfig } from '../dynamodb-local';
import type { MappingConfig } from '../esm-types';

export const LOCAL_HISTORY_TABLE = 'stream-fanout-local-history';

export interface AuditTrailLocalOptions {
  readonly endpoint: string;
  /** The key file standing in for KMS and the hash secret; created when missing. */
  readonly keyFile: string;
  /** Default LOCAL_HISTORY_TABLE (dropped if it exists, and created empty). */
  readonly historyTableName?: string;
  readonly rowKinds?: readonly RowKindName[];
  readonly sensitive?: SensitiveMode;
  readonly source?: ChangeSource;
  /** Powertools log level of the handler. Default WARN. */
  readonly logLevel?: string;
  readonly settings?: Partial<StreamMappingSettings>;
  /** The handler's own DynamoDB client, for fault injection or counting (middleware). */
  readonly instrument?: (client: DynamoDBClient) => void;
  /** The handler's write retries (tests and chaos shorten the sleep). */
  readonly retry?: Partial<RetryPolicy>;
}

export interface AuditTrailReport {
  readonly historyRows: number;
  readonly items: number;
  readonly byEvent: Readonly<Record<string, number>>;
  /** Data keys the handler asked for (one per container for a while, not one per row). */
  readonly dataKeysGenerated: number;
  /** Values left out of rows to fit the item size limit. */
  readonly valuesOmitted: number;
  readonly i5: HistoryAuditResult;
}

export interface AuditTrailLocal {
  readonly historyTableName: string;
  /** Add to the emulator's mappings. */
  readonly mapping: MappingConfig;
  rows(): Promise<HistoryRow[]>;
  report(): Promise<AuditTrailReport>;
  /** One line per history row: event, keys, eventID and the changed field names (never values). */
  verboseLines(rows: readonly HistoryRow[]): string[];
  stop(options?: { dropTable?: boolean }): Promise<void>;
}

export async function startAuditTrailLocal(options: AuditTrailLocalOptions): Promise<AuditTrailLocal> {
  const historyTableName = options.historyTableName ?? LOCAL_HISTORY_TABLE;
  const rowKinds = options.rowKinds ?? [...ROW_KIND_NAMES];
  const source = options.source ?? 'dynamodb-streams';
  const client = new DynamoDBClient(localClientConfig(options.endpoint));
  const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true }, unmarshallOptions: { wrapNumbers: decodeNumber } });
  try {
    await client.send(new DeleteTableCommand({ TableName: historyTableName }));
  } catch (error) {
    if ((error as Error).name !== 'ResourceNotFoundException') throw error;
  }
  await client.send(new CreateTableCommand(createHistoryTableInput(historyTableName)));
  await waitUntilTableExists({ client, maxWaitTime: 30 }, { TableName: historyTableName });

  const keys = ensureKeyFile(options.keyFile);
  const encrypt = encryptProtection(keyFileDataKeys(keys));
  const protection = options.sensitive === 'hash' ? hashProtection(keyFileHashKey(keys)) : encrypt;
  // The handler's own client (as the Lambda has), so injected faults never touch the report's reads.
  const handlerClient = new DynamoDBClient(localClientConfig(options.endpoint));
  options.instrument?.(handlerClient);
  const handler = createAuditHandler({
    doc: DynamoDBDocumentClient.from(handlerClient, { marshallOptions: { removeUndefinedValues: true } }),
    historyTableName,
    ...(options.retry && { retry: options.retry }),
    logger: new Logger({ serviceName: 'audit-trail', logLevel: (options.logLevel ?? 'WARN') as never }),
    protection,
    rowKinds,
    source,
  });
  // Every owned change the mapping delivered (duplicates included): what I5 is checked against.
  const delivered: StreamChange[] = [];
  const recording = async (event: DynamoDBStreamEvent) => {
    // Under the Kinesis emulation the records come as Kinesis records: read them as the runner does.
    for (const record of toStreamEvent(event as { Records: SourceRecord[] }).Records) {
      try {
        const change = decodeRecord(record);
        if (rowKindOf(change.keys, rowKinds)) delivered.push(change);
      } catch {
        // A record the handler cannot read either: it fails there, named.
      }
    }
    return handler(event);
  };

  const rows = async (): Promise<HistoryRow[]> => {
    const all: HistoryRow[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await doc.send(new ScanCommand({ TableName: historyTableName, ExclusiveStartKey: start }));
      all.push(...((out.Items ?? []) as HistoryRow[]));
      start = out.LastEvaluatedKey;
    } while (start);
    return all;
  };

  return {
    historyTableName,
    mapping: { name: 'audit-trail', handler: recording, filterPatterns: rowKindFilters(rowKinds), ...(options.settings && { settings: options.settings }) },
    rows,
    report: async () => {
      const all = await rows();
      const byEvent: Record<string, number> = {};
      for (const row of all) byEvent[row.event] = (byEvent[row.event] ?? 0) + 1;
      return {
        historyRows: all.length,
        items: new Set(all.map((r) => r.PK)).size,
        byEvent,
        dataKeysGenerated: encrypt.cache.generated,
        valuesOmitted: all.reduce((n, r) => n + Number(r.omitted ?? 0), 0),
        i5: checkHistory(delivered, all, { rowKinds, source }),
      };
    },
    verboseLines: (list) =>
      list.map((r) => `history ${r.event} PK=${r.item_pk} SK=${r.item_sk} eventID=${r.event_id} fields=${[...Object.keys(r.diff.added), ...Object.keys(r.diff.removed), ...Object.keys(r.diff.changed)].sort().join(',')}`),
    stop: async ({ dropTable = false } = {}) => {
      if (dropTable) await client.send(new DeleteTableCommand({ TableName: historyTableName }));
      client.destroy();
      handlerClient.destroy();
    },
  };
}

/** The report's lines for `npm start`. */
export function formatAuditTrailReport(report: AuditTrailReport): string[] {
  const events = Object.entries(report.byEvent).map(([e, n]) => `${e} ${n}`).join(', ');
  return [
    `audit trail: ${report.historyRows} history rows for ${report.items} items (${events || 'none'}); ${report.dataKeysGenerated} data key(s) generated; ${report.valuesOmitted} value(s) left out for size`,
    report.i5.findings.length === 0
      ? `I5 history: ok (${report.i5.checked.changes} changes delivered, each with exactly one row, in order)`
      : `I5 history: ${report.i5.findings.length} finding(s)`,
    ...report.i5.findings.slice(0, 20).map((f) => `  ${f.invariant} ${f.where}: ${f.problem}`),
  ];
}

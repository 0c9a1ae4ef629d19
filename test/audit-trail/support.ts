import { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { CreateTableCommand, DeleteTableCommand, DynamoDBClient, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAuditHandler, type AuditTrailDeps } from '../../lambda/audit-trail/handler';
import type { HistoryRow } from '../../lambda/audit-trail/history-row';
import { createHistoryTableInput, historyPartitionKey } from '../../lambda/audit-trail/history-table';
import { ensureKeyFile, keyFileDataKeys, keyFileHashKey, type KeyFile } from '../../lambda/audit-trail/key-file';
import { encryptProtection, hashProtection } from '../../lambda/audit-trail/sensitive';
import { decodeNumber } from '../../lambda/shared/decode';
import type { RowKeys } from '../../lambda/shared/key-rules';
import { localClientConfig } from '../../local/dynamodb-local';
import { localEndpoint } from '../support/dynamodb';

export interface HistoryTable {
  readonly tableName: string;
  readonly endpoint: string;
  readonly client: DynamoDBClient;
  readonly doc: DynamoDBDocumentClient;
  /** Every row, as stored (numbers decoded exactly). */
  scan(): Promise<HistoryRow[]>;
  /** One item's history, newest first (what ops history reads). */
  history(keys: RowKeys): Promise<HistoryRow[]>;
  drop(): Promise<void>;
}

const readDoc = (client: DynamoDBClient) =>
  DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true }, unmarshallOptions: { wrapNumbers: decodeNumber } });

export async function createHistoryTable(endpoint = localEndpoint()): Promise<HistoryTable> {
  const client = new DynamoDBClient(localClientConfig(endpoint));
  const doc = readDoc(client);
  const tableName = `history-${randomUUID().slice(0, 8)}`;
  await client.send(new CreateTableCommand(createHistoryTableInput(tableName)));
  await waitUntilTableExists({ client, maxWaitTime: 30 }, { TableName: tableName });
  return {
    tableName,
    endpoint,
    client,
    doc,
    scan: async () => {
      const rows: HistoryRow[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const out = await doc.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey: start }));
        rows.push(...((out.Items ?? []) as HistoryRow[]));
        start = out.LastEvaluatedKey;
      } while (start);
      return rows;
    },
    history: async (keys) => {
      const out = await doc.send(new QueryCommand({ TableName: tableName, KeyConditionExpression: 'PK = :pk', ExpressionAttributeValues: { ':pk': historyPartitionKey(keys) }, ScanIndexForward: false }));
      return (out.Items ?? []) as HistoryRow[];
    },
    drop: async () => {
      await client.send(new DeleteTableCommand({ TableName: tableName }));
      client.destroy();
    },
  };
}

/** A fresh key file in a temporary folder. */
export function tempKeyFile(): { path: string; file: KeyFile } {
  const path = join(mkdtempSync(join(tmpdir(), 'audit-keys-')), 'keys.json');
  return { path, file: ensureKeyFile(path) };
}

/** Counts what a MetricTally publishes: a stand-in for Powertools Metrics with the calls MetricTally makes. */
export function countingMetrics() {
  const sums: Record<string, number> = {};
  const add = (name: string, _unit: unknown, value: number) => void (sums[name] = (sums[name] ?? 0) + value);
  const metrics = {
    addMetric: add,
    publishStoredMetrics: () => undefined,
    clearMetrics: () => undefined,
    // Failures by kind: `Failures:<kind>`.
    singleMetric: () => ({ addDimension: (_: string, kind: string) => ({ addMetric: (name: string, unit: unknown, value: number) => add(`${name}:${kind}`, unit, value) }) }),
  } as unknown as Metrics;
  return { metrics, sums };
}

export const silentLogger = () => new Logger({ serviceName: 'audit-trail', logLevel: 'SILENT' });

/** A registry row carrying canary values in every personal field. */
export function registryRow(n: string, canary = 'CANARY') {
  return {
    PK: 'AIRCRAFT#REGISTRY#FAA',
    SK: `DETAIL#${n}`,
    registration: n,
    manufacturer: 'CESSNA',
    model: '172S',
    owner_name: `${canary}-OWNER-${n}`,
    street: `${canary}-STREET-${n}`,
    city: `${canary}-CITY-${n}`,
    state: `${canary}-ST`,
    zip_code: `${canary}-ZIP`,
    country: `${canary}-US`,
    status: 'V',
  };
}

/** An audit handler on `table` with the key file standing in for KMS (encrypt mode unless `hash`). */
export function auditHandler(table: HistoryTable, keyFile: KeyFile, extra: Partial<AuditTrailDeps> & { hash?: boolean; metrics?: Metrics } = {}) {
  const { hash, ...rest } = extra;
  const protection = hash ? hashProtection(keyFileHashKey(keyFile)) : encryptProtection(keyFileDataKeys(keyFile));
  return createAuditHandler({ doc: table.doc, historyTableName: table.tableName, logger: silentLogger(), protection, ...rest });
}

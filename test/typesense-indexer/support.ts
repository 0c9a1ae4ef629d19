/**
 * Test rig for the indexer: a fresh table on DynamoDB Local and the local Typesense
 * stand-in (no real Typesense runs in CI), wired through the real adapters.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { BatchGetItemCommand } from '@aws-sdk/client-dynamodb';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSRecord } from 'aws-lambda';
import type { RowKeys } from '../../lambda/shared/key-rules';
import type { TriggerOrigin } from '../../lambda/shared/trigger';
import { indexBatch, type IndexerDeps } from '../../lambda/typesense-indexer/handler';
import { DEFAULT_INDEXER_RETRY } from '../../lambda/typesense-indexer/retry';
import { typesenseClient, typesenseSearchPort } from '../../lambda/typesense-indexer/search';
import { messageGroupId } from '../../lambda/typesense-sync/ids';
import { matchIndexedSpec } from '../../lambda/typesense-sync/specs';
import { exportIndex } from '../../local/pipeline';
import { startLocalTypesense } from '../../local/typesense-server';
import { createTestTable } from '../support/dynamodb';

let messageCounter = 0;
export const streamOrigin = (n: number): TriggerOrigin => ({ kind: 'stream', eventID: `evt-${n}`, sequenceNumber: String(1000 + n), approximateCreationDateTime: 1_780_000_000 + n });

/** The v2 body typesense-sync would send for this key. */
export function triggerBody(key: RowKeys, origin: TriggerOrigin = streamOrigin(1), hint: 'upsert' | 'delete' = 'upsert') {
  const spec = matchIndexedSpec(key)!;
  return { v: 2, collection: spec.collection, id: spec.documentId(key), key: { pk: key.PK, sk: key.SK }, hint, origin };
}

/** An SQS record as Lambda's FIFO source delivers it. */
export function sqsRecord(body: unknown, groupId?: string): SQSRecord {
  messageCounter += 1;
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const group = groupId ?? (typeof body === 'object' && body !== null ? messageGroupId((body as { collection: string }).collection, (body as { id: string }).id) : 'unknown');
  return {
    messageId: `msg-${messageCounter}`,
    receiptHandle: `rh-${messageCounter}`,
    body: text,
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 'x', ApproximateFirstReceiveTimestamp: '0', MessageGroupId: group, SequenceNumber: String(messageCounter), MessageDeduplicationId: `d${messageCounter}` },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:search.fifo',
    awsRegion: 'us-east-1',
  };
}

export async function indexerRig() {
  const table = await createTestTable('indexer');
  const server = await startLocalTypesense();
  const client = typesenseClient([server.url], server.apiKey);
  const sleeps: number[] = [];
  const retry = { sleep: async (ms: number) => void sleeps.push(ms), random: () => 0.5 };
  const reads: BatchGetItemCommand['input'][] = [];
  const ddb = { send: (command: BatchGetItemCommand) => (reads.push(command.input), table.client.send(command)) };
  const logger = new Logger({ serviceName: 'indexer-test', logLevel: 'SILENT' });
  const logs = { error: jest.spyOn(logger, 'error'), warn: jest.spyOn(logger, 'warn') };
  const deps: IndexerDeps = { ddb, tableName: table.tableName, search: typesenseSearchPort(client, { ...DEFAULT_INDEXER_RETRY, ...retry }), logger, retry };
  return {
    table,
    server,
    client,
    sleeps,
    reads,
    logs,
    deps,
    put: (row: Record<string, unknown>) => table.doc.send(new PutCommand({ TableName: table.tableName, Item: row })),
    run: (records: SQSRecord[]) => indexBatch(deps, records),
    failed: async (records: SQSRecord[]) => (await indexBatch(deps, records)).response.batchItemFailures.map((f) => f.itemIdentifier),
    index: () => exportIndex(client),
    errorsLogged: () => logs.error.mock.calls.map(([m, extra]) => `${String(m)} ${JSON.stringify(extra)} ${(extra as { error?: Error })?.error?.message ?? ''}`).join('\n'),
    /** Import calls that reached a collection (a 404 before the collection was created is not one). */
    imports: () => server.requests().filter((r) => r.path.includes('/documents/import') && r.status !== 404),
    stop: async () => {
      await server.stop();
      await table.drop();
    },
  };
}

export type IndexerRig = Awaited<ReturnType<typeof indexerRig>>;

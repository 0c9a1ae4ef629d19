/**
 * Benchmark of the Typesense indexer (DESIGN §11): Typesense calls and DynamoDB reads per
 * message with Lambda's FIFO batch of 10, against a per-message baseline (batch of 1: one
 * read and one Typesense call per message), on the same table and the same messages in the
 * same run. Typesense is the local stand-in (local/typesense-server.ts; no Typesense server
 * can run here), so call counts are exact and throughput reflects our code and the HTTP
 * round trips, not Typesense's indexing cost.
 */
import { BatchGetItemCommand, DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import type { SQSRecord } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import type { RowKeys } from '../lambda/shared/key-rules';
import { indexBatch } from '../lambda/typesense-indexer/handler';
import { DEFAULT_INDEXER_RETRY } from '../lambda/typesense-indexer/retry';
import { typesenseClient, typesenseSearchPort } from '../lambda/typesense-indexer/search';
import { messageGroupId } from '../lambda/typesense-sync/ids';
import { matchIndexedSpec } from '../lambda/typesense-sync/specs';
import { generateDataset, prng } from '../local/dataset';
import { localClientConfig } from '../local/dynamodb-local';
import { createTable } from '../local/table-io';
import { startLocalTypesense } from '../local/typesense-server';

const MESSAGES = 600;

function sqsRecord(key: RowKeys, n: number): SQSRecord {
  const spec = matchIndexedSpec(key)!;
  const id = spec.documentId(key);
  const body = { v: 2, collection: spec.collection, id, key: { pk: key.PK, sk: key.SK }, hint: 'upsert', origin: { kind: 'stream', eventID: `e${n}`, sequenceNumber: String(n), approximateCreationDateTime: null } };
  return {
    messageId: `m${n}`,
    receiptHandle: `r${n}`,
    body: JSON.stringify(body),
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 'bench', ApproximateFirstReceiveTimestamp: '0', MessageGroupId: messageGroupId(spec.collection, id), SequenceNumber: String(n), MessageDeduplicationId: `d${n}` },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:0:search.fifo',
    awsRegion: 'us-east-1',
  };
}

interface Figures {
  typesenseCalls: number;
  dynamoReads: number;
  seconds: number;
}

export async function benchIndexer(endpoint: string): Promise<Record<string, number | string>> {
  const client = new DynamoDBClient(localClientConfig(endpoint));
  const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  const tableName = `bench-indexer-${randomUUID().slice(0, 8)}`;
  await createTable(client, tableName);
  const server = await startLocalTypesense();
  try {
    // The sample dataset's indexed rows; messages pick among them with repeats, as a busy
    // stream does (several records of one document close together).
    const rows = generateDataset({ seed: 11, registrations: 60 }).rows.filter((r) => matchIndexedSpec({ PK: String(r.PK), SK: String(r.SK) }));
    for (const row of rows) await doc.send(new PutCommand({ TableName: tableName, Item: row }));
    const random = prng(7);
    const keys = rows.map((r) => ({ PK: String(r.PK), SK: String(r.SK) }));
    const messages: SQSRecord[] = [];
    for (let n = 0; n < MESSAGES; n += 1) {
      // 30% of messages repeat a document from the last few messages.
      const key = n > 0 && random() < 0.3 ? JSON.parse(messages[Math.max(0, n - 1 - Math.floor(random() * 4))]!.body).key : null;
      messages.push(sqsRecord(key ? { PK: key.pk, SK: key.sk } : keys[Math.floor(random() * keys.length)]!, n));
    }

    const run = async (batchSize: number): Promise<Figures> => {
      let dynamoReads = 0;
      const ddb = { send: (c: BatchGetItemCommand) => ((dynamoReads += 1), client.send(c)) };
      const search = typesenseSearchPort(typesenseClient([server.url], server.apiKey), DEFAULT_INDEXER_RETRY);
      const deps = { ddb, tableName, search, logger: new Logger({ serviceName: 'bench-indexer', logLevel: 'SILENT' }) };
      await indexBatch(deps, messages.slice(0, 1)); // creates the collections outside the count
      server.clearRequests();
      dynamoReads = 0;
      const started = process.hrtime.bigint();
      for (let i = 0; i < messages.length; i += batchSize) {
        const outcome = await indexBatch(deps, messages.slice(i, i + batchSize));
        if (outcome.response.batchItemFailures.length > 0) throw new Error('bench: unexpected failures');
      }
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      return { typesenseCalls: server.requests().length, dynamoReads, seconds };
    };
    const baseline = await run(1);
    const batched = await run(10);
    const per = (n: number) => Number((n / MESSAGES).toFixed(3));
    return {
      messages: MESSAGES,
      documents: keys.length,
      typesenseCallsPerMessage: per(batched.typesenseCalls),
      dynamoReadsPerMessage: per(batched.dynamoReads),
      messagesPerSecond: Math.round(MESSAGES / batched.seconds),
      baselineTypesenseCallsPerMessage: per(baseline.typesenseCalls),
      baselineDynamoReadsPerMessage: per(baseline.dynamoReads),
      baselineMessagesPerSecond: Math.round(MESSAGES / baseline.seconds),
      typesenseCallReduction: Number((baseline.typesenseCalls / batched.typesenseCalls).toFixed(2)),
      dynamoReadReduction: Number((baseline.dynamoReads / batched.dynamoReads).toFixed(2)),
      typesense: 'local stand-in (no Typesense server can run here)',
    };
  } finally {
    await server.stop();
    await client.send(new DeleteTableCommand({ TableName: tableName }));
    client.destroy();
  }
}

if (require.main === module) {
  const endpoint = process.argv[2] ?? process.env.DYNAMODB_LOCAL_ENDPOINT;
  if (!endpoint) {
    process.stderr.write('usage: tsx bench/indexer.ts <DynamoDB Local endpoint>\n');
    process.exit(2);
  }
  benchIndexer(endpoint).then((figures) => process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`));
}

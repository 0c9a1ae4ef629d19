/**
 * Nothing secret or personal in any line the indexer prints, on any failure path: a canary
 * API key (served by a Secrets Manager stand-in and required by the local Typesense
 * stand-in) and canary owner names, cities and captions in the rows (DynamoDB Local) go
 * through every failure the indexer meets; everything printed is captured and searched. The
 * same runs check that each failure line names its record and a reason.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BatchGetItemCommand } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSRecord } from 'aws-lambda';
import { keyedClients } from '../../lambda/typesense-indexer/client-source';
import { createIndexerHandler } from '../../lambda/typesense-indexer/handler';
import { DEFAULT_INDEXER_RETRY } from '../../lambda/typesense-indexer/retry';
import { typesenseClient, typesenseSearchPort } from '../../lambda/typesense-indexer/search';
import { CachedSecret } from '../../lambda/typesense-indexer/secret';
import { startLocalTypesense, type LocalTypesense } from '../../local/typesense-server';
import { createTestTable, lambdaEnvFor, type TestTable } from '../support/dynamodb';
import { enableMetrics, metricsFor } from '../metrics/support';
import { faaRow, imageRow } from '../typesense-sync/support/rows';
import { sqsRecord, triggerBody } from '../typesense-indexer/support';
import { CANARY, canaryAttributes, captureOutput, debugLogger, expectNoCanary, joined, type Captured } from './support';

const ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:typesense-api-key-AbCdEf';
const owner = faaRow('N1', canaryAttributes);
const other = faaRow('N2', { ...canaryAttributes, owner_name: `${CANARY.owner} II` });
const photo = imageRow('N1', '2026-01-02T03:04:05Z#img1', { caption: CANARY.caption, credit: CANARY.credit });
const key = (row: { PK: unknown; SK: unknown }) => ({ PK: String(row.PK), SK: String(row.SK) });
const trigger = (row: { PK: unknown; SK: unknown }, hint: 'upsert' | 'delete' = 'upsert') => sqsRecord(triggerBody(key(row), undefined, hint));

let table: TestTable;
let typesense: LocalTypesense;
let secrets: Server;
let secretsUrl: string;
/** What the Secrets Manager stand-in answers: the canary key, or AccessDenied. */
let secretMode: 'ok' | 'denied' = 'ok';
let restoreMetrics: () => void;

beforeAll(async () => {
  restoreMetrics = enableMetrics();
  table = await createTestTable('canary-indexer');
  for (const row of [owner, other, photo]) await table.doc.send(new PutCommand({ TableName: table.tableName, Item: row }));
  secrets = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (secretMode === 'denied') {
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': 'AccessDeniedException' });
        res.end(JSON.stringify({ __type: 'AccessDeniedException', message: `User is not authorized to perform: secretsmanager:GetSecretValue on resource: ${ARN}` }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify({ ARN, Name: 'typesense-api-key', SecretString: CANARY.apiKey }));
    });
  });
  await new Promise<void>((resolve) => secrets.listen(0, '127.0.0.1', () => resolve()));
  secretsUrl = `http://127.0.0.1:${(secrets.address() as AddressInfo).port}`;
});
afterAll(async () => {
  restoreMetrics();
  await new Promise((resolve) => secrets.close(resolve));
  await table.drop();
});
beforeEach(async () => {
  secretMode = 'ok';
  typesense = await startLocalTypesense({ apiKey: CANARY.apiKey });
});
afterEach(() => typesense.stop());

/** The indexer as index.ts wires it (secret cache, keyed clients, DEBUG logger, metrics), with no real sleeps and a short call timeout. */
function indexer(options: { nodes?: string[]; ddb?: { send(c: BatchGetItemCommand): Promise<unknown> } } = {}) {
  const secret = new CachedSecret(
    new SecretsManagerClient({ endpoint: secretsUrl, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
    ARN,
  );
  const logger = debugLogger('typesense-indexer');
  const policy = { ...DEFAULT_INDEXER_RETRY, maxAttempts: 3, sleep: async () => undefined };
  const search = typesenseSearchPort(keyedClients(secret, (k) => typesenseClient(options.nodes ?? [typesense.url], k)), policy, logger, undefined, { callTimeoutMs: 150 });
  const handler = createIndexerHandler({ ddb: (options.ddb ?? table.client) as never, tableName: table.tableName, search, logger, retry: policy, metrics: metricsFor('typesense-indexer') });
  return (records: SQSRecord[]) => captureOutput(() => handler({ Records: records }));
}

/** The ERROR lines: each names its record (document keys, or the SQS message) and a reason. */
function expectNamedFailures(captured: Captured<unknown>, atLeast = 1): void {
  const errors = captured.lines.flatMap((line) => {
    try {
      const parsed = JSON.parse(line) as Record<string, any>;
      return parsed.level === 'ERROR' ? [parsed] : [];
    } catch {
      return [];
    }
  });
  expect(errors.length).toBeGreaterThanOrEqual(atLeast);
  for (const line of errors) {
    expect(Boolean((line.pk && line.sk) || line.messageId)).toBe(true);
    expect(String(line.error?.message ?? line.message)).not.toBe('');
  }
}

const failedIds = (captured: Captured<{ batchItemFailures: { itemIdentifier: string }[] }>) => captured.result?.batchItemFailures.map((f) => f.itemIdentifier);

describe('the indexer prints no secret and no row value on any failure path', () => {
  it('the clean path (the canaries are really in play: the documents reach Typesense)', async () => {
    const captured = await indexer()([trigger(owner), trigger(photo)]);
    expect(failedIds(captured)).toEqual([]);
    expect(JSON.stringify([...typesense.documents('registry')!.values()])).toContain(CANARY.owner);
    expectNoCanary(captured.lines);
  });

  it('connection refused (nothing listens on the port)', async () => {
    const closed = await startLocalTypesense();
    await closed.stop();
    const records = [trigger(owner), trigger(photo)];
    const captured = await indexer({ nodes: [closed.url] })(records);
    expect(failedIds(captured)).toEqual(records.map((r) => r.messageId));
    expect(joined(captured)).toMatch(/ECONNREFUSED/);
    expectNamedFailures(captured, 2);
    expectNoCanary(captured.lines);
  });

  it('a call that times out (the import is left unanswered, then cancelled)', async () => {
    typesense.stallNext(10);
    const captured = await indexer()([trigger(owner)]);
    expect(failedIds(captured)).toHaveLength(1);
    expect(joined(captured)).toMatch(/took over 150 ms; the request was cancelled/);
    expectNamedFailures(captured);
    expectNoCanary(captured.lines);
  });

  it.each([
    [401, /refused the API key \(HTTP 401\)/],
    [403, /refused the API key \(HTTP 403\)/],
    [404, /HTTP code 404/],
    [429, /HTTP code 429 \| Server said: Rate limit exceeded/],
    [503, /HTTP code 503 \| Server said: Not Ready or Lagging/],
  ])('HTTP %i on the import (the error carries the JSONL body and the request headers)', async (status, reason) => {
    typesense.failNext(20, status);
    const captured = await indexer()([trigger(owner), trigger(other)]);
    expect(failedIds(captured)).toHaveLength(2);
    expect(joined(captured)).toMatch(reason);
    expectNamedFailures(captured, 2);
    expectNoCanary(captured.lines);
  });

  it('HTTP 503 on a delete, and on the retrieve that follows a 404', async () => {
    await table.doc.send(new DeleteCommand({ TableName: table.tableName, Key: key(other) }));
    try {
      typesense.failNext(20, 503);
      const captured = await indexer()([trigger(other, 'delete')]);
      expect(failedIds(captured)).toHaveLength(1);
      expectNamedFailures(captured);
      expectNoCanary(captured.lines);
    } finally {
      await table.doc.send(new PutCommand({ TableName: table.tableName, Item: other }));
    }
  });

  it('an import that succeeds for some documents only (the failed line echoes its document)', async () => {
    typesense.rejectDocument('faa.N2', 'Field `owner_name` must be a string.');
    const records = [trigger(owner), trigger(other)];
    const captured = await indexer()(records);
    expect(failedIds(captured)).toEqual([records[1]!.messageId]);
    expect(joined(captured)).toMatch(/Typesense rejected the document: Field `owner_name` must be a string/);
    expectNamedFailures(captured);
    expectNoCanary(captured.lines);
  });

  it('the secret cannot be read: the line names the secret ARN, never a key', async () => {
    secretMode = 'denied';
    const captured = await indexer()([trigger(owner)]);
    expect(failedIds(captured)).toHaveLength(1);
    expect(joined(captured)).toContain(`the Typesense API key secret ${ARN} could not be used: GetSecretValue failed: AccessDeniedException`);
    expect(typesense.requests()).toEqual([]);
    expectNamedFailures(captured);
    expectNoCanary(captured.lines);
  });

  it('messages that cannot be read, whose bodies hold row values', async () => {
    const v1 = { v: 7, document: canaryAttributes, collection: 'registry', id: 'faa.N1' };
    const records = [sqsRecord(`${CANARY.body} ${CANARY.owner}`, 'g1'), sqsRecord(v1, 'g2'), sqsRecord({ ...triggerBody(key(owner)), hint: CANARY.city }, 'g3')];
    const captured = await indexer()(records);
    expect(failedIds(captured)).toEqual(records.map((r) => r.messageId));
    expect(joined(captured)).toMatch(/body is not JSON \(\d+ characters\)/);
    expectNamedFailures(captured, 3);
    expectNoCanary(captured.lines);
  });

  it('a row that cannot be projected because of a canary value of the wrong type', async () => {
    const broken = faaRow('N3', { ...canaryAttributes, year_manufactured: CANARY.owner });
    await table.doc.send(new PutCommand({ TableName: table.tableName, Item: broken }));
    const captured = await indexer()([trigger(broken)]);
    expect(failedIds(captured)).toHaveLength(1);
    expect(joined(captured)).toMatch(/cannot be projected \(attribute year_manufactured: expected a number, got string\)/);
    expectNamedFailures(captured);
    expectNoCanary(captured.lines);
  });

  it('the DynamoDB read fails: an SDK error carrying the response, and a real one (no such table)', async () => {
    const leaky = Object.assign(new Error('Internal server error'), {
      name: 'InternalServerError',
      $fault: 'server',
      $metadata: { httpStatusCode: 500 },
      $response: { body: JSON.stringify({ Responses: { t: [{ owner_name: { S: CANARY.owner } }] } }) },
      Item: { city: { S: CANARY.city } },
    });
    const failing = await indexer({ ddb: { send: async () => Promise.reject(leaky) } })([trigger(owner)]);
    expect(failedIds(failing)).toHaveLength(1);
    expect(joined(failing)).toMatch(/reading the row failed/);
    expectNamedFailures(failing);
    expectNoCanary(failing.lines);

    const missing = await indexer({ ddb: { send: (c: BatchGetItemCommand) => table.client.send(new BatchGetItemCommand({ RequestItems: { nope: c.input.RequestItems![table.tableName]! } })) } })([trigger(owner)]);
    expect(failedIds(missing)).toHaveLength(1);
    expect(joined(missing)).toMatch(/ResourceNotFoundException/);
    expectNoCanary(missing.lines);
  });
});

describe('through lambda/typesense-indexer/index.ts (the entry, its own retry policy)', () => {
  /** Loads index.ts with its configuration (DEBUG logs) and runs one batch through it; the environment is restored after. */
  async function throughEntry(nodes: string, records: SQSRecord[]) {
    const saved = { ...process.env };
    Object.assign(process.env, lambdaEnvFor(table), {
      TYPESENSE_NODES: nodes,
      TYPESENSE_API_KEY_SECRET_ARN: ARN,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsUrl,
      POWERTOOLS_LOG_LEVEL: 'DEBUG',
    });
    try {
      let handler: (e: unknown) => Promise<{ batchItemFailures: { itemIdentifier: string }[] }> = async () => ({ batchItemFailures: [] });
      jest.isolateModules(() => {
        handler = require('../../lambda/typesense-indexer/index').handler;
      });
      return await captureOutput(() => handler({ Records: records }));
    } finally {
      process.env = saved;
    }
  }

  it('connection refused after the retries, and an unreadable secret', async () => {
    const closed = await startLocalTypesense();
    await closed.stop();
    const refused = await throughEntry(closed.url, [trigger(owner)]);
    expect(failedIds(refused)).toHaveLength(1);
    expect(joined(refused)).toMatch(/ECONNREFUSED/);
    expectNamedFailures(refused);
    expectNoCanary(refused.lines);

    secretMode = 'denied';
    const denied = await throughEntry(typesense.url, [trigger(owner)]);
    expect(failedIds(denied)).toHaveLength(1);
    expect(joined(denied)).toContain(ARN);
    expectNoCanary(denied.lines);
  });
});

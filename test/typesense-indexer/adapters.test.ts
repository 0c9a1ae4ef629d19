/**
 * The indexer's adapters and entry: BatchGetItem (DynamoDB Local), the cached API key, the
 * Lambda entry end to end (a stand-in Secrets Manager endpoint and the local Typesense
 * stand-in; no real Typesense or Secrets Manager runs in CI), and the pure batch logic.
 */
import { BatchGetItemCommand, type BatchGetItemCommandOutput } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collapse, failedMessages, type BatchMessage } from '../../lambda/typesense-indexer/plan';
import { parseTrigger } from '../../lambda/typesense-indexer/message';
import { DEFAULT_INDEXER_RETRY } from '../../lambda/typesense-indexer/retry';
import { readRows } from '../../lambda/typesense-indexer/rows';
import { CachedSecret, secretMaxAgeMs } from '../../lambda/typesense-indexer/secret';
import { exportIndex } from '../../local/pipeline';
import { startLocalTypesense } from '../../local/typesense-server';
import { typesenseClient } from '../../lambda/typesense-indexer/search';
import { createTestTable, lambdaEnvFor } from '../support/dynamodb';
import { faaRow } from '../typesense-sync/support/rows';
import { sqsRecord, triggerBody } from './support';
import { PutCommand } from '@aws-sdk/lib-dynamodb';

const policy = { ...DEFAULT_INDEXER_RETRY, sleep: async () => undefined };

describe('readRows (BatchGetItem on DynamoDB Local)', () => {
  it('reads 150 keys in 2 strongly consistent calls of ≤ 100; missing rows are absent', async () => {
    const table = await createTestTable('rows');
    try {
      for (let i = 0; i < 120; i += 1) await table.doc.send(new PutCommand({ TableName: table.tableName, Item: faaRow(`N${i}`) }));
      const calls: number[] = [];
      const ddb = { send: (c: BatchGetItemCommand) => (calls.push(c.input.RequestItems![table.tableName]!.Keys!.length), table.client.send(c)) };
      const keys = Array.from({ length: 150 }, (_, i) => ({ PK: 'AIRCRAFT#REGISTRY#FAA', SK: `DETAIL#N${i}` }));
      const rows = await readRows(ddb, table.tableName, keys, policy);
      expect(calls).toEqual([100, 50]);
      expect(rows.size).toBe(120);
    } finally {
      await table.drop();
    }
  });

  it('retries UnprocessedKeys with backoff, and fails naming a key when they never clear', async () => {
    const sleeps: number[] = [];
    const key = { PK: { S: 'AIRCRAFT#REGISTRY#FAA' }, SK: { S: 'DETAIL#N1' } };
    let call = 0;
    const ddb = {
      send: async (): Promise<BatchGetItemCommandOutput> => {
        call += 1;
        return call === 1
          ? { $metadata: {}, Responses: { t: [] }, UnprocessedKeys: { t: { Keys: [key] } } }
          : { $metadata: {}, Responses: { t: [{ ...key, registration: { S: 'N1' } }] }, UnprocessedKeys: {} };
      },
    };
    const rows = await readRows(ddb, 't', [{ PK: 'AIRCRAFT#REGISTRY#FAA', SK: 'DETAIL#N1' }], { ...policy, random: () => 0.5, sleep: async (ms) => void sleeps.push(ms) });
    expect(rows.size).toBe(1);
    expect(sleeps).toEqual([75]);
    const stuck = { send: async (): Promise<BatchGetItemCommandOutput> => ({ $metadata: {}, UnprocessedKeys: { t: { Keys: [key] } } }) };
    await expect(readRows(stuck, 't', [{ PK: 'AIRCRAFT#REGISTRY#FAA', SK: 'DETAIL#N1' }], policy)).rejects.toThrow(/unprocessed after 5 attempts \(first: PK=AIRCRAFT#REGISTRY#FAA SK=DETAIL#N1\)/);
  });
});

describe('CachedSecret', () => {
  /** A Secrets Manager stand-in that counts reads; `fail` makes the next reads throw an SDK-shaped error. */
  function secretsStandIn(initial = ' key-123 \n') {
    const sent: unknown[] = [];
    const state = { value: initial, fail: undefined as Error | undefined };
    const client = {
      send: async (c: GetSecretValueCommand) => {
        sent.push(c.input.SecretId);
        if (state.fail) throw state.fail;
        return { $metadata: {}, SecretString: state.value };
      },
    };
    return { client, sent, state };
  }

  it('reads the SecretString once within its max age; a failed read is retried next time, naming the secret', async () => {
    const { client, sent, state } = secretsStandIn();
    state.fail = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 }, $retryable: { throttling: true } });
    const key = new CachedSecret(client, 'arn:secret');
    await expect(key.get()).rejects.toThrow('the Typesense API key secret arn:secret could not be used: GetSecretValue failed: ThrottlingException: Rate exceeded');
    state.fail = undefined;
    expect(await key.get()).toBe('key-123');
    expect(await key.get()).toBe('key-123');
    expect(sent).toEqual(['arn:secret', 'arn:secret']);
  });

  it('reads again once the key is older than the max age (a rotation reaches warm containers)', async () => {
    const { client, sent, state } = secretsStandIn('k1');
    let now = 0;
    const key = new CachedSecret(client, 'arn:secret', { maxAgeMs: 300_000, now: () => now });
    expect(await key.get()).toBe('k1');
    state.value = 'k2';
    now = 299_999;
    expect(await key.get()).toBe('k1');
    now = 300_000;
    expect(await key.get()).toBe('k2');
    expect(sent).toHaveLength(2);
  });

  it('refresh() reads again at once, but not twice within the minimum interval; concurrent uses share one read', async () => {
    const { client, sent, state } = secretsStandIn('k1');
    let now = 0;
    const key = new CachedSecret(client, 'arn:secret', { maxAgeMs: 300_000, minForcedRefreshMs: 10_000, now: () => now });
    expect(await Promise.all([key.get(), key.get()])).toEqual(['k1', 'k1']);
    expect(sent).toHaveLength(1);
    state.value = 'k2';
    now = 5_000;
    expect(await key.refresh()).toBe('k1'); // read 5 s ago: not again
    now = 10_000;
    expect(await key.refresh()).toBe('k2');
    expect(sent).toHaveLength(2);
  });

  it('an empty secret is an error naming the secret, never a value', async () => {
    const key = new CachedSecret({ send: async () => ({ $metadata: {}, SecretString: '  ' }) }, 'arn:empty');
    await expect(key.get()).rejects.toThrow(/secret arn:empty could not be used: it has no SecretString/);
  });

  it('TYPESENSE_API_KEY_MAX_AGE_SECONDS: default 300 s, 0 allowed, anything else not a whole number refused', () => {
    expect(secretMaxAgeMs({})).toBe(300_000);
    expect(secretMaxAgeMs({ TYPESENSE_API_KEY_MAX_AGE_SECONDS: '0' })).toBe(0);
    expect(secretMaxAgeMs({ TYPESENSE_API_KEY_MAX_AGE_SECONDS: ' 60 ' })).toBe(60_000);
    expect(() => secretMaxAgeMs({ TYPESENSE_API_KEY_MAX_AGE_SECONDS: '5m' })).toThrow(/whole number of seconds/);
  });
});

describe('the pure batch logic', () => {
  const ok = (id: string, group = id): BatchMessage => ({ messageId: id, groupId: group, trigger: parseTrigger(JSON.stringify(triggerBody({ PK: 'AIRCRAFT#REGISTRY#FAA', SK: `DETAIL#${group}` })), id, group) });
  const bad = (id: string, group: string): BatchMessage => ({ messageId: id, groupId: group, trigger: { error: new Error('bad') } });

  it('failedMessages: a failure takes every later message of its group, never earlier ones or other groups', () => {
    const batch = [ok('1', 'A'), ok('2', 'B'), ok('3', 'A'), ok('4', 'A'), ok('5', 'C')];
    expect(failedMessages(batch, new Set([2]))).toEqual(['3', '4']);
    expect(failedMessages(batch, new Set([1, 4]))).toEqual(['2', '5']);
    expect(failedMessages(batch, new Set())).toEqual([]);
  });

  it('collapse: one target per document, later messages of a group after a bad one left out', () => {
    const batch = [ok('1', 'A'), ok('2', 'B'), ok('3', 'A'), bad('4', 'B'), ok('5', 'B')];
    expect(collapse(batch).map((t) => [t.id, t.messages])).toEqual([
      ['faa.A', [0, 2]],
      ['faa.B', [1]],
    ]);
  });
});

describe('lambda/typesense-indexer/index.ts (the entry)', () => {
  it('fails at init naming a missing variable', () => {
    const saved = { ...process.env };
    try {
      delete process.env.TABLE_NAME;
      jest.isolateModules(() => expect(() => require('../../lambda/typesense-indexer/index')).toThrow(/TABLE_NAME/));
      process.env.TABLE_NAME = 't';
      delete process.env.TYPESENSE_NODES;
      jest.isolateModules(() => expect(() => require('../../lambda/typesense-indexer/index')).toThrow(/TYPESENSE_NODES/));
    } finally {
      process.env = saved;
    }
  });

  it('reads the API key from Secrets Manager once, then indexes through the configured endpoints', async () => {
    const table = await createTestTable('indexer-entry');
    const typesense = await startLocalTypesense({ apiKey: 'secret-key-1' });
    const secretCalls: string[] = [];
    const secrets = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        secretCalls.push(`${req.headers['x-amz-target']} ${JSON.parse(body).SecretId}`);
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify({ ARN: 'arn:aws:secretsmanager:us-east-1:0:secret:ts', SecretString: 'secret-key-1' }));
      });
    });
    await new Promise<void>((r) => secrets.listen(0, '127.0.0.1', () => r()));
    const saved = { ...process.env };
    Object.assign(process.env, lambdaEnvFor(table), {
      TYPESENSE_NODES: ` ${typesense.url} `,
      TYPESENSE_API_KEY_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:0:secret:ts',
      AWS_ENDPOINT_URL_SECRETS_MANAGER: `http://127.0.0.1:${(secrets.address() as AddressInfo).port}`,
    });
    try {
      await table.doc.send(new PutCommand({ TableName: table.tableName, Item: faaRow('N1') }));
      let handler: (e: unknown) => Promise<{ batchItemFailures: unknown[] }> = async () => ({ batchItemFailures: [] });
      jest.isolateModules(() => {
        handler = require('../../lambda/typesense-indexer/index').handler;
      });
      const event = { Records: [sqsRecord(triggerBody({ PK: 'AIRCRAFT#REGISTRY#FAA', SK: 'DETAIL#N1' }))] };
      expect(await handler(event)).toEqual({ batchItemFailures: [] });
      expect(await handler(event)).toEqual({ batchItemFailures: [] });
      expect(secretCalls).toEqual(['secretsmanager.GetSecretValue arn:aws:secretsmanager:us-east-1:0:secret:ts']);
      const index = await exportIndex(typesenseClient([typesense.url], 'secret-key-1'));
      expect([...index.get('registry')!.keys()]).toEqual(['faa.N1']);
    } finally {
      process.env = saved;
      await new Promise((r) => secrets.close(r));
      await typesense.stop();
      await table.drop();
    }
  });
});

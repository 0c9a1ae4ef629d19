import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { randomUUID } from 'node:crypto';
import { localClientConfig } from '../../local/dynamodb-local';
import { createTable } from '../../local/table-io';

export interface TestTable {
  readonly tableName: string;
  readonly endpoint: string;
  readonly client: DynamoDBClient;
  readonly doc: DynamoDBDocumentClient;
  drop(): Promise<void>;
}

export function localEndpoint(): string {
  const endpoint = process.env.DYNAMODB_LOCAL_ENDPOINT;
  if (!endpoint) throw new Error('DYNAMODB_LOCAL_ENDPOINT is not set: run through jest (global setup starts DynamoDB Local)');
  return endpoint;
}

/** A fresh table with the stack's definition (PK/SK, stream NEW_AND_OLD_IMAGES) on DynamoDB Local. */
export async function createTestTable(prefix = 'test', endpoint = localEndpoint()): Promise<TestTable> {
  const client = new DynamoDBClient(localClientConfig(endpoint));
  const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  const tableName = `${prefix}-${randomUUID().slice(0, 8)}`;
  await createTable(client, tableName);
  return {
    tableName,
    endpoint,
    client,
    doc,
    drop: async () => {
      await client.send(new DeleteTableCommand({ TableName: tableName }));
      client.destroy();
    },
  };
}

/** The environment a Lambda entry point (index.ts or its bundle) needs to run against this table. */
export function lambdaEnvFor(table: TestTable): Record<string, string> {
  return {
    TABLE_NAME: table.tableName,
    AWS_ENDPOINT_URL_DYNAMODB: table.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
  };
}

/** A document client on `endpoint` that counts requests per command (tests and `npm run bench` measure request costs with it). */
export function countingDoc(endpoint: string) {
  const client = new DynamoDBClient(localClientConfig(endpoint));
  const counts: Record<string, number> = {};
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = String(context.commandName).replace(/Command$/, '');
      counts[name] = (counts[name] ?? 0) + 1;
      return next(args);
    },
    { step: 'initialize', name: 'countRequests' },
  );
  const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  return {
    doc,
    client,
    counts,
    total: () => Object.values(counts).reduce((a, b) => a + b, 0),
    reset: () => Object.keys(counts).forEach((k) => delete counts[k]),
    destroy: () => client.destroy(),
  };
}

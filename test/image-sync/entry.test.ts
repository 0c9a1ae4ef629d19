/**
 * The deployable entry (lambda/image-sync/index.ts): configuration is checked at init, and the
 * SDK client takes its endpoint from the standard configuration (AWS_ENDPOINT_URL_DYNAMODB).
 */
import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { createTestTable, lambdaEnvFor, type TestTable } from '../support/dynamodb';
import { streamEvent } from '../support/events';
import { imageRow, newEntity, pointerFor, readPointer, tableWriter } from './helpers';

type Handler = (event: DynamoDBStreamEvent, context?: Context) => Promise<DynamoDBBatchResponse>;

const ENV_KEYS = ['TABLE_NAME', 'AWS_ENDPOINT_URL_DYNAMODB', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'POWERTOOLS_LOG_LEVEL'];
const saved = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]));
afterEach(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

const loadEntry = (): { handler: Handler } => {
  let entry: { handler: Handler } | undefined;
  jest.isolateModules(() => {
    entry = require('../../lambda/image-sync/index');
  });
  return entry!;
};

describe('image-sync entry', () => {
  it('fails at init, naming TABLE_NAME, when it is missing', () => {
    delete process.env.TABLE_NAME;
    expect(loadEntry).toThrow('Missing required environment variable TABLE_NAME');
  });

  it('reaches the table through AWS_ENDPOINT_URL_DYNAMODB alone', async () => {
    const table: TestTable = await createTestTable('image-entry');
    try {
      Object.assign(process.env, lambdaEnvFor(table), { POWERTOOLS_LOG_LEVEL: 'SILENT' });
      const { handler } = loadEntry();
      const entity = newEntity('ICAO');
      const record = await tableWriter(table).put(imageRow(entity, 1));
      expect(await handler(streamEvent(record))).toEqual({ batchItemFailures: [] });
      expect(await readPointer(table, entity)).toMatchObject({ ...pointerFor(imageRow(entity, 1)), updated_at: expect.any(String) });
    } finally {
      await table.drop();
    }
  });
});

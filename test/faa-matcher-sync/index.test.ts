import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { createTestTable, lambdaEnvFor, type TestTable } from '../support/dynamodb';
import { insertRecord, streamEvent } from '../support/events';
import { linkRow, putLink, readState } from './helpers';

/** The deployable entry point: configuration at init, SDK client from the standard configuration. */
describe('faa-matcher-sync entry point (index.ts)', () => {
  let table: TestTable;
  const saved = { ...process.env };
  beforeAll(async () => {
    table = await createTestTable('matcher-index');
  });
  afterAll(() => table.drop());
  afterEach(() => {
    process.env = { ...saved };
  });

  const load = () => {
    let mod: { handler: (e: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse> } | undefined;
    jest.isolateModules(() => {
      mod = require('../../lambda/faa-matcher-sync/index');
    });
    return mod!;
  };

  it('fails at init, naming TABLE_NAME, when it is missing', () => {
    delete process.env.TABLE_NAME;
    expect(load).toThrow('Missing required environment variable TABLE_NAME');
  });

  it('runs against whatever endpoint the SDK configuration names (here DynamoDB Local)', async () => {
    Object.assign(process.env, lambdaEnvFor(table), { POWERTOOLS_LOG_LEVEL: 'SILENT' });
    const { handler } = load();
    const link = linkRow('IDX', '1', { type_designator: 'IDX1', manufacturer: 'Cessna', model: '172' });
    await putLink(table.doc, table.tableName, link);
    const rec = insertRecord(link);
    expect(await handler(streamEvent(rec))).toEqual({ batchItemFailures: [] });
    expect((await readState(table.doc, table.tableName)).counts).toEqual({ 'ICAO#MATCHER#IDX1|MFR#Cessna#MODEL#172': 1 });
  });
});

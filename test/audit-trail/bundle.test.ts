/**
 * The audit-trail bundle as Lambda runs it: built by buildFunctionBundle, loaded in a plain
 * Node process with only environment configuration, writing to a history table on DynamoDB
 * Local through AWS_ENDPOINT_URL_DYNAMODB. It carries no code to decrypt (the function may not).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildFunctionBundle } from '../../lib/bundling';
import { insertRecord, streamEvent } from '../support/events';
import { createHistoryTable, type HistoryTable } from './support';

describe('audit-trail bundle', () => {
  let table: HistoryTable;
  let file: string;
  let dir: string;
  beforeAll(async () => {
    table = await createHistoryTable();
    dir = mkdtempSync(join(tmpdir(), 'audit-bundle-'));
    buildFunctionBundle('audit-trail', dir);
    file = join(dir, 'index.js');
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await table.drop();
  });

  const run = (event: unknown, env: Record<string, string>) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile(process.execPath, ['-e', `require(${JSON.stringify(file)}).handler(JSON.parse(process.argv[1])).then((r) => console.log(JSON.stringify(r)))`, JSON.stringify(event)], { env: { PATH: process.env.PATH, ...env } }, (error, stdout, stderr) =>
        resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
      ),
    );
  const env = () => ({
    HISTORY_TABLE_NAME: table.tableName,
    AUDIT_KMS_KEY_ID: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    AWS_ENDPOINT_URL_DYNAMODB: table.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  });

  it('loads with its environment and writes the history of a row without personal fields (no KMS call needed)', async () => {
    const row = { PK: 'ICAO#AIRCRAFT', SK: 'TYPE#B738', type_designator: 'B738', manufacturer: 'BOEING', model: '737-800' };
    const result = await run(streamEvent(insertRecord(row)), env());
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout.trim().split('\n').pop()!)).toEqual({ batchItemFailures: [] });
    expect(await table.history(row)).toEqual([expect.objectContaining({ event: 'insert', diff: { added: { type_designator: { v: 'B738' }, manufacturer: { v: 'BOEING' }, model: { v: '737-800' } }, removed: {}, changed: {} } })]);
  });

  it('fails at load naming a missing setting', async () => {
    const { AUDIT_KMS_KEY_ID: _, ...rest } = env();
    const result = await run(streamEvent(), rest);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('Missing required environment variable AUDIT_KMS_KEY_ID');
  });

  it('holds KMS GenerateDataKey and no Decrypt', () => {
    const text = readFileSync(file, 'utf8');
    // The SDK names each bundled operation by a string constant.
    expect(text).toContain('"GenerateDataKey"');
    expect(text).not.toContain('"Decrypt"');
  });
});

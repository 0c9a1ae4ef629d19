import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { execFile } from 'node:child_process';
import { buildSync } from 'esbuild';
import { BUNDLE, esbuildOptions } from '../../lib/bundling';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestTable, lambdaEnvFor, type TestTable } from '../support/dynamodb';
import { insertRecord, streamEvent } from '../support/events';

/**
 * The artefact Lambda runs: the entry bundled by esbuild with lib/bundling.ts's BUNDLE, the
 * options the StreamFunction construct deploys. It must load and work with only environment
 * configuration: the same bundle runs against AWS or DynamoDB Local.
 */
describe('deployable bundle', () => {
  let table: TestTable;
  let dir: string;
  const saved = { ...process.env };

  beforeAll(async () => {
    table = await createTestTable('bundle');
    dir = mkdtempSync(join(tmpdir(), 'bundle-'));
  });
  afterAll(async () => {
    process.env = saved;
    rmSync(dir, { recursive: true, force: true });
    await table.drop();
  });

  const bundle = (subsystem: string) => {
    const outfile = join(dir, subsystem, 'index.js');
    buildSync(esbuildOptions(BUNDLE, join(__dirname, '..', '..', 'lambda', subsystem, 'index.ts'), outfile));
    return outfile;
  };

  it('image-sync: bundles, reads its config from env and reconciles through AWS_ENDPOINT_URL_DYNAMODB', async () => {
    const file = bundle('image-sync');
    const image = { PK: 'IMAGES#ORG#SYSTEM#ENTITY#ICAO#ID#B738', SK: 'IMG#2026-01-01#1', org_id: 'SYSTEM', entity_type: 'ICAO', entity_id: 'B738', image_id: 'i1', url: 'https://x/1.jpg' };
    await table.doc.send(new PutCommand({ TableName: table.tableName, Item: image }));
    // In a plain Node process, as Lambda runs it: the SDK's ESM build uses dynamic import(), which jest's VM lacks.
    const script = `require(${JSON.stringify(file)}).handler(JSON.parse(process.argv[1])).then((r) => console.log(JSON.stringify(r)))`;
    const out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['-e', script, JSON.stringify(streamEvent(insertRecord(image)))], { env: { PATH: process.env.PATH, ...lambdaEnvFor(table) } }, (error, stdout, stderr) =>
        error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout),
      ),
    );
    expect(JSON.parse(out.trim().split('\n').pop()!)).toEqual({ batchItemFailures: [] });
    const pointer = await table.doc.send(new GetCommand({ TableName: table.tableName, Key: { PK: image.PK, SK: 'DEFAULT' }, ConsistentRead: true }));
    expect(pointer.Item).toMatchObject({ image_sk: image.SK, url: image.url });
  });

  it('typesense-sync: a bundle without TYPESENSE_QUEUE_URL fails at load, naming the variable', () => {
    const file = bundle('typesense-sync');
    delete process.env.TYPESENSE_QUEUE_URL;
    expect(() => require(file)).toThrow('Missing required environment variable TYPESENSE_QUEUE_URL');
  });
});

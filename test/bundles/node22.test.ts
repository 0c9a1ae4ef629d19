import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUNDLE_ENTRIES, buildBundle, lambdaEnv, loadBundle, requiredEnv } from '../../bench/bundles';
import { BUNDLE } from '../../lib/bundling';
import { ensureNode22, node22Unavailable } from '../../local/node22';
import { createTestTable, lambdaEnvFor } from '../support/dynamodb';
import { insertRecord, streamEvent } from '../support/events';

/**
 * The deployed bundles (lib/bundling.ts BUNDLE), built from source and loaded on Node 22, the
 * Lambda runtime's version: each exports a handler function with only its environment set, and
 * fails at load naming a required variable that is missing. Sizes and times are the bench's.
 */
const skip = node22Unavailable();
/** What each entry checks at init, at least (a missing variable fails the function at load; the scan may find more). */
const KNOWN_REQUIRED: Record<string, string[]> = {
  'typesense-sync': ['TYPESENSE_QUEUE_URL'],
  'image-sync': ['TABLE_NAME'],
  'faa-matcher-sync': ['TABLE_NAME'],
  'typesense-indexer': ['TABLE_NAME'],
};
if (skip) console.log(`skipped: ${skip}`);

(skip ? describe.skip : describe)('Lambda bundles on Node 22', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'bundles-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('every entry bundles cleanly, loads with its handler and names a missing required variable', () => {
    const node = ensureNode22();
    expect(BUNDLE_ENTRIES).toEqual(expect.arrayContaining(['typesense-sync', 'image-sync', 'faa-matcher-sync']));
    for (const entry of BUNDLE_ENTRIES) {
      const bundle = buildBundle(entry, BUNDLE, dir);
      expect({ entry, warnings: bundle.warnings, duplicates: bundle.duplicates }).toEqual({ entry, warnings: [], duplicates: [] });
      // The options did what they are for: no default credential chain (STS/SSO clients), no CJS-only SDK code.
      expect(bundle.packages).toContain('@aws-sdk/credential-provider-env');
      expect(bundle.packages).not.toEqual(expect.arrayContaining(['@aws-sdk/credential-provider-node']));
      expect(bundle.packages).not.toEqual(expect.arrayContaining(['@aws-sdk/nested-clients']));
      expect(bundle.packages).not.toEqual(expect.arrayContaining(['bowser']));

      const env = lambdaEnv(entry, BUNDLE);
      expect(env.NODE_OPTIONS).toBeUndefined();
      expect(loadBundle(node, bundle.file, env)).toBeGreaterThan(0);
      const required = requiredEnv(entry);
      expect(required).toEqual(expect.arrayContaining(KNOWN_REQUIRED[entry] ?? []));
      for (const name of required) {
        const { [name]: _dropped, ...without } = env;
        expect(() => loadBundle(node, bundle.file, without)).toThrow(`Missing required environment variable ${name}`);
      }
    }
  });

  it('image-sync signs with the environment credentials (the aliased provider) and reconciles through DynamoDB Local; without them it fails the record', async () => {
    const node = ensureNode22();
    const table = await createTestTable('bundle22');
    try {
      const bundle = buildBundle('image-sync', BUNDLE, join(dir, 'invoke'));
      const invoke = (env: Record<string, string>, event: unknown) => {
        // A batch whose every record failed rejects (Powertools' FullBatchFailureError), so bisect-on-error can split it.
        const report = (key: string) => `(r) => process.stderr.write('RESULT' + JSON.stringify({ ${key} }))`;
        const script = `require(${JSON.stringify(bundle.file)}).handler(${JSON.stringify(event)}).then(${report('response: r')}, ${report('rejected: r.name')})`;
        const run = spawnSync(node, ['-e', script], { env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'ERROR', ...env }, encoding: 'utf8' });
        const result = /RESULT(.*)$/.exec(run.stderr)?.[1];
        if (run.status !== 0 || !result) throw new Error(`invoke failed: ${run.stderr}`);
        return { ...(JSON.parse(result) as { response?: { batchItemFailures: unknown[] }; rejected?: string }), logs: run.stdout + run.stderr };
      };
      const image = (id: string) => ({ PK: `IMAGES#ORG#SYSTEM#ENTITY#ICAO#ID#${id}`, SK: 'IMG#2026-01-01#1', org_id: 'SYSTEM', entity_type: 'ICAO', entity_id: id, image_id: 'i1', url: `https://x/${id}.jpg` });
      const pointer = async (pk: string) => (await table.doc.send(new GetCommand({ TableName: table.tableName, Key: { PK: pk, SK: 'DEFAULT' }, ConsistentRead: true }))).Item;

      const signed = image('B738');
      await table.doc.send(new PutCommand({ TableName: table.tableName, Item: signed }));
      expect(invoke(lambdaEnvFor(table), streamEvent(insertRecord(signed))).response).toEqual({ batchItemFailures: [] });
      expect(await pointer(signed.PK)).toMatchObject({ image_sk: signed.SK, url: signed.url });

      const unsigned = image('A320');
      await table.doc.send(new PutCommand({ TableName: table.tableName, Item: unsigned }));
      const { AWS_ACCESS_KEY_ID: _id, AWS_SECRET_ACCESS_KEY: _secret, ...noCredentials } = lambdaEnvFor(table);
      const failed = invoke(noCredentials, streamEvent(insertRecord(unsigned)));
      expect(failed.rejected).toBe('FullBatchFailureError');
      expect(failed.logs).toContain('Unable to find environment variable credentials');
      expect(await pointer(unsigned.PK)).toBeUndefined();
    } finally {
      await table.drop();
    }
  });
});

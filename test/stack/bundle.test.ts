import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { App } from 'aws-cdk-lib';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBundle } from '../../bench/bundles';
import { BUNDLE, buildFunctionBundle } from '../../lib/bundling';
import { functionCode } from '../../lib/function-code';
import { FUNCTION_NAMES } from '../../lib/function-names';
import { PACKAGE_NAME } from '../../lib/paths';
import { StreamFanoutStack } from '../../lib/stream-fanout-stack';
import { buildBundles } from '../../local/build/build';
import { createTestTable, lambdaEnvFor, type TestTable } from '../support/dynamodb';
import { insertRecord, streamEvent } from '../support/events';
import { CDK_JSON_CONTEXT } from './synth';

const ROOT = join(__dirname, '..', '..');
const INDEXER = { typesenseNodes: ['https://search.example.com'], typesenseApiKeySecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:ts-AbCdEf' };

/**
 * The artefact Lambda runs: each entry bundled by buildFunctionBundle with BUNDLE. `npm run build`
 * ships it (bundles/), a synth in this repository deploys it, the benchmark measures it: one set of
 * options, the same bytes. It must load and work with only environment configuration.
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

  const bundle = (name: (typeof FUNCTION_NAMES)[number]) => {
    buildFunctionBundle(name, join(dir, name));
    return join(dir, name, 'index.js');
  };

  it('lists every function entry: each lambda/<name>/index.ts is in FUNCTION_NAMES, and each name has one', () => {
    const entries = readdirSync(join(ROOT, 'lambda'), { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(join(ROOT, 'lambda', d.name, 'index.ts')))
      .map((d) => d.name);
    expect([...FUNCTION_NAMES].sort()).toEqual(entries.sort());
  });

  it('a synth in this repository deploys the bytes npm run build ships and npm run bench measures', () => {
    const shipped = join(dir, 'shipped');
    buildBundles(shipped);
    const outdir = join(dir, 'cdk.out');
    // Bundling on (no aws:cdk:bundling-stacks override): every function is bundled from source.
    const app = new App({ outdir, context: CDK_JSON_CONTEXT });
    new StreamFanoutStack(app, 'Bundled', { env: { account: '123456789012', region: 'eu-west-1' }, indexer: INDEXER });
    const template = app.synth().getStackByName('Bundled').template as { Resources: Record<string, { Type: string; Properties: Record<string, any> }> };
    const functions = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function');
    const deployed = Object.fromEntries(
      functions.map((f) => [f.Properties.Environment.Variables.POWERTOOLS_SERVICE_NAME as string, join(outdir, `asset.${(f.Properties.Code.S3Key as string).replace(/\.zip$/, '')}`)]),
    );
    // The three stream functions and the indexer at least; whatever else the stack deploys is checked the same way.
    expect(Object.keys(deployed)).toEqual(expect.arrayContaining(['typesense-sync', 'image-sync', 'faa-matcher-sync', 'typesense-indexer']));
    for (const name of Object.keys(deployed) as (typeof FUNCTION_NAMES)[number][]) {
      expect(FUNCTION_NAMES).toContain(name);
      const asset = deployed[name]!;
      expect({ name, files: readdirSync(asset).sort() }).toEqual({ name, files: ['index.js', 'index.js.map'] });
      const bytes = (file: string) => readFileSync(file).toString('base64');
      expect({ name, same: bytes(join(asset, 'index.js')) === bytes(join(shipped, name, 'index.js')) }).toEqual({ name, same: true });
      expect({ name, same: bytes(join(asset, 'index.js.map')) === bytes(join(shipped, name, 'index.js.map')) }).toEqual({ name, same: true });
      const benched = buildBundle(name, BUNDLE, join(dir, 'bench'));
      expect({ name, same: bytes(benched.file) === bytes(join(shipped, name, 'index.js')) }).toEqual({ name, same: true });
    }
  });

  it('an installed package (no sources) deploys bundles/<name> as it is, and names a missing bundle', () => {
    const installed = join(dir, 'installed');
    mkdirSync(join(installed, 'bundles', 'image-sync'), { recursive: true });
    writeFileSync(join(installed, 'package.json'), JSON.stringify({ name: PACKAGE_NAME }));
    writeFileSync(join(installed, 'bundles', 'image-sync', 'index.js'), 'exports.handler = async () => ({});\n');
    const code = functionCode('image-sync', installed) as unknown as { path: string; options: { bundling?: unknown } };
    expect(code.path).toBe(join(installed, 'bundles', 'image-sync'));
    expect(code.options.bundling).toBeUndefined();
    expect(() => functionCode('faa-matcher-sync', installed)).toThrow(
      `ddb-stream-fanout: no bundle for faa-matcher-sync: ${join(installed, 'bundles', 'faa-matcher-sync', 'index.js')} is missing (run npm run build in the package)`,
    );
  });

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

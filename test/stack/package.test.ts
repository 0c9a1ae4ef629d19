import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

/**
 * The package as another CDK app consumes it: `npm run build` compiles lib/ to dist/, and an
 * app outside this repository imports `ddb-stream-fanout` through package.json's exports and
 * adds StreamFanout to its own stack (the compiled code finds the lambda/ entries itself).
 */
describe('ddb-stream-fanout as a dependency', () => {
  let app: string;
  beforeAll(() => {
    execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'pipe' });
    app = mkdtempSync(join(tmpdir(), 'consumer-'));
    mkdirSync(join(app, 'node_modules'));
    symlinkSync(ROOT, join(app, 'node_modules', 'ddb-stream-fanout'));
    symlinkSync(join(ROOT, 'node_modules', 'aws-cdk-lib'), join(app, 'node_modules', 'aws-cdk-lib'));
  }, 240_000);
  afterAll(() => rmSync(app, { recursive: true, force: true }));

  it('resolves the export to the compiled construct and synthesises it in a foreign stack', () => {
    writeFileSync(
      join(app, 'app.js'),
      `const { App, Stack } = require('aws-cdk-lib');
       const dynamodb = require('aws-cdk-lib/aws-dynamodb');
       const { StreamFanout } = require('ddb-stream-fanout');
       const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
       const stack = new Stack(app, 'Consumer', { env: { account: '123456789012', region: 'eu-west-1' } });
       const table = dynamodb.Table.fromTableAttributes(stack, 'T', { tableName: 'platform', tableStreamArn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/platform/stream/x' });
       new StreamFanout(stack, 'Fanout', { table });
       const t = app.synth().getStackByName('Consumer').template;
       const count = (type) => Object.values(t.Resources).filter((r) => r.Type === type).length;
       console.log(JSON.stringify({ resolved: require.resolve('ddb-stream-fanout'), functions: count('AWS::Lambda::Function'), mappings: count('AWS::Lambda::EventSourceMapping'), tables: count('AWS::DynamoDB::Table') }));`,
    );
    const out = JSON.parse(execFileSync(process.execPath, ['app.js'], { cwd: app, encoding: 'utf8' }));
    expect(out).toEqual({ resolved: join(ROOT, 'dist', 'lib', 'index.js'), functions: 3, mappings: 3, tables: 0 });
  });

  it('packs the compiled construct, the function sources and the licence, not the tests', () => {
    const [pack] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
    const files: string[] = pack.files.map((f: { path: string }) => f.path);
    expect(files).toEqual(expect.arrayContaining(['dist/lib/index.js', 'dist/lib/index.d.ts', 'dist/ops/cli.js', 'ops/bin.cjs', 'lambda/typesense-indexer/index.ts', 'lambda/shared/env-credentials.ts', 'LICENSE', 'package.json']));
    expect(files.filter((f) => f.startsWith('test/') || f.startsWith('lib/'))).toEqual([]);
  });
});

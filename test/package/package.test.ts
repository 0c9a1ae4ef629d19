import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { loadBundle } from '../../bench/bundles';
import { FUNCTION_NAMES } from '../../lib/function-names';
import { ensureNode22, node22Unavailable } from '../../local/node22';
import { moduleGraph } from '../../local/build/module-graph';
import { copyWorkingTree, parsePack, ROOT, run } from './support';

/**
 * The package as a platform team gets it: `npm pack` of a fresh copy of this tree (prepack runs
 * the build), its listing reviewed, then a CDK app in a temporary folder with its own
 * package.json and package-lock.json installs the tarball and the peers (from the npm cache,
 * else the registry) and synthesises StreamFanout on an imported table with the CDK CLI.
 */
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
};
const MB = 1024 * 1024;
const STREAM_ARN = 'arn:aws:dynamodb:eu-west-1:123456789012:table/platform/stream/2026-01-01T00:00:00.000';
/** Loaded by the compiled construct only when lambda/<name>/index.ts exists (a synth in this repository); the tarball has no sources. */
const REPOSITORY_ONLY = ['esbuild'];

/**
 * The environment the template gives a function, as Lambda would set it: literal values as they
 * are, a stand-in of the right shape for each value CloudFormation resolves at deploy (a queue
 * URL, a table name).
 */
function functionEnv(variables: Record<string, unknown>): Record<string, string> {
  const standIn = (name: string) =>
    name.endsWith('_URL') ? 'https://sqs.eu-west-1.amazonaws.com/123456789012/stand-in.fifo' : name.endsWith('_ARN') ? 'arn:aws:sqs:eu-west-1:123456789012:stand-in' : 'stand-in';
  const env: Record<string, string> = { AWS_REGION: 'eu-west-1' };
  for (const [name, value] of Object.entries(variables)) env[name] = typeof value === 'string' ? value : standIn(name);
  return env;
}

let work: string;
let pack: ReturnType<typeof parsePack>;
let dryRun: string[];
let pkg: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'package-'));
  const tree = join(work, 'tree');
  copyWorkingTree(tree);
  pack = parsePack(run('npm', ['pack', '--json', '--pack-destination', work], { cwd: tree }), work);
  dryRun = parsePack(run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: tree }), work).files;
  mkdirSync(join(work, 'extracted'));
  run('tar', ['-xzf', pack.tarball, '-C', join(work, 'extracted')], { cwd: work });
  pkg = join(work, 'extracted', 'package');
}, 600_000);
afterAll(() => work && rmSync(work, { recursive: true, force: true }));

describe('npm pack', () => {
  it('lists exactly what ships: dist, bundles, docs, the ops bin, LICENSE, README, CHANGELOG', () => {
    expect(dryRun).toEqual(pack.files);
    const top = new Set(pack.files.map((f) => f.split('/')[0]));
    expect([...top].sort()).toEqual(['CHANGELOG.md', 'LICENSE', 'README.md', 'bundles', 'dist', 'docs', 'ops', 'package.json']);
    expect(pack.files.filter((f) => f.startsWith('ops/'))).toEqual(['ops/bin.cjs']);
    expect(pack.files.filter((f) => /(^|\/)(test|\.cache|node_modules|cdk\.out)\//.test(f) || /(?<!\.d)\.ts$/.test(f))).toEqual([]);
    expect(pack.files.filter((f) => f.startsWith('bundles/'))).toEqual(FUNCTION_NAMES.flatMap((n) => [`bundles/${n}/index.js`, `bundles/${n}/index.js.map`]).sort());
    expect(pack.files).toEqual(expect.arrayContaining(['docs/deploying.md', 'docs/ops-iam-policy.json', 'dist/lib/index.js', 'dist/lib/index.d.ts', 'dist/ops/cli.js', 'dist/ops/cli.d.ts']));
  });

  it('is below 5 MB', () => {
    expect(pack.size).toBeGreaterThan(0);
    expect(pack.size).toBeLessThan(5 * MB);
  });

  it('ships no compiled module that nothing imports, and depends on every package it requires at runtime', () => {
    const js = moduleGraph([join(pkg, 'dist/lib/index.js'), join(pkg, 'dist/ops/cli.js')], 'js');
    const compiled = pack.files.filter((f) => f.startsWith('dist/') && f.endsWith('.js'));
    expect(compiled.filter((f) => !js.files.has(join(pkg, f)))).toEqual([]);
    expect(pack.files.filter((f) => f.endsWith('.d.ts') && !pack.files.includes(f.replace(/\.d\.ts$/, '.js')))).toEqual([]);
    // Runtime: every package the compiled code requires is a dependency or a peer (never a dev dependency).
    const required = [...js.packages.keys()].filter((name) => !REPOSITORY_ONLY.includes(name)).sort();
    expect(required.filter((name) => !(name in PKG.dependencies) && !(name in PKG.peerDependencies))).toEqual([]);
    expect(Object.keys(PKG.peerDependencies).sort()).toEqual(['aws-cdk-lib', 'constructs']);
    // Types: what a consumer's compiler reads from the public entry points needs nothing beyond the peers and dependencies.
    const dts = moduleGraph([join(pkg, 'dist/lib/index.d.ts'), join(pkg, 'dist/ops/cli.d.ts')], 'dts');
    expect([...dts.packages.keys()].filter((name) => !(name in PKG.dependencies) && !(name in PKG.peerDependencies))).toEqual([]);
  });

  it("the construct's declarations name symbols, not source files the package does not ship", () => {
    const dts = moduleGraph([join(pkg, 'dist/lib/index.d.ts')], 'dts');
    const lines = [...dts.files].flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .filter((line) => /\b(bin|lib|lambda|ops|local|test|bench)\/[\w./-]+\.(ts|cjs)\b/.test(line))
        .map((line) => `${relative(pkg, file)}: ${line.trim()}`),
    );
    expect(lines).toEqual([]);
  });

  it('cites no design document outside the package, in any shipped file', () => {
    const citing = pack.files.filter((f) => /\.(js|ts|cjs|md|json)$/.test(f) && /DESIGN(\.md|\s*§)/.test(readFileSync(join(pkg, f), 'utf8')));
    expect(citing).toEqual([]);
  });

  it("package.json's types, exports and bin point at files in the tarball", () => {
    const manifest = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8'));
    expect(manifest.private).toBeUndefined();
    expect(manifest.version).toBe(PKG.version);
    const targets = [manifest.main, manifest.types, ...Object.values(manifest.bin as Record<string, string>), ...Object.values(manifest.exports as Record<string, string | Record<string, string>>).flatMap((e) => (typeof e === 'string' ? [e] : Object.values(e)))];
    expect(targets.map((t: string) => t.replace(/^\.\//, '')).filter((t: string) => !existsSync(join(pkg, t)))).toEqual([]);
  });
});

describe('a CDK app that installs the tarball', () => {
  let app: string;
  const templates: Record<string, { Resources: Record<string, { Type: string; Properties: Record<string, any> }> }> = {};

  beforeAll(() => {
    app = join(work, 'app');
    mkdirSync(app);
    const version = (name: string) => (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify({ name: 'platform-app', version: '1.0.0', private: true, dependencies: { 'ddb-stream-fanout': `file:${pack.tarball}`, 'aws-cdk-lib': version('aws-cdk-lib'), constructs: version('constructs') } }, null, 2),
    );
    run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: app });
    // The README's snippet, as JavaScript: an imported table, once without and once with the indexer.
    writeFileSync(
      join(app, 'app.js'),
      `const { App, Stack } = require('aws-cdk-lib');
       const dynamodb = require('aws-cdk-lib/aws-dynamodb');
       const { StreamFanout } = require('ddb-stream-fanout');
       const app = new App();
       const indexer = { typesenseNodes: ['https://search.example.com'], typesenseApiKeySecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:typesense-key-AbCdEf' };
       for (const [id, props] of [['Plain', {}], ['WithIndexer', { indexer }]]) {
         const stack = new Stack(app, id, { env: { account: '123456789012', region: 'eu-west-1' } });
         const table = dynamodb.Table.fromTableAttributes(stack, 'Platform', { tableName: 'platform', tableStreamArn: '${STREAM_ARN}' });
         new StreamFanout(stack, 'Fanout', { table, ...props });
       }\n`,
    );
    writeFileSync(join(app, 'cdk.json'), JSON.stringify({ app: 'node app.js', notices: false, 'cli-telemetry': false }));
    run(join(ROOT, 'node_modules', '.bin', 'cdk'), ['synth', '--quiet'], { cwd: app });
    for (const stack of ['Plain', 'WithIndexer']) templates[stack] = JSON.parse(readFileSync(join(app, 'cdk.out', `${stack}.template.json`), 'utf8'));
  }, 600_000);

  const resources = (stack: string, type: string) => Object.values(templates[stack]!.Resources).filter((r) => r.Type === type);

  it('installs with its own lock file, one aws-cdk-lib, and nothing to bundle with', () => {
    const lock = JSON.parse(readFileSync(join(app, 'package-lock.json'), 'utf8'));
    expect(lock.packages['node_modules/ddb-stream-fanout']).toMatchObject({ version: PKG.version });
    expect(existsSync(join(app, 'node_modules', 'ddb-stream-fanout', 'node_modules', 'aws-cdk-lib'))).toBe(false);
    expect(existsSync(join(app, 'node_modules', 'ddb-stream-fanout', 'lambda'))).toBe(false);
    expect(() => require.resolve('esbuild', { paths: [app] })).toThrow();
  });

  it('synthesises StreamFanout on the imported table: 3 stream functions and mappings, plus the indexer on the queue', () => {
    for (const [stack, functions] of [['Plain', 3], ['WithIndexer', 4]] as const) {
      const fns = resources(stack, 'AWS::Lambda::Function');
      expect(fns).toHaveLength(functions);
      for (const fn of fns) expect(fn.Properties).toMatchObject({ Runtime: 'nodejs22.x', Handler: 'index.handler', Architectures: ['arm64'] });
      const mappings = resources(stack, 'AWS::Lambda::EventSourceMapping');
      expect(mappings.filter((m) => m.Properties.EventSourceArn === STREAM_ARN)).toHaveLength(3);
      expect(mappings).toHaveLength(functions === 4 ? 4 : 3);
      expect(resources(stack, 'AWS::DynamoDB::Table')).toEqual([]);
    }
  });

  it("deploys each function's shipped bundle as it is, and each loads on Node 22 with its handler", () => {
    const node = node22Unavailable() ? undefined : ensureNode22();
    for (const stack of ['Plain', 'WithIndexer']) {
      for (const fn of resources(stack, 'AWS::Lambda::Function')) {
        const name = fn.Properties.Environment.Variables.POWERTOOLS_SERVICE_NAME as (typeof FUNCTION_NAMES)[number];
        const asset = join(app, 'cdk.out', `asset.${(fn.Properties.Code.S3Key as string).replace(/\.zip$/, '')}`);
        expect({ name, files: readdirSync(asset).sort() }).toEqual({ name, files: ['index.js', 'index.js.map'] });
        const shipped = join(app, 'node_modules', 'ddb-stream-fanout', 'bundles', name, 'index.js');
        expect({ name, same: readFileSync(join(asset, 'index.js')).equals(readFileSync(shipped)) }).toEqual({ name, same: true });
        if (node) expect(loadBundle(node, join(asset, 'index.js'), functionEnv(fn.Properties.Environment.Variables))).toBeGreaterThan(0);
      }
    }
  });

  it('runs the ops bin from the installed package, and exports the CLI', () => {
    const help = run('npx', ['--no', '--', 'stream-fanout-ops', '--help'], { cwd: app });
    expect(help).toMatch(/audit/);
    expect(help).toMatch(/backfill/);
    const main = run(process.execPath, ['-e', "process.stdout.write(typeof require('ddb-stream-fanout/ops').main + ' ' + require.resolve('ddb-stream-fanout/ops'))"], { cwd: app });
    expect(main).toBe(`function ${join(app, 'node_modules', 'ddb-stream-fanout', 'dist', 'ops', 'cli.js')}`);
    expect(relative(app, require.resolve('ddb-stream-fanout', { paths: [app] }))).toBe(join('node_modules', 'ddb-stream-fanout', 'dist', 'lib', 'index.js'));
  });
});

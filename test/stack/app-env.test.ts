import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CDK_JSON_CONTEXT } from './synth';

const ROOT = join(__dirname, '..', '..');
const STREAM_ARN = 'arn:aws:dynamodb:ap-southeast-2:123456789012:table/platform/stream/2026-01-01T00:00:00.000';

/**
 * Where bin/app.ts deploys, as the CDK CLI runs it (CDK_DEFAULT_* are what the CLI derives from
 * the credentials and the profile): an existing table's stream fixes the region, since a mapping
 * reads streams of its own region only; otherwise the CLI's region. Bundling skipped.
 */
function stackEnvironment(context: Record<string, unknown>, cli: { account: string; region: string }) {
  const outdir = mkdtempSync(join(tmpdir(), 'app-env-'));
  try {
    const result = spawnSync(join(ROOT, 'node_modules', '.bin', 'tsx'), ['bin/app.ts'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: {
        ...process.env,
        CDK_CONTEXT_JSON: JSON.stringify({ ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [], ...context }),
        CDK_OUTDIR: outdir,
        CDK_DEFAULT_ACCOUNT: cli.account,
        CDK_DEFAULT_REGION: cli.region,
      },
    });
    if (result.status !== 0) throw new Error(`bin/app.ts exited ${result.status}: ${result.stderr}`);
    const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8')) as { artifacts: Record<string, { type: string; environment?: string }> };
    return Object.values(manifest.artifacts).filter((a) => a.type === 'aws:cloudformation:stack').map((a) => a.environment);
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

describe('bin/app.ts account and region', () => {
  it("an existing table: the stream ARN's region, whatever the profile's; the credentials' account", () => {
    expect(stackEnvironment({ tableName: 'platform', tableStreamArn: STREAM_ARN }, { account: '123456789012', region: 'eu-west-1' })).toEqual(['aws://123456789012/ap-southeast-2']);
  });

  it("a new table: the CLI's account and region", () => {
    expect(stackEnvironment({}, { account: '210987654321', region: 'eu-west-1' })).toEqual(['aws://210987654321/eu-west-1']);
  });
});

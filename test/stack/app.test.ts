import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONTEXT_KEYS } from '../../lib/context';
import { CDK_JSON_CONTEXT } from './synth';

const ROOT = join(__dirname, '..', '..');

/** Runs bin/app.ts as the CDK CLI does: context in CDK_CONTEXT_JSON (cdk.json's plus -c keys). */
function runApp(extra: Record<string, unknown>) {
  const outdir = mkdtempSync(join(tmpdir(), 'app-'));
  try {
    const result = spawnSync(join(ROOT, 'node_modules', '.bin', 'tsx'), ['bin/app.ts'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify({ ...CDK_JSON_CONTEXT, ...extra }), CDK_OUTDIR: outdir },
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

describe('bin/app.ts configuration errors', () => {
  it.each([
    [{ batchSiz: 1 }, `error: unknown context key batchSiz; known keys: ${CONTEXT_KEYS.join(', ')}`],
    [{ logLevel: 'verbose' }, 'error: logLevel must be one of DEBUG, INFO, WARN, ERROR, SILENT, CRITICAL, got "verbose"'],
    [
      { tableName: 'platform', tableStreamArn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/other/stream/2026-01-01T00:00:00.000' },
      'error: tableName platform does not match the table in tableStreamArn (other)',
    ],
    [
      { typesenseNodes: 'https://search.example.com', typesenseApiKeySecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:typesense' },
      "error: typesenseApiKeySecretArn must be the secret's complete ARN, ending in the 6 characters Secrets Manager appends to its name (…:secret:typesense-AbCdEf), since IAM would match a partial one to no secret: arn:aws:secretsmanager:eu-west-1:123456789012:secret:typesense",
    ],
  ])('%j: one line on stderr, no stack trace, exit 2', (context, line) => {
    const { status, stdout, stderr } = runApp(context);
    expect(stderr).toBe(`${line}\n`);
    expect(stdout).toBe('');
    expect(status).toBe(2);
  });
});

import { App, Stack } from 'aws-cdk-lib';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addNagPacks } from '../../bin/nag';
import { StreamFanoutStack, type StreamFanoutStackProps } from '../../lib/stream-fanout-stack';
import { testContext } from './synth';

export interface Violation {
  ruleName: string;
  severity: string;
  violatingConstructs: Array<{ constructPath: string }>;
}

/**
 * Synthesises with the AwsSolutions and Serverless packs and the construct's own acknowledgements, as
 * bin/app.ts does, and returns the validation report's violations.
 */
export function synthWithNag(mutate?: (stack: StreamFanoutStack) => void, props: StreamFanoutStackProps = {}, build?: (app: App) => Stack) {
  const outdir = mkdtempSync(join(tmpdir(), 'nag-'));
  const app = new App({ outdir, context: testContext() });
  const stack = build?.(app) ?? new StreamFanoutStack(app, 'NagStack', { env: { account: '123456789012', region: 'eu-west-1' }, ...props });
  if (stack instanceof StreamFanoutStack) mutate?.(stack);
  addNagPacks(app);
  let error: Error | undefined;
  const log = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  try {
    app.synth();
  } catch (e) {
    error = e as Error;
  } finally {
    log.mockRestore();
  }
  const reportFile = join(outdir, 'validation-report.json');
  const report = existsSync(reportFile) ? JSON.parse(readFileSync(reportFile, 'utf8')) : { pluginReports: [] };
  rmSync(outdir, { recursive: true, force: true });
  const violations: Violation[] = report.pluginReports.flatMap((p: { violations: Violation[] }) => p.violations);
  return { stack, error, violations };
}


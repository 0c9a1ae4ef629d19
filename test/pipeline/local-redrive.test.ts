/**
 * The redrive command `npm start -- --keep-running` prints works as printed, with no AWS
 * configuration at all: a failure object in the run's failure folder is redriven, the search
 * triggers reach the run's queue (served over SQS's protocol) and its indexer processes them.
 * Linux (/proc) only, like the other tests that run npm start as processes.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { datasetFor } from '../../local/cli-args';
import { startRun, type Run } from '../support/npm-start-run';

const ROOT = join(__dirname, '..', '..');
let run: Run | undefined;
afterEach(() => run?.cleanup());

/** A stream batch the mapping gave up on, as Lambda's S3 on-failure destination writes it. */
function failureObject(keys: { PK: string; SK: string }[]): string {
  const records = keys.map((k, i) => ({ eventID: `e${i}`, eventName: 'MODIFY', dynamodb: { Keys: { PK: { S: k.PK }, SK: { S: k.SK } }, SequenceNumber: `${100 + i}` } }));
  return JSON.stringify({
    requestContext: { condition: 'RetryAttemptsExhausted' },
    DDBStreamBatchInfo: { shardId: 'shardId-1', startSequenceNumber: '100', endSequenceNumber: `${99 + keys.length}`, streamArn: 'arn:aws:dynamodb:ddblocal:000000000000:table/stream-fanout-local/stream/x', batchSize: keys.length },
    payload: JSON.stringify({ Records: records }),
  });
}

/** The environment without any AWS configuration (no credentials, region, profile or endpoint). */
function noAws(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^AWS_/.test(k) || k === 'AWS_CA_BUNDLE'));
  return { ...env, AWS_CONFIG_FILE: '/nonexistent/aws-config', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials', AWS_EC2_METADATA_DISABLED: 'true' };
}

(process.platform === 'linux' ? it : it.skip)('the printed redrive command replays a failed batch into the running pipeline', async () => {
  // Ready once the command is printed (it comes right after the "Up:" line, in a write of its own).
  run = await startRun({ via: 'node', env: noAws(), readyAt: /^Replay failed batches with: .+$/m });
  const printed = /^Replay failed batches with: (.+)$/m.exec(run.stdout)?.[1];
  expect(printed).toMatch(/^AWS_ENDPOINT_URL_SQS=http:\/\/127\.0\.0\.1:\d+ npm run ops -- redrive --from \S+ --table stream-fanout-local --endpoint http:\/\/127\.0\.0\.1:\d+ --queue-url http:\/\/127\.0\.0\.1:\d+\/000000000000\/search-actions\.fifo$/);

  // Two rows of the run's dataset that typesense-sync indexes.
  const keys = datasetFor({ records: 40, seed: 8643 }).rows.filter((r) => r.PK === 'ICAO#AIRCRAFT').slice(0, 2).map((r) => ({ PK: String(r.PK), SK: String(r.SK) }));
  expect(keys).toHaveLength(2);
  writeFileSync(join(run.failureDir, 'batch-1.json'), failureObject(keys));

  const before = run.stdout.length;
  const redrive = spawnSync('sh', ['-c', printed!], { cwd: ROOT, env: noAws(), encoding: 'utf8', timeout: 120_000 });
  expect({ status: redrive.status, stderr: redrive.stderr.split('\n').filter((l) => l && !/npm warn/i.test(l)) }).toEqual({ status: 0, stderr: [] });
  expect(redrive.stdout).toMatch(/batch-1\.json\s+2\s+removed/);
  expect(redrive.stdout).toMatch(/typesense-sync\s+keys\s+2\s+changed\s+2\s+failed\s+0/);
  expect(existsSync(join(run.failureDir, 'batch-1.json'))).toBe(false);
  expect(readdirSync(run.failureDir)).toEqual([]);

  // The run's indexer takes the triggers off its queue (it polls every half second).
  const deadline = Date.now() + 30_000;
  while (!/\[indexer\] processed 2 trigger\(s\)/.test(run.stdout.slice(before)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  expect(run.stdout.slice(before)).toContain('[indexer] processed 2 trigger(s)');

  process.kill(-run.root, 'SIGINT');
  expect(await run.exited).toBe(0);
  expect(run.stdout.slice(before)).toContain('no drift');
}, 300_000);

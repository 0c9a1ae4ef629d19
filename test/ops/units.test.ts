import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectTaggingCommand, S3Client } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { TakeoverRefusedError } from '../../lambda/faa-matcher-sync/takeover';
import { mockClient } from 'aws-sdk-client-mock';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keysOfFailureObject } from '../../ops/failure-record';
import { parseFrom, s3Store } from '../../ops/failure-store';
import { progressBar } from '../../ops/progress';
import { nameFailedRequests } from '../../ops/aws';
import { Checkpoint } from '../../ops/checkpoint';
import { CouldNotRunError, UsageError } from '../../ops/common';
import { describeFailure, isNotThere } from '../../ops/run-errors';
import { RateLimiter } from '../../ops/scan';
import { Tally } from '../../ops/tally';
import { answering, captureIo } from './support';

const record = (keys: [string, string][], payload: 'string' | 'object' | 'none' = 'string') => {
  const event = { Records: keys.map(([PK, SK], i) => ({ eventID: `e${i}`, eventName: 'MODIFY', dynamodb: { Keys: { PK: { S: PK }, SK: { S: SK } } } })) };
  return JSON.stringify({
    requestContext: { condition: 'RetryAttemptsExhausted' },
    version: '1.0',
    DDBStreamBatchInfo: { shardId: 's1', startSequenceNumber: '1', endSequenceNumber: '2', streamArn: 'arn:s', batchSize: keys.length },
    ...(payload === 'string' && { payload: JSON.stringify(event) }),
    ...(payload === 'object' && { payload: event }),
  });
};

describe('failure records', () => {
  it('reads the keys from payload as JSON text or as an object', () => {
    const keys: [string, string][] = [['P1', 'S1'], ['P2', 'S2']];
    expect(keysOfFailureObject(record(keys), 'o').keys).toEqual([{ PK: 'P1', SK: 'S1' }, { PK: 'P2', SK: 'S2' }]);
    expect(keysOfFailureObject(record(keys, 'object'), 'o').keys).toEqual([{ PK: 'P1', SK: 'S1' }, { PK: 'P2', SK: 'S2' }]);
  });

  it('an SQS-style record (no payload), bad JSON or a record without keys is an error naming the object (and the record)', () => {
    expect(() => keysOfFailureObject(record([['P', 'S']], 'none'), 'bucket/k1')).toThrow('bucket/k1: no payload (an SQS/SNS-style record holds only shard s1 1..2; use --dlq-url for those)');
    expect(() => keysOfFailureObject('{', 'bucket/k2')).toThrow(/^bucket\/k2: not JSON/);
    const noKeys = JSON.parse(record([['P', 'S']]));
    noKeys.payload = JSON.stringify({ Records: [{ eventID: 'ev-9', dynamodb: {} }] });
    expect(() => keysOfFailureObject(JSON.stringify(noKeys), 'bucket/k3')).toThrow('bucket/k3: record 0: stream record has no dynamodb.Keys [eventID=ev-9 PK=? SK=?]');
  });
});

describe('S3 failure store (S3 mocked at the SDK boundary)', () => {
  const s3 = mockClient(S3Client);
  afterEach(() => s3.reset());
  afterAll(() => s3.restore());

  it('lists every page under the prefix, reads, deletes and tags', async () => {
    s3.on(ListObjectsV2Command, { ContinuationToken: undefined }).resolves({ Contents: [{ Key: 'aws/lambda/u/s/2026/01/01/b' }], IsTruncated: true, NextContinuationToken: 't2' });
    s3.on(ListObjectsV2Command, { ContinuationToken: 't2' }).resolves({ Contents: [{ Key: 'aws/lambda/u/s/2026/01/01/a' }], IsTruncated: false });
    // The SDK's streaming body as a caller sees it (transformToString).
    s3.on(GetObjectCommand).resolves({ Body: { transformToString: async (encoding?: string) => (encoding === 'utf8' ? 'hello' : '?') } as never });
    const store = s3Store(new S3Client({ region: 'us-east-1' }), 'bucket', 'aws/lambda/');
    expect(await store.list()).toEqual(['aws/lambda/u/s/2026/01/01/a', 'aws/lambda/u/s/2026/01/01/b']);
    expect(s3.commandCalls(ListObjectsV2Command).map((c) => c.args[0].input)).toEqual([
      { Bucket: 'bucket', Prefix: 'aws/lambda/', ContinuationToken: undefined },
      { Bucket: 'bucket', Prefix: 'aws/lambda/', ContinuationToken: 't2' },
    ]);
    expect(await store.read('k')).toBe('hello');
    await store.remove('k');
    await store.keep('k2', 'redrive-1');
    expect(s3.commandCalls(DeleteObjectCommand)[0]!.args[0].input).toEqual({ Bucket: 'bucket', Key: 'k' });
    expect(s3.commandCalls(PutObjectTaggingCommand)[0]!.args[0].input).toEqual({ Bucket: 'bucket', Key: 'k2', Tagging: { TagSet: [{ Key: 'redriven', Value: 'redrive-1' }] } });
  });

  it('parses --from: s3 URLs, file URLs and folders', () => {
    expect(parseFrom('s3://b/some/prefix/')).toEqual({ kind: 's3', bucket: 'b', prefix: 'some/prefix/' });
    expect(parseFrom('s3://b')).toEqual({ kind: 's3', bucket: 'b', prefix: '' });
    expect(parseFrom(`file://${tmpdir()}`)).toEqual({ kind: 'folder', dir: tmpdir() });
    expect(() => parseFrom('s3://')).toThrow('--from s3://: no bucket name');
  });
});

describe('scan helpers', () => {
  it('RateLimiter: waits so that items / elapsed never exceeds the rate', async () => {
    const waits: number[] = [];
    const limiter = new RateLimiter(100, async (ms) => void waits.push(ms));
    await limiter.take(50); // due at 500 ms
    await limiter.take(50); // due at 1000 ms
    expect(waits).toHaveLength(2);
    expect(waits[0]).toBeGreaterThan(400);
    expect(waits[1]).toBeGreaterThan(900);
    const unlimited = new RateLimiter(0, async () => void waits.push(-1));
    await unlimited.take(1_000_000);
    expect(waits).toHaveLength(2);
  });

  it('a checkpoint keeps positions and failed keys; from another table, segment count, --subsystems or --takeover it is a usage error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ops-cp-'));
    try {
      const file = join(dir, 'cp.json');
      const scope = { subsystems: ['image-sync', 'faa-matcher-sync'] as const, takeover: false };
      const first = Checkpoint.open(file, { table: 't1', segments: 2, scope: { ...scope, subsystems: [...scope.subsystems] } }, 'r1');
      expect(first.resumed).toBe(false);
      first.positions[0] = { PK: { S: 'P' }, SK: { S: 'S' } };
      first.positions[1] = 'done';
      first.recordFailures([{ subsystem: 'faa-matcher-sync', pk: 'FAA#LINKS', sk: 'L1', error: 'boom' }, { subsystem: 'image-sync', pk: 'I', sk: 'IMG#1', error: 'x' }]);
      first.recordFailures([{ subsystem: 'faa-matcher-sync', pk: 'FAA#LINKS', sk: 'L1', error: 'boom again' }]);
      await first.save();

      // Subsystems in another order are the same scope.
      const again = Checkpoint.open(file, { table: 't1', segments: 2, scope: { subsystems: ['faa-matcher-sync', 'image-sync'], takeover: false } }, 'r2');
      expect(again).toMatchObject({ resumed: true, run: 'r1', positions: [{ PK: { S: 'P' }, SK: { S: 'S' } }, 'done'] });
      expect(again.failed()).toEqual([{ subsystem: 'image-sync', pk: 'I', sk: 'IMG#1', error: 'x' }, { subsystem: 'faa-matcher-sync', pk: 'FAA#LINKS', sk: 'L1', error: 'boom again' }]);
      again.clearFailure({ subsystem: 'image-sync', pk: 'I', sk: 'IMG#1' });
      expect(again.failedCount).toBe(1);

      const open = (table: string, segments: number, subsystems: string[], takeover = false) => () => Checkpoint.open(file, { table, segments, scope: { subsystems: subsystems as never, takeover } }, 'r3');
      expect(open('t2', 2, ['image-sync', 'faa-matcher-sync'])).toThrow(new UsageError(`checkpoint ${file} belongs to table t1, not t2; delete it to start over`));
      expect(open('t1', 4, ['image-sync', 'faa-matcher-sync'])).toThrow(`checkpoint ${file} was written with --segments 2; resume with the same value, or delete ${file} to start over`);
      expect(open('t1', 2, ['faa-matcher-sync'])).toThrow(`checkpoint ${file} was written with --subsystems image-sync,faa-matcher-sync; resume with the same value, or delete ${file} to start over`);
      expect(open('t1', 2, ['image-sync', 'faa-matcher-sync'], true)).toThrow(`checkpoint ${file} was written without --takeover; resume with the same value, or delete ${file} to start over`);
      expect(open('t1', 2, ['image-sync', 'faa-matcher-sync'], true)).toThrow(UsageError);

      writeFileSync(file, JSON.stringify({ version: 1, table: 't1', segments: 2, run: 'r', positions: [null, null] }));
      expect(open('t1', 2, ['image-sync'])).toThrow(`checkpoint ${file} was written by ddb-stream-fanout 0.2.0, which did not record failed keys; delete it and run the backfill again`);
      writeFileSync(file, '{"version":2}');
      expect(open('t1', 2, ['image-sync'])).toThrow(`checkpoint ${file} is not a backfill checkpoint; delete it to start over`);
      writeFileSync(file, '{');
      expect(open('t1', 2, ['image-sync'])).toThrow(/is not valid JSON/);
      expect(Checkpoint.open(join(dir, 'none.json'), { table: 't1', segments: 2, scope: { subsystems: ['image-sync'], takeover: false } }, 'r').resumed).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('Tally adds pages in place, counts every failure and keeps the first N', () => {
    const written: string[] = [];
    const tally = new Tally({ 'image-sync': {} as never }, 2, (f) => written.push(f.sk));
    for (let page = 0; page < 3; page += 1) {
      tally.add({ seen: 10, subsystems: { 'image-sync': { keys: 4, changed: 1, failed: 2 } }, failures: [0, 1].map((i) => ({ subsystem: 'image-sync' as const, pk: 'P', sk: `S${page}${i}`, error: 'e' })) });
    }
    expect(tally.counts()).toEqual({ seen: 30, subsystems: { 'image-sync': { keys: 12, changed: 3, failed: 6 } }, failed: 6, failures: [expect.objectContaining({ sk: 'S00' }), expect.objectContaining({ sk: 'S01' })] });
    expect(written).toEqual(['S00', 'S01', 'S10', 'S11', 'S20', 'S21']);
  });

  it('progress: a bar on a terminal, nothing when stderr is not one', () => {
    const tty = captureIo(true);
    const bar = progressBar(tty, 'backfill', 200);
    bar.update(50);
    bar.finish();
    expect(tty.err.join('')).toMatch(/^\rbackfill \[#{8}\.{22}\] 25% 50\/~200 .*\n$/s);
    expect(tty.out).toEqual([]);
    const pipe = captureIo(false);
    const silent = progressBar(pipe, 'backfill', 200);
    silent.update(50);
    silent.finish();
    expect(pipe.err).toEqual([]);
  });
});

describe('exit status and the one line of a failed run', () => {
  const credentials = { accessKeyId: 'a', secretAccessKey: 'b' };
  const json = { 'content-type': 'application/x-amz-json-1.0' };
  const failureOf = async (send: () => Promise<unknown>) => send().then(() => { throw new Error('expected a failure'); }, (error: unknown) => describeFailure(error, { region: 'eu-west-1' }));

  it('SDK errors as the services send them: one line naming the resource, exit 3', async () => {
    const dynamo = (type: string) => nameFailedRequests(new DynamoDBClient({ region: 'eu-west-1', credentials, requestHandler: answering(400, json, JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${type}`, message: 'no' })) }), 'DynamoDB');
    expect(await failureOf(() => dynamo('AccessDeniedException').send(new DescribeTableCommand({ TableName: 'platform' })))).toEqual({ code: 3, line: 'could not run: permission denied: DynamoDB DescribeTable on platform (AccessDeniedException)' });
    expect(await failureOf(() => dynamo('UnrecognizedClientException').send(new DescribeTableCommand({ TableName: 'platform' })))).toEqual({ code: 3, line: 'could not run: DynamoDB at AWS eu-west-1 rejected the credentials (UnrecognizedClientException)' });
    expect(await failureOf(() => dynamo('ResourceNotFoundException').send(new DescribeTableCommand({ TableName: 'platform' })))).toEqual({ code: 3, line: 'could not run: table platform not found at AWS eu-west-1 (ResourceNotFoundException)' });

    const sqs = nameFailedRequests(new SQSClient({ region: 'eu-west-1', credentials, requestHandler: answering(400, { ...json, 'x-amzn-query-error': 'AWS.SimpleQueueService.NonExistentQueue;Sender' }, JSON.stringify({ __type: 'com.amazonaws.sqs#QueueDoesNotExist', message: 'The specified queue does not exist.' })) }), 'SQS');
    const queue = 'https://sqs.eu-west-1.amazonaws.com/123456789012/search.fifo';
    const missingQueue = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queue })).catch((e: unknown) => e);
    expect(isNotThere(missingQueue)).toBe(true);
    expect(describeFailure(missingQueue)).toEqual({ code: 3, line: `could not run: queue ${queue} does not exist (QueueDoesNotExist)` });

    const s3 = nameFailedRequests(new S3Client({ region: 'eu-west-1', credentials, requestHandler: answering(404, { 'content-type': 'application/xml' }, '<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message></Error>') }), 'S3');
    expect(await failureOf(() => s3.send(new ListObjectsV2Command({ Bucket: 'failures' })))).toEqual({ code: 3, line: 'could not run: bucket failures not found (NoSuchBucket)' });
  });

  it('no credentials: exit 3 naming what to set; a permission refusal is not "not there"', () => {
    const noCredentials = Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
    expect(describeFailure(noCredentials)).toEqual({ code: 3, line: 'could not run: no AWS credentials found (CredentialsProviderError): set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or give --endpoint for a local engine' });
    expect(isNotThere(noCredentials)).toBe(true);
    expect(isNotThere(Object.assign(new Error('no'), { name: 'AccessDeniedException' }))).toBe(false);
  });

  it('usage error 2, data refusal 1, could-not-run 3, anything else 3 with its name; always one line', () => {
    expect(describeFailure(new UsageError('--segments must be a positive integer'))).toEqual({ code: 2, line: '--segments must be a positive integer' });
    expect(describeFailure(new TakeoverRefusedError('takeover refused: 1 contribution row(s) exist'))).toEqual({ code: 1, line: 'takeover refused: 1 contribution row(s) exist' });
    expect(describeFailure(new CouldNotRunError('no region'))).toEqual({ code: 3, line: 'could not run: no region' });
    expect(describeFailure(new TypeError('x is not a function\n    at y (z.ts:1:1)'))).toEqual({ code: 3, line: 'could not run: TypeError: x is not a function' });
  });
});

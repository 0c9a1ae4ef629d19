import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectTaggingCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keysOfFailureObject } from '../../ops/failure-record';
import { parseFrom, s3Store } from '../../ops/failure-store';
import { progressBar } from '../../ops/progress';
import { loadCheckpoint, RateLimiter } from '../../ops/scan';
import { captureIo } from './support';

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

  it('a checkpoint from another table or segment count is refused with a usage error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ops-cp-'));
    try {
      const file = join(dir, 'cp.json');
      writeFileSync(file, JSON.stringify({ version: 1, table: 't1', segments: 4, run: 'r', positions: [null, null, null, null] }));
      expect(loadCheckpoint(file, 't1', 4)).toMatchObject({ run: 'r' });
      expect(() => loadCheckpoint(file, 't2', 4)).toThrow(`checkpoint ${file} belongs to table t1, not t2`);
      expect(() => loadCheckpoint(file, 't1', 2)).toThrow(`checkpoint ${file} was written with --segments 4; resume with the same value`);
      expect(loadCheckpoint(join(dir, 'none.json'), 't1', 4)).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
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

import {
  bisect,
  expiredPrefix,
  interpretResponse,
  nextStep,
  onFailureRecord,
  s3FailureObject,
  s3FailureObjectKey,
  takeBatch,
  type PendingBatch,
} from '../../local/esm-batch';
import { item } from './support';

const items = (n: number, options: Parameters<typeof item>[1] = {}) => Array.from({ length: n }, (_, i) => item(String(100 + i), options));
const seqOf = (b: PendingBatch) => b.items.map((i) => i.sequenceNumber);

describe('takeBatch (batch size, window, payload)', () => {
  const base = { batchSize: 3, batchingWindowMs: 1000, nowMs: 500, shardExhausted: false };

  it('takes a full batch at once, never more than batchSize', () => {
    expect(takeBatch(items(5), base)).toBe(3);
  });

  it('waits for the window while a batch is partial, then sends it', () => {
    expect(takeBatch(items(2), base)).toBe(0);
    expect(takeBatch(items(2), { ...base, nowMs: 1000 })).toBe(2);
  });

  it('sends a partial batch at once with no window, or when the shard is exhausted', () => {
    expect(takeBatch(items(2), { ...base, batchingWindowMs: 0 })).toBe(2);
    expect(takeBatch(items(2), { ...base, shardExhausted: true })).toBe(2);
  });

  it('cuts at the payload limit (and counts that as a full batch)', () => {
    expect(takeBatch(items(3, { payloadBytes: 400 }), { ...base, maxPayloadBytes: 1000 })).toBe(2);
    expect(takeBatch(items(1, { payloadBytes: 5000 }), { ...base, maxPayloadBytes: 1000, batchingWindowMs: 0 })).toBe(1);
  });

  it('returns 0 for an empty queue', () => {
    expect(takeBatch([], { ...base, batchingWindowMs: 0 })).toBe(0);
  });
});

describe('interpretResponse (ReportBatchItemFailures)', () => {
  const batch = ['100', '101', '102', '103'];

  it.each([undefined, null, {}, { batchItemFailures: null }, { batchItemFailures: [] }])('treats %p as success', (response) => {
    expect(interpretResponse(batch, response)).toEqual({ kind: 'success' });
  });

  it('checkpoints at the LOWEST reported sequence number, whatever the order reported', () => {
    const response = { batchItemFailures: [{ itemIdentifier: '103' }, { itemIdentifier: '101' }, { itemIdentifier: '102' }] };
    expect(interpretResponse(batch, response)).toEqual({ kind: 'partial', failedIndex: 1 });
  });

  it.each([
    [{ batchItemFailures: [{ itemIdentifier: '' }] }],
    [{ batchItemFailures: [{ itemIdentifier: null }] }],
    [{ batchItemFailures: [{ itemIdentifer: '101' }] }],
    [{ batchItemFailures: [{ itemIdentifier: '999' }] }],
    [{ batchItemFailures: 'x' }],
    ['a string'],
  ])('treats a malformed response %p as a whole-batch failure', (response) => {
    const outcome = interpretResponse(batch, response);
    expect(outcome.kind).toBe('failure');
    expect(outcome.kind === 'failure' && outcome.functionError).toBeUndefined();
  });
});

describe('nextStep (retry, bisect, discard)', () => {
  const policy = { retryAttempts: 2, bisectBatchOnError: true };
  const fresh = (n: number): PendingBatch => ({ items: items(n), retries: 0, invokeCount: 1 });
  const thrown = { kind: 'failure' as const, error: new Error('boom'), functionError: 'Unhandled' as const };

  it('commits the whole batch on success', () => {
    expect(nextStep(fresh(4), { kind: 'success' }, policy)).toEqual({ kind: 'commit', count: 4 });
  });

  it('on a partial failure commits what precedes it and retries from it, counting a retry', () => {
    const step = nextStep(fresh(4), { kind: 'partial', failedIndex: 2 }, policy);
    expect(step.kind).toBe('retry');
    if (step.kind !== 'retry') return;
    expect(step.commit).toBe(2);
    expect(seqOf(step.batch)).toEqual(['102', '103']);
    expect(step.batch.retries).toBe(1);
  });

  it('discards the failing suffix when the retries are used up', () => {
    const step = nextStep({ ...fresh(4), retries: 2 }, { kind: 'partial', failedIndex: 1 }, policy);
    expect(step.kind).toBe('discard');
    if (step.kind !== 'discard') return;
    expect(step.commit).toBe(1);
    expect(seqOf(step.batch)).toEqual(['101', '102', '103']);
  });

  it('bisects a thrown batch into halves that keep the retry count (splitting is free, as Lambda documents)', () => {
    const step = nextStep({ ...fresh(5), retries: 1 }, thrown, policy);
    expect(step.kind).toBe('bisect');
    if (step.kind !== 'bisect') return;
    expect(step.halves.map(seqOf)).toEqual([
      ['100', '101', '102'],
      ['103', '104'],
    ]);
    expect(step.halves.map((h) => h.retries)).toEqual([1, 1]);
  });

  it('can make each bisection count as a retry', () => {
    const step = nextStep({ ...fresh(4), retries: 2 }, thrown, { ...policy, bisectConsumesRetry: true });
    expect(step.kind).toBe('discard');
  });

  it('retries a single record (nothing to split) and discards it past the limit', () => {
    expect(nextStep({ ...fresh(1), retries: 1 }, thrown, policy)).toMatchObject({ kind: 'retry', commit: 0, batch: { retries: 2 } });
    expect(nextStep({ ...fresh(1), retries: 2 }, thrown, policy)).toMatchObject({ kind: 'discard', commit: 0, batch: { retries: 3 } });
  });

  it('retries the whole batch without bisect', () => {
    const step = nextStep(fresh(4), thrown, { ...policy, bisectBatchOnError: false });
    expect(step).toMatchObject({ kind: 'retry', commit: 0, batch: { retries: 1 } });
    if (step.kind === 'retry') expect(step.batch.items).toHaveLength(4);
  });

  it('never discards with retryAttempts -1 (infinite)', () => {
    expect(nextStep({ ...fresh(1), retries: 10_000 }, thrown, { retryAttempts: -1, bisectBatchOnError: false }).kind).toBe('retry');
  });
});

describe('bisect and expiredPrefix', () => {
  it('splits in halves, the first taking the odd record', () => {
    expect(bisect([1, 2, 3])).toEqual([[1, 2], [3]]);
    expect(bisect([1, 2])).toEqual([[1], [2]]);
  });

  it('finds the expired prefix by record age (> max), and none with -1', () => {
    const now = 100_000;
    const batch = [item('1', { createdAtMs: 30_000 }), item('2', { createdAtMs: 39_000 }), item('3', { createdAtMs: 40_000 }), item('4', { createdAtMs: 90_000 })];
    expect(expiredPrefix(batch, now, 60)).toBe(2); // 70 s and 61 s old; exactly 60 s is not "older than"
    expect(expiredPrefix(batch, now, -1)).toBe(0);
    expect(expiredPrefix([item('5')], now, 1)).toBe(0); // no creation time: never expires
  });
});

describe('onFailureRecord (Lambda on-failure destination format)', () => {
  const batch: PendingBatch = {
    items: [item('200', { createdAtMs: Date.UTC(2026, 0, 1, 10, 0, 5, 700), shardId: 'shardId-9' }), item('201', { createdAtMs: Date.UTC(2026, 0, 1, 10, 1), shardId: 'shardId-9' })],
    retries: 3,
    invokeCount: 4,
    lastOutcome: { kind: 'failure', error: new Error('x'), functionError: 'Unhandled' },
  };

  it('holds the batch metadata Lambda sends (no records)', () => {
    const record = onFailureRecord({
      batch,
      condition: 'RetryAttemptsExhausted',
      functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:image-sync',
      streamArn: 'arn:stream',
      requestId: 'req-1',
      nowMs: Date.UTC(2026, 0, 1, 10, 2, 3, 456),
    });
    expect(record).toEqual({
      requestContext: {
        requestId: 'req-1',
        functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:image-sync',
        condition: 'RetryAttemptsExhausted',
        approximateInvokeCount: 4,
      },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      version: '1.0',
      timestamp: '2026-01-01T10:02:03.456Z',
      DDBStreamBatchInfo: {
        shardId: 'shardId-9',
        startSequenceNumber: '200',
        endSequenceNumber: '201',
        approximateArrivalOfFirstRecord: '2026-01-01T10:00:05Z',
        approximateArrivalOfLastRecord: '2026-01-01T10:01:00Z',
        batchSize: 2,
        streamArn: 'arn:stream',
      },
    });
  });

  it('has no responseContext for a batch that expired before any invocation', () => {
    const record = onFailureRecord({ batch: { ...batch, invokeCount: 0, lastOutcome: undefined }, condition: 'RecordAgeExceeded', functionArn: 'f', streamArn: 's', requestId: 'r', nowMs: 0 });
    expect(record.responseContext).toBeUndefined();
    expect(record.requestContext).toMatchObject({ condition: 'RecordAgeExceeded', approximateInvokeCount: 0 });
  });
});

describe('s3FailureObject (S3 on-failure destination: record + payload, Lambda key layout)', () => {
  const items = [item('300', { shardId: 'shardId-7' }), item('301', { shardId: 'shardId-7' })];
  const record = onFailureRecord({
    batch: { items, retries: 1, invokeCount: 2 },
    condition: 'RetryAttemptsExhausted',
    functionArn: 'f',
    streamArn: 's',
    requestId: 'r',
    nowMs: 0,
  });

  it('keys the object aws/lambda/<ESM-UUID>/<shardID>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<UUID> in UTC', () => {
    expect(s3FailureObjectKey('esm-1', 'shardId-7', Date.UTC(2026, 10, 3, 4, 5, 6, 789), 'rnd')).toBe('aws/lambda/esm-1/shardId-7/2026/11/03/2026-11-03T04.05.06-rnd');
  });

  it('adds the whole invocation event as JSON text in payload, and keeps the record as it is', () => {
    const object = s3FailureObject({ record, items, mappingUuid: 'esm-1', nowMs: Date.UTC(2026, 0, 2), randomId: 'rnd' });
    expect(object.key).toBe('aws/lambda/esm-1/shardId-7/2026/01/02/2026-01-02T00.00.00-rnd');
    const { payload, ...rest } = object.body;
    expect(rest).toEqual(record);
    expect(JSON.parse(payload)).toEqual({ Records: items.map((i) => i.record) });
  });
});

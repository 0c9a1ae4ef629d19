/**
 * The emulator's semantics against a scripted stream (FakeStream) and a FakeClock: every rule
 * of Lambda's event source mapping that the handlers rely on has a test here that can fail.
 * The end-to-end tests against DynamoDB Local are in esm-emulator.ddb.test.ts.
 */
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_MAPPING_SETTINGS, type StreamMappingSettings } from '../../lib/mapping-settings';
import { FakeClock, systemClock } from '../../local/clock';
import { EsmEmulator, type InvokeHook, type MappingConfig } from '../../local/esm-emulator';
import { FakeStream, memoryLog, sdkRecord, seqs, STREAM_ARN } from './support';

const T0 = Date.UTC(2026, 0, 1); // records are created at T0 unless told otherwise

interface Call {
  seqs: string[];
  shardId?: string;
  at: number;
}

type Script = (event: DynamoDBStreamEvent, callIndex: number) => unknown;

function setup(options: {
  settings?: Partial<StreamMappingSettings>;
  script?: Script;
  patterns?: unknown[];
  invoke?: InvokeHook;
  stream?: FakeStream;
  clock?: FakeClock;
  extraMappings?: MappingConfig[];
  dlqFile?: string;
  retryDelayMs?: (retries: number) => number;
} = {}) {
  const stream = options.stream ?? new FakeStream().addShard('shard-a');
  const clock = options.clock ?? new FakeClock(T0 + 60_000);
  const calls: Call[] = [];
  const handler = async (event: DynamoDBStreamEvent) => {
    calls.push({ seqs: seqs(event.Records), at: clock.now() });
    return options.script?.(event, calls.length - 1);
  };
  const { lines, log } = memoryLog();
  const emulator = new EsmEmulator({
    streams: stream,
    streamArn: STREAM_ARN,
    mappings: [{ name: 'sub', handler, filterPatterns: options.patterns ?? [] }, ...(options.extraMappings ?? [])],
    settings: { ...DEFAULT_MAPPING_SETTINGS, maxBatchingWindowSeconds: 0, ...options.settings },
    clock,
    log,
    ...(options.invoke && { invoke: options.invoke }),
    ...(options.dlqFile && { dlqFile: options.dlqFile }),
    ...(options.retryDelayMs && { retryDelayMs: options.retryDelayMs }),
  });
  return { stream, clock, calls, emulator, lines };
}

/** Starts, drains (bounded on the fake clock so a bug fails instead of hanging), stops. */
async function run(emulator: EsmEmulator): Promise<void> {
  await emulator.start();
  try {
    await emulator.drain({ timeoutMs: 24 * 3600_000 });
  } finally {
    await emulator.stop();
  }
}

const put = (stream: FakeStream, n: number, shardId = 'shard-a', pk = 'P') =>
  stream.put(shardId, ...Array.from({ length: n }, (_, i) => sdkRecord(pk, `S${i}`))).map((r) => r.dynamodb!.SequenceNumber!);

describe('EsmEmulator: partial batch responses', () => {
  it('checkpoints just before the LOWEST reported failure and retries from there', async () => {
    const t = setup({
      settings: { batchSize: 5 },
      script: (event, i) => (i === 0 ? { batchItemFailures: [{ itemIdentifier: seqs(event.Records)[3]! }, { itemIdentifier: seqs(event.Records)[1]! }] } : undefined),
    });
    const s = put(t.stream, 5);
    await run(t.emulator);
    expect(t.calls.map((c) => c.seqs)).toEqual([s, s.slice(1)]);
    expect(t.emulator.counters().sub).toMatchObject({ invocations: 2, partialFailures: 1, retries: 1, committed: 5, delivered: 9, dlqBatches: 0 });
    expect(t.emulator.status().mappings.sub?.[0]?.checkpoint).toBe(s[4]);
  });

  it('sends the failing suffix to the DLQ when retries are exhausted, and moves past it', async () => {
    const t = setup({
      settings: { batchSize: 4, retryAttempts: 2 },
      script: (event) => {
        const s = seqs(event.Records);
        return s.includes(poison) ? { batchItemFailures: [{ itemIdentifier: poison }] } : undefined;
      },
    });
    const s = put(t.stream, 4);
    const poison = s[1]!;
    await t.emulator.start();
    await t.emulator.drain({ timeoutMs: 3600_000 });
    const [later] = put(t.stream, 1);
    await t.emulator.drain({ timeoutMs: 3600_000 });
    await t.emulator.stop();

    expect(t.calls.map((c) => c.seqs)).toEqual([s, s.slice(1), s.slice(1), [later]]);
    const dlq = t.emulator.dlq('sub');
    expect(dlq).toHaveLength(1);
    expect(dlq[0]!.body.requestContext).toMatchObject({ condition: 'RetryAttemptsExhausted', approximateInvokeCount: 3, functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:sub' });
    expect(dlq[0]!.body.responseContext).toEqual({ statusCode: 200, executedVersion: '$LATEST' });
    expect(dlq[0]!.body.DDBStreamBatchInfo).toEqual({
      shardId: 'shard-a',
      startSequenceNumber: s[1],
      endSequenceNumber: s[3],
      approximateArrivalOfFirstRecord: '2026-01-01T00:00:00Z',
      approximateArrivalOfLastRecord: '2026-01-01T00:00:00Z',
      batchSize: 3,
      streamArn: STREAM_ARN,
    });
    expect(t.emulator.isInDlq('sub', 'shard-a', s[2]!)).toBe(true);
    expect(t.emulator.isInDlq('sub', 'shard-a', s[0]!)).toBe(false);
    expect(t.emulator.counters().sub).toMatchObject({ committed: 2, dlqBatches: 1, dlqRecords: 3, retries: 2 });
  });

  it('treats an invalid batch response (unknown itemIdentifier) as a whole-batch failure', async () => {
    const t = setup({ settings: { batchSize: 2, bisectBatchOnError: false }, script: (_e, i) => (i === 0 ? { batchItemFailures: [{ itemIdentifier: 'nope' }] } : undefined) });
    const s = put(t.stream, 2);
    await run(t.emulator);
    expect(t.calls.map((c) => c.seqs)).toEqual([s, s]);
    expect(t.emulator.counters().sub).toMatchObject({ invalidResponses: 1, functionErrors: 0, retries: 1 });
  });
});

describe('EsmEmulator: thrown errors', () => {
  const poisonScript = (poison: () => string) => (event: DynamoDBStreamEvent) => {
    if (seqs(event.Records).includes(poison())) throw new Error('poison record');
    return undefined;
  };

  it('bisects a failing batch down to the poison record, which alone goes to the DLQ', async () => {
    let s: string[] = [];
    const t = setup({ settings: { batchSize: 4, retryAttempts: 2, bisectBatchOnError: true }, script: poisonScript(() => s[2]!) });
    s = put(t.stream, 4);
    await run(t.emulator);
    expect(t.calls.map((c) => c.seqs)).toEqual([s, [s[0], s[1]], [s[2], s[3]], [s[2]], [s[2]], [s[2]], [s[3]]]);
    const [entry] = t.emulator.dlq();
    expect(entry!.body.DDBStreamBatchInfo).toMatchObject({ startSequenceNumber: s[2], endSequenceNumber: s[2], batchSize: 1 });
    // Every invocation that carried the poison record: the whole batch, its half, then three alone.
    expect(entry!.body.requestContext).toMatchObject({ condition: 'RetryAttemptsExhausted', approximateInvokeCount: 5 });
    expect(entry!.body.responseContext).toMatchObject({ functionError: 'Unhandled' });
    expect(entry!.lastError).toEqual({ name: 'Error', message: 'poison record' });
    expect(t.emulator.counters().sub).toMatchObject({ bisects: 2, retries: 2, functionErrors: 5, committed: 3, dlqRecords: 1 });
  });

  it('without bisect retries the whole batch and sends the whole batch to the DLQ', async () => {
    let s: string[] = [];
    const t = setup({ settings: { batchSize: 4, retryAttempts: 1, bisectBatchOnError: false }, script: poisonScript(() => s[2]!) });
    s = put(t.stream, 4);
    await run(t.emulator);
    expect(t.calls.map((c) => c.seqs)).toEqual([s, s]);
    expect(t.emulator.dlq()[0]!.body.DDBStreamBatchInfo).toMatchObject({ startSequenceNumber: s[0], endSequenceNumber: s[3], batchSize: 4 });
    expect(t.emulator.counters().sub).toMatchObject({ bisects: 0, retries: 1, committed: 0 });
  });

  it('recovers when a retry succeeds: nothing in the DLQ, every record committed once', async () => {
    const t = setup({ settings: { batchSize: 3 }, script: (_e, i) => { if (i < 2) throw new Error('transient'); } });
    const s = put(t.stream, 3);
    await run(t.emulator);
    // Both failures were on batches of more than one record: bisected, never retried whole.
    expect(t.calls.map((c) => c.seqs)).toEqual([s, [s[0], s[1]], [s[0]], [s[1]], [s[2]]]);
    expect(t.emulator.dlq()).toEqual([]);
    expect(t.emulator.counters().sub).toMatchObject({ committed: 3, functionErrors: 2, bisects: 2, retries: 0 });
  });
});

describe('EsmEmulator: record age', () => {
  it('sends records older than maxRecordAgeSeconds to the DLQ without invoking', async () => {
    const t = setup({ settings: { batchSize: 10, maxRecordAgeSeconds: 3600 }, clock: new FakeClock(T0 + 2 * 3600_000) });
    const old = put(t.stream, 3);
    const [recent] = t.stream.put('shard-a', sdkRecord('P', 'new', { createdAt: new Date(T0 + 2 * 3600_000 - 10_000) }));
    await run(t.emulator);
    expect(t.calls.map((c) => c.seqs)).toEqual([[recent!.dynamodb!.SequenceNumber]]);
    const [entry] = t.emulator.dlq();
    expect(entry!.body.requestContext).toMatchObject({ condition: 'RecordAgeExceeded', approximateInvokeCount: 0 });
    expect(entry!.body.responseContext).toBeUndefined();
    expect(entry!.body.DDBStreamBatchInfo).toMatchObject({ startSequenceNumber: old[0], endSequenceNumber: old[2], batchSize: 3 });
  });

  it('expires a record while it is being retried', async () => {
    const t = setup({
      settings: { batchSize: 1, maxRecordAgeSeconds: 15 * 60, retryAttempts: 100 },
      retryDelayMs: () => 10 * 60_000,
      script: () => {
        throw new Error('down');
      },
    });
    const [s] = put(t.stream, 1);
    await run(t.emulator);
    expect(t.calls).toHaveLength(2); // at 1 min and ~11 min; at ~21 min the record is too old
    const [entry] = t.emulator.dlq();
    expect(entry!.body.requestContext).toMatchObject({ condition: 'RecordAgeExceeded', approximateInvokeCount: 2 });
    expect(entry!.body.responseContext).toMatchObject({ functionError: 'Unhandled' });
    expect(entry!.body.DDBStreamBatchInfo.startSequenceNumber).toBe(s);
  });
});

describe('EsmEmulator: filters, batching and order', () => {
  it('never delivers records that match no filter pattern, and counts them', async () => {
    const t = setup({ settings: { batchSize: 100 }, patterns: [{ dynamodb: { Keys: { PK: { S: [{ prefix: 'KEEP#' }] } } } }, { eventName: ['REMOVE'] }] });
    const keep = t.stream.put('shard-a', sdkRecord('KEEP#1', 'a'), sdkRecord('DROP#1', 'a'), sdkRecord('KEEP#2', 'b'), sdkRecord('DROP#2', 'b', { eventName: 'REMOVE' }), sdkRecord('DROP#3', 'c'));
    await run(t.emulator);
    const expected = [keep[0], keep[2], keep[3]].map((r) => r!.dynamodb!.SequenceNumber);
    expect(t.calls.flatMap((c) => c.seqs)).toEqual(expected);
    expect(t.emulator.counters().sub).toMatchObject({ read: 5, filtered: 2, matched: 3, delivered: 3, committed: 3 });
  });

  it('delivers in stream order per shard, batches never mixing shards or exceeding batchSize', async () => {
    const stream = new FakeStream().addShard('shard-a').addShard('shard-b');
    const byShard: Record<string, string[]> = { 'shard-a': [], 'shard-b': [] };
    const t = setup({
      stream,
      settings: { batchSize: 3 },
      script: (event) => {
        const shards = new Set(event.Records.map((r) => (r.dynamodb!.Keys!.PK!.S as string)));
        expect(shards.size).toBe(1);
        expect(event.Records.length).toBeLessThanOrEqual(3);
        byShard[[...shards][0]!]!.push(...seqs(event.Records));
      },
    });
    const a = put(stream, 7, 'shard-a', 'shard-a');
    const b = put(stream, 8, 'shard-b', 'shard-b');
    await run(t.emulator);
    expect(byShard).toEqual({ 'shard-a': a, 'shard-b': b });
  });

  it('waits for the batching window before sending a partial batch', async () => {
    const t = setup({ settings: { batchSize: 10, maxBatchingWindowSeconds: 1 } });
    put(t.stream, 3);
    const startedAt = t.clock.now();
    await run(t.emulator);
    expect(t.calls).toHaveLength(1);
    expect(t.calls[0]!.seqs).toHaveLength(3);
    expect(t.calls[0]!.at - startedAt).toBeGreaterThanOrEqual(1000);
  });

  it('hands the handler Lambda-shaped records and a fresh copy per invocation', async () => {
    const seen: DynamoDBStreamEvent[] = [];
    const t = setup({
      settings: { batchSize: 1 },
      script: (event, i) => {
        seen.push(structuredClone(event));
        event.Records[0]!.dynamodb!.Keys = {}; // a handler mutating its event must not affect the retry
        if (i === 0) throw new Error('again');
      },
    });
    put(t.stream, 1);
    await run(t.emulator);
    expect(seen).toHaveLength(2);
    expect(seen[1]).toEqual(seen[0]);
    expect(seen[0]!.Records[0]).toMatchObject({
      eventSourceARN: STREAM_ARN,
      eventName: 'INSERT',
      dynamodb: { ApproximateCreationDateTime: T0 / 1000, Keys: { PK: { S: 'P' }, SK: { S: 'S0' } } },
    });
  });
});

describe('EsmEmulator: shards', () => {
  it('reads a child shard only after its parent is exhausted, and delivers the parent first', async () => {
    const stream = new FakeStream().addShard('parent').addShard('child', 'parent');
    const delivered: string[] = [];
    const t = setup({ stream, settings: { batchSize: 10 }, script: (event) => void delivered.push(...seqs(event.Records)) });
    const p = put(stream, 2, 'parent');
    const c = put(stream, 2, 'child');
    await t.emulator.start();
    await t.emulator.drain({ timeoutMs: 3600_000 });
    expect(delivered).toEqual(p);
    expect(stream.getRecordsCalls).not.toContain('child');

    const p2 = put(stream, 1, 'parent');
    stream.close('parent');
    await t.emulator.drain({ timeoutMs: 3600_000 });
    await t.emulator.stop();
    expect(delivered).toEqual([...p, ...p2, ...c]);
    expect(t.emulator.status().shards).toEqual([
      { shardId: 'parent', parentShardId: undefined, read: 3, exhausted: true },
      { shardId: 'child', parentShardId: 'parent', read: 2, exhausted: false },
    ]);
  });

  it('finishes a failing parent batch before delivering the child', async () => {
    const stream = new FakeStream().addShard('parent').addShard('child', 'parent');
    const t = setup({ stream, settings: { batchSize: 10 }, script: (_e, i) => { if (i < 2) throw new Error('retry me'); } });
    const p = put(stream, 1, 'parent');
    stream.close('parent');
    const c = put(stream, 1, 'child');
    await run(t.emulator);
    expect(t.calls.map((x) => x.seqs)).toEqual([p, p, p, c]);
  });

  it('re-acquires an expired iterator after the last record read, losing and repeating nothing', async () => {
    const t = setup({ settings: { batchSize: 100 } });
    const first = put(t.stream, 2);
    await t.emulator.start();
    await t.emulator.drain({ timeoutMs: 3600_000 });
    t.stream.failNext.push(Object.assign(new Error('Iterator expired'), { name: 'ExpiredIteratorException' }));
    const second = put(t.stream, 2);
    await t.emulator.drain({ timeoutMs: 3600_000 });
    await t.emulator.stop();
    expect(t.calls.flatMap((c) => c.seqs)).toEqual([...first, ...second]);
  });

  it('keeps polling through stream errors and logs them', async () => {
    const t = setup();
    t.stream.failNext.push(new Error('connection reset'), new Error('connection reset'));
    const s = put(t.stream, 1);
    await run(t.emulator);
    expect(t.calls.flatMap((c) => c.seqs)).toEqual(s);
    expect(t.lines.filter((l) => l.message.startsWith('stream poll failed'))).toHaveLength(2);
  });
});

describe('EsmEmulator: a stream that stays down', () => {
  it('makes drain reject after maxConsecutivePollErrors failed polls, pausing between them', async () => {
    const stream = new FakeStream().addShard('shard-a');
    stream.failNext = Array.from({ length: 50 }, () => new Error('ECONNREFUSED'));
    const clock = new FakeClock(T0);
    const emulator = new EsmEmulator({
      streams: stream,
      streamArn: STREAM_ARN,
      mappings: [{ name: 'sub', filterPatterns: [], handler: async () => undefined }],
      clock,
      pollIntervalMs: 250,
      maxConsecutivePollErrors: 3,
      log: memoryLog().log,
    });
    stream.put('shard-a', sdkRecord('P', 'x'));
    await emulator.start();
    await expect(emulator.drain()).rejects.toThrow(/polling keeps failing: ECONNREFUSED/);
    await emulator.stop();
    expect(clock.now() - T0).toBeGreaterThanOrEqual(2 * 250); // it paused after each failure
  });
});

describe('EsmEmulator: mappings, fault hooks, drain, DLQ file', () => {
  it('runs mappings independently: one failing does not hold the other back', async () => {
    const other: string[][] = [];
    const t = setup({
      settings: { batchSize: 10, retryAttempts: 1, bisectBatchOnError: false },
      script: () => {
        throw new Error('always');
      },
      extraMappings: [{ name: 'other', filterPatterns: [], handler: async (e) => void other.push(seqs(e.Records)) }],
    });
    const s = put(t.stream, 3);
    await run(t.emulator);
    expect(other).toEqual([s]);
    const counters = t.emulator.counters();
    expect(counters.sub).toMatchObject({ invocations: 2, dlqBatches: 1, committed: 0 });
    expect(counters.other).toMatchObject({ invocations: 1, dlqBatches: 0, committed: 3 });
    expect(t.emulator.dlq('other')).toEqual([]);
  });

  it('lets the invoke hook time a handler out after its side effects (a function error) and deliver duplicates', async () => {
    const effects: string[] = [];
    let timeouts = 1;
    const t = setup({
      settings: { batchSize: 10, bisectBatchOnError: false },
      script: (event) => void effects.push(...seqs(event.Records)),
      invoke: async ({ handler, event, context }) => {
        await handler(event, context); // a duplicate delivery...
        const result = await handler(event, context);
        if (timeouts-- > 0) throw new Error('Task timed out after 30.00 seconds'); // ...then a timeout
        return result;
      },
    });
    const s = put(t.stream, 2);
    await run(t.emulator);
    expect(effects).toEqual([...s, ...s, ...s, ...s]);
    expect(t.emulator.counters().sub).toMatchObject({ invocations: 2, functionErrors: 1, committed: 2 });
  });

  it('drain waits for records the handlers write while being drained', async () => {
    let writes = 3;
    const t = setup({
      settings: { batchSize: 1 },
      script: () => {
        if (writes-- > 0) t.stream.put('shard-a', sdkRecord('P', `written-${writes}`));
      },
    });
    put(t.stream, 1);
    await run(t.emulator);
    expect(t.calls).toHaveLength(4);
    expect(t.emulator.counters().sub).toMatchObject({ read: 4, committed: 4 });
  });

  it('drain rejects on timeout while a handler keeps failing, and after stop', async () => {
    const t = setup({ settings: { retryAttempts: -1, bisectBatchOnError: false }, retryDelayMs: () => 1000, script: () => Promise.reject(new Error('down')) });
    put(t.stream, 1);
    await t.emulator.start();
    await expect(t.emulator.drain({ timeoutMs: 60_000 })).rejects.toThrow(/not drained in time/);
    const pending = t.emulator.drain();
    await t.emulator.stop();
    await expect(pending).rejects.toThrow(/stopped/);
    await expect(t.emulator.drain()).rejects.toThrow(/not running/);
  });

  it('appends each DLQ entry to the DLQ file as one JSON line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'esm-dlq-'));
    try {
      const file = join(dir, 'nested', 'dlq.jsonl');
      const t = setup({ settings: { batchSize: 1, retryAttempts: 0 }, dlqFile: file, script: () => { throw new Error('no'); } });
      const s = put(t.stream, 2);
      await run(t.emulator);
      const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      expect(lines).toEqual(t.emulator.dlq().map((e) => JSON.parse(JSON.stringify(e))));
      expect(lines.map((l) => l.body.DDBStreamBatchInfo.startSequenceNumber)).toEqual(s);
      expect(lines[0]).toMatchObject({ subsystem: 'sub', body: { version: '1.0', requestContext: { condition: 'RetryAttemptsExhausted' } } });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stops promptly on the system clock (the idle pause is cancelled, no timer left behind)', async () => {
    const stream = new FakeStream().addShard('shard-a');
    const emulator = new EsmEmulator({
      streams: stream,
      streamArn: STREAM_ARN,
      mappings: [{ name: 'sub', filterPatterns: [], handler: async () => undefined }],
      clock: systemClock,
      pollIntervalMs: 10 * 60_000, // a leaked pause would outlive jest's timeout
      settings: { ...DEFAULT_MAPPING_SETTINGS, maxBatchingWindowSeconds: 0 },
      log: memoryLog().log,
    });
    await emulator.start();
    stream.put('shard-a', sdkRecord('P', 'x', { createdAt: new Date() }));
    await emulator.drain(); // wakes the loop instead of waiting out the pause
    await emulator.stop();
    expect(emulator.counters().sub).toMatchObject({ committed: 1 });
  });

  it('rejects settings it does not emulate', () => {
    const stream = new FakeStream();
    const base = { streams: stream, streamArn: STREAM_ARN, mappings: [{ name: 'a', filterPatterns: [], handler: async () => undefined }] };
    expect(() => new EsmEmulator({ ...base, settings: { ...DEFAULT_MAPPING_SETTINGS, startingPosition: 'LATEST' } })).toThrow(/TRIM_HORIZON/);
    expect(() => new EsmEmulator({ ...base, mappings: [...base.mappings, ...base.mappings] })).toThrow(/duplicate/);
  });
});

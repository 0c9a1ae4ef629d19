import type { Context, DynamoDBRecord, SQSEvent } from 'aws-lambda';
import { FULL, sourcesFigures, sourcesMarkdown } from '../../bench/sources';
import { poolRuns, type FreshnessRun } from '../../bench/sources-freshness';
import { readModel } from '../../bench/sources-model';
import { FreshnessTracker, SEARCH_INDEXED, summarize, writeKey, writeKeyOf } from '../../bench/sources-tracker';
import type { InvocationCall } from '../../local/esm-types';

const record = (eventName: 'INSERT' | 'MODIFY' | 'REMOVE', sk: string, version: number, seq: string, eventID = `e-${seq}`): DynamoDBRecord => {
  const image = { PK: { S: 'P' }, SK: { S: sk }, bench_v: { N: String(version) } };
  return {
    eventID,
    eventName,
    dynamodb: { Keys: { PK: { S: 'P' }, SK: { S: sk } }, SequenceNumber: seq, ...(eventName === 'REMOVE' ? { OldImage: image } : { NewImage: image }) },
  };
};

const call = (subsystem: string, records: DynamoDBRecord[], handler: InvocationCall['handler']): InvocationCall => ({
  subsystem,
  shardId: 'shard-1',
  event: { Records: records },
  context: {} as Context,
  attempt: 1,
  retries: 0,
  handler,
});

describe('bench/sources-tracker', () => {
  it('names a write by keys and version, a remove by the version it removed, and ignores rows without a version', () => {
    expect(writeKeyOf(record('INSERT', 'A', 3, '1'))).toBe(writeKey('P', 'A', 3, false));
    expect(writeKeyOf(record('REMOVE', 'A', 3, '2'))).toBe(writeKey('P', 'A', 3, true));
    expect(writeKeyOf(record('REMOVE', 'A', 3, '2'))).not.toBe(writeKeyOf(record('MODIFY', 'A', 3, '2')));
    expect(writeKeyOf({ eventName: 'INSERT', dynamodb: { Keys: { PK: { S: 'P' }, SK: { S: 'DEFAULT' } }, NewImage: { url: { S: 'u' } } } })).toBeUndefined();
  });

  it('measures write completion → the call that applied it; failed records wait for their retry; a second delivery is counted apart', async () => {
    let now = 0;
    const tracker = new FreshnessTracker(() => now);
    tracker.wrote(writeKey('P', 'A', 1, false), 100);
    tracker.wrote(writeKey('P', 'B', 2, false), 150);
    const a = record('INSERT', 'A', 1, '10');
    const b = record('INSERT', 'B', 2, '11');
    // First call: B reported failed.
    await tracker.invoke(call('image-sync', [a, b], async () => ((now = 1100), { batchItemFailures: [{ itemIdentifier: '11' }] })));
    expect(tracker.samples()['image-sync']).toEqual([1000]);
    // The retry applies B; A comes again (a duplicate) and keeps its first time.
    await tracker.invoke(call('image-sync', [b, a], async () => ((now = 1650), { batchItemFailures: [] })));
    expect(tracker.samples()['image-sync']).toEqual([1000, 1500]);
    expect(tracker.reapplied).toBe(1);
    // A call that throws applies nothing.
    await expect(tracker.invoke(call('audit-trail', [a], async () => { now = 2000; throw new Error('boom'); }))).rejects.toThrow('boom');
    expect(tracker.samples()['audit-trail']).toBeUndefined();
  });

  it('follows a search change to the indexer call that handled its message (by eventID), failed messages excluded', async () => {
    let now = 0;
    const tracker = new FreshnessTracker(() => now);
    tracker.wrote(writeKey('P', 'A', 1, false), 0);
    tracker.wrote(writeKey('P', 'B', 2, false), 0);
    await tracker.invoke(call('typesense-sync', [record('INSERT', 'A', 1, '1', 'ev-a'), record('INSERT', 'B', 2, '2', 'ev-b')], async () => ((now = 900), {})));
    const message = (id: string, eventID: string) => ({ messageId: id, body: JSON.stringify({ v: 2, origin: { kind: 'stream', eventID } }) });
    const event = { Records: [message('m1', 'ev-a'), message('m2', 'ev-b'), message('m3', 'ev-unknown')] } as unknown as SQSEvent;
    await tracker.indexerInvoke(event, async () => ((now = 1300), { batchItemFailures: [{ itemIdentifier: 'm2' }] }));
    expect(tracker.samples()[SEARCH_INDEXED]).toEqual([1300]);
  });

  it('summarises per subsystem by nearest rank, and pools runs of one case', () => {
    const s = summarize({ b: [30, 10, 20], a: [5] });
    expect(Object.keys(s)).toEqual(['a', 'b']);
    expect(s.b).toEqual({ applied: 3, p50Ms: 20, p99Ms: 30, maxMs: 30 });
    const run = (samples: Record<string, number[]>, extra: Partial<FreshnessRun>): FreshnessRun => ({
      source: 'kinesis', shards: 1, writes: 10, writesPerSecond: 20, bySubsystem: summarize(samples), samples, reapplied: 1, kinesisDuplicates: 2, emulatorGetRecordsPerSecond: 4, driftOrDeadLettered: 0, ...extra,
    });
    const pooled = poolRuns([run({ x: [100, 300] }, {}), run({ x: [200], y: [7] }, { writesPerSecond: 18, emulatorGetRecordsPerSecond: 6, driftOrDeadLettered: 1 })]);
    expect(pooled.bySubsystem.x).toEqual({ applied: 3, p50Ms: 200, p99Ms: 300, maxMs: 300 });
    expect(pooled.bySubsystem.y?.applied).toBe(1);
    expect(pooled).toMatchObject({ writes: 20, writesPerSecond: 19, reapplied: 2, kinesisDuplicates: 4, emulatorGetRecordsPerSecond: 5, driftOrDeadLettered: 1, shards: 1 });
    expect(() => poolRuns([])).toThrow(/no runs/);
  });
});

describe('bench/sources: report', () => {
  it('puts every model row, the measured rates and each case’s freshness in the table and the flat figures', () => {
    const samples = { 'image-sync': [900, 1100] };
    const run: FreshnessRun = { source: 'dynamodb-streams', writes: 2, writesPerSecond: 20, bySubsystem: summarize(samples), samples, reapplied: 0, emulatorGetRecordsPerSecond: 9, driftOrDeadLettered: 0 };
    const polled = (mappings: number) => ({ mappings, shards: 1, seconds: 5, getRecordsCalls: 4 * mappings * 5, callsPerShardPerSecond: 4 * mappings, throttled: 0, rowsWritten: 10, minRecordsPerPoller: 10, maxRecordsPerPoller: 10 });
    const result = {
      sizes: FULL,
      model: [readModel('dynamodb-streams', 3), readModel('kinesis', 5)],
      polled: [polled(3)],
      burst: { ...polled(1), callsPerShardPerSecond: 190 },
      freshness: [{ label: 'dynamodb-streams (baseline)', run }],
    };
    const table = sourcesMarkdown(result);
    expect(table).toContain('| dynamodb-streams | 3 | 12 | 12 (0) | 3 (over) |');
    expect(table).toContain('| kinesis | 5 | 0.017 | not measurable here | 5 |');
    expect(table).toContain('| image-sync | 900 / 1100 (2) |');
    const figures = sourcesFigures(result);
    expect(figures['measured dynamodb-streams x3: GetRecords/shard/s (throttled)']).toBe('12 (0)');
    expect(figures['dynamodb-streams (baseline): image-sync p50/p99 ms (n)']).toBe('900 / 1100 (2)');
  });
});

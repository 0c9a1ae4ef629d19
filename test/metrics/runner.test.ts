/**
 * The shared stream runner's metrics: RecordsReceived / RecordsOwned / RecordsSkipped and one
 * Failures datapoint (by kind) per invocation that stopped, published once per invocation
 * (failed ones included) through a real Powertools Metrics; nothing at all without one.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBRecord } from 'aws-lambda';
import { CUSTOM_METRICS } from '../../lib/dashboard';
import { METRICS_NAMESPACE } from '../../lib/stream-function';
import { ChangeFailedError, StreamRecordError } from '../../lambda/shared/errors';
import { classified, COUNT_METRICS, DEFAULT_METRICS_NAMESPACE, failureKindOf, MetricTally, STREAM_METRICS } from '../../lambda/shared/metrics';
import { createStreamHandler, type Subsystem } from '../../lambda/shared/runner';
import { insertRecord, removeRecord, streamEvent } from '../support/events';
import { capture, countersOf, enableMetrics, expectServiceDocs, failuresOf, metricsFor } from './support';

const logger = new Logger({ serviceName: 'runner-metrics-test', logLevel: 'SILENT' });
const owned = (n: number) => insertRecord({ PK: `OWN#${n}`, SK: 'ROW' });
const foreign = (n: number) => insertRecord({ PK: `OTHER#${n}`, SK: 'ROW' });
const undecodable = (): DynamoDBRecord => {
  const record = removeRecord({ PK: 'OWN#bad', SK: 'ROW' });
  delete record.dynamodb!.Keys;
  return record;
};

/** A subsystem owning `OWN#` rows; `apply` can be made to fail at a position. */
function subsystem(failWith?: (changes: number) => unknown): Subsystem & { applied: number[] } {
  const applied: number[] = [];
  return {
    name: 'test-subsystem',
    applied,
    owns: (keys) => keys.PK.startsWith('OWN#'),
    needsImages: false,
    apply: async (changes) => {
      applied.push(changes.length);
      const error = failWith?.(changes.length);
      if (error) throw error;
    },
  };
}

let restore: () => void;
beforeAll(() => (restore = enableMetrics()));
afterAll(() => restore());

const streamHandler = (sub: Subsystem) => {
  const tally = new MetricTally(metricsFor('test-subsystem'), STREAM_METRICS);
  return createStreamHandler(sub, logger, tally);
};

describe('stream runner metrics', () => {
  it('3 owned + 2 foreign records: RecordsReceived 5, RecordsOwned 3, RecordsSkipped 2, in one line, no failures', async () => {
    const sub = subsystem();
    const handler = streamHandler(sub);
    const { result, docs, other } = await capture(() => handler(streamEvent(owned(1), foreign(1), owned(2), foreign(2), owned(3))));
    expect(result).toEqual({ batchItemFailures: [] });
    expect(sub.applied).toEqual([3]);
    expectServiceDocs(docs, 'test-subsystem');
    expect(countersOf(docs).values).toEqual({ RecordsReceived: 5, RecordsOwned: 3, RecordsSkipped: 2 });
    expect(failuresOf(docs)).toEqual({});
    expect(other).toEqual([]);
  });

  it('publishes per invocation: counts never carry over, and a batch of only foreign records still reports its zeros', async () => {
    const handler = streamHandler(subsystem());
    const first = await capture(() => handler(streamEvent(owned(1), owned(2))));
    const second = await capture(() => handler(streamEvent(foreign(1))));
    expect(countersOf(first.docs).values).toEqual({ RecordsReceived: 2, RecordsOwned: 2, RecordsSkipped: 0 });
    expect(countersOf(second.docs).values).toEqual({ RecordsReceived: 1, RecordsOwned: 0, RecordsSkipped: 1 });
  });

  it('a record that cannot be decoded: Failures kind=decode once; records behind it are neither owned nor skipped', async () => {
    const sub = subsystem();
    const handler = streamHandler(sub);
    const bad = undecodable();
    const { result, docs } = await capture(() => handler(streamEvent(owned(1), foreign(1), bad, owned(2), foreign(2))));
    expect((result as { batchItemFailures: unknown[] }).batchItemFailures).toHaveLength(3);
    expect(countersOf(docs).values).toEqual({ RecordsReceived: 5, RecordsOwned: 1, RecordsSkipped: 1 });
    expect(failuresOf(docs)).toEqual({ decode: 1 });
    expectServiceDocs(docs, 'test-subsystem');
  });

  it('a subsystem failure counts the kind its error was classified with, found through the cause chain', async () => {
    const handler = streamHandler(subsystem(() => new ChangeFailedError(1, new StreamRecordError({ pk: 'OWN#2' }, 'wrapped', { cause: classified(new Error('slow down'), 'throttled') }))));
    const { result, docs } = await capture(() => handler(streamEvent(owned(1), owned(2), owned(3))));
    expect((result as { batchItemFailures: unknown[] }).batchItemFailures).toHaveLength(2);
    expect(failuresOf(docs)).toEqual({ throttled: 1 });
    expect(countersOf(docs).values).toEqual({ RecordsReceived: 3, RecordsOwned: 3, RecordsSkipped: 0 });
  });

  it('an unclassified error is fatal; a batch that failed whole still publishes before the handler rejects', async () => {
    const handler = streamHandler(subsystem(() => new Error('AccessDenied')));
    const { error, docs } = await capture(() => handler(streamEvent(owned(1), foreign(1))));
    expect((error as Error).name).toBe('FullBatchFailureError');
    expect(failuresOf(docs)).toEqual({ fatal: 1 });
    expect(countersOf(docs).values).toEqual({ RecordsReceived: 2, RecordsOwned: 1, RecordsSkipped: 1 });
  });

  it('an event that is not a stream batch: Failures kind=decode, published, and the handler throws', async () => {
    const handler = streamHandler(subsystem());
    const { error, docs } = await capture(() => handler({} as never));
    expect(String(error)).toContain('no Records array');
    expect(failuresOf(docs)).toEqual({ decode: 1 });
  });

  it('a Metrics that throws while publishing never changes the batch\'s outcome; the error is reported on stderr', async () => {
    const broken = { addMetric: () => { throw new RangeError('metric store full'); }, clearMetrics: jest.fn() };
    const handler = createStreamHandler(subsystem(), logger, new MetricTally(broken as never, STREAM_METRICS));
    const errors = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const { result } = await capture(() => handler(streamEvent(owned(1))));
      expect(result).toEqual({ batchItemFailures: [] });
      expect(broken.clearMetrics).toHaveBeenCalledTimes(1);
      expect(errors).toHaveBeenCalledWith('metrics not published: RangeError: metric store full');
    } finally {
      errors.mockRestore();
    }
  });

  it('without a Metrics the runner counts nothing and writes nothing to stdout', async () => {
    const handler = createStreamHandler(subsystem(() => new Error('boom')), logger);
    const { error, docs, other } = await capture(() => handler(streamEvent(owned(1), foreign(1))));
    expect((error as Error).name).toBe('FullBatchFailureError');
    expect(docs).toEqual([]);
    expect(other).toEqual([]);
  });
});

describe('metric names and kinds', () => {
  it('the dashboard graphs exactly the counters plus Failures, in the namespace the stack sets', () => {
    expect([...CUSTOM_METRICS].sort()).toEqual([...COUNT_METRICS, 'Failures'].sort());
    expect(METRICS_NAMESPACE).toBe(DEFAULT_METRICS_NAMESPACE);
  });

  it('failureKindOf: the nearest classified error in the cause chain wins; otherwise the fallback', () => {
    const inner = classified(new Error('inner'), 'throttled');
    const outer = classified(new Error('outer', { cause: inner }), 'condition-exhausted');
    expect(failureKindOf(new ChangeFailedError(0, outer))).toBe('condition-exhausted');
    expect(failureKindOf(new Error('x', { cause: inner }))).toBe('throttled');
    expect(failureKindOf(new Error('plain'))).toBe('fatal');
    expect(failureKindOf('a string', 'decode')).toBe('decode');
  });
});

import { FullBatchFailureError } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBRecord } from 'aws-lambda';
import type { StreamChange } from '../../lambda/shared/decode';
import { ChangeFailedError } from '../../lambda/shared/errors';
import { applyInOrder, createStreamHandler, type Subsystem } from '../../lambda/shared/runner';
import { SafeError } from '../../lambda/shared/safe-error';
import { insertRecord, removeRecord, streamEvent } from '../support/events';

const owned = (n: number) => insertRecord({ PK: 'OWNED', SK: `S#${n}`, owner_name: `Secret Owner ${n}` });
const foreign = (n: number) => insertRecord({ PK: 'OTHER', SK: `S#${n}` });
const seq = (r: DynamoDBRecord) => r.dynamodb!.SequenceNumber!;

/** A subsystem that owns PK=OWNED and fails on the SKs it is told to. */
function recordingSubsystem(failOn: Set<string> = new Set()) {
  const applied: string[] = [];
  const calls: string[][] = [];
  const subsystem: Subsystem = {
    name: 'test',
    owns: (keys) => keys.PK === 'OWNED',
    apply: (changes) => {
      calls.push(changes.map((c) => c.keys.SK));
      return applyInOrder(changes, async (change: StreamChange) => {
        if (failOn.has(change.keys.SK)) throw new Error(`boom on ${change.keys.SK}`);
        applied.push(change.keys.SK);
      });
    },
  };
  return { subsystem, applied, calls };
}

const quietLogger = () => {
  const logger = new Logger({ serviceName: 'test', logLevel: 'SILENT' });
  return { logger, info: jest.spyOn(logger, 'info'), error: jest.spyOn(logger, 'error'), debug: jest.spyOn(logger, 'debug') };
};

describe('ordered stream runner', () => {
  it('processes in stream order and reports nothing when all succeed', async () => {
    const { subsystem, applied } = recordingSubsystem();
    const records = [owned(1), foreign(2), owned(3)];
    const response = await createStreamHandler(subsystem, quietLogger().logger)(streamEvent(...records));
    expect(response).toEqual({ batchItemFailures: [] });
    expect(applied).toEqual(['S#1', 'S#3']);
  });

  it('stops at the first failure and reports that record and every later one', async () => {
    const { subsystem, applied } = recordingSubsystem(new Set(['S#3']));
    const records = [owned(1), owned(2), owned(3), foreign(4), owned(5)];
    const response = await createStreamHandler(subsystem, quietLogger().logger)(streamEvent(...records));
    expect(response.batchItemFailures).toEqual(records.slice(2).map((r) => ({ itemIdentifier: seq(r) })));
    expect(applied).toEqual(['S#1', 'S#2']);
  });

  it('maps a batch-level failure position back to its record, past skipped rows', async () => {
    const records = [foreign(1), owned(2), foreign(3), owned(4), owned(5)];
    const subsystem: Subsystem = {
      name: 'batchy',
      owns: (keys) => keys.PK === 'OWNED',
      apply: async (changes) => {
        expect(changes.map((c) => c.keys.SK)).toEqual(['S#2', 'S#4', 'S#5']);
        throw new ChangeFailedError(1, new Error('second owned change failed'));
      },
    };
    const response = await createStreamHandler(subsystem, quietLogger().logger)(streamEvent(...records));
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(records.slice(3).map(seq));
  });

  it('treats an error that names no position as a failure of the first owned change', async () => {
    const records = [foreign(1), owned(2), owned(3)];
    const subsystem: Subsystem = { name: 'x', owns: (k) => k.PK === 'OWNED', apply: async () => Promise.reject(new Error('network down')) };
    const response = await createStreamHandler(subsystem, quietLogger().logger)(streamEvent(...records));
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(records.slice(1).map(seq));
  });

  it('stops at a malformed record after applying the owned records before it', async () => {
    const { subsystem, applied, calls } = recordingSubsystem();
    const bad = { ...owned(3), eventName: 'TRUNCATE' } as unknown as DynamoDBRecord;
    const records = [owned(1), owned(2), bad, owned(4)];
    const { logger, error } = quietLogger();
    const response = await createStreamHandler(subsystem, logger)(streamEvent(...records));
    expect(calls).toEqual([['S#1', 'S#2']]);
    expect(applied).toEqual(['S#1', 'S#2']);
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([seq(bad), seq(records[3]!)]);
    expect(error).toHaveBeenCalledTimes(1);
    const [, details] = error.mock.calls[0] as [string, Record<string, unknown>];
    expect(details).toMatchObject({ eventID: bad.eventID, pk: 'OWNED', sk: 'S#3' });
    expect(String((details.error as Error).message)).toMatch(/unknown eventName "TRUNCATE"/);
  });

  it('throws when the whole batch failed, so bisect-on-error can split it', async () => {
    const { subsystem } = recordingSubsystem(new Set(['S#1']));
    await expect(createStreamHandler(subsystem, quietLogger().logger)(streamEvent(owned(1), owned(2)))).rejects.toBeInstanceOf(FullBatchFailureError);
  });

  it('a batch that failed whole throws an error naming its first record and the reason; it and its record errors hold only safe shapes', async () => {
    const records = [owned(1), owned(2)];
    const leaky = Object.assign(new Error('ValidationException: bad'), { name: 'ValidationException', $metadata: { httpStatusCode: 400 }, Item: { owner_name: 'Secret Owner 1' } });
    const subsystem: Subsystem = { name: 'leaky', owns: (k) => k.PK === 'OWNED', apply: async () => Promise.reject(leaky) };
    const { logger, error: logged } = quietLogger();
    const thrown = await createStreamHandler(subsystem, logger)(streamEvent(...records)).catch((e: unknown) => e);
    expect(thrown).toBeInstanceOf(FullBatchFailureError);
    expect((thrown as Error).name).toBe('FullBatchFailureError');
    expect((thrown as Error).message).toBe(
      `All records failed processing (2 in the batch, leaky); the first: eventID=${records[0]!.eventID} PK=OWNED SK=S#1: ValidationException: ValidationException: bad`,
    );
    const recordErrors = (thrown as FullBatchFailureError).recordErrors;
    expect(recordErrors.map((e) => e.name)).toEqual(['ValidationException', 'SkippedAfterFailure']);
    expect(recordErrors[0]).toBeInstanceOf(SafeError);
    expect({ ...recordErrors[0] }).toEqual({ name: 'ValidationException', status: 400, retryable: false });
    // What the Lambda runtime prints of a thrown error: its enumerable properties, nested ones too.
    const runtimeLine = JSON.stringify(thrown, (_k, v) => (v instanceof Error ? { errorType: v.name, errorMessage: v.message, ...v } : v));
    expect(runtimeLine).toContain('PK=OWNED SK=S#1');
    expect(runtimeLine).not.toContain('Secret Owner');
    const [, details] = logged.mock.calls[0] as [string, Record<string, unknown>];
    expect(details.error).toBeInstanceOf(SafeError);
    expect(JSON.stringify(details)).not.toContain('Secret Owner');
  });

  it('skips rows it does not own without applying or failing them', async () => {
    const { subsystem, calls } = recordingSubsystem();
    const logger = new Logger({ serviceName: 'test', logLevel: 'DEBUG' });
    const debug = jest.spyOn(logger, 'debug').mockImplementation(() => undefined);
    const response = await createStreamHandler(subsystem, logger)(streamEvent(foreign(1), removeRecord({ PK: 'OTHER', SK: 'x' })));
    expect(response).toEqual({ batchItemFailures: [] });
    expect(calls).toEqual([]);
    expect(debug.mock.calls.filter(([message]) => message === 'skipped: row not owned')).toHaveLength(2);
  });

  it('logs one compact line per owned record at DEBUG (INFO builds none), never the image', async () => {
    const { subsystem } = recordingSubsystem();
    const logger = new Logger({ serviceName: 'test', logLevel: 'DEBUG' });
    const debug = jest.spyOn(logger, 'debug').mockImplementation(() => undefined);
    const info = jest.spyOn(logger, 'info').mockImplementation(() => undefined);
    const records = [owned(1), owned(2)];
    await createStreamHandler(subsystem, logger)(streamEvent(...records));
    const lines = debug.mock.calls.filter(([message]) => message === 'stream record');
    expect(lines).toHaveLength(2);
    expect(lines[0]![1]).toEqual({ eventName: 'INSERT', pk: 'OWNED', sk: 'S#1', sizeBytes: records[0]!.dynamodb!.SizeBytes, eventID: records[0]!.eventID });
    expect(info).not.toHaveBeenCalledWith('stream record', expect.anything());
    expect(info).toHaveBeenCalledWith('stream batch', expect.objectContaining({ recordsReceived: 2, recordsOwned: 2, eventNames: { INSERT: 2 } }));
    expect(JSON.stringify([...debug.mock.calls, ...info.mock.calls])).not.toContain('Secret Owner');
  });

  it('rejects an event that is not a stream batch', async () => {
    const { subsystem } = recordingSubsystem();
    await expect(createStreamHandler(subsystem, quietLogger().logger)({} as never)).rejects.toThrow(/no Records array/);
  });
});

/**
 * image-sync's EMF lines, from the real handler factory on DynamoDB Local: the runner's record
 * counts, PointersWritten (per entity write, not per key), ReconcileNoops (per key),
 * ConditionalRetries (re-reads after a lost race, injected deterministically through
 * hooks.afterRead) and Failures by kind.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { createImageHandler, type ImageSyncDeps } from '../../lambda/image-sync/handler';
import { createTestTable, type TestTable } from '../support/dynamodb';
import { insertRecord } from '../support/events';
import { fixedClock, imageRow, instrumentedClient, newEntity, pointerFor, readPointer, tableWriter, WRITE_COMMANDS, writePointer } from '../image-sync/helpers';
import { capture, countersOf, enableMetrics, expectServiceDocs, failuresOf, metricsFor } from './support';

let table: TestTable;
let writer: ReturnType<typeof tableWriter>;
let restore: () => void;
beforeAll(async () => {
  restore = enableMetrics();
  table = await createTestTable('metrics-image');
  writer = tableWriter(table);
});
afterAll(async () => {
  restore();
  await table.drop();
});

const logger = new Logger({ serviceName: 'image-sync', logLevel: 'SILENT' });
const handlerWith = (deps: Partial<ImageSyncDeps> = {}) =>
  createImageHandler({ doc: table.doc, tableName: table.tableName, logger, clock: fixedClock, metrics: metricsFor('image-sync'), ...deps });
const foreignLink = (n: number) => insertRecord({ PK: 'FAA#LINKS', SK: `MFR_MDL_CODE#IMG${n}#SN#1`, type_designator: 'C172' });
const failedCount = (result: unknown) => (result as { batchItemFailures: unknown[] }).batchItemFailures.length;

describe('image-sync metrics', () => {
  it('3 owned keys of 2 entities + 2 foreign records: 5/3/2 records; one write covers both keys of one entity, the other entity is already right (1 no-op); a replay: ReconcileNoops 3', async () => {
    const a = newEntity('REGISTRATION');
    const b = newEntity('ICAO');
    const a1 = await writer.put(imageRow(a, 1));
    const a2 = await writer.put(imageRow(a, 2));
    const b1 = await writer.put(imageRow(b, 1));
    // image-sync's own pointer row matches no image rule: it is skipped like a foreign row.
    await writePointer(table, b, pointerFor(imageRow(b, 1)));
    const pointerRecord = insertRecord({ PK: String(imageRow(b, 1).PK), SK: 'DEFAULT' });
    const handler = handlerWith();

    const first = await capture(() => handler({ Records: [a1, foreignLink(1), a2, b1, pointerRecord] }));
    expect(first.result).toEqual({ batchItemFailures: [] });
    expectServiceDocs(first.docs, 'image-sync');
    // b already had the right pointer: its one key is a no-op; a's two keys share one write.
    expect(countersOf(first.docs).values).toEqual({
      RecordsReceived: 5,
      RecordsOwned: 3,
      RecordsSkipped: 2,
      PointersWritten: 1,
      ConditionalRetries: 0,
      ReconcileNoops: 1,
    });
    expect(failuresOf(first.docs)).toEqual({});
    expect(await readPointer(table, a)).toMatchObject(pointerFor(imageRow(a, 2)));

    const replay = await capture(() => handler({ Records: [a1, foreignLink(1), a2, b1, pointerRecord] }));
    expect(countersOf(replay.docs).values).toMatchObject({ RecordsOwned: 3, PointersWritten: 0, ReconcileNoops: 3, ConditionalRetries: 0 });
  });

  it('two entities needing a pointer each: PointersWritten 2', async () => {
    const a = newEntity('REGISTRATION');
    const b = newEntity('REGISTRATION');
    const records = [await writer.put(imageRow(a, 1)), await writer.put(imageRow(b, 1))];
    const { docs } = await capture(() => handlerWith()({ Records: records }));
    expect(countersOf(docs).values).toMatchObject({ RecordsOwned: 2, PointersWritten: 2, ReconcileNoops: 0 });
  });

  it('the pointer changes between the reads and the write once: ConditionalRetries 1, then the re-read writes (PointersWritten 1)', async () => {
    const entity = newEntity('REGISTRATION');
    const record = await writer.put(imageRow(entity, 1));
    let raced = false;
    const handler = handlerWith({
      hooks: {
        afterRead: async () => {
          if (raced) return;
          raced = true;
          await writePointer(table, entity, { image_sk: 'IMG#999999', url: 'https://elsewhere/x.jpg', updated_at: '2026-01-01T00:00:00Z' });
        },
      },
    });
    const { result, docs } = await capture(() => handler({ Records: [record] }));
    expect(result).toEqual({ batchItemFailures: [] });
    expect(countersOf(docs).values).toMatchObject({ PointersWritten: 1, ConditionalRetries: 1, ReconcileNoops: 0 });
    expect(await readPointer(table, entity)).toMatchObject(pointerFor(imageRow(entity, 1)));
  });

  it('the pointer keeps changing: ConditionalRetries for each re-read, Failures kind=condition-exhausted once; the entity before it still counts its write', async () => {
    const calm = newEntity('REGISTRATION');
    const contended = newEntity('REGISTRATION');
    const records = [await writer.put(imageRow(calm, 1)), await writer.put(imageRow(contended, 1))];
    let n = 0;
    const handler = handlerWith({
      maxAttempts: 3,
      hooks: {
        afterRead: async (pk) => {
          if (pk !== records[1]!.dynamodb!.Keys!.PK!.S) return;
          n += 1;
          await writePointer(table, contended, { image_sk: `IMG#99999${n}`, url: `https://elsewhere/${n}.jpg`, updated_at: '2026-01-01T00:00:00Z' });
        },
      },
    });
    const { result, docs } = await capture(() => handler({ Records: records }));
    expect(failedCount(result)).toBe(1);
    expectServiceDocs(docs, 'image-sync');
    // 3 attempts lost: the first two are followed by a re-read, the third gives up.
    expect(countersOf(docs).values).toMatchObject({ RecordsOwned: 2, PointersWritten: 1, ConditionalRetries: 2, ReconcileNoops: 0 });
    expect(failuresOf(docs)).toEqual({ 'condition-exhausted': 1 });
  });

  it('writes keep being throttled past the backoff: Failures kind=throttled; an access error is fatal', async () => {
    const io = instrumentedClient(table);
    try {
      const entity = newEntity('REGISTRATION');
      const record = await writer.put(imageRow(entity, 1));
      let fault = 'ThrottlingException';
      io.beforeSend((command) => {
        if (WRITE_COMMANDS.has(command.command)) throw Object.assign(new Error(`${fault} (injected)`), { name: fault, $metadata: {} });
      });
      const handler = handlerWith({ doc: io.doc, backoff: { retries: 2, baseDelayMs: 1, maxDelayMs: 1 }, sleep: async () => {} });
      const throttled = await capture(() => handler({ Records: [record] }));
      expect((throttled.error as Error).name).toBe('FullBatchFailureError');
      expect(failuresOf(throttled.docs)).toEqual({ throttled: 1 });
      expect(countersOf(throttled.docs).values).toMatchObject({ RecordsOwned: 1, PointersWritten: 0, ConditionalRetries: 0 });

      fault = 'AccessDeniedException';
      const denied = await capture(() => handler({ Records: [record] }));
      expect(failuresOf(denied.docs)).toEqual({ fatal: 1 });
    } finally {
      io.destroy();
    }
  });

  it('without metrics the same handler works and prints nothing', async () => {
    const entity = newEntity('REGISTRATION');
    const record = await writer.put(imageRow(entity, 1));
    const handler = createImageHandler({ doc: table.doc, tableName: table.tableName, logger, clock: fixedClock });
    const { result, docs, other } = await capture(() => handler({ Records: [record] }));
    expect(result).toEqual({ batchItemFailures: [] });
    expect(docs).toEqual([]);
    expect(other).toEqual([]);
    expect(await readPointer(table, entity)).toMatchObject(pointerFor(imageRow(entity, 1)));
  });
});

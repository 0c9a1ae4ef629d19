/**
 * faa-matcher-sync's EMF lines, from the real handler factory on DynamoDB Local: the runner's
 * record counts, TuplesWritten (tuple count rows changed: a move changes two), ReconcileNoops,
 * ConditionalRetries (re-reads after the link or its contribution moved, injected through
 * hooks.afterRead) and Failures by kind.
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { createMatcherHandler, type MatcherDeps } from '../../lambda/faa-matcher-sync/handler';
import { createTestTable, type TestTable } from '../support/dynamodb';
import { insertRecord, modifyRecord, streamEvent } from '../support/events';
import { instrumentedClient } from '../image-sync/helpers';
import { i3Violations, linkRow, putLink, readState, silentLogger, type LinkRow } from '../faa-matcher-sync/helpers';
import { capture, countersOf, enableMetrics, expectServiceDocs, failuresOf, metricsFor } from './support';

let table: TestTable;
let restore: () => void;
beforeAll(async () => {
  restore = enableMetrics();
  table = await createTestTable('metrics-matcher');
});
afterAll(async () => {
  restore();
  await table.drop();
});

const handlerWith = (deps: Partial<MatcherDeps> = {}) =>
  createMatcherHandler({ doc: table.doc, tableName: table.tableName, logger: silentLogger(), sleep: async () => {}, metrics: metricsFor('faa-matcher-sync'), ...deps });
const tuple = (td: string) => ({ type_designator: td, manufacturer: 'Cessna', model: '172' });
let n = 0;
const link = (td: string): LinkRow => linkRow(`MET${++n}`, '1', tuple(td));
const put = async (row: LinkRow) => {
  await putLink(table.doc, table.tableName, row);
  return row;
};
const foreign = (i: number) => insertRecord({ PK: `IMAGES#ORG#SYSTEM#ENTITY#ICAO#ID#M${i}`, SK: 'IMG#000001', entity_type: 'ICAO' });
const failedCount = (result: unknown) => (result as { batchItemFailures: unknown[] }).batchItemFailures.length;

describe('faa-matcher-sync metrics', () => {
  it('3 new links + 2 foreign records: 5/3/2 records, TuplesWritten 3; moves change two tuple rows each; a replay: ReconcileNoops 3', async () => {
    const [l1, l2, l3] = [await put(link('MA')), await put(link('MA')), await put(link('MB'))];
    const handler = handlerWith();

    const first = await capture(() => handler(streamEvent(insertRecord(l1!), foreign(1), insertRecord(l2!), foreign(2), insertRecord(l3!))));
    expect(first.result).toEqual({ batchItemFailures: [] });
    expectServiceDocs(first.docs, 'faa-matcher-sync');
    expect(countersOf(first.docs).values).toEqual({
      RecordsReceived: 5,
      RecordsOwned: 3,
      RecordsSkipped: 2,
      TuplesWritten: 3,
      ConditionalRetries: 0,
      ReconcileNoops: 0,
    });
    expect(failuresOf(first.docs)).toEqual({});

    // l1 A -> C (A keeps l2: an ADD -1), then l2 A -> C (A's last link: the decrement becomes a
    // Delete, which is a second transaction but no re-read, so no ConditionalRetries).
    const moved1 = await put({ ...l1!, ...tuple('MC') });
    const moved2 = await put({ ...l2!, ...tuple('MC') });
    const moves = await capture(() => handler(streamEvent(modifyRecord(l1!, moved1), modifyRecord(l2!, moved2))));
    expect(countersOf(moves.docs).values).toMatchObject({ RecordsOwned: 2, TuplesWritten: 4, ConditionalRetries: 0, ReconcileNoops: 0 });
    expect((await readState(table.doc, table.tableName)).counts).not.toHaveProperty(['ICAO#MATCHER#MA|MFR#Cessna#MODEL#172']);

    const replay = await capture(() => handler(streamEvent(insertRecord(l1!), foreign(1), insertRecord(l2!), foreign(2), insertRecord(l3!))));
    expect(countersOf(replay.docs).values).toMatchObject({ RecordsOwned: 3, TuplesWritten: 0, ReconcileNoops: 3 });
    expect(await i3Violations(table.doc, table.tableName)).toEqual([]);
  });

  it('the link changes between the read and the write once: ConditionalRetries 1, the re-read counts the new tuple (TuplesWritten 1)', async () => {
    const l = await put(link('MD'));
    let raced = false;
    const handler = handlerWith({
      hooks: {
        afterRead: async () => {
          if (raced) return;
          raced = true;
          await putLink(table.doc, table.tableName, { ...l, ...tuple('ME') });
        },
      },
    });
    const { result, docs } = await capture(() => handler(streamEvent(insertRecord(l))));
    expect(result).toEqual({ batchItemFailures: [] });
    expect(countersOf(docs).values).toMatchObject({ TuplesWritten: 1, ConditionalRetries: 1, ReconcileNoops: 0 });
    expect(await i3Violations(table.doc, table.tableName)).toEqual([]);
  });

  it('the link keeps changing: a ConditionalRetries per re-read and Failures kind=condition-exhausted once', async () => {
    const calm = await put(link('MF'));
    const contended = await put(link('MG'));
    let flips = 0;
    const handler = handlerWith({
      retry: { maxAttempts: 3 },
      hooks: {
        afterRead: async (key) => {
          if (key.SK !== contended.SK) return;
          flips += 1;
          await putLink(table.doc, table.tableName, { ...contended, ...tuple(flips % 2 ? 'MH' : 'MG') });
        },
      },
    });
    const { result, docs } = await capture(() => handler(streamEvent(insertRecord(calm), insertRecord(contended))));
    expect(failedCount(result)).toBe(1);
    // 3 transactions fail their link condition; each is followed by a re-read; then it gives up.
    expect(countersOf(docs).values).toMatchObject({ RecordsOwned: 2, TuplesWritten: 1, ConditionalRetries: 3 });
    expect(failuresOf(docs)).toEqual({ 'condition-exhausted': 1 });
  });

  it('transactions keep being throttled: Failures kind=throttled; access denied: fatal', async () => {
    const io = instrumentedClient(table);
    try {
      const l = await put(link('MI'));
      let fault = 'ProvisionedThroughputExceededException';
      io.beforeSend((command) => {
        if (command.command === 'TransactWriteItemsCommand') throw Object.assign(new Error(`${fault} (injected)`), { name: fault, $metadata: {} });
      });
      const handler = handlerWith({ doc: io.doc, retry: { maxAttempts: 2 } });
      const throttled = await capture(() => handler(streamEvent(insertRecord(l))));
      expect((throttled.error as Error).name).toBe('FullBatchFailureError');
      expect(failuresOf(throttled.docs)).toEqual({ throttled: 1 });
      expect(countersOf(throttled.docs).values).toMatchObject({ RecordsOwned: 1, TuplesWritten: 0, ConditionalRetries: 0 });

      fault = 'AccessDeniedException';
      expect(failuresOf((await capture(() => handler(streamEvent(insertRecord(l))))).docs)).toEqual({ fatal: 1 });
    } finally {
      io.destroy();
    }
  });

  it('a contribution row this subsystem did not write: Failures kind=decode', async () => {
    const l = await put(link('MJ'));
    await table.doc.send(
      new PutCommand({
        TableName: table.tableName,
        Item: { PK: `MATCHER#CONTRIB#${l.SK}`, SK: `LINK#${l.PK}`, type_designator: 42, manufacturer: 'Cessna', model: '172' },
      }),
    );
    const { error, docs } = await capture(() => handlerWith()(streamEvent(insertRecord(l))));
    expect((error as Error).name).toBe('FullBatchFailureError');
    expect(failuresOf(docs)).toEqual({ decode: 1 });
  });
});

/**
 * typesense-indexer's EMF lines, from the real handler factory over DynamoDB Local and the local
 * Typesense stand-in (as the indexer suites use): DocumentsImported / Deleted / Rejected and
 * Failures by kind, one per failed document or unreadable message.
 */
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { createIndexerHandler } from '../../lambda/typesense-indexer/handler';
import { faaRow } from '../typesense-sync/support/rows';
import { indexerRig, sqsRecord, triggerBody, type IndexerRig } from '../typesense-indexer/support';
import { capture, countersOf, enableMetrics, expectServiceDocs, failuresOf, metricsFor } from './support';

const key = (row: { PK: unknown; SK: unknown }) => ({ PK: String(row.PK), SK: String(row.SK) });
const trigger = (row: { PK: unknown; SK: unknown }, hint: 'upsert' | 'delete' = 'upsert') => sqsRecord(triggerBody(key(row), undefined, hint));
const failedCount = (result: unknown) => (result as { batchItemFailures: unknown[] }).batchItemFailures.length;

let rig: IndexerRig;
let restore: () => void;
beforeAll(async () => {
  restore = enableMetrics();
  rig = await indexerRig();
});
afterAll(async () => {
  restore();
  await rig.stop();
});

const handlerWith = (metrics = true) => createIndexerHandler({ ...rig.deps, logger: rig.deps.logger as never, ...(metrics && { metrics: metricsFor('typesense-indexer') }) });

describe('typesense-indexer metrics', () => {
  it('3 upserts, 1 delete of an indexed document, 1 delete of one never indexed: Imported 3, Deleted 1, Rejected 0, no failures', async () => {
    const gone = faaRow('M0');
    await rig.put(gone);
    const handler = handlerWith();
    await capture(() => handler({ Records: [trigger(gone)] }));
    await rig.table.doc.send(new DeleteCommand({ TableName: rig.table.tableName, Key: key(gone) }));
    const rows = [faaRow('M1'), faaRow('M2'), faaRow('M3')];
    for (const row of rows) await rig.put(row);

    const { result, docs } = await capture(() => handler({ Records: [...rows.map((r) => trigger(r)), trigger(gone, 'delete'), trigger(faaRow('M404'), 'delete')] }));
    expect(result).toEqual({ batchItemFailures: [] });
    expectServiceDocs(docs, 'typesense-indexer');
    expect(countersOf(docs).values).toEqual({ DocumentsImported: 3, DocumentsDeleted: 1, DocumentsRejected: 0 });
    expect(failuresOf(docs)).toEqual({});
  });

  it('a rejected import line: DocumentsRejected 1 and Failures kind=rejected 1; the other lines are imported', async () => {
    const rows = [faaRow('M5'), faaRow('M6'), faaRow('M7')];
    for (const row of rows) await rig.put(row);
    rig.server.rejectDocument('faa.M6', 'Field `model` must be a string.');
    try {
      const { result, docs } = await capture(() => handlerWith()({ Records: rows.map((r) => trigger(r)) }));
      expect(failedCount(result)).toBe(1);
      expect(countersOf(docs).values).toEqual({ DocumentsImported: 2, DocumentsDeleted: 0, DocumentsRejected: 1 });
      expect(failuresOf(docs)).toEqual({ rejected: 1 });
    } finally {
      rig.server.acceptDocument('faa.M6');
    }
  });

  it('an unreadable message and a row that cannot be projected: Failures kind=decode 2', async () => {
    const malformed = faaRow('M8', { year_manufactured: 'nineteen-ninety' });
    await rig.put(malformed);
    const { result, docs } = await capture(() => handlerWith()({ Records: [sqsRecord('{not json', 'g-bad'), trigger(malformed)] }));
    expect(failedCount(result)).toBe(2);
    expect(countersOf(docs).values).toEqual({ DocumentsImported: 0, DocumentsDeleted: 0, DocumentsRejected: 0 });
    expect(failuresOf(docs)).toEqual({ decode: 2 });
  });

  it('Typesense keeps answering 503: Failures kind=throttled, one per document of the failed import', async () => {
    const rows = [faaRow('M9'), faaRow('M10')];
    for (const row of rows) await rig.put(row);
    rig.server.failNext(100, 503);
    try {
      const { result, docs } = await capture(() => handlerWith()({ Records: rows.map((r) => trigger(r)) }));
      expect(failedCount(result)).toBe(2);
      expect(countersOf(docs).values).toEqual({ DocumentsImported: 0, DocumentsDeleted: 0, DocumentsRejected: 0 });
      expect(failuresOf(docs)).toEqual({ throttled: 2 });
    } finally {
      rig.server.failNext(0, 503);
    }
  });

  it('without metrics the same handler indexes and prints nothing', async () => {
    const row = faaRow('M11');
    await rig.put(row);
    const { result, docs, other } = await capture(() => handlerWith(false)({ Records: [trigger(row)] }));
    expect(result).toEqual({ batchItemFailures: [] });
    expect(docs).toEqual([]);
    expect(other).toEqual([]);
    expect((await rig.index()).get('registry')!.has('faa.M11')).toBe(true);
  });
});

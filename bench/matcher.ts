/**
 * faa-matcher-sync's reconcile cost on a bare DynamoDB Local table (no emulator, so only the
 * benchmarked handler touches it): requests per link change and per replay of an unchanged key,
 * next to a naive baseline measured in the same run (recount the tuple on every change: Query
 * the links, Put the count) and the rate of a blind PutItem.
 */
import { DeleteCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBRecord } from 'aws-lambda';
import { matcherFields, type Tuple } from '../lambda/faa-matcher-sync/domain';
import { createMatcherHandler } from '../lambda/faa-matcher-sync/handler';
import { matcherTupleKey } from '../lambda/faa-matcher-sync/keys';
import { countingDoc, createTestTable } from '../test/support/dynamodb';
import { insertRecord, modifyRecord, removeRecord, streamEvent } from '../test/support/events';

const TUPLES: readonly Tuple[] = [
  { type_designator: 'B738', manufacturer: 'BOEING', model: '737-8H4' },
  { type_designator: 'C172', manufacturer: 'CESSNA', model: '172S' },
  { type_designator: 'PA28', manufacturer: 'PIPER', model: 'PA-28-181' },
];
const BATCH = 100;

const per = (requests: number, changes: number) => +(requests / changes).toFixed(2);
const rate = (changes: number, ms: number) => Math.round(changes / (ms / 1000));

export async function benchMatcherReconcile(endpoint: string, links = 600): Promise<Record<string, number | string>> {
  const table = await createTestTable('bench-matcher', endpoint);
  const counting = countingDoc(endpoint);
  const handler = createMatcherHandler({
    doc: counting.doc,
    tableName: table.tableName,
    logger: new Logger({ serviceName: 'faa-matcher-sync', logLevel: 'SILENT' }),
  });
  const link = (i: number, t: number) => ({ PK: 'FAA#LINKS', SK: `MFR_MDL_CODE#1#SN#${i}`, ...TUPLES[t % TUPLES.length]! });
  const write = (row: Record<string, unknown>) => table.doc.send(new PutCommand({ TableName: table.tableName, Item: row }));
  /** The handler's requests and time for `records` in batches of BATCH (the table writes are not counted). */
  const measure = async (records: DynamoDBRecord[]) => {
    counting.reset();
    const t = performance.now();
    for (let i = 0; i < records.length; i += BATCH) {
      const { batchItemFailures } = await handler(streamEvent(...records.slice(i, i + BATCH)));
      if (batchItemFailures.length > 0) throw new Error(`bench: ${batchItemFailures.length} records failed`);
    }
    return { requests: counting.total(), ms: performance.now() - t, byCommand: { ...counting.counts } };
  };

  try {
    const inserted = Array.from({ length: links }, (_, i) => link(i, i));
    for (const row of inserted) await write(row);
    const insert = await measure(inserted.map((row) => insertRecord(row)));
    const replay = await measure(inserted.map((row) => insertRecord(row)));

    const moved = inserted.map((_, i) => link(i, i + 1));
    for (const row of moved) await write(row);
    const move = await measure(moved.map((row, i) => modifyRecord(inserted[i]!, row)));

    // Naive baseline, same table and size: on every change recount the tuple from the links
    // (they are not indexed by tuple: Query the whole link partition) and Put the count.
    counting.reset();
    let itemsRead = 0;
    let t = performance.now();
    const sample = Math.min(links, 100);
    for (let i = 0; i < sample; i += 1) {
      const tuple = matcherFields(moved[i])!;
      let n = 0;
      let ExclusiveStartKey: Record<string, unknown> | undefined;
      do {
        const page = await counting.doc.send(
          new QueryCommand({ TableName: table.tableName, KeyConditionExpression: 'PK = :pk', ExpressionAttributeValues: { ':pk': 'FAA#LINKS' }, ExclusiveStartKey, ConsistentRead: true }),
        );
        itemsRead += page.ScannedCount ?? 0;
        n += (page.Items ?? []).filter((l) => JSON.stringify(matcherFields(l)) === JSON.stringify(tuple)).length;
        ExclusiveStartKey = page.LastEvaluatedKey;
      } while (ExclusiveStartKey);
      await counting.doc.send(new PutCommand({ TableName: table.tableName, Item: { ...matcherTupleKey(tuple), PK: `BASELINE#${tuple.type_designator}`, count: n } }));
    }
    const recountMs = performance.now() - t;
    const recountRequests = counting.total();

    for (const row of moved) await table.doc.send(new DeleteCommand({ TableName: table.tableName, Key: { PK: row.PK, SK: row.SK } }));
    const del = await measure(moved.map((row) => removeRecord(row)));

    t = performance.now();
    for (let i = 0; i < links; i += 1) await counting.doc.send(new PutCommand({ TableName: table.tableName, Item: { PK: `PUT#${i}`, SK: 'X', n: i } }));
    const putMs = performance.now() - t;

    return {
      links,
      tuples: TUPLES.length,
      requestsPerInsert: per(insert.requests, links),
      requestsPerMove: per(move.requests, links),
      requestsPerDelete: per(del.requests, links),
      deleteTransactions: del.byCommand.TransactWriteItems ?? 0,
      requestsPerUnchangedReplay: per(replay.requests, links),
      replayWrites: (replay.byCommand.TransactWriteItems ?? 0) + (replay.byCommand.PutItem ?? 0),
      insertsPerSecond: rate(links, insert.ms),
      movesPerSecond: rate(links, move.ms),
      deletesPerSecond: rate(links, del.ms),
      replaysPerSecond: rate(links, replay.ms),
      baselineRecountRequestsPerChange: per(recountRequests, sample),
      baselineRecountItemsReadPerChange: Math.round(itemsRead / sample),
      baselineRecountChangesPerSecond: rate(sample, recountMs),
      baselinePutItemPerSecond: rate(links, putMs),
      moveCostVsOnePutItem: +((move.ms / links) / (putMs / links)).toFixed(2),
    };
  } finally {
    counting.destroy();
    await table.drop();
  }
}

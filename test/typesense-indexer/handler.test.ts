/**
 * The Typesense indexer against DynamoDB Local and the local Typesense stand-in (a test
 * double speaking the API subset; no real Typesense server runs in CI).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { createIndexerHandler } from '../../lambda/typesense-indexer/handler';
import { DEFAULT_INDEXER_RETRY, InvocationDeadline } from '../../lambda/typesense-indexer/retry';
import { typesenseSearchPort } from '../../lambda/typesense-indexer/search';
import { faaRow, foreignRow, icaoManufacturerRow, icaoTypeRow, imageRow, without } from '../typesense-sync/support/rows';
import { indexerRig, sqsRecord, streamOrigin, triggerBody, type IndexerRig } from './support';

const key = (row: { PK: unknown; SK: unknown }) => ({ PK: String(row.PK), SK: String(row.SK) });
let rig: IndexerRig;
beforeEach(async () => {
  rig = await indexerRig();
});
afterEach(() => rig.stop());

describe('indexer: reads the rows now, projects them, upserts and deletes (local Typesense stand-in, not a real server)', () => {
  it('batched upserts: one strongly consistent BatchGetItem, one import per collection, every document indexed', async () => {
    const rows = [faaRow('N1'), foreignRow('G-ABCD'), faaRow('N2'), icaoTypeRow('B738'), icaoTypeRow('A320')];
    for (const row of rows) await rig.put(row);
    expect(await rig.failed(rows.map((r) => sqsRecord(triggerBody(key(r)))))).toEqual([]);
    expect(rig.reads).toHaveLength(1);
    expect(Object.values(rig.reads[0]!.RequestItems!)[0]).toMatchObject({ ConsistentRead: true });
    expect(rig.imports().map((r) => [r.path.split('/')[2], r.lines, r.status])).toEqual([
      ['registry', 3, 200],
      ['icao_aircraft', 2, 200],
    ]);
    expect(rig.imports().every((r) => r.path.includes('action=upsert'))).toBe(true);
    const index = await rig.index();
    expect([...index.get('registry')!.keys()].sort()).toEqual(['faa.N1', 'faa.N2', 'foreign.G-ABCD']);
    expect(index.get('icao_aircraft')!.get('B738')).toEqual(expect.objectContaining({ id: 'B738', model: '737-800' }));
  });

  it('a collection that does not exist is created from its schema on the 404, and the call retried once', async () => {
    await rig.put(icaoManufacturerRow('AIRBUS'));
    expect(await rig.failed([sqsRecord(triggerBody(key(icaoManufacturerRow('AIRBUS'))))])).toEqual([]);
    expect(rig.server.requests().map((r) => `${r.method} ${r.path.split('?')[0]} ${r.status}`)).toEqual([
      'POST /collections/icao_manufacturers/documents/import 404',
      'POST /collections 201',
      'POST /collections/icao_manufacturers/documents/import 200',
    ]);
    expect(rig.logs.warn).toHaveBeenCalledWith(expect.stringContaining('collection missing'), { collection: 'icao_manufacturers' });
  });

  it('HTTP 200 with a failed line: only that document\'s messages fail; the others are indexed', async () => {
    const rows = [faaRow('N1'), faaRow('N2'), faaRow('N3')];
    for (const row of rows) await rig.put(row);
    rig.server.rejectDocument('faa.N2', 'Field `model` must be a string.');
    const records = rows.map((r) => sqsRecord(triggerBody(key(r))));
    const outcome = await rig.run(records);
    expect(outcome.response.batchItemFailures).toEqual([{ itemIdentifier: records[1]!.messageId }]);
    expect(outcome).toMatchObject({ upserted: 2, rejected: 1 });
    expect([...(await rig.index()).get('registry')!.keys()].sort()).toEqual(['faa.N1', 'faa.N3']);
    expect(rig.errorsLogged()).toMatch(/Typesense rejected the document: Field `model` must be a string.*faa\.N2.*DETAIL#N2/);
  });

  it('a rejected document fails its message and the later messages of its group only; other groups go on', async () => {
    for (const row of [faaRow('N1'), faaRow('N2'), faaRow('N3')]) await rig.put(row);
    rig.server.rejectDocument('faa.N1');
    const n1 = triggerBody(key(faaRow('N1')));
    const records = [sqsRecord(n1), sqsRecord(triggerBody(key(faaRow('N2')))), sqsRecord({ ...n1, origin: streamOrigin(2) }), sqsRecord(triggerBody(key(faaRow('N3'))))];
    expect(await rig.failed(records)).toEqual([records[0]!.messageId, records[2]!.messageId]);
    expect([...(await rig.index()).get('registry')!.keys()].sort()).toEqual(['faa.N2', 'faa.N3']);
  });

  it('a bad body fails, with every later message of its group, naming the message id and group; never dropped', async () => {
    await rig.put(faaRow('N1'));
    await rig.put(faaRow('N2'));
    const good = triggerBody(key(faaRow('N1')));
    const records = [
      sqsRecord('{not json', 'registry:faa.N1'),
      sqsRecord(triggerBody(key(faaRow('N2')))),
      sqsRecord(good, 'registry:faa.N1'),
      sqsRecord({ ...good, v: 3 }, 'registry:faa.X'),
      sqsRecord({ ...good, id: 'faa.OTHER' }, 'registry:faa.Y'),
    ];
    expect(await rig.failed(records)).toEqual([records[0]!.messageId, records[2]!.messageId, records[3]!.messageId, records[4]!.messageId]);
    const logged = rig.errorsLogged();
    expect(logged).toContain(`SQS messageId=${records[0]!.messageId} group=registry:faa.N1`);
    expect(logged).toMatch(/unsupported version 3/);
    expect(logged).toMatch(/projects to registry\/faa\.N1, not registry\/faa\.OTHER/);
    // N1's later trigger was not acted on ahead of the failed one; N2 went on.
    expect([...(await rig.index()).get('registry')!.keys()]).toEqual(['faa.N2']);
  });

  it('a version 1 message left in the queue across the upgrade is read as its trigger: the row as it is now is indexed, the stale document ignored', async () => {
    await rig.put(faaRow('N1'));
    const keys = key(faaRow('N1'));
    const v1 = {
      v: 1,
      action: 'upsert',
      collection: 'registry',
      id: 'faa.N1',
      document: { id: 'faa.N1', registration: 'STALE', manufacturer: 'OLD', model: 'OLD', registry_source: 'FAA' },
      source: { pk: keys.PK, sk: keys.SK, eventID: 'e-v1', sequenceNumber: '100', approximateCreationDateTime: 1_780_000_000 },
    };
    expect(await rig.failed([sqsRecord(v1, 'registry:faa.N1')])).toEqual([]);
    const document = (await rig.index()).get('registry')!.get('faa.N1') as Record<string, unknown>;
    expect(document.registration).toBe(faaRow('N1').registration);
    expect(JSON.stringify(document)).not.toContain('STALE');
  });

  it('deleted rows and rows no longer indexable are deleted, whatever the hint; a missing document (404) is done', async () => {
    const rows = [faaRow('N1'), icaoManufacturerRow('AIRBUS'), imageRow('N1', 'a')];
    for (const row of rows) await rig.put(row);
    await rig.run(rows.map((r) => sqsRecord(triggerBody(key(r)))));
    await rig.table.doc.send(new DeleteCommand({ TableName: rig.table.tableName, Key: key(faaRow('N1')) }));
    await rig.put(without(icaoManufacturerRow('AIRBUS'), 'name'));
    const outcome = await rig.run([
      sqsRecord(triggerBody(key(faaRow('N1')), streamOrigin(5), 'upsert')), // stale hint: the row is gone
      sqsRecord(triggerBody(key(icaoManufacturerRow('AIRBUS')), streamOrigin(6), 'upsert')),
      sqsRecord(triggerBody(key(faaRow('N9')), streamOrigin(7), 'delete')), // never existed: 404 = done
    ]);
    expect(outcome.response.batchItemFailures).toEqual([]);
    expect(outcome).toMatchObject({ deleted: 2, upserted: 0 });
    const index = await rig.index();
    expect(index.get('registry')!.size).toBe(0);
    expect(index.get('icao_manufacturers')!.size).toBe(0);
    expect(index.get('aircraft_images')!.size).toBe(1);
    expect(rig.server.requests().filter((r) => r.method === 'DELETE').map((r) => r.status).sort()).toEqual([200, 200, 404]);
  });

  it('a delete hint for a row that exists upserts it: the hint is never trusted', async () => {
    await rig.put(faaRow('N1'));
    await rig.run([sqsRecord(triggerBody(key(faaRow('N1')), { kind: 'redrive', run: 'r1' }, 'delete'))]);
    expect((await rig.index()).get('registry')!.get('faa.N1')).toEqual(expect.objectContaining({ registration: 'N1' }));
  });

  it('several triggers for one document collapse: one key read, one import line, all messages succeed', async () => {
    await rig.put(faaRow('N1'));
    const body = triggerBody(key(faaRow('N1')));
    const records = [sqsRecord(body), sqsRecord({ ...body, origin: streamOrigin(2) }), sqsRecord({ ...body, origin: { kind: 'backfill', run: 'b1' } })];
    expect(await rig.failed(records)).toEqual([]);
    expect(rig.reads).toHaveLength(1);
    expect(Object.values(rig.reads[0]!.RequestItems!)[0]!.Keys).toHaveLength(1);
    expect(rig.imports().map((r) => r.lines)).toEqual([1]);
  });

  it('429 and 503 answers and a connection reset are retried with backoff, then succeed', async () => {
    await rig.put(faaRow('N1'));
    await rig.put(icaoTypeRow('B738'));
    rig.server.failNext(2, 429);
    expect(await rig.failed([sqsRecord(triggerBody(key(faaRow('N1'))))])).toEqual([]);
    rig.server.failNext(1, 503);
    rig.server.resetNext(0);
    expect(await rig.failed([sqsRecord(triggerBody(key(icaoTypeRow('B738'))))])).toEqual([]);
    rig.server.resetNext(1);
    await rig.put(faaRow('N1', { model: 'v2' }));
    expect(await rig.failed([sqsRecord(triggerBody(key(faaRow('N1'))))])).toEqual([]);
    expect(rig.sleeps).toEqual([75, 150, 75, 75]); // base 100 * 2^(n-1), jitter 0.5
    expect((await rig.index()).get('registry')!.get('faa.N1')).toEqual(expect.objectContaining({ model: 'v2' }));
  });

  it('retries are bounded: a Typesense that keeps answering 503 fails the messages (they are redelivered), never drops them', async () => {
    await rig.put(faaRow('N1'));
    rig.server.failNext(100, 503);
    const records = [sqsRecord(triggerBody(key(faaRow('N1'))))];
    expect(await rig.failed(records)).toEqual([records[0]!.messageId]);
    expect(rig.sleeps).toHaveLength(4); // 5 attempts
    expect(rig.errorsLogged()).toMatch(/the import call failed.*faa\.N1/);
  });

  it('a 300 KB registry row is indexed (the trigger stays small; the indexer reads the row)', async () => {
    const row = faaRow('N1', { owner_name: 'O'.repeat(300 * 1024) });
    await rig.put(row);
    expect(await rig.failed([sqsRecord(triggerBody(key(row)))])).toEqual([]);
    expect(((await rig.index()).get('registry')!.get('faa.N1') as { owner_name: string }).owner_name).toHaveLength(300 * 1024);
  });

  it('near the function deadline no Typesense call or retry starts: the documents fail (redelivered) instead of the function timing out', async () => {
    await rig.put(faaRow('N1'));
    await rig.put(icaoTypeRow('B738'));
    const deadline = new InvocationDeadline(2_000);
    const search = typesenseSearchPort(rig.client, { ...DEFAULT_INDEXER_RETRY, sleep: async () => undefined, random: () => 0.5 }, undefined, deadline);
    const logger = new Logger({ serviceName: 'deadline-test', logLevel: 'SILENT' });
    const error = jest.spyOn(logger, 'error');
    const handler = createIndexerHandler({ ...rig.deps, search, logger, deadline });
    // 50 ms usable at first, and each Typesense request takes 100 ms of the budget.
    let budget = 2_050;
    const context = { getRemainingTimeInMillis: () => budget - 100 * rig.server.requests().length } as unknown as Context;
    rig.server.failNext(1, 503);
    const records = [sqsRecord(triggerBody(key(faaRow('N1')))), sqsRecord(triggerBody(key(icaoTypeRow('B738'))))];
    const response = await handler({ Records: records }, context);
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(records.map((r) => r.messageId));
    expect(rig.server.requests()).toHaveLength(1); // the 503; no retry, no second collection's import
    expect(JSON.stringify(error.mock.calls.map(([, e]) => (e as { error?: Error }).error?.message))).toMatch(/deadline is near/);
    budget = 60_000;
    expect((await handler({ Records: records }, context)).batchItemFailures).toEqual([]);
    expect(deadline.context).toBeUndefined(); // cleared after each invocation
  });

  it('a retry whose backoff would cross the deadline is not slept for', async () => {
    await rig.put(faaRow('N1'));
    const deadline = new InvocationDeadline(2_000);
    const sleeps: number[] = [];
    const search = typesenseSearchPort(rig.client, { ...DEFAULT_INDEXER_RETRY, sleep: async (ms) => void sleeps.push(ms), random: () => 0.5 }, undefined, deadline);
    const handler = createIndexerHandler({ ...rig.deps, search, logger: new Logger({ logLevel: 'SILENT' }), deadline });
    // After the 503, 50 ms are usable: less than the 75 ms backoff.
    const context = { getRemainingTimeInMillis: () => 2_150 - 100 * rig.server.requests().length } as unknown as Context;
    rig.server.failNext(1, 503);
    const records = [sqsRecord(triggerBody(key(faaRow('N1'))))];
    expect((await handler({ Records: records }, context)).batchItemFailures).toHaveLength(1);
    expect(sleeps).toEqual([]);
    expect(rig.server.requests()).toHaveLength(1);
  });

  it('a row that cannot be projected (malformed attribute) fails its message naming the key', async () => {
    await rig.put(faaRow('N1', { year_manufactured: 'nineteen' }));
    await rig.put(faaRow('N2'));
    const records = [sqsRecord(triggerBody(key(faaRow('N1')))), sqsRecord(triggerBody(key(faaRow('N2'))))];
    expect(await rig.failed(records)).toEqual([records[0]!.messageId]);
    expect(rig.errorsLogged()).toMatch(/cannot be projected \(attribute year_manufactured: expected a number, got string\).*DETAIL#N1/);
  });
});

import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { createMatcherHandler } from '../../lambda/faa-matcher-sync/handler';
import { contributionKey } from '../../lambda/faa-matcher-sync/keys';
import { createMatcherReconciler } from '../../lambda/faa-matcher-sync/reconcile';
import { toolTriggers } from '../../lambda/shared/trigger';
import { createTestTable, type TestTable } from '../support/dynamodb';
import { insertRecord, modifyRecord, removeRecord, streamEvent } from '../support/events';
import { countingDoc, deleteLink, i3Violations, linkRow, putLink, readState, silentLogger, type LinkRow } from './helpers';

/** The stream handler against DynamoDB Local: the table holds the truth, records are only triggers. */
describe('faa-matcher-sync (level-triggered) against DynamoDB Local', () => {
  let table: TestTable;
  let requests: ReturnType<typeof countingDoc>;
  let handler: ReturnType<typeof createMatcherHandler>;

  beforeAll(async () => {
    table = await createTestTable('matcher');
    requests = countingDoc(table.endpoint);
    handler = createMatcherHandler({ doc: requests.doc, tableName: table.tableName, logger: silentLogger(), sleep: async () => {} });
  });
  afterAll(async () => {
    requests.destroy();
    await table.drop();
  });

  const run = async (...records: DynamoDBRecord[]) => {
    expect((await handler(streamEvent(...records))).batchItemFailures).toEqual([]);
  };
  const put = (row: LinkRow) => putLink(table.doc, table.tableName, row);
  const del = (row: LinkRow) => deleteLink(table.doc, table.tableName, row);
  /** The table's truth changes (as a writer would), then its record reaches the handler. */
  const insert = async (row: LinkRow) => (await put(row), insertRecord(row));
  const modify = async (before: LinkRow, after: LinkRow) => (await put(after), modifyRecord(before, after));
  const remove = async (row: LinkRow) => (await del(row), removeRecord(row));

  let n = 0;
  const fresh = () => {
    n += 1;
    const td = `T${n}`;
    return {
      td,
      link: (serial: string, fields: Record<string, unknown>): LinkRow => linkRow(`CODE${n}`, serial, fields),
      tuple: (manufacturer: string, model: string) => ({ type_designator: td, manufacturer, model }),
      key: (manufacturer: string, model: string) => `ICAO#MATCHER#${td}|MFR#${manufacturer}#MODEL#${model}`,
    };
  };
  const countsOf = async (td: string) => {
    const { counts } = await readState(table.doc, table.tableName);
    return Object.fromEntries(Object.entries(counts).filter(([k]) => k.startsWith(`ICAO#MATCHER#${td}|`)));
  };
  const contributionOf = async (link: LinkRow) => (await readState(table.doc, table.tableName)).contributions[link.SK];

  afterEach(async () => {
    // Every test leaves the whole table consistent (I3), whatever it did.
    expect(await i3Violations(table.doc, table.tableName)).toEqual([]);
  });

  it('a new link with valid fields is counted, and its contribution row names the tuple', async () => {
    const t = fresh();
    const l1 = t.link('1', t.tuple('Cessna', '172'));
    await run(await insert(l1));
    const { tupleRows } = await readState(table.doc, table.tableName);
    expect(tupleRows.filter((r) => r.PK === `ICAO#MATCHER#${t.td}`)).toEqual([
      { PK: `ICAO#MATCHER#${t.td}`, SK: 'MFR#Cessna#MODEL#172', type_designator: t.td, manufacturer: 'Cessna', model: '172', count: 1, count_token: expect.any(String) },
    ]);
    expect(await contributionOf(l1)).toEqual({
      ...contributionKey(l1),
      link_pk: 'FAA#LINKS',
      link_sk: l1.SK,
      type_designator: t.td,
      manufacturer: 'Cessna',
      model: '172',
      tuple_pk: `ICAO#MATCHER#${t.td}`,
      tuple_sk: 'MFR#Cessna#MODEL#172',
    });
  });

  it('counts several links per tuple; a deleted link is uncounted and the row goes at zero, with its contribution row', async () => {
    const t = fresh();
    const l1 = t.link('1', t.tuple('Cessna', '172'));
    const l2 = t.link('2', t.tuple('Cessna', '172'));
    await run(await insert(l1), await insert(l2));
    expect(await countsOf(t.td)).toEqual({ [t.key('Cessna', '172')]: 2 });
    await run(await remove(l1));
    expect(await countsOf(t.td)).toEqual({ [t.key('Cessna', '172')]: 1 });
    await run(await remove(l2));
    expect(await countsOf(t.td)).toEqual({});
    expect(await contributionOf(l2)).toBeUndefined();
  });

  it('a changed link moves between tuples in one transaction', async () => {
    const t = fresh();
    const a = t.link('1', t.tuple('Cessna', '172'));
    const b = t.link('1', t.tuple('Cessna', '172S'));
    const other = t.link('2', t.tuple('Cessna', '172'));
    await run(await insert(a), await insert(other));
    requests.reset();
    await run(await modify(a, b));
    expect(requests.counts).toEqual({ BatchGetItem: 1, TransactWriteItems: 1 });
    expect(await countsOf(t.td)).toEqual({ [t.key('Cessna', '172')]: 1, [t.key('Cessna', '172S')]: 1 });
  });

  it('the last link of a tuple costs one more transaction (the optimistic -1 fails, the Delete follows)', async () => {
    const t = fresh();
    const l1 = t.link('1', t.tuple('Piper', 'PA-28'));
    await run(await insert(l1));
    const reconciler = createMatcherReconciler({ doc: requests.doc, tableName: table.tableName, logger: silentLogger() });
    await del(l1);
    requests.reset();
    const [result] = await reconciler.reconcile(toolTriggers([l1], 'repair', 'r1'));
    expect(result).toMatchObject({ action: 'decrement', changed: true, transactions: 2, conditionalRetries: 0 });
    expect(requests.counts).toEqual({ BatchGetItem: 1, TransactWriteItems: 2 });
  });

  it('a trigger for an unchanged key writes nothing: one read (BatchGetItem), whatever the record says', async () => {
    const t = fresh();
    const l1 = t.link('1', t.tuple('Cessna', '172'));
    const stale = t.link('1', t.tuple('Boeing', '737'));
    await run(await insert(l1));
    requests.reset();
    // An old INSERT, a MODIFY whose images disagree with the table, a REMOVE of a row that exists:
    // the images are never read, the table says nothing changed.
    await run(insertRecord(l1), modifyRecord(stale, stale));
    await run(removeRecord(l1));
    expect(requests.counts).toEqual({ BatchGetItem: 2 });
    expect(await countsOf(t.td)).toEqual({ [t.key('Cessna', '172')]: 1 });
  });

  it('duplicate keys in one batch are reconciled once', async () => {
    const t = fresh();
    const before = t.link('1', t.tuple('Cessna', '172'));
    const after = t.link('1', t.tuple('Cessna', '182'));
    const records = [insertRecord(before), await modify(before, after), modifyRecord(before, after)];
    requests.reset();
    await run(...records);
    expect(requests.counts).toEqual({ BatchGetItem: 1, TransactWriteItems: 1 });
    expect(await countsOf(t.td)).toEqual({ [t.key('Cessna', '182')]: 1 });
  });

  it('valid -> invalid uncounts (the contribution row goes); invalid -> valid counts', async () => {
    const t = fresh();
    const valid = t.link('1', t.tuple('Cessna', '172'));
    const invalid = t.link('1', { type_designator: t.td, manufacturer: '  ', model: '172' });
    await run(await insert(valid));
    await run(await modify(valid, invalid));
    expect(await countsOf(t.td)).toEqual({});
    expect(await contributionOf(valid)).toBeUndefined();
    await run(await modify(invalid, valid));
    expect(await countsOf(t.td)).toEqual({ [t.key('Cessna', '172')]: 1 });
  });

  it('a link whose matcher fields are not strings (number, set, number beyond 2^53, map) counts toward nothing, without writing', async () => {
    const t = fresh();
    const rows = [
      t.link('1', { type_designator: t.td, manufacturer: 'Cessna', model: 172 }),
      t.link('2', { type_designator: new Set([t.td]), manufacturer: 'Cessna', model: '172' }),
      t.link('3', { type_designator: t.td, manufacturer: 'Cessna', model: { m: '172' } }),
      t.link('4', { type_designator: t.td, manufacturer: 'Cessna' }),
    ];
    const big = t.link('5', { type_designator: t.td, manufacturer: 'Cessna', model: '172' });
    for (const row of rows) await put(row);
    await table.client.send(
      new (await import('@aws-sdk/client-dynamodb')).PutItemCommand({
        TableName: table.tableName,
        Item: { PK: { S: big.PK }, SK: { S: big.SK }, type_designator: { S: t.td }, manufacturer: { S: 'Cessna' }, model: { N: '123456789012345678901234567890' } },
      }),
    );
    requests.reset();
    await run(...rows.map((r) => insertRecord(r)), insertRecord(big));
    expect(requests.counts).toEqual({ BatchGetItem: 5 });
    expect(await countsOf(t.td)).toEqual({});
    for (const row of [...rows, big]) await del(row);
  });

  it('normalises whitespace and the type designator case (only that case)', async () => {
    const t = fresh();
    const l1 = t.link('1', { type_designator: ` ${t.td.toLowerCase()} `, manufacturer: ' Cessna', model: '172 ' });
    const l2 = t.link('2', { type_designator: t.td, manufacturer: 'cessna', model: '172' });
    await run(await insert(l1), await insert(l2));
    expect(await countsOf(t.td)).toEqual({ [t.key('Cessna', '172')]: 1, [t.key('cessna', '172')]: 1 });
  });

  it('skips rows it does not own without any request', async () => {
    requests.reset();
    await run(insertRecord({ PK: 'FAA#LINKS', SK: 'SOMETHING#ELSE' }), insertRecord({ PK: 'ICAO#MATCHER#X', SK: 'MFR#a#MODEL#b', count: 5 }));
    expect(requests.counts).toEqual({});
  });

  describe('the issue: records lost, replayed, out of order', () => {
    it('a link whose INSERT was lost, followed by a MODIFY that moves it, is counted exactly once, at its new tuple', async () => {
      const t = fresh();
      const a = t.link('1', t.tuple('Cessna', '172'));
      const b = t.link('1', t.tuple('Cessna', '182'));
      await put(a); // its INSERT never reaches the handler
      await run(await modify(a, b));
      expect(await countsOf(t.td)).toEqual({ [t.key('Cessna', '182')]: 1 });
    });

    it('a replay of an old INSERT after a newer REMOVE (hours later) has no effect', async () => {
      const t = fresh();
      const l1 = t.link('1', t.tuple('Cessna', '172'));
      const oldInsert = await insert(l1);
      await run(oldInsert);
      await run(await remove(l1));
      requests.reset();
      await run(oldInsert); // e.g. a dead-lettered batch redriven long after the stream's 24 h
      expect(requests.counts).toEqual({ BatchGetItem: 1 });
      expect(await countsOf(t.td)).toEqual({});
    });

    it('a batch replayed from its middle and then whole leaves the counts exact', async () => {
      const t = fresh();
      const a = t.link('1', t.tuple('Cessna', '172'));
      const b = t.link('1', t.tuple('Cessna', '182'));
      const c = t.link('2', t.tuple('Cessna', '172'));
      const batch = [await insert(a), await insert(c), await modify(a, b), await remove(c)];
      await run(...batch.slice(2));
      await run(...batch);
      await run(...batch.slice(1), batch[0]!);
      expect(await countsOf(t.td)).toEqual({ [t.key('Cessna', '182')]: 1 });
    });
  });

  describe('failures name the key; the runner reports the first failed record and every later one', () => {
    it('a tuple row missing while the contribution row says the link counts there', async () => {
      const t = fresh();
      const ok1 = t.link('1', t.tuple('Cessna', '172'));
      const broken = t.link('2', t.tuple('Cessna', '150'));
      const ok2 = t.link('3', t.tuple('Cessna', '172'));
      await run(await insert(broken));
      // Someone deletes the tuple row by hand; then the link moves.
      await table.doc.send(new DeleteCommand({ TableName: table.tableName, Key: { PK: `ICAO#MATCHER#${t.td}`, SK: 'MFR#Cessna#MODEL#150' } }));
      const records = [await insert(ok1), await modify(broken, { ...broken, model: '152' }), await insert(ok2)];
      const errors = jest.fn();
      const logger = silentLogger();
      jest.spyOn(logger, 'error').mockImplementation(errors);
      const h = createMatcherHandler({ doc: table.doc, tableName: table.tableName, logger, sleep: async () => {} });
      const response = await h(streamEvent(...records));
      // Lambda identifies a stream record by its sequence number.
      const seq = (r: DynamoDBRecord) => r.dynamodb!.SequenceNumber;
      expect(response.batchItemFailures).toEqual([{ itemIdentifier: seq(records[1]!) }, { itemIdentifier: seq(records[2]!) }]);
      expect(errors).toHaveBeenCalledTimes(1);
      const logged = errors.mock.calls[0][1] as { eventID: string; sk: string; error: Error };
      expect(logged).toMatchObject({ eventID: records[1]!.eventID, sk: broken.SK });
      expect(logged.error.message).toContain(`tuple ICAO#MATCHER#${t.td} MFR#Cessna#MODEL#150 has no row`);
      expect(logged.error.message).toContain(`PK=FAA#LINKS SK=${broken.SK}`);
      // The first record took effect; the third was not attempted.
      expect(await countsOf(t.td)).toEqual({ [t.key('Cessna', '172')]: 1 });
      // Repair by hand (what an audit would show), then the retried batch converges.
      await table.doc.send(new PutCommand({ TableName: table.tableName, Item: { PK: `ICAO#MATCHER#${t.td}`, SK: 'MFR#Cessna#MODEL#150', count: 1 } }));
      await run(...records.slice(1));
      expect(await countsOf(t.td)).toEqual({ [t.key('Cessna', '172')]: 2, [t.key('Cessna', '152')]: 1 });
    });

    it('a contribution row with a partial tuple (not written by this subsystem) fails, naming the key', async () => {
      const t = fresh();
      const l1 = t.link('1', t.tuple('Cessna', '172'));
      await put(l1);
      await table.doc.send(new PutCommand({ TableName: table.tableName, Item: { ...contributionKey(l1), type_designator: t.td } }));
      const reconciler = createMatcherReconciler({ doc: table.doc, tableName: table.tableName, logger: silentLogger() });
      await expect(reconciler.reconcile(toolTriggers([l1], 'repair', 'r'))).rejects.toThrow(
        new RegExp(`partial or non-string tuple.*PK=${l1.PK} SK=${l1.SK.replace(/[#]/g, '.')}`),
      );
      await table.doc.send(new DeleteCommand({ TableName: table.tableName, Key: contributionKey(l1) }));
      await run(insertRecord(l1));
    });
  });
});

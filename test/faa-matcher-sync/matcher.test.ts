import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { createMatcherHandler } from '../../lambda/faa-matcher-sync/handler';
import { contributionKey } from '../../lambda/faa-matcher-sync/keys';
import { createTestTable, type TestTable } from '../support/dynamodb';
import { insertRecord, modifyRecord, removeRecord, streamEvent } from '../support/events';
import { linkRow, readState, silentLogger, type LinkRow } from './helpers';

describe('faa-matcher-sync against DynamoDB Local', () => {
  let table: TestTable;
  let run: (...records: DynamoDBRecord[]) => Promise<void>;
  let logger: ReturnType<typeof silentLogger>;

  beforeAll(async () => {
    table = await createTestTable('matcher');
  });
  afterAll(() => table.drop());

  beforeEach(() => {
    logger = silentLogger();
    const handler = createMatcherHandler({ doc: table.doc, tableName: table.tableName, logger, sleep: async () => {} });
    run = async (...records) => {
      const response = await handler(streamEvent(...records));
      expect(response.batchItemFailures).toEqual([]);
    };
  });

  // Every test works on its own type designators and links, so one table serves the file.
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
  /** Counts of this test's tuples only. */
  const countsOf = async (td: string) => {
    const { counts } = await readState(table.doc, table.tableName);
    return Object.fromEntries(Object.entries(counts).filter(([k]) => k.startsWith(`ICAO#MATCHER#${td}|`)));
  };
  const contributionOf = async (link: LinkRow) =>
    (await readState(table.doc, table.tableName)).contributions[link.SK as string];

  it('INSERT with valid fields increments the tuple and records the contribution', async () => {
    const t = fresh();
    const l1 = t.link('1', t.tuple('Cessna', '172'));
    const rec = insertRecord(l1);
    await run(rec);

    const { tupleRows } = await readState(table.doc, table.tableName);
    expect(tupleRows.filter((r) => r.PK === `ICAO#MATCHER#${t.td}`)).toEqual([
      { PK: `ICAO#MATCHER#${t.td}`, SK: 'MFR#Cessna#MODEL#172', type_designator: t.td, manufacturer: 'Cessna', model: '172', count: 1 },
    ]);
    const contribution = await contributionOf(l1);
    expect(contribution).toMatchObject({
      ...contributionKey({ PK: l1.PK, SK: l1.SK as string }),
      link_pk: 'FAA#LINKS',
      link_sk: l1.SK,
      type_designator: t.td,
      manufacturer: 'Cessna',
      model: '172',
      tuple_pk: `ICAO#MATCHER#${t.td}`,
      tuple_sk: 'MFR#Cessna#MODEL#172',
      sequence_number: rec.dynamodb!.SequenceNumber,
      event_id: rec.eventID,
    });
    expect(contribution).not.toHaveProperty('expires_at');
  });

  it('counts several links per tuple, decrements on REMOVE and deletes the row at zero', async () => {
    const t = fresh();
    const l1 = t.link('1', t.tuple('Cessna', '172'));
    const l2 = t.link('2', t.tuple('Cessna', '172'));
    await run(insertRecord(l1), insertRecord(l2));
    expect(await countsOf(t.td)).toEqual({ [t.key('Cessna', '172')]: 2 });

    await run(removeRecord(l1));
    expect(await countsOf(t.td)).toEqual({ [t.key('Cessna', '172')]: 1 });

    await run(removeRecord(l2));
    expect(await countsOf(t.td)).toEqual({});
    // The removed link keeps a tombstone (no tuple, expiring) so an older record replayed later is recognised.
    const tombstone = await contributionOf(l2);
    expect(tombstone).not.toHaveProperty('type_designator');
    expect(typeof tombstone?.expires_at).toBe('number');
  });

  it('MODIFY with changed fields moves the link between tuples atomically', async () => {
    const t = fresh();
    const a1 = t.link('1', t.tuple('Cessna', '172'));
    const a2 = t.link('2', t.tuple('Cessna', '172'));
    await run(insertRecord(a1), insertRecord(a2));

    const moved = { ...a1, model: '182' };
    await run(modifyRecord(a1, moved));
    expect(await countsOf(t.td)).toEqual({ [t.key('Cessna', '172')]: 1, [t.key('Cessna', '182')]: 1 });

    // Moving the last link away from a tuple deletes that tuple's row in the same transaction.
    await run(modifyRecord(a2, { ...a2, model: '182' }));
    expect(await countsOf(t.td)).toEqual({ [t.key('Cessna', '182')]: 2 });

    // A move across type designators (partitions) too.
    const t2 = fresh();
    await run(modifyRecord(moved, { ...moved, type_designator: t2.td }));
    expect(await countsOf(t.td)).toEqual({ [t.key('Cessna', '182')]: 1 });
    expect(await countsOf(t2.td)).toEqual({ [t2.key('Cessna', '182')]: 1 });
  });

  it('MODIFY with unchanged matcher fields logs and changes nothing', async () => {
    const t = fresh();
    const l1 = t.link('1', t.tuple('Cessna', '172'));
    const ins = insertRecord(l1);
    await run(ins);
    const debug = jest.spyOn(logger, 'debug');

    await run(modifyRecord(l1, { ...l1, serial_number: 'renamed', owner: 'someone' }));
    expect(await countsOf(t.td)).toEqual({ [t.key('Cessna', '172')]: 1 });
    expect((await contributionOf(l1))?.event_id).toBe(ins.eventID); // no ledger write either
    expect(debug).toHaveBeenCalledWith('no count change', expect.objectContaining({ reason: 'unchanged', sk: l1.SK }));
  });

  it('valid -> invalid decrements; invalid -> valid increments', async () => {
    const t = fresh();
    const valid = t.link('1', t.tuple('Cessna', '172'));
    const invalid = { ...valid, model: '   ' };
    await run(insertRecord(valid));
    await run(modifyRecord(valid, invalid));
    expect(await countsOf(t.td)).toEqual({});
    expect(await contributionOf(valid)).not.toHaveProperty('type_designator');

    await run(modifyRecord(invalid, valid));
    expect(await countsOf(t.td)).toEqual({ [t.key('Cessna', '172')]: 1 });

    // A link inserted invalid, then completed.
    const late = t.link('2', { type_designator: t.td, manufacturer: 'Cessna' });
    await run(insertRecord(late));
    expect(await countsOf(t.td)).toEqual({ [t.key('Cessna', '172')]: 1 });
    await run(modifyRecord(late, { ...late, model: '172' }));
    expect(await countsOf(t.td)).toEqual({ [t.key('Cessna', '172')]: 2 });
  });

  it('INSERT and REMOVE of an invalid link write nothing at all', async () => {
    const t = fresh();
    const invalid = t.link('1', { type_designator: t.td, manufacturer: '', model: '172' });
    await run(insertRecord(invalid), removeRecord(invalid));
    expect(await countsOf(t.td)).toEqual({});
    expect(await contributionOf(invalid)).toBeUndefined();
  });

  it('normalises whitespace and the type designator case (only that case)', async () => {
    const t = fresh();
    const messy = t.link('1', { type_designator: `  ${t.td.toLowerCase()} `, manufacturer: ' Cessna\t', model: '172 ' });
    await run(insertRecord(messy));
    expect(await countsOf(t.td)).toEqual({ [t.key('Cessna', '172')]: 1 });

    // Same tuple once normalised: unchanged.
    const clean = { ...messy, type_designator: t.td, manufacturer: 'Cessna', model: '172' };
    await run(modifyRecord(messy, clean));
    expect(await countsOf(t.td)).toEqual({ [t.key('Cessna', '172')]: 1 });

    // Manufacturer case is significant: a different tuple.
    await run(modifyRecord(clean, { ...clean, manufacturer: 'CESSNA' }));
    expect(await countsOf(t.td)).toEqual({ [t.key('CESSNA', '172')]: 1 });
  });

  it('skips rows it does not own without writing', async () => {
    const before = await readState(table.doc, table.tableName);
    await run(
      insertRecord({ PK: 'ICAO#AIRCRAFT', SK: 'TYPE#C172', type_designator: 'C172', manufacturer: 'Cessna', model: '172' }),
      insertRecord({ PK: 'FAA#LINKS', SK: 'SOMETHING#ELSE', type_designator: 'C172', manufacturer: 'Cessna', model: '172' }),
    );
    expect(await readState(table.doc, table.tableName)).toEqual(before);
  });

  it('adopts a link counted before the ledger existed (no contribution row): the OldImage says what it carried', async () => {
    const t = fresh();
    const legacy = t.link('1', t.tuple('Cessna', '172'));
    await table.doc.send(
      new PutCommand({
        TableName: table.tableName,
        Item: { PK: `ICAO#MATCHER#${t.td}`, SK: 'MFR#Cessna#MODEL#172', type_designator: t.td, manufacturer: 'Cessna', model: '172', count: 1 },
      }),
    );
    await run(modifyRecord(legacy, { ...legacy, model: '182' }));
    expect(await countsOf(t.td)).toEqual({ [t.key('Cessna', '182')]: 1 });
  });

  describe('replays', () => {
    it('the same record delivered twice (two invocations, and twice in one batch) counts once', async () => {
      const t = fresh();
      const l1 = t.link('1', t.tuple('Cessna', '172'));
      const l2 = t.link('2', t.tuple('Cessna', '172'));
      const ins1 = insertRecord(l1);
      await run(ins1);
      await run(ins1);
      expect(await countsOf(t.td)).toEqual({ [t.key('Cessna', '172')]: 1 });

      const ins2 = insertRecord(l2);
      await run(ins2, ins2);
      expect(await countsOf(t.td)).toEqual({ [t.key('Cessna', '172')]: 2 });

      const rm = removeRecord(l2);
      await run(rm, rm);
      await run(rm);
      expect(await countsOf(t.td)).toEqual({ [t.key('Cessna', '172')]: 1 });
    });

    it('logs a replay as a no-op at info', async () => {
      const t = fresh();
      const ins = insertRecord(t.link('1', t.tuple('Cessna', '172')));
      await run(ins);
      const info = jest.spyOn(logger, 'info');
      await run(ins);
      expect(info).toHaveBeenCalledWith(
        'replayed record: already applied, no-op',
        expect.objectContaining({ eventID: ins.eventID, appliedEventID: ins.eventID }),
      );
    });

    it('a batch replayed from its middle (and then whole) leaves the counts exact', async () => {
      const t = fresh();
      const a = t.link('1', t.tuple('Cessna', '172'));
      const b = t.link('2', t.tuple('Cessna', '172'));
      const c = t.link('3', t.tuple('Piper', 'PA-28'));
      const a2 = { ...a, manufacturer: 'Piper', model: 'PA-28' };
      const b2 = { ...b, model: '' };
      const batch = [
        insertRecord(a),
        insertRecord(b),
        insertRecord(c),
        modifyRecord(a, a2),
        removeRecord(c),
        modifyRecord(b, b2),
        insertRecord(c),
        removeRecord(b2),
      ];
      const expected = { [t.key('Piper', 'PA-28')]: 2 };
      await run(...batch);
      expect(await countsOf(t.td)).toEqual(expected);
      for (const start of [4, 3, 5, 1]) {
        await run(...batch.slice(start));
        expect(await countsOf(t.td)).toEqual(expected);
      }
      await run(...batch);
      expect(await countsOf(t.td)).toEqual(expected);
    });

    it('a move replayed after a later move is a no-op (the decrement comes from the ledger, not the OldImage)', async () => {
      const t = fresh();
      const a = t.link('1', t.tuple('Cessna', '172'));
      const b = { ...a, model: '182' };
      const c = { ...a, model: '206' };
      const other = t.link('2', t.tuple('Cessna', '182')); // keeps tuple B alive, so a wrong decrement would show
      const [ins, ab, bc] = [insertRecord(a), modifyRecord(a, b), modifyRecord(b, c)];
      await run(insertRecord(other), ins, ab, bc);
      const expected = { [t.key('Cessna', '182')]: 1, [t.key('Cessna', '206')]: 1 };
      expect(await countsOf(t.td)).toEqual(expected);

      await run(ab);
      expect(await countsOf(t.td)).toEqual(expected);
      await run(ins, ab);
      expect(await countsOf(t.td)).toEqual(expected);
    });

    it('a record that never applied (dead-lettered) does not skew later changes: the ledger, not the OldImage, says what to decrement', async () => {
      const t = fresh();
      const a = t.link('1', t.tuple('Cessna', '172'));
      const b = { ...a, model: '182' };
      const c = { ...a, model: '206' };
      const keepB = t.link('2', t.tuple('Cessna', '182'));
      await run(insertRecord(keepB), insertRecord(a));
      modifyRecord(a, b); // lost: never delivered
      await run(modifyRecord(b, c));
      expect(await countsOf(t.td)).toEqual({ [t.key('Cessna', '182')]: 1, [t.key('Cessna', '206')]: 1 });
    });

    it('an INSERT replayed after the REMOVE that followed it does not resurrect the count', async () => {
      const t = fresh();
      const a = t.link('1', t.tuple('Cessna', '172'));
      const [ins, rm] = [insertRecord(a), removeRecord(a)];
      await run(ins, rm);
      await run(ins);
      expect(await countsOf(t.td)).toEqual({});
      // A genuinely new insert of the same link later counts again.
      await run(insertRecord(a));
      expect(await countsOf(t.td)).toEqual({ [t.key('Cessna', '172')]: 1 });
    });

    it('compares sequence numbers numerically across lengths ("9" is older than "10")', async () => {
      const t = fresh();
      const a = t.link('1', t.tuple('Cessna', '172'));
      const b = { ...a, model: '182' };
      const old = insertRecord(a, { sequenceNumber: '9' });
      await run(old, modifyRecord(a, b, { sequenceNumber: '10' }));
      await run(old);
      expect(await countsOf(t.td)).toEqual({ [t.key('Cessna', '182')]: 1 });
      await run(modifyRecord(b, a, { sequenceNumber: '100' }));
      expect(await countsOf(t.td)).toEqual({ [t.key('Cessna', '172')]: 1 });
    });
  });
});

/**
 * Races on the pointer: another writer changes it after image-sync read the state and before
 * its write lands (races on the source images are in source-race.test.ts). The write must not overwrite it blindly (it is conditional, fails, and
 * image-sync re-reads and reconciles again), and the final state must satisfy I2.
 */
import { DeleteCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { DEFAULT_MAX_ATTEMPTS } from '../../lambda/image-sync/handler';
import { defaultPointerKey, type ImageEntity } from '../../lambda/image-sync/keys';
import { createTestTable, type TestTable } from '../support/dynamodb';
import { i2Of, imageRow, imageSync, newEntity, pointerFor, readPointer, tableWriter, transactions, WRITE_COMMANDS, writePointer, type SentCommand } from './helpers';

let table: TestTable;
let writer: ReturnType<typeof tableWriter>;
beforeAll(async () => {
  table = await createTestTable('image-race');
  writer = tableWriter(table);
});
afterAll(() => table.drop());

/** Runs `interfere` (through another client) just before image-sync's first write is sent. */
function onFirstWrite(sync: ReturnType<typeof imageSync>, interfere: () => Promise<unknown>) {
  let done = false;
  sync.io.beforeSend(async (command: SentCommand) => {
    if (done || !WRITE_COMMANDS.has(command.command)) return;
    done = true;
    await interfere();
  });
}

const expectI2 = async (entity: ImageEntity) => expect(await i2Of(table, entity)).toEqual([]);

/** Every write is a transaction whose every item (pointer write, source check) carries a condition. */
function expectEveryWriteConditional(sync: ReturnType<typeof imageSync>) {
  for (const write of sync.io.writes()) {
    expect(write.command).toBe('TransactWriteItemsCommand');
    for (const item of write.input.TransactItems) expect(Object.values(item as Record<string, any>)[0].ConditionExpression).toEqual(expect.any(String));
  }
}

const userPoints = (entity: ImageEntity, image: ReturnType<typeof imageRow>) =>
  table.doc.send(new PutCommand({ TableName: table.tableName, Item: { ...defaultPointerKey(entity), ...pointerFor(image, 'user'), chosen_by: 'user' } }));

describe('image-sync under racing writers', () => {
  it('create races a user who sets the pointer first: the user choice survives', async () => {
    const entity = newEntity('ICAO');
    const records = [await writer.put(imageRow(entity, 1)), await writer.put(imageRow(entity, 2))];
    const sync = imageSync(table);
    onFirstWrite(sync, () => userPoints(entity, imageRow(entity, 1)));

    expect(await sync.run(...records)).toEqual({ batchItemFailures: [] });
    expect(await readPointer(table, entity)).toEqual({ ...defaultPointerKey(entity), ...pointerFor(imageRow(entity, 1), 'user'), chosen_by: 'user' });
    expect(sync.io.sent.map((c) => c.command)).toEqual([
      'QueryCommand', 'GetItemCommand', 'TransactWriteItemsCommand', // create: lost the race
      'QueryCommand', 'GetItemCommand', 'GetItemCommand', // re-read: valid user choice, keep it
    ]);
    expect(sync.log.lines.some((l) => l.level === 'warn')).toBe(true);
    expectEveryWriteConditional(sync);
    await expectI2(entity);
  });

  it('switch races a user who re-points the broken pointer: no blind overwrite', async () => {
    const entity = newEntity('REGISTRATION');
    const records = [await writer.put(imageRow(entity, 1)), await writer.put(imageRow(entity, 2))];
    await writePointer(table, entity, pointerFor(imageRow(entity, 9), 'broken')); // names a missing image
    const sync = imageSync(table);
    onFirstWrite(sync, () => userPoints(entity, imageRow(entity, 1)));

    expect(await sync.run(records[1]!)).toEqual({ batchItemFailures: [] });
    expect((await readPointer(table, entity))?.image_sk).toBe(imageRow(entity, 1).SK);
    expect(sync.io.writes()).toHaveLength(1); // the failed switch only
    expectEveryWriteConditional(sync);
    await expectI2(entity);
  });

  it('repair races a delete of the pointer: the pointer is recreated, not resurrected by an update', async () => {
    const entity = newEntity('REGISTRATION');
    const record = await writer.put(imageRow(entity, 1));
    await writer.put(imageRow(entity, 2));
    await writePointer(table, entity, { ...pointerFor(imageRow(entity, 2), 'old'), url: 'stale' });
    const sync = imageSync(table);
    onFirstWrite(sync, () => table.doc.send(new DeleteCommand({ TableName: table.tableName, Key: defaultPointerKey(entity) })));

    expect(await sync.run(record)).toEqual({ batchItemFailures: [] });
    expect(transactions(sync.io)).toEqual([
      ['Update DEFAULT', `ConditionCheck ${imageRow(entity, 2).SK}`],
      ['Put DEFAULT', `ConditionCheck ${imageRow(entity, 2).SK}`],
    ]);
    expect(await readPointer(table, entity)).toEqual({ ...defaultPointerKey(entity), ...pointerFor(imageRow(entity, 2)) });
    expectEveryWriteConditional(sync);
  });

  it('repair races a stale-field write by someone else: repaired again on the re-read', async () => {
    const entity = newEntity('ICAO');
    const record = await writer.put(imageRow(entity, 1));
    await writePointer(table, entity, { ...pointerFor(imageRow(entity, 1), 'old'), caption: 'stale' });
    const sync = imageSync(table);
    onFirstWrite(sync, () =>
      table.doc.send(
        new UpdateCommand({ TableName: table.tableName, Key: defaultPointerKey(entity), UpdateExpression: 'SET caption = :c', ExpressionAttributeValues: { ':c': 'other stale' } }),
      ),
    );

    expect(await sync.run(record)).toEqual({ batchItemFailures: [] });
    expect(sync.io.writes()).toHaveLength(2);
    expect(await readPointer(table, entity)).toEqual({ ...defaultPointerKey(entity), ...pointerFor(imageRow(entity, 1)) });
  });

  it('delete races a user who points at a freshly inserted image: the pointer is not deleted', async () => {
    const entity = newEntity('REGISTRATION');
    await writer.put(imageRow(entity, 1));
    const removed = (await writer.remove(imageRow(entity, 1)))!;
    await writePointer(table, entity, pointerFor(imageRow(entity, 1), 'old'));
    const sync = imageSync(table);
    onFirstWrite(sync, async () => {
      await writer.put(imageRow(entity, 5));
      await userPoints(entity, imageRow(entity, 5));
    });

    expect(await sync.run(removed)).toEqual({ batchItemFailures: [] });
    expect(transactions(sync.io)).toEqual([['Delete DEFAULT', `ConditionCheck ${imageRow(entity, 1).SK}`]]);
    expect((await readPointer(table, entity))?.image_sk).toBe(imageRow(entity, 5).SK);
    await expectI2(entity);
  });

  it('a writer that keeps changing the pointer: bounded attempts, then the record fails loudly by name', async () => {
    const calm = newEntity('ICAO');
    const contested = newEntity('ICAO');
    const ok = await writer.put(imageRow(calm, 1));
    const record = await writer.put(imageRow(contested, 1));
    await writePointer(table, contested, { ...pointerFor(imageRow(contested, 1)), url: 'stale' });
    const sync = imageSync(table); // default bound: DEFAULT_MAX_ATTEMPTS
    let bumps = 0;
    sync.io.beforeSend(async (command) => {
      if (command.command !== 'TransactWriteItemsCommand' || command.input.TransactItems[0].Update?.Key.PK !== defaultPointerKey(contested).PK) return;
      bumps += 1;
      await table.doc.send(
        new UpdateCommand({ TableName: table.tableName, Key: defaultPointerKey(contested), UpdateExpression: 'SET updated_at = :t', ExpressionAttributeValues: { ':t': `bump ${bumps}` } }),
      );
    });

    expect(await sync.run(ok, record)).toEqual({ batchItemFailures: [{ itemIdentifier: record.dynamodb!.SequenceNumber }] });
    expect(bumps).toBe(DEFAULT_MAX_ATTEMPTS);
    expect(DEFAULT_MAX_ATTEMPTS).toBe(5);
    expect(await readPointer(table, contested)).toMatchObject({ url: 'stale', updated_at: 'bump 5' }); // never overwritten blindly
    expect(sync.log.text()).toMatch(new RegExp(`gave up after 5 attempts.*eventID=${record.eventID}`));
    expect(await readPointer(table, calm)).toBeDefined();
  });
});

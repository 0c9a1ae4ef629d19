/**
 * Reconciliation end to end: real table writes on DynamoDB Local, the stream records those
 * writes produce, the Lambda handler built by createImageHandler.
 */
import { ENTITY_TYPES, defaultPointerKey, imagePartitionKey } from '../../lambda/image-sync/keys';
import { createTestTable, type TestTable } from '../support/dynamodb';
import { insertRecord, modifyRecord } from '../support/events';
import { i2Of, imageRow, imageSync, newEntity, pointerFor, readPartition, readPointer, tableWriter, transactions, writePointer } from './helpers';

let table: TestTable;
let writer: ReturnType<typeof tableWriter>;
beforeAll(async () => {
  table = await createTestTable('image-sync');
  writer = tableWriter(table);
});
afterAll(() => table.drop());

const commands = (sync: ReturnType<typeof imageSync>) => sync.io.sent.map((c) => c.command);
const items = (sync: ReturnType<typeof imageSync>, n = 0) => sync.io.writes()[n]!.input.TransactItems as Record<string, any>[];
const expectI2 = async (entity: ReturnType<typeof newEntity>) => expect(await i2Of(table, entity)).toEqual([]);

describe.each(ENTITY_TYPES)('image-sync for %s entities', (entityType) => {
  it('case 1: no images remain -> the pointer is deleted (conditionally); nothing to do without a pointer', async () => {
    const entity = newEntity(entityType);
    const image = imageRow(entity, 1);
    await writer.put(image);
    await writePointer(table, entity, pointerFor(image, 'earlier'));
    const removed = (await writer.remove(image))!;

    const sync = imageSync(table);
    expect(await sync.run(removed)).toEqual({ batchItemFailures: [] });
    expect(await readPointer(table, entity)).toBeUndefined();
    expect(commands(sync)).toEqual(['QueryCommand', 'GetItemCommand', 'TransactWriteItemsCommand']);
    // the pointer as read, and the image it named still absent (DESIGN §9)
    expect(transactions(sync.io)).toEqual([['Delete DEFAULT', `ConditionCheck ${image.SK}`]]);
    expect(items(sync)[0]!.Delete.ConditionExpression).toContain('attribute_exists(#PK)');
    expect(items(sync)[1]!.ConditionCheck.ConditionExpression).toBe('attribute_not_exists(#PK)');

    sync.io.reset();
    expect(await sync.run(removed)).toEqual({ batchItemFailures: [] }); // a replay: nothing left to do
    expect(sync.io.writes()).toEqual([]);
  });

  it('case 2: images but no pointer -> a pointer to the newest image is created', async () => {
    const entity = newEntity(entityType);
    const records = [];
    for (const n of [3, 1, 2]) records.push(await writer.put(imageRow(entity, n)));

    const sync = imageSync(table);
    expect(await sync.run(records[0]!)).toEqual({ batchItemFailures: [] });
    expect(await readPointer(table, entity)).toEqual({ ...defaultPointerKey(entity), ...pointerFor(imageRow(entity, 3)) });
    expect(commands(sync)).toEqual(['QueryCommand', 'GetItemCommand', 'TransactWriteItemsCommand']);
    expect(transactions(sync.io)).toEqual([['Put DEFAULT', `ConditionCheck ${imageRow(entity, 3).SK}`]]);
    expect(items(sync)[0]!.Put.ConditionExpression).toBe('attribute_not_exists(#PK)');
    // the image still exists with exactly the display fields copied
    const check = items(sync)[1]!.ConditionCheck;
    expect(check.ConditionExpression).toBe('attribute_exists(#PK) AND #image_id = :src_image_id AND #url = :src_url AND #thumbnail_url = :src_thumbnail_url AND #caption = :src_caption');
    expect(check.ExpressionAttributeValues).toEqual({ ':src_image_id': imageRow(entity, 3).image_id, ':src_url': imageRow(entity, 3).url, ':src_thumbnail_url': imageRow(entity, 3).thumbnail_url, ':src_caption': 'Photo 3' });
    // the query the design asks for: consistent, newest first, one item, image rows only
    expect(sync.io.sent[0]!.input).toMatchObject({ ConsistentRead: true, ScanIndexForward: false, Limit: 1 });
    expect(sync.io.sent[0]!.input.KeyConditionExpression).toContain('begins_with');
    expect(sync.io.sent[1]!.input).toMatchObject({ ConsistentRead: true, Key: defaultPointerKey(entity) });
  });

  it('case 3: pointer names an image that no longer exists -> switched to the newest', async () => {
    const entity = newEntity(entityType);
    const records = [await writer.put(imageRow(entity, 1)), await writer.put(imageRow(entity, 2))];
    await writePointer(table, entity, pointerFor(imageRow(entity, 7), 'earlier')); // IMG#7 never existed

    const sync = imageSync(table);
    expect(await sync.run(...records)).toEqual({ batchItemFailures: [] });
    expect(await readPointer(table, entity)).toEqual({ ...defaultPointerKey(entity), ...pointerFor(imageRow(entity, 2)) });
    expect(commands(sync)).toEqual(['QueryCommand', 'GetItemCommand', 'GetItemCommand', 'TransactWriteItemsCommand']);
    expect(transactions(sync.io)).toEqual([['Update DEFAULT', `ConditionCheck ${imageRow(entity, 2).SK}`]]);
    const update = items(sync)[0]!.Update;
    expect(update.ConditionExpression).toContain('#image_sk = :was_image_sk');
    expect(update.ExpressionAttributeValues[':was_image_sk']).toBe(imageRow(entity, 7).SK);
  });

  it('case 4: valid pointer with a stale copy -> its display fields are repaired; in sync -> no write at all', async () => {
    const entity = newEntity(entityType);
    const image = imageRow(entity, 4);
    const record = await writer.put(image);
    await writePointer(table, entity, { ...pointerFor(image, 'earlier'), caption: 'stale caption', thumbnail_url: 'stale' });

    const sync = imageSync(table);
    expect(await sync.run(record)).toEqual({ batchItemFailures: [] });
    expect(await readPointer(table, entity)).toEqual({ ...defaultPointerKey(entity), ...pointerFor(image) });

    // Already true: read, decide "none", no write, updated_at untouched.
    await writePointer(table, entity, pointerFor(image, 'earlier'));
    sync.io.reset();
    expect(await sync.run(record)).toEqual({ batchItemFailures: [] });
    expect(sync.io.writes()).toEqual([]);
    expect((await readPointer(table, entity))?.updated_at).toBe('earlier');
  });

  it('a user-chosen default that is not the newest is kept, also when newer images arrive', async () => {
    const entity = newEntity(entityType);
    for (const n of [1, 2, 3]) await writer.put(imageRow(entity, n));
    await writePointer(table, entity, { ...pointerFor(imageRow(entity, 1), 'user choice'), chosen_by: 'user-42' });
    const newer = await writer.put(imageRow(entity, 9));

    const sync = imageSync(table);
    expect(await sync.run(newer)).toEqual({ batchItemFailures: [] });
    expect(await readPointer(table, entity)).toEqual({
      ...defaultPointerKey(entity),
      ...pointerFor(imageRow(entity, 1), 'user choice'),
      chosen_by: 'user-42',
    });
    expect(sync.io.writes()).toEqual([]);
    // the pointed (non-newest) image was checked for existence with a consistent GetItem
    expect(sync.io.sent[2]).toMatchObject({ command: 'GetItemCommand', input: { ConsistentRead: true, Key: { SK: imageRow(entity, 1).SK } } });
  });

  it("pointer fields are repaired after the pointed image's url changes (the pointer keeps naming it)", async () => {
    const entity = newEntity(entityType);
    for (const n of [1, 2]) await writer.put(imageRow(entity, n));
    await writePointer(table, entity, { ...pointerFor(imageRow(entity, 1), 'user choice'), chosen_by: 'user-42' });
    const moved = imageRow(entity, 1, { url: 'https://cdn.example/moved.jpg', caption: undefined });
    const record = await writer.put(moved);
    expect(record.eventName).toBe('MODIFY');

    const sync = imageSync(table);
    expect(await sync.run(record)).toEqual({ batchItemFailures: [] });
    const pointer = await readPointer(table, entity);
    expect(pointer).toEqual({ ...defaultPointerKey(entity), ...pointerFor(moved), chosen_by: 'user-42' });
    expect(pointer).not.toHaveProperty('caption');
    // the source check: the pointed image, its caption still absent (or NULL, which reads as absent)
    expect(transactions(sync.io)).toEqual([['Update DEFAULT', `ConditionCheck ${moved.SK}`]]);
    expect(items(sync)[1]!.ConditionCheck.ConditionExpression).toContain('(attribute_not_exists(#caption) OR attribute_type(#caption, :null_type))');
  });

  it('REMOVE of the pointed image switches the pointer to the newest remaining image', async () => {
    const entity = newEntity(entityType);
    const sync = imageSync(table);
    const inserts = [];
    for (const n of [1, 2, 3]) inserts.push(await writer.put(imageRow(entity, n)));
    await sync.run(...inserts);
    expect((await readPointer(table, entity))?.image_sk).toBe(imageRow(entity, 3).SK);

    const removed = (await writer.remove(imageRow(entity, 3)))!;
    expect(await sync.run(removed)).toEqual({ batchItemFailures: [] });
    expect(await readPointer(table, entity)).toEqual({ ...defaultPointerKey(entity), ...pointerFor(imageRow(entity, 2)) });

    // a user-chosen older image removed: back to the newest remaining
    await writePointer(table, entity, pointerFor(imageRow(entity, 1), 'user choice'));
    expect(await sync.run((await writer.remove(imageRow(entity, 1)))!)).toEqual({ batchItemFailures: [] });
    expect((await readPointer(table, entity))?.image_sk).toBe(imageRow(entity, 2).SK);
  });

  it('removing the last image deletes the pointer', async () => {
    const entity = newEntity(entityType);
    const sync = imageSync(table);
    await sync.run(await writer.put(imageRow(entity, 1)), await writer.put(imageRow(entity, 2)));
    expect(await readPointer(table, entity)).toBeDefined();

    expect(await sync.run((await writer.remove(imageRow(entity, 2)))!, (await writer.remove(imageRow(entity, 1)))!)).toEqual({
      batchItemFailures: [],
    });
    expect(await readPartition(table, entity)).toEqual([]);
  });
});

describe('image-sync input handling', () => {
  it('entities of different types and orgs stay apart; each gets its own pointer', async () => {
    const reg = newEntity('REGISTRATION', 'SYSTEM');
    const icao = newEntity('ICAO', 'ORG7');
    const sync = imageSync(table);
    await sync.run(await writer.put(imageRow(reg, 1)), await writer.put(imageRow(icao, 5)), await writer.put(imageRow(reg, 2)));
    expect((await readPointer(table, reg))?.image_sk).toBe(imageRow(reg, 2).SK);
    expect((await readPointer(table, icao))?.image_sk).toBe(imageRow(icao, 5).SK);
    await expectI2(reg);
    await expectI2(icao);
  });

  it('the entity comes from the key alone: a REMOVE without OldImage, a KEYS_ONLY record, images naming another entity', async () => {
    const entity = newEntity('ICAO');
    const other = newEntity('ICAO');
    await writer.put(imageRow(entity, 1));
    await writePointer(table, entity, pointerFor(imageRow(entity, 1), 'earlier'));
    const removed = (await writer.remove(imageRow(entity, 1)))!;
    delete removed.dynamodb!.OldImage; // DynamoDB Local drops it under concurrent deletes

    const sync = imageSync(table);
    expect(await sync.run(removed)).toEqual({ batchItemFailures: [] });
    expect(await readPartition(table, entity)).toEqual([]);

    // images that disagree with the key (or are absent) change nothing: the key's partition is reconciled
    const put = await writer.put(imageRow(entity, 2));
    const misleading = modifyRecord({ ...imageRow(other, 2), PK: imagePartitionKey(entity) }, { ...imageRow(other, 2), PK: imagePartitionKey(entity) });
    const keysOnly = insertRecord(imageRow(other, 3), { streamViewType: 'KEYS_ONLY' });
    await writer.put(imageRow(other, 3));
    expect(await sync.run(misleading, keysOnly)).toEqual({ batchItemFailures: [] });
    expect(await readPointer(table, entity)).toMatchObject(pointerFor(imageRow(entity, 2)));
    expect(await readPointer(table, other)).toMatchObject(pointerFor(imageRow(other, 3)));
    expect(put.eventName).toBe('INSERT');
  });

  it('an unknown entity type in the PK fails that record (named), after the records before it took effect', async () => {
    const good = newEntity('ICAO');
    const later = newEntity('ICAO');
    const badPk = 'IMAGES#ORG#SYSTEM#ENTITY#AIRPORT#ID#KJFK';
    const sync = imageSync(table);

    const r1 = await writer.put(imageRow(good, 1));
    const rBad = insertRecord({ ...imageRow(good, 1), PK: badPk });
    const r3 = await writer.put(imageRow(later, 1));
    expect(await sync.run(r1, rBad, r3)).toEqual({ batchItemFailures: [{ itemIdentifier: rBad.dynamodb!.SequenceNumber }, { itemIdentifier: r3.dynamodb!.SequenceNumber }] });
    expect(await readPointer(table, good)).toBeDefined();
    expect(await readPointer(table, later)).toBeUndefined(); // not attempted: it comes after the failure
    const failure = sync.log.lines.find((l) => l.level === 'error')!;
    expect(JSON.stringify(failure.extra, (_k, v) => (v instanceof Error ? v.message : v))).toMatch(
      new RegExp(`unknown entity type \\\\"AIRPORT\\\\".*eventID=${rBad.eventID} PK=${badPk.replace(/[$^#]/g, '.')} SK=IMG#000001`),
    );
  });

  it('NULL attributes read as absent on both sides, and the conditions agree (no endless re-reads)', async () => {
    const entity = newEntity('ICAO');
    const image = imageRow(entity, 1, { caption: null });
    const sync = imageSync(table);
    expect(await sync.run(await writer.put(image))).toEqual({ batchItemFailures: [] }); // create: source check "caption absent or NULL"
    expect(await readPointer(table, entity)).not.toHaveProperty('caption');

    await writePointer(table, entity, { ...pointerFor(image, 'earlier'), thumbnail_url: null, caption: null }); // someone wrote NULLs
    sync.io.reset();
    expect(await sync.run(await writer.put({ ...image, width: 1 }))).toEqual({ batchItemFailures: [] }); // repair: pointer condition with NULLs
    expect(sync.io.writes()).toHaveLength(1);
    expect(await readPointer(table, entity)).toEqual({ ...defaultPointerKey(entity), ...pointerFor({ ...image, caption: undefined }) }); // NULLs removed
    await expectI2(entity);
  });

  it('the pointer row and other non-image rows are skipped without any request', async () => {
    const entity = newEntity();
    const sync = imageSync(table);
    const pointerRecord = insertRecord({ ...defaultPointerKey(entity), ...pointerFor(imageRow(entity, 1)) });
    const registry = insertRecord({ PK: 'AIRCRAFT#REGISTRY#FAA', SK: 'DETAIL#N1', registration: 'N1' });
    expect(await sync.run(pointerRecord, registry)).toEqual({ batchItemFailures: [] });
    expect(sync.io.sent).toEqual([]);
  });

  it('a DynamoDB failure fails loudly, naming the record, and is never swallowed', async () => {
    const entity = newEntity();
    const sync = imageSync({ ...table, tableName: 'no-such-table' } as TestTable);
    const record = await writer.put(imageRow(entity, 1));
    await expect(sync.run(record)).rejects.toThrow();
    expect(sync.log.text()).toMatch(new RegExp(`ResourceNotFoundException.*eventID=${record.eventID}`));
  });

  it('logs stay compact: never an image or pointer attribute value beyond keys', async () => {
    const entity = newEntity();
    const sync = imageSync(table);
    const image = imageRow(entity, 1, { caption: 'Owner John Q. Public, 1 Main St' });
    await sync.run(await writer.put(image));
    await writePointer(table, entity, { ...pointerFor(image), url: 'stale' });
    await sync.run(await writer.put({ ...image, width: 10 }));
    const text = sync.log.text();
    expect(text).toContain('default image reconciled');
    for (const secret of ['John Q. Public', 'private photographer', String(image.url)]) expect(text).not.toContain(secret);
  });
});

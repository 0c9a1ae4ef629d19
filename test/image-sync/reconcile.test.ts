/**
 * Reconciliation end to end: real table writes on DynamoDB Local, the stream records those
 * writes produce, the Lambda handler built by createImageHandler.
 */
import { ENTITY_TYPES, defaultPointerKey, imagePartitionKey } from '../../lambda/image-sync/keys';
import { i2Violations, type ImageRow } from '../../lambda/image-sync/reconcile';
import { createTestTable, type TestTable } from '../support/dynamodb';
import { insertRecord, removeRecord } from '../support/events';
import { imageRow, imageSync, newEntity, pointerFor, readPartition, readPointer, tableWriter, writePointer } from './helpers';

let table: TestTable;
let writer: ReturnType<typeof tableWriter>;
beforeAll(async () => {
  table = await createTestTable('image-sync');
  writer = tableWriter(table);
});
afterAll(() => table.drop());

const commands = (sync: ReturnType<typeof imageSync>) => sync.io.sent.map((c) => c.command);

async function expectI2(entity: ReturnType<typeof newEntity>) {
  const rows = await readPartition(table, entity);
  const images = rows.filter((r) => String(r.SK).startsWith('IMG#')) as ImageRow[];
  const pointer = rows.find((r) => r.SK === 'DEFAULT');
  expect(i2Violations(images, pointer)).toEqual([]);
}

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
    expect(commands(sync)).toEqual(['QueryCommand', 'GetItemCommand', 'DeleteItemCommand']);
    expect(sync.io.writes()[0]!.input.ConditionExpression).toContain('attribute_exists(#PK)');

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
    expect(commands(sync)).toEqual(['QueryCommand', 'GetItemCommand', 'PutItemCommand']);
    expect(sync.io.writes()[0]!.input.ConditionExpression).toBe('attribute_not_exists(#PK)');
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
    expect(commands(sync)).toEqual(['QueryCommand', 'GetItemCommand', 'GetItemCommand', 'UpdateItemCommand']);
    const update = sync.io.writes()[0]!.input;
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

  it('an unknown entity_type or a missing attribute fails that record (named), after the records before it took effect', async () => {
    const good = newEntity('ICAO');
    const later = newEntity('ICAO');
    const bad = { ...imageRow(newEntity('ICAO'), 1), entity_type: 'AIRPORT' };
    const missing = { ...imageRow(newEntity('ICAO'), 1) } as Record<string, unknown> & { PK: string; SK: string };
    delete missing.org_id;
    const sync = imageSync(table);

    const r1 = await writer.put(imageRow(good, 1));
    const rBad = insertRecord(bad);
    const r3 = await writer.put(imageRow(later, 1));
    expect(await sync.run(r1, rBad, r3)).toEqual({ batchItemFailures: [{ itemIdentifier: rBad.dynamodb!.SequenceNumber }, { itemIdentifier: r3.dynamodb!.SequenceNumber }] });
    expect(await readPointer(table, good)).toBeDefined();
    expect(await readPointer(table, later)).toBeUndefined(); // not attempted: it comes after the failure
    const failure = sync.log.lines.find((l) => l.level === 'error')!;
    expect(JSON.stringify(failure.extra, (_k, v) => (v instanceof Error ? v.message : v))).toMatch(
      new RegExp(`unknown entity_type \\\\"AIRPORT\\\\".*eventID=${rBad.eventID} PK=${bad.PK.replace(/[$^#]/g, '.')} SK=IMG#000001`),
    );

    const rMissing = removeRecord(missing);
    const ok = await writer.put(imageRow(later, 2));
    expect(await sync.run(ok, rMissing)).toEqual({ batchItemFailures: [{ itemIdentifier: rMissing.dynamodb!.SequenceNumber }] });
    expect(sync.log.text()).toMatch(/image row has no org_id attribute \(OldImage\)/);
  });

  it('a row whose PK is not the partition its attributes name is an error, and nothing is written there', async () => {
    const entity = newEntity('REGISTRATION');
    const other = newEntity('REGISTRATION');
    const sync = imageSync(table);
    const record = insertRecord({ ...imageRow(entity, 1), entity_id: other.entityId });
    await expect(sync.run(record)).rejects.toThrow(); // the whole batch failed: Powertools throws so bisect can split it
    expect(sync.io.sent).toEqual([]);
    expect(sync.log.text()).toContain(`expected ${imagePartitionKey(other)}`);
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

/**
 * Coalescing: reconciliation is state-based, so one batch reconciles each entity once,
 * however many of its records the batch holds; a failure is reported at that entity's
 * earliest record.
 */
import { imagePartitionKey } from '../../lambda/image-sync/keys';
import { createTestTable, type TestTable } from '../support/dynamodb';
import { imageRow, imageSync, newEntity, pointerFor, readPointer, tableWriter, type SentCommand } from './helpers';

let table: TestTable;
let writer: ReturnType<typeof tableWriter>;
beforeAll(async () => {
  table = await createTestTable('image-coalesce');
  writer = tableWriter(table);
});
afterAll(() => table.drop());

const reconciles = (sync: ReturnType<typeof imageSync>) => sync.log.lines.filter((l) => l.message === 'default image reconciled');
/** The partition a request touches: a Query's :pk, a GetItem's key, a transaction's pointer. */
const partitionOf = (c: SentCommand): string =>
  c.input.ExpressionAttributeValues?.[':pk'] ?? c.input.Key?.PK ?? Object.values(c.input.TransactItems[0] as Record<string, any>)[0].Key?.PK ?? Object.values(c.input.TransactItems[0] as Record<string, any>)[0].Item.PK;
const seq = (record: { dynamodb?: { SequenceNumber?: string } }) => ({ itemIdentifier: record.dynamodb!.SequenceNumber });

describe('image-sync coalescing', () => {
  it('a burst of 50 image inserts for one entity in one batch is one reconcile: 3 DynamoDB requests', async () => {
    const entity = newEntity('REGISTRATION');
    const records = [];
    for (let n = 1; n <= 50; n++) records.push(await writer.put(imageRow(entity, n)));

    const sync = imageSync(table);
    expect(await sync.run(...records)).toEqual({ batchItemFailures: [] });
    expect(sync.io.sent.map((c) => c.command)).toEqual(['QueryCommand', 'GetItemCommand', 'TransactWriteItemsCommand']);
    expect(reconciles(sync)).toHaveLength(1);
    expect(await readPointer(table, entity)).toMatchObject(pointerFor(imageRow(entity, 50)));
  });

  it('interleaved entities are each reconciled once, in order of first appearance', async () => {
    const a = newEntity('ICAO');
    const b = newEntity('REGISTRATION');
    const records = [];
    for (let n = 1; n <= 10; n++) {
      records.push(await writer.put(imageRow(b, n)));
      records.push(await writer.put(imageRow(a, n)));
    }
    const sync = imageSync(table);
    expect(await sync.run(...records)).toEqual({ batchItemFailures: [] });
    expect(sync.io.sent).toHaveLength(6);
    expect(sync.io.sent.map(partitionOf)).toEqual([...Array(3).fill(imagePartitionKey(b)), ...Array(3).fill(imagePartitionKey(a))]);
  });

  it("a failing entity is reported at its earliest record; the retry from there reconciles again harmlessly", async () => {
    const a = newEntity('ICAO');
    const b = newEntity('ICAO');
    const c = newEntity('ICAO');
    const a1 = await writer.put(imageRow(a, 1));
    const b1 = await writer.put(imageRow(b, 1));
    const a2 = await writer.put(imageRow(a, 2));
    const b2 = await writer.put(imageRow(b, 2));
    const c1 = await writer.put(imageRow(c, 1));

    const sync = imageSync(table);
    sync.io.beforeSend((command) => {
      if (command.command === 'TransactWriteItemsCommand' && partitionOf(command) === imagePartitionKey(b)) throw new Error('injected outage');
    });
    expect(await sync.run(a1, b1, a2, b2, c1)).toEqual({ batchItemFailures: [seq(b1), seq(a2), seq(b2), seq(c1)] });
    expect(await readPointer(table, a)).toMatchObject(pointerFor(imageRow(a, 2))); // a reconciled once, on current state
    expect(await readPointer(table, b)).toBeUndefined();
    expect(await readPointer(table, c)).toBeUndefined(); // after the failure: not attempted
    expect(sync.log.text()).toMatch(new RegExp(`injected outage.*eventID=${b1.eventID}`));

    // Lambda resumes at b1: a2 is replayed; a's reconcile reads a true state and writes nothing.
    sync.io.beforeSend(undefined);
    sync.io.reset();
    expect(await sync.run(b1, a2, b2, c1)).toEqual({ batchItemFailures: [] });
    expect(sync.io.writes().map(partitionOf)).toEqual([imagePartitionKey(b), imagePartitionKey(c)]);
    expect(await readPointer(table, b)).toMatchObject(pointerFor(imageRow(b, 2)));
    expect(await readPointer(table, c)).toMatchObject(pointerFor(imageRow(c, 1)));
  });
});

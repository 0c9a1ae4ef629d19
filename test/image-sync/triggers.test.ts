/**
 * The reconciler as the ops tools call it (createImageReconciler): triggers name keys, any
 * image or pointer key of an entity reconciles that entity once per call, an unchanged key
 * costs reads only, transient write failures back off, bad keys fail by name and position.
 */
import { ChangeFailedError } from '../../lambda/shared/errors';
import { defaultPointerKey, imageKey } from '../../lambda/image-sync/keys';
import { DEFAULT_BACKOFF } from '../../lambda/image-sync/retry';
import { createTestTable, type TestTable } from '../support/dynamodb';
import { imageReconciler, imageRow, newEntity, pointerFor, readPointer, tableWriter, transactions, writePointer } from './helpers';

let table: TestTable;
let writer: ReturnType<typeof tableWriter>;
beforeAll(async () => {
  table = await createTestTable('image-triggers');
  writer = tableWriter(table);
});
afterAll(() => table.drop());

const commands = (tool: ReturnType<typeof imageReconciler>) => tool.io.sent.map((c) => c.command);

/** What reconcile threw: its position and message (the cause's, naming the key). */
async function failureOf(promise: Promise<unknown>): Promise<{ position: number; message: string }> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ChangeFailedError);
    return { position: (error as ChangeFailedError).position, message: String((error as ChangeFailedError).cause) };
  }
  throw new Error('expected reconcile to fail');
}

const sdkError = (name: string, codes?: string[]) =>
  Object.assign(new Error(codes ? `Transaction cancelled [${codes.join(', ')}]` : name), {
    name,
    ...(codes && { CancellationReasons: codes.map((Code) => ({ Code })) }),
  });

describe('image-sync reconciler (tools)', () => {
  it('accepts image and pointer keys of image partitions only', () => {
    const { reconciler } = imageReconciler(table);
    const entity = newEntity();
    expect(reconciler.name).toBe('image-sync');
    expect(reconciler.accepts(imageKey(entity, 'IMG#1'))).toBe(true);
    expect(reconciler.accepts(defaultPointerKey(entity))).toBe(true);
    expect(reconciler.accepts({ PK: 'FAA#LINKS', SK: 'MFR_MDL_CODE#1#SN#1' })).toBe(false);
  });

  it('a trigger for an unchanged key writes nothing: reads only, whichever key of the entity it names', async () => {
    const entity = newEntity('ICAO');
    for (const n of [1, 2]) await writer.put(imageRow(entity, n));
    await writePointer(table, entity, pointerFor(imageRow(entity, 2), 'earlier'));

    for (const key of [imageKey(entity, imageRow(entity, 1).SK), imageKey(entity, imageRow(entity, 2).SK), defaultPointerKey(entity)]) {
      const tool = imageReconciler(table);
      expect(await tool.reconcile(key)).toEqual([{ key, action: 'none', changed: false }]);
      expect(commands(tool)).toEqual(['QueryCommand', 'GetItemCommand']);
    }
    // a user's choice of an older image: one more read (does it exist?), still no write
    await writePointer(table, entity, pointerFor(imageRow(entity, 1), 'user'));
    const tool = imageReconciler(table);
    await tool.reconcile(defaultPointerKey(entity));
    expect(commands(tool)).toEqual(['QueryCommand', 'GetItemCommand', 'GetItemCommand']);
    expect((await readPointer(table, entity))?.updated_at).toBe('user');
  });

  it('duplicate keys, and several keys of one entity, are reconciled once; every key reports the outcome', async () => {
    const entity = newEntity('REGISTRATION');
    for (const n of [1, 2]) await writer.put(imageRow(entity, n));
    const k1 = imageKey(entity, imageRow(entity, 1).SK);
    const k2 = imageKey(entity, imageRow(entity, 2).SK);

    const tool = imageReconciler(table);
    expect(await tool.reconcile(k2, k1, k2, defaultPointerKey(entity), k2)).toEqual([
      { key: k2, action: 'create', changed: true },
      { key: k1, action: 'create', changed: true },
      { key: defaultPointerKey(entity), action: 'create', changed: true },
    ]);
    expect(commands(tool)).toEqual(['QueryCommand', 'GetItemCommand', 'TransactWriteItemsCommand']);
    expect(await readPointer(table, entity)).toMatchObject(pointerFor(imageRow(entity, 2)));
  });

  it('a pointer-key trigger for an entity without images deletes the orphan pointer', async () => {
    const entity = newEntity('ICAO');
    await writePointer(table, entity, pointerFor(imageRow(entity, 4), 'orphan'));
    const tool = imageReconciler(table);
    expect(await tool.reconcile(defaultPointerKey(entity))).toEqual([{ key: defaultPointerKey(entity), action: 'delete', changed: true }]);
    expect(transactions(tool.io)).toEqual([['Delete DEFAULT', `ConditionCheck ${imageRow(entity, 4).SK}`]]);
    expect(await readPointer(table, entity)).toBeUndefined();
    // an orphan naming no image at all: deleted on the pointer condition alone
    await writePointer(table, entity, { image_sk: 'garbage', updated_at: 'x' });
    const again = imageReconciler(table);
    expect(await again.reconcile(defaultPointerKey(entity))).toEqual([{ key: defaultPointerKey(entity), action: 'delete', changed: true }]);
    expect(transactions(again.io)).toEqual([['Delete DEFAULT']]);
    expect(await readPointer(table, entity)).toBeUndefined();
  });

  it('a bad key fails at its position, naming it; keys before it took effect, keys after it were not attempted', async () => {
    const before = newEntity('ICAO');
    const after = newEntity('ICAO');
    await writer.put(imageRow(before, 1));
    await writer.put(imageRow(after, 1));
    const bad = { PK: 'IMAGES#ORG#SYSTEM#ENTITY#AIRPORT#ID#KJFK', SK: 'IMG#1' };

    const tool = imageReconciler(table);
    const failure = await failureOf(tool.reconcile(imageKey(before, 'IMG#000001'), bad, imageKey(after, 'IMG#000001')));
    expect(failure.position).toBe(1);
    expect(failure.message).toContain(`unknown entity type "AIRPORT" (expected REGISTRATION or ICAO) [eventID=? PK=${bad.PK} SK=IMG#1]`);
    expect(await readPointer(table, before)).toBeDefined();
    expect(await readPointer(table, after)).toBeUndefined();

    const junk = await failureOf(imageReconciler(table).reconcile({ PK: 'IMAGES#junk', SK: 'DEFAULT' }));
    expect(junk).toEqual({ position: 0, message: expect.stringContaining('not an entity image partition') });
  });

  it('transaction conflicts and throttling back off and retry the round; the result is as without them', async () => {
    const entity = newEntity('REGISTRATION');
    await writer.put(imageRow(entity, 1));
    const delays: number[] = [];
    const tool = imageReconciler(table, { sleep: async (ms) => void delays.push(ms) });
    const faults = [sdkError('TransactionCanceledException', ['None', 'TransactionConflict']), sdkError('ThrottlingException')];
    tool.io.beforeSend((command) => {
      if (command.command === 'TransactWriteItemsCommand' && faults.length > 0) throw faults.shift();
    });

    expect(await tool.reconcile(imageKey(entity, 'IMG#000001'))).toEqual([expect.objectContaining({ action: 'create', changed: true })]);
    expect(delays).toHaveLength(2);
    expect(delays[0]).toBeLessThanOrEqual(DEFAULT_BACKOFF.baseDelayMs);
    expect(delays[1]).toBeGreaterThanOrEqual(DEFAULT_BACKOFF.baseDelayMs); // exponential: second delay from a doubled ceiling
    expect(commands(tool).filter((c) => c === 'TransactWriteItemsCommand')).toHaveLength(3);
    expect(await readPointer(table, entity)).toMatchObject(pointerFor(imageRow(entity, 1)));
  });

  it('throttling that does not stop: bounded retries, then the key fails loudly by name; fatal errors are not retried', async () => {
    const entity = newEntity('ICAO');
    await writer.put(imageRow(entity, 1));
    const delays: number[] = [];
    const tool = imageReconciler(table, { sleep: async (ms) => void delays.push(ms) });
    tool.io.beforeSend((command) => {
      if (command.command === 'TransactWriteItemsCommand') throw sdkError('ProvisionedThroughputExceededException');
    });
    const key = imageKey(entity, 'IMG#000001');
    const failure = await failureOf(tool.reconcile(key));
    expect(failure.message).toContain(`still fails with ProvisionedThroughputExceededException after ${DEFAULT_BACKOFF.retries} retries [eventID=? PK=${key.PK} SK=${key.SK}]`);
    expect(delays).toHaveLength(DEFAULT_BACKOFF.retries);

    const fatal = imageReconciler(table, { sleep: async () => void delays.push(-1) });
    fatal.io.beforeSend((command) => {
      if (command.command === 'TransactWriteItemsCommand') throw sdkError('ValidationException');
    });
    expect((await failureOf(fatal.reconcile(key))).message).toMatch(/ValidationException/);
    expect(fatal.io.writes()).toHaveLength(1);
    expect(delays).not.toContain(-1);
    expect(await readPointer(table, entity)).toBeUndefined();
  });
});

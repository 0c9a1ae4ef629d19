import {
  BatchGetItemCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  type BatchGetItemCommandOutput,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createMatcherHandler } from '../../lambda/faa-matcher-sync/handler';
import { createMatcherReconciler } from '../../lambda/faa-matcher-sync/reconcile';
import { ChangeFailedError, StreamRecordError } from '../../lambda/shared/errors';
import { toolTriggers } from '../../lambda/shared/trigger';
import { createTestTable, type TestTable } from '../support/dynamodb';
import { insertRecord, streamEvent } from '../support/events';
import { i3Violations, linkRow, putLink, readState, silentLogger } from './helpers';

const canceled = (...codes: string[]) =>
  new TransactionCanceledException({
    $metadata: {},
    message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${codes.join(', ')}]`,
    CancellationReasons: codes.map((Code) => ({ Code })),
  });
const named = (name: string) => Object.assign(new Error(`${name} (injected)`), { name, $metadata: {} });

type Send = (command: unknown) => Promise<unknown>;
type Step = (command: unknown, real: Send) => Promise<unknown>;

/** DynamoDB Local underneath; the next calls of one command kind can be replaced, in order. */
function faultyDoc(table: TestTable) {
  const doc = DynamoDBDocumentClient.from(table.client);
  const real = doc.send.bind(doc) as Send;
  const plans = new Map<unknown, Step[]>();
  jest.spyOn(doc, 'send').mockImplementation((async (command: unknown) => {
    const step = plans.get((command as object).constructor)?.shift();
    return step ? step(command, real) : real(command);
  }) as never);
  return {
    doc,
    on: (kind: unknown, ...steps: Step[]) => plans.set(kind, [...(plans.get(kind) ?? []), ...steps]),
  };
}

/** Fault injection at the SDK boundary; the table semantics stay DynamoDB Local's. */
describe('faa-matcher-sync under injected DynamoDB faults', () => {
  let table: TestTable;
  beforeAll(async () => {
    table = await createTestTable('matcher-faults');
  });
  afterAll(() => table.drop());
  afterEach(async () => {
    jest.restoreAllMocks();
    expect(await i3Violations(table.doc, table.tableName)).toEqual([]);
  });

  let n = 0;
  const fresh = () => {
    n += 1;
    const fields = { type_designator: `F${n}`, manufacturer: 'Cessna', model: '172' };
    return { link: linkRow(`F${n}`, '1', fields), key: `ICAO#MATCHER#F${n}|MFR#Cessna#MODEL#172` };
  };
  const counts = async () => (await readState(table.doc, table.tableName)).counts;
  const setup = (doc: DynamoDBDocumentClient, maxAttempts = 8) => {
    const sleeps: number[] = [];
    const reconciler = createMatcherReconciler({
      doc,
      tableName: table.tableName,
      logger: silentLogger(),
      sleep: async (ms) => void sleeps.push(ms),
      retry: { maxAttempts },
    });
    return { reconciler, sleeps };
  };

  it('throttled and conflicting transactions back off and retry the same write', async () => {
    const t = fresh();
    await putLink(table.doc, table.tableName, t.link);
    const f = faultyDoc(table);
    f.on(TransactWriteItemsCommand, async () => Promise.reject(canceled('None', 'None', 'ThrottlingError')), async () => Promise.reject(named('TransactionConflictException')));
    const { reconciler, sleeps } = setup(f.doc);
    const [result] = await reconciler.reconcile(toolTriggers([t.link], 'backfill', 'f1'));
    expect(result).toMatchObject({ action: 'increment', transactions: 3, conditionalRetries: 0 });
    expect(sleeps).toHaveLength(2);
    expect((await counts())[t.key]).toBe(1);
  });

  it('unprocessed keys of the BatchGetItem are requested again after a backoff', async () => {
    const t = fresh();
    await putLink(table.doc, table.tableName, t.link);
    const f = faultyDoc(table);
    f.on(BatchGetItemCommand, async (command, real) => {
      const input = (command as BatchGetItemCommand).input;
      const [tableName, request] = Object.entries(input.RequestItems!)[0]!;
      const [first, ...rest] = request.Keys!;
      const out = (await real(new BatchGetItemCommand({ RequestItems: { [tableName]: { ...request, Keys: [first!] } } }))) as BatchGetItemCommandOutput;
      return { ...out, UnprocessedKeys: { [tableName]: { ...request, Keys: rest } } };
    });
    const { reconciler, sleeps } = setup(f.doc);
    expect((await reconciler.reconcile(toolTriggers([t.link], 'backfill', 'f2')))[0]).toMatchObject({ action: 'increment' });
    expect(sleeps).toHaveLength(1);
    expect((await counts())[t.key]).toBe(1);
  });

  it('a transaction that landed although the call failed (lost response) fails the record; its retry finds nothing to do', async () => {
    const t = fresh();
    await putLink(table.doc, table.tableName, t.link);
    const f = faultyDoc(table);
    f.on(TransactWriteItemsCommand, async (command, real) => {
      await real(command);
      throw named('TimeoutError');
    });
    const handler = createMatcherHandler({ doc: f.doc, tableName: table.tableName, logger: silentLogger(), sleep: async () => {} });
    const record = insertRecord(t.link);
    // A batch whose every record failed throws (Powertools), so the mapping retries or bisects it.
    await expect(handler(streamEvent(record))).rejects.toThrow('All records failed processing');
    expect((await handler(streamEvent(record))).batchItemFailures).toEqual([]);
    expect((await counts())[t.key]).toBe(1);
  });

  it('persistent throttling gives up after the bounded attempts with an error naming the key and the trigger', async () => {
    const t = fresh();
    await putLink(table.doc, table.tableName, t.link);
    const f = faultyDoc(table);
    f.on(TransactWriteItemsCommand, ...Array.from({ length: 3 }, () => async () => Promise.reject(canceled('None', 'TransactionConflict'))));
    const { reconciler } = setup(f.doc, 3);
    const record = insertRecord(t.link);
    const error = await reconciler.reconcile([{ key: t.link, origin: { kind: 'stream', eventID: record.eventID!, sequenceNumber: '1', approximateCreationDateTime: null } }]).catch((e) => e);
    expect(error).toBeInstanceOf(ChangeFailedError);
    expect(error.position).toBe(0);
    expect(error.cause).toBeInstanceOf(StreamRecordError);
    expect(error.cause.message).toMatch(/gave up after 3 transactions/);
    expect(error.cause.message).toContain(`eventID=${record.eventID} PK=FAA#LINKS SK=${t.link.SK}`);
    expect(await counts()).not.toHaveProperty(t.key);
    await setup(table.doc).reconciler.reconcile(toolTriggers([t.link], 'repair', 'f4'));
  });

  it('a non-retryable error fails at once, naming the key; later keys of the call are not attempted', async () => {
    const t = fresh();
    const later = fresh();
    await putLink(table.doc, table.tableName, t.link);
    await putLink(table.doc, table.tableName, later.link);
    const f = faultyDoc(table);
    f.on(TransactWriteItemsCommand, async () => Promise.reject(named('ValidationException')));
    const { reconciler, sleeps } = setup(f.doc);
    const error = await reconciler.reconcile(toolTriggers([t.link, later.link], 'backfill', 'f5')).catch((e) => e);
    expect(error.position).toBe(0);
    expect(error.cause.message).toContain(`ValidationException`);
    expect(error.cause.message).toContain(`SK=${t.link.SK}`);
    expect(sleeps).toEqual([]);
    expect(await counts()).not.toHaveProperty(later.key);
    await setup(table.doc).reconciler.reconcile(toolTriggers([t.link, later.link], 'repair', 'f5'));
  });
});

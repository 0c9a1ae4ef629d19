import {
  ProvisionedThroughputExceededException,
  TransactionCanceledException,
  TransactionConflictException,
} from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { createMatcherHandler, createMatcherSubsystem } from '../../lambda/faa-matcher-sync/handler';
import { contributionKey } from '../../lambda/faa-matcher-sync/keys';
import { decodeRecord } from '../../lambda/shared/decode';
import { ChangeFailedError, StreamRecordError } from '../../lambda/shared/errors';
import { createTestTable, type TestTable } from '../support/dynamodb';
import { insertRecord, modifyRecord, streamEvent } from '../support/events';
import { linkRow, readState, silentLogger } from './helpers';

const meta = { $metadata: {} };
const canceled = (...codes: string[]) =>
  new TransactionCanceledException({
    ...meta,
    message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${codes.join(', ')}]`,
    CancellationReasons: codes.map((Code) => ({ Code })),
  });
const named = (name: string, message = name) => Object.assign(new Error(message), { name, $metadata: {} });

type Send = (command: unknown) => Promise<unknown>;

/**
 * A document client on DynamoDB Local whose TransactWriteItems calls can be intercepted: each
 * interceptor runs instead of one call (in order) and may call through to the real table.
 */
function faultyClient(table: TestTable) {
  const doc = DynamoDBDocumentClient.from(table.client, { marshallOptions: { removeUndefinedValues: true } });
  const real: Send = doc.send.bind(doc) as Send;
  const plan: ((command: TransactWriteCommand, real: Send) => Promise<unknown>)[] = [];
  let always: ((command: TransactWriteCommand, real: Send) => Promise<unknown>) | undefined;
  const transactCalls: TransactWriteCommand[] = [];
  jest.spyOn(doc, 'send').mockImplementation((async (command: unknown) => {
    if (command instanceof TransactWriteCommand) {
      transactCalls.push(command);
      const step = plan.shift() ?? always;
      if (step) return step(command, real);
    }
    return real(command);
  }) as never);
  return {
    doc,
    transactCalls,
    /** The next TransactWriteItems calls behave like these, one each. */
    then: (...steps: typeof plan) => plan.push(...steps),
    /** Every TransactWriteItems call (after the planned ones) behaves like this; undefined restores. */
    always: (step: typeof always) => (always = step),
  };
}

describe('faa-matcher-sync fault injection (DynamoDB Local underneath)', () => {
  let table: TestTable;
  beforeAll(async () => {
    table = await createTestTable('matcher-faults');
  });
  afterAll(() => table.drop());

  let n = 0;
  const fresh = () => {
    n += 1;
    const td = `F${n}`;
    return {
      td,
      link: (serial: string, model = '172') => linkRow(`FC${n}`, serial, { type_designator: td, manufacturer: 'Cessna', model }),
      key: (model = '172') => `ICAO#MATCHER#${td}|MFR#Cessna#MODEL#${model}`,
    };
  };
  const countsOf = async (td: string) => {
    const { counts } = await readState(table.doc, table.tableName);
    return Object.fromEntries(Object.entries(counts).filter(([k]) => k.startsWith(`ICAO#MATCHER#${td}|`)));
  };
  const setup = (maxAttempts = 4) => {
    const faults = faultyClient(table);
    const sleep = jest.fn(async (_ms: number) => {});
    const logger = silentLogger();
    const deps = { doc: faults.doc, tableName: table.tableName, logger, sleep, retry: { maxAttempts } };
    return { faults, sleep, logger, handler: createMatcherHandler(deps), subsystem: createMatcherSubsystem(deps) };
  };
  const sequenceNumbers = (...records: DynamoDBRecord[]) => records.map((r) => ({ itemIdentifier: r.dynamodb!.SequenceNumber }));

  it.each([
    ['TransactionCanceled(TransactionConflict)', () => canceled('None', 'TransactionConflict')],
    ['TransactionCanceled(ThrottlingError)', () => canceled('ThrottlingError', 'None')],
    ['TransactionConflictException', () => new TransactionConflictException({ ...meta, message: 'conflict' })],
    ['ProvisionedThroughputExceededException', () => new ProvisionedThroughputExceededException({ ...meta, message: 'slow down' })],
    ['ThrottlingException', () => named('ThrottlingException')],
    ['RequestLimitExceeded', () => named('RequestLimitExceeded')],
  ])('retries %s with backoff, then applies the change exactly once', async (_, error) => {
    const t = fresh();
    const { faults, sleep, logger, handler } = setup();
    const warn = jest.spyOn(logger, 'warn');
    faults.then(
      async () => {
        throw error();
      },
      async () => {
        throw error();
      },
    );
    const rec = insertRecord(t.link('1'));
    expect((await handler(streamEvent(rec))).batchItemFailures).toEqual([]);
    expect(await countsOf(t.td)).toEqual({ [t.key()]: 1 });
    expect(faults.transactCalls).toHaveLength(3);
    expect(sleep).toHaveBeenCalledTimes(2);
    const [first, second] = sleep.mock.calls.map(([ms]) => ms);
    expect(second!).toBeGreaterThanOrEqual(first!); // exponential: the ceiling doubles
    expect(warn).toHaveBeenCalledWith('matcher transaction throttled or in conflict; backing off', expect.objectContaining({ eventID: rec.eventID, attempt: 1 }));
  });

  it('persistent throttling fails loudly naming the record; earlier records stay applied, the retry applies the rest once', async () => {
    const t = fresh();
    const { faults, sleep, handler, subsystem } = setup(4);
    const [r1, r2, r3] = [insertRecord(t.link('1')), insertRecord(t.link('2')), insertRecord(t.link('3'))];

    faults.then(async (command, real) => real(command)); // r1 goes through
    faults.always(async () => {
      throw new ProvisionedThroughputExceededException({ ...meta, message: 'throughput exceeded' });
    });
    const response = await handler(streamEvent(r1, r2, r3));
    expect(response.batchItemFailures).toEqual(sequenceNumbers(r2, r3));
    expect(await countsOf(t.td)).toEqual({ [t.key()]: 1 });
    expect(sleep).toHaveBeenCalledTimes(3); // 4 attempts, 3 backoffs, then give up

    // The error itself: the earliest failed change, naming eventID, PK and SK.
    const failure = await subsystem.apply([decodeRecord(r2), decodeRecord(r3)]).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ChangeFailedError);
    expect((failure as ChangeFailedError).position).toBe(0);
    const cause = (failure as ChangeFailedError).cause as StreamRecordError;
    expect(cause).toBeInstanceOf(StreamRecordError);
    expect(cause.message).toContain('gave up after 4 attempts');
    expect(cause.message).toContain('ProvisionedThroughputExceededException');
    expect(cause.message).toContain(`eventID=${r2.eventID} PK=FAA#LINKS SK=${r2.dynamodb!.Keys!.SK!.S}`);
    expect(cause.cause).toBeInstanceOf(ProvisionedThroughputExceededException);

    // Lambda retries from r2 (and, say, bisect replays the whole batch): exact counts.
    faults.always(undefined);
    expect((await handler(streamEvent(r2, r3))).batchItemFailures).toEqual([]);
    expect((await handler(streamEvent(r1, r2, r3))).batchItemFailures).toEqual([]);
    expect(await countsOf(t.td)).toEqual({ [t.key()]: 3 });
  });

  it('a transaction that landed although the call failed (timeout after side effects) is not applied twice', async () => {
    const t = fresh();
    const { faults, sleep, handler } = setup();
    const a = t.link('1');
    const [ins, move] = [insertRecord(a), modifyRecord(a, { ...a, model: '182' })];
    // Retryable failure after the write: our retry re-reads and finds the record applied.
    faults.then(async (command, real) => {
      await real(command);
      throw named('ThrottlingException', 'response lost');
    });
    // Fatal failure after the write: the record fails, Lambda redelivers it.
    faults.then(async (command, real) => {
      await real(command);
      throw named('TimeoutError', 'socket timed out');
    });
    expect((await handler(streamEvent(ins))).batchItemFailures).toEqual([]);
    expect(sleep).toHaveBeenCalledTimes(1);
    // The whole (one-record) batch failed: the runner throws, so Lambda retries (or bisects) it.
    await expect(handler(streamEvent(move))).rejects.toThrow(/All records failed/);
    expect(await countsOf(t.td)).toEqual({ [t.key('182')]: 1 }); // the move did land
    expect((await handler(streamEvent(move))).batchItemFailures).toEqual([]);
    expect(await countsOf(t.td)).toEqual({ [t.key('182')]: 1 });
  });

  it('a concurrent increment racing the delete-at-zero is re-read, not lost (tuple condition failed)', async () => {
    const t = fresh();
    const { faults, sleep, logger, handler } = setup();
    const debug = jest.spyOn(logger, 'debug');
    const other = createMatcherHandler({ doc: table.doc, tableName: table.tableName, logger: silentLogger() });
    const a = t.link('1');
    const b = t.link('2');
    expect((await handler(streamEvent(insertRecord(a)))).batchItemFailures).toEqual([]);

    // a moves away from the tuple (count 1 -> delete); just before its transaction, b joins the tuple.
    faults.then(async (command, real) => {
      expect(command.input.TransactItems?.some((i) => i.Delete)).toBe(true);
      expect((await other(streamEvent(insertRecord(b)))).batchItemFailures).toEqual([]);
      return real(command);
    });
    expect((await handler(streamEvent(modifyRecord(a, { ...a, model: '182' })))).batchItemFailures).toEqual([]);
    expect(await countsOf(t.td)).toEqual({ [t.key()]: 1, [t.key('182')]: 1 });
    expect(faults.transactCalls).toHaveLength(3); // the insert, the cancelled move, the re-decided move
    expect(faults.transactCalls[2]!.input.TransactItems?.some((i) => i.Delete)).toBe(false);
    expect(sleep).toHaveBeenCalledTimes(1);
    expect(debug).toHaveBeenCalledWith('state changed under the transaction; re-reading', expect.objectContaining({ ledger: false }));
  });

  it('a concurrent delivery of the same record (ledger condition failed) becomes a no-op', async () => {
    const t = fresh();
    const { faults, handler } = setup();
    const other = createMatcherHandler({ doc: table.doc, tableName: table.tableName, logger: silentLogger() });
    const rec = insertRecord(t.link('1'));
    faults.then(async (command, real) => {
      expect((await other(streamEvent(rec))).batchItemFailures).toEqual([]);
      return real(command); // fails: the ledger row is no longer absent
    });
    expect((await handler(streamEvent(rec))).batchItemFailures).toEqual([]);
    expect(faults.transactCalls).toHaveLength(1);
    expect(await countsOf(t.td)).toEqual({ [t.key()]: 1 });
  });

  it('a non-retryable error fails at once, naming the record', async () => {
    const t = fresh();
    const { faults, sleep, subsystem } = setup();
    faults.then(async () => {
      throw named('AccessDeniedException', 'not authorized to perform dynamodb:PutItem');
    });
    const rec = insertRecord(t.link('1'));
    const failure = (await subsystem.apply([decodeRecord(rec)]).catch((e: unknown) => e)) as ChangeFailedError;
    expect(failure).toBeInstanceOf(ChangeFailedError);
    expect(String(failure.cause)).toContain('AccessDeniedException');
    expect(String(failure.cause)).toContain(`eventID=${rec.eventID}`);
    expect(sleep).not.toHaveBeenCalled();
    expect(await countsOf(t.td)).toEqual({});
  });

  it('refuses to decrement a tuple whose row was removed behind its back, naming the record', async () => {
    const t = fresh();
    const { sleep, handler, subsystem } = setup();
    const a = t.link('1');
    expect((await handler(streamEvent(insertRecord(a)))).batchItemFailures).toEqual([]);
    await table.doc.send(new DeleteCommand({ TableName: table.tableName, Key: { PK: `ICAO#MATCHER#${t.td}`, SK: 'MFR#Cessna#MODEL#172' } }));

    const move = modifyRecord(a, { ...a, model: '182' });
    const failure = (await subsystem.apply([decodeRecord(move)]).catch((e: unknown) => e)) as ChangeFailedError;
    expect(failure).toBeInstanceOf(ChangeFailedError);
    expect(String(failure.cause)).toMatch(/has no row but this link is recorded as counting towards it/);
    expect(String(failure.cause)).toContain(`eventID=${move.eventID}`);
    expect(sleep).not.toHaveBeenCalled();
    expect(await countsOf(t.td)).toEqual({}); // nothing half-applied, no negative row
  });

  it('fails, naming the record, on a contribution row without a usable seq_order (never treats it as a replay)', async () => {
    const t = fresh();
    const { sleep, subsystem } = setup();
    const a = t.link('1');
    await table.doc.send(new PutCommand({ TableName: table.tableName, Item: { ...contributionKey(a), seq_order: '12' } }));
    const rec = insertRecord(a);
    const failure = (await subsystem.apply([decodeRecord(rec)]).catch((e: unknown) => e)) as ChangeFailedError;
    expect(failure).toBeInstanceOf(ChangeFailedError);
    expect(String(failure.cause)).toContain('has no valid seq_order');
    expect(String(failure.cause)).toContain(`eventID=${rec.eventID}`);
    expect(sleep).not.toHaveBeenCalled();
    expect(await countsOf(t.td)).toEqual({});
  });

  it('rejects a record whose SequenceNumber is not a number, naming it', async () => {
    const t = fresh();
    const { subsystem } = setup();
    const rec = insertRecord(t.link('1'), { sequenceNumber: 'shardId-0001-abc' });
    const failure = (await subsystem.apply([decodeRecord(rec)]).catch((e: unknown) => e)) as ChangeFailedError;
    expect(String(failure.cause)).toContain('is not a decimal number');
    expect(String(failure.cause)).toContain(`eventID=${rec.eventID}`);
    expect(await countsOf(t.td)).toEqual({});
  });
});

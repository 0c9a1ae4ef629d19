import { Logger } from '@aws-lambda-powertools/logger';
import { SendMessageBatchCommand, SQSClient, type SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import type { DynamoDBRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { createTypesenseHandler, createTypesenseSubsystem } from '../../lambda/typesense-sync/handler';
import { messageGroupId } from '../../lambda/typesense-sync/ids';
import { SQS_MAX_MESSAGE_BYTES, type QueueMessage } from '../../lambda/typesense-sync/messages';
import { insertRecord, modifyRecord, removeRecord, streamEvent } from '../support/events';
import { faaRow, foreignRow, icaoManufacturerRow, icaoTypeRow, imageRow, insertChange, variantRow, without } from './support/rows';

const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/typesense.fifo';
const sqsMock = mockClient(SQSClient);

/** Accepts every entry (HTTP 200, empty Failed[]). */
const acceptAll = (input: { Entries?: SendMessageBatchRequestEntry[] }) => ({
  Successful: (input.Entries ?? []).map((e) => ({ Id: e.Id!, MessageId: `m-${e.Id}`, MD5OfMessageBody: '' })),
  Failed: [],
});

function setup(options: { maxAttempts?: number; maxMessageBytes?: number } = {}) {
  // DEBUG so every line is built (the runner skips DEBUG work at higher levels); the spies print nothing.
  const logger = new Logger({ serviceName: 'typesense-sync-test', logLevel: 'DEBUG' });
  const quiet = () => undefined;
  const logs = {
    debug: jest.spyOn(logger, 'debug').mockImplementation(quiet),
    info: jest.spyOn(logger, 'info').mockImplementation(quiet),
    warn: jest.spyOn(logger, 'warn').mockImplementation(quiet),
    error: jest.spyOn(logger, 'error').mockImplementation(quiet),
  };
  const sleep = jest.fn(async (_ms: number) => {});
  const sqs = new SQSClient({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const handler = createTypesenseHandler({
    sqs,
    queueUrl: QUEUE_URL,
    logger,
    retry: { sleep, random: () => 0.5, maxAttempts: options.maxAttempts ?? 3 },
    ...(options.maxMessageBytes && { maxMessageBytes: options.maxMessageBytes }),
  });
  return { handler, logger, logs, sleep, sqs };
}

const calls = () => sqsMock.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input);
const entries = () => calls().flatMap((c) => c.Entries ?? []);
const bodies = () => entries().map((e) => JSON.parse(e.MessageBody!) as QueueMessage);
const failedIds = (response: { batchItemFailures: { itemIdentifier: string }[] }) => response.batchItemFailures.map((f) => f.itemIdentifier);
/** Runs the handler; a batch that failed whole throws (so bisect-on-error can split it): report all its records. */
async function invoke(handler: ReturnType<typeof setup>['handler'], records: DynamoDBRecord[]): Promise<string[]> {
  try {
    return failedIds(await handler(streamEvent(...records)));
  } catch (error) {
    if ((error as Error).name !== 'FullBatchFailureError') throw error;
    return records.map(seq);
  }
}
/** The messages of the errors the runner logged (the runner logs the cause as `error`). */
const loggedErrors = (error: jest.SpyInstance) =>
  error.mock.calls.map(([message, extra]) => `${String(message)} ${(extra as { error?: Error })?.error?.message ?? ''} ${JSON.stringify(extra)}`).join('\n');
const seq = (record: DynamoDBRecord) => record.dynamodb!.SequenceNumber!;

beforeEach(() => {
  sqsMock.reset();
  sqsMock.on(SendMessageBatchCommand).callsFake(acceptAll);
});

describe('diff -> queue action', () => {
  it('INSERT of an indexable row -> an upsert trigger, body exactly per DESIGN §3 (v2: no document)', async () => {
    const { handler } = setup();
    const record = insertRecord(faaRow('N12345'), { eventID: 'evt-1', sequenceNumber: '4100' });
    const response = await handler(streamEvent(record));
    expect(failedIds(response)).toEqual([]);
    expect(calls()).toHaveLength(1);
    const [entry] = entries();
    expect(calls()[0]!.QueueUrl).toBe(QUEUE_URL);
    expect(entry!.MessageGroupId).toBe('registry:faa.N12345');
    expect(JSON.parse(entry!.MessageBody!)).toEqual({
      v: 2,
      collection: 'registry',
      id: 'faa.N12345',
      key: { pk: 'AIRCRAFT#REGISTRY#FAA', sk: 'DETAIL#N12345' },
      hint: 'upsert',
      origin: { kind: 'stream', eventID: 'evt-1', sequenceNumber: '4100', approximateCreationDateTime: 1_780_000_000 },
    });
    expect(Object.keys(JSON.parse(entry!.MessageBody!))).toEqual(['v', 'collection', 'id', 'key', 'hint', 'origin']);
    expect(entry!.MessageBody).not.toContain('JANE DOE');
  });

  it('MODIFY of an indexed attribute -> an upsert trigger', async () => {
    const { handler } = setup();
    await handler(streamEvent(modifyRecord(icaoTypeRow('B738'), icaoTypeRow('B738', { model: '737-800 NG' }))));
    expect(bodies()).toEqual([expect.objectContaining({ hint: 'upsert', collection: 'icao_aircraft', id: 'B738', key: { pk: 'ICAO#AIRCRAFT', sk: 'TYPE#B738' } })]);
  });

  it('MODIFY of a non-indexed attribute only -> nothing sent, one debug line', async () => {
    const { handler, logs } = setup();
    const response = await handler(streamEvent(modifyRecord(faaRow('N1'), faaRow('N1', { last_seen: '2026-02-02', unrelated: 7 }))));
    expect(failedIds(response)).toEqual([]);
    expect(calls()).toHaveLength(0);
    const noAction = logs.debug.mock.calls.filter(([message]) => message === 'no trigger');
    expect(noAction).toHaveLength(1);
    expect(noAction[0]![1]).toEqual(expect.objectContaining({ reason: 'unchanged', pk: 'AIRCRAFT#REGISTRY#FAA', sk: 'DETAIL#N1' }));
  });

  it('REMOVE of an indexed row -> a delete trigger', async () => {
    const { handler } = setup();
    await handler(streamEvent(removeRecord(imageRow('N1', 'a'))));
    const [body] = bodies();
    expect(body).toEqual(expect.objectContaining({ v: 2, hint: 'delete', collection: 'aircraft_images', id: 'N1.a' }));
    expect(body).not.toHaveProperty('document');
  });

  it('MODIFY that makes the row non-indexable (required field removed) -> delete', async () => {
    const { handler } = setup();
    await handler(streamEvent(modifyRecord(icaoManufacturerRow('AIRBUS'), without(icaoManufacturerRow('AIRBUS'), 'name'))));
    expect(bodies()).toEqual([expect.objectContaining({ hint: 'delete', collection: 'icao_manufacturers', id: 'AIRBUS' })]);
  });

  it('MODIFY that makes a non-indexable row indexable -> upsert; REMOVE or MODIFY of a never-indexable row -> nothing', async () => {
    const { handler } = setup();
    const bare = without(foreignRow('G-ABCD'), 'manufacturer');
    await handler(
      streamEvent(
        insertRecord(bare),
        modifyRecord(bare, { ...bare, country: 'FR' }),
        modifyRecord({ ...bare, country: 'FR' }, foreignRow('G-ABCD')),
        removeRecord(without(foreignRow('G-XYZ'), 'model')),
      ),
    );
    expect(bodies().map((b) => [b.hint, b.id])).toEqual([['upsert', 'foreign.G-ABCD']]);
  });

  it('ICAO#VARIANTS rows are never sent: not owned by the handler, and a direct apply sends nothing', async () => {
    const { handler, logger, sqs } = setup();
    const response = await handler(streamEvent(insertRecord(variantRow()), modifyRecord(variantRow(), variantRow({ name: 'x' })), removeRecord(variantRow())));
    expect(failedIds(response)).toEqual([]);
    const subsystem = createTypesenseSubsystem({ sqs, queueUrl: QUEUE_URL, logger });
    expect(subsystem.owns({ PK: 'ICAO#VARIANTS', SK: 'VARIANT#1' })).toBe(false);
    await subsystem.apply([insertChange(variantRow())]);
    expect(calls()).toHaveLength(0);
  });

  it('a row whose keys fail the spec regex is skipped quietly (debug, no send, no failure)', async () => {
    const { handler, logs } = setup();
    const row = { ...faaRow('N1'), SK: 'DETAIL#n1-lower' };
    const response = await handler(streamEvent(insertRecord(row)));
    expect(failedIds(response)).toEqual([]);
    expect(calls()).toHaveLength(0);
    expect(logs.debug).toHaveBeenCalledWith('skipped: row not owned', expect.objectContaining({ sk: 'DETAIL#n1-lower' }));
    expect(logs.error).not.toHaveBeenCalled();
  });

  it('a malformed OLD image does not block the record: the trigger is sent and a warning names the attribute', async () => {
    const { handler, logs } = setup();
    await handler(streamEvent(modifyRecord(faaRow('N1', { year_manufactured: 'nineteen' }), faaRow('N1'))));
    expect(bodies().map((b) => b.hint)).toEqual(['upsert']);
    expect(logs.warn).toHaveBeenCalledWith(expect.stringContaining('malformed'), expect.objectContaining({ attribute: 'year_manufactured' }));
  });

  it('logs never carry documents or images at info level or above (owner names)', async () => {
    const { handler, logs } = setup();
    sqsMock.on(SendMessageBatchCommand).resolvesOnce({ Failed: [{ Id: 'e1', Code: 'InvalidParameterValue', SenderFault: true, Message: 'no' }], Successful: [{ Id: 'e0', MessageId: 'm', MD5OfMessageBody: '' }] });
    await handler(streamEvent(insertRecord(faaRow('N1')), insertRecord(faaRow('N2')), modifyRecord(faaRow('N1'), faaRow('N1', { owner_name: 'JOHN ROE' }))));
    const text = JSON.stringify([logs.info.mock.calls, logs.warn.mock.calls, logs.error.mock.calls]);
    expect(logs.info).toHaveBeenCalled();
    expect(text).not.toMatch(/JANE DOE|JOHN ROE|WICHITA/);
  });
});

describe('message group and deduplication ids', () => {
  it('group = collection:id; distinct per document, shared by all records of one document', async () => {
    const { handler } = setup();
    await handler(streamEvent(insertRecord(faaRow('N1')), insertRecord(foreignRow('N1')), modifyRecord(faaRow('N1'), faaRow('N1', { model: 'X' }))));
    expect(entries().map((e) => e.MessageGroupId)).toEqual(['registry:faa.N1', 'registry:foreign.N1', 'registry:faa.N1']);
  });

  it('a group id over 128 characters is hashed, stays within SQS limits and stays distinct', () => {
    const long = 'x'.repeat(200);
    const a = messageGroupId('aircraft_images', long);
    const b = messageGroupId('aircraft_images', `${long}y`);
    expect(a.length).toBeLessThanOrEqual(128);
    expect(a).toMatch(/^[A-Za-z0-9!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]+$/);
    expect(a).not.toBe(b);
    expect(messageGroupId('aircraft_images', long)).toBe(a);
    expect(messageGroupId('registry', 'faa.N1')).toBe('registry:faa.N1');
  });

  it('an image with a very long sort key is sent with a hashed group id', async () => {
    const { handler } = setup();
    await handler(streamEvent(insertRecord(imageRow('N1', `${'2026-01-01T00:00:00Z#'.repeat(10)}x`))));
    const [entry] = entries();
    expect(entry!.MessageGroupId!.length).toBeLessThanOrEqual(128);
    expect(entry!.MessageGroupId).toMatch(/^aircraft_images~[0-9a-f]{64}$/);
  });

  it('dedup id: the same record redelivered gets the same id; different records of one document differ', async () => {
    const { handler } = setup();
    const first = insertRecord(faaRow('N1'), { eventID: 'evt-a' });
    const second = modifyRecord(faaRow('N1'), faaRow('N1', { model: 'Y' }), { eventID: 'evt-b' });
    await handler(streamEvent(first, second));
    await handler(streamEvent(first, second)); // redelivery
    const ids = entries().map((e) => e.MessageDeduplicationId!);
    expect(ids).toHaveLength(4);
    expect(ids[0]).toBe(ids[2]);
    expect(ids[1]).toBe(ids[3]);
    expect(ids[0]).not.toBe(ids[1]);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('SendMessageBatch batching', () => {
  it('≤ 10 entries a call: 25 documents -> 3 calls (10, 10, 5) in stream order', async () => {
    const { handler } = setup();
    const records = Array.from({ length: 25 }, (_, i) => insertRecord(faaRow(`N${i}`)));
    const response = await handler(streamEvent(...records));
    expect(failedIds(response)).toEqual([]);
    expect(calls().map((c) => c.Entries!.length)).toEqual([10, 10, 5]);
    expect(bodies().map((b) => b.id)).toEqual(records.map((_, i) => `faa.N${i}`));
  });

  it('at most one entry per message group per call: records of one document go in successive calls', async () => {
    const { handler } = setup();
    const a1 = faaRow('A1');
    const a2 = faaRow('A1', { model: 'v2' });
    const a3 = faaRow('A1', { model: 'v3' });
    await handler(streamEvent(insertRecord(a1), insertRecord(faaRow('B1')), modifyRecord(a1, a2), insertRecord(faaRow('C1')), modifyRecord(a2, a3)));
    const perCall = calls().map((c) => c.Entries!.map((e) => e.MessageGroupId));
    expect(perCall).toEqual([['registry:faa.A1', 'registry:faa.B1'], ['registry:faa.A1', 'registry:faa.C1'], ['registry:faa.A1']]);
    for (const groups of perCall) expect(new Set(groups).size).toBe(groups.length);
    // One trigger per record, in stream order (the indexer collapses them, reading the row once).
    const seqs = bodies().filter((b) => b.id === 'faa.A1').map((b) => Number((b.origin as { sequenceNumber: string }).sequenceNumber));
    expect(seqs).toHaveLength(3);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
  });
});

describe('SQS failures', () => {
  it('Failed[] in an HTTP 200 response: the failed entry\'s record and every later one are reported; later calls are not made', async () => {
    const { handler } = setup();
    const records = Array.from({ length: 12 }, (_, i) => insertRecord(faaRow(`N${i}`)));
    sqsMock.on(SendMessageBatchCommand).callsFakeOnce((input) => {
      const result = acceptAll(input);
      return {
        Successful: result.Successful.filter((e) => e.Id !== 'e3'),
        Failed: [{ Id: 'e3', Code: 'InvalidParameterValue', Message: 'bad', SenderFault: true }],
        $metadata: { httpStatusCode: 200 },
      };
    });
    const response = await handler(streamEvent(...records));
    expect(failedIds(response)).toEqual(records.slice(3).map(seq));
    expect(calls()).toHaveLength(1); // non-retryable: no retry, and the second call is never issued
  });

  it('several failed entries in one call: the earliest one is reported, not a later one', async () => {
    const { handler } = setup({ maxAttempts: 1 });
    const records = Array.from({ length: 6 }, (_, i) => insertRecord(faaRow(`N${i}`)));
    sqsMock.on(SendMessageBatchCommand).callsFakeOnce((input) => ({
      Successful: acceptAll(input).Successful.filter((e) => e.Id !== 'e2' && e.Id !== 'e4'),
      Failed: [
        { Id: 'e4', Code: 'InvalidParameterValue', SenderFault: true },
        { Id: 'e2', Code: 'InternalError', SenderFault: false },
      ],
    }));
    const response = await handler(streamEvent(...records));
    expect(failedIds(response)).toEqual(records.slice(2).map(seq));
  });

  it('trap 2: two records of one document, the first entry fails -> the second is never sent ahead of it', async () => {
    const { handler } = setup({ maxAttempts: 1 });
    const v1 = faaRow('N1');
    const records = [insertRecord(v1), modifyRecord(v1, faaRow('N1', { model: 'v2' }))];
    sqsMock.on(SendMessageBatchCommand).resolvesOnce({ Failed: [{ Id: 'e0', Code: 'InternalError', SenderFault: false }], Successful: [] });
    expect(await invoke(handler, records)).toEqual(records.map(seq));
    expect(entries().map((e) => JSON.parse(e.MessageBody!).origin.eventID)).toEqual([records[0]!.eventID]);
  });

  it('throttled / server-fault entries are retried alone with backoff, then the batch succeeds', async () => {
    const { handler, sleep } = setup();
    const records = Array.from({ length: 4 }, (_, i) => insertRecord(faaRow(`N${i}`)));
    sqsMock
      .on(SendMessageBatchCommand)
      .callsFakeOnce((input) => ({
        Successful: acceptAll(input).Successful.filter((e) => e.Id !== 'e1' && e.Id !== 'e2'),
        Failed: [
          { Id: 'e1', Code: 'ThrottlingException', SenderFault: true },
          { Id: 'e2', Code: 'InternalError', SenderFault: false },
        ],
      }))
      .callsFake(acceptAll);
    const response = await handler(streamEvent(...records));
    expect(failedIds(response)).toEqual([]);
    expect(calls().map((c) => c.Entries!.map((e) => e.Id))).toEqual([['e0', 'e1', 'e2', 'e3'], ['e1', 'e2']]);
    expect(sleep).toHaveBeenCalledTimes(1);
    expect(sleep.mock.calls[0]![0]).toBeGreaterThan(0);
  });

  it('an entry missing from both Successful and Failed counts as failed', async () => {
    const { handler } = setup({ maxAttempts: 1 });
    const records = [insertRecord(faaRow('N1')), insertRecord(faaRow('N2'))];
    sqsMock.on(SendMessageBatchCommand).resolvesOnce({ Successful: [{ Id: 'e0', MessageId: 'm', MD5OfMessageBody: '' }] });
    const response = await handler(streamEvent(...records));
    expect(failedIds(response)).toEqual([seq(records[1]!)]);
  });

  it('retries stop after maxAttempts with exponential backoff, then the record fails naming it', async () => {
    const { handler, sleep, logs } = setup({ maxAttempts: 3 });
    const record = insertRecord(icaoTypeRow('A320'), { eventID: 'evt-throttled' });
    sqsMock.on(SendMessageBatchCommand).resolves({ Failed: [{ Id: 'e0', Code: 'ThrottlingException', SenderFault: true }] });
    expect(await invoke(handler, [record])).toEqual([seq(record)]);
    expect(calls()).toHaveLength(3);
    expect(sleep.mock.calls.map(([ms]) => ms)).toEqual([75, 150]); // base 100 * 2^(n-1), jitter 0.5
    const logged = loggedErrors(logs.error);
    expect(logged).toContain('evt-throttled');
    expect(logged).toContain('ThrottlingException');
  });

  it('a thrown non-retryable send fails the first record of that call at once; earlier calls stand', async () => {
    const { handler, sleep } = setup();
    const records = Array.from({ length: 13 }, (_, i) => insertRecord(faaRow(`N${i}`)));
    sqsMock
      .on(SendMessageBatchCommand)
      .callsFakeOnce(acceptAll)
      .rejectsOnce(Object.assign(new Error('Access to the resource is denied'), { name: 'AccessDenied', $fault: 'client', $metadata: { httpStatusCode: 403 } }));
    const response = await handler(streamEvent(...records));
    expect(failedIds(response)).toEqual(records.slice(10).map(seq));
    expect(calls()).toHaveLength(2);
    expect(sleep).not.toHaveBeenCalled();
  });

  it('a thrown retryable send (throttling, 5xx) is retried as a whole call, then succeeds', async () => {
    const { handler, sleep } = setup();
    const records = [insertRecord(faaRow('N1')), insertRecord(faaRow('N2'))];
    sqsMock
      .on(SendMessageBatchCommand)
      .rejectsOnce(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $fault: 'client', $retryable: { throttling: true }, $metadata: { httpStatusCode: 400 } }))
      .callsFake(acceptAll);
    const response = await handler(streamEvent(...records));
    expect(failedIds(response)).toEqual([]);
    expect(calls()).toHaveLength(2);
    expect(calls()[1]!.Entries!.map((e) => e.Id)).toEqual(['e0', 'e1']);
    expect(sleep).toHaveBeenCalledTimes(1);
  });

  it('a message over the queue maximum is an error naming the record; earlier records are still sent', async () => {
    const { handler, logs } = setup({ maxMessageBytes: 2_000 });
    const big = insertRecord(imageRow('N1', `big${'k'.repeat(3_000)}`), { eventID: 'evt-oversize' });
    const records = [insertRecord(faaRow('N1')), big, insertRecord(faaRow('N2'))];
    const response = await handler(streamEvent(...records));
    expect(failedIds(response)).toEqual(records.slice(1).map(seq));
    expect(bodies().map((b) => b.id)).toEqual(['faa.N1']);
    const logged = loggedErrors(logs.error);
    expect(logged).toContain('evt-oversize');
    expect(logged).toMatch(/over the queue maximum of 2000/);
  });

  it('the maximum is 1 MiB, and a 300 KB registry row flows (its trigger is small: the document is not in it)', async () => {
    expect(SQS_MAX_MESSAGE_BYTES).toBe(1_048_576);
    const { handler } = setup();
    const big = insertRecord(faaRow('N1', { owner_name: 'o'.repeat(300 * 1024) }));
    const response = await handler(streamEvent(big));
    expect(failedIds(response)).toEqual([]);
    expect(entries()[0]!.MessageBody!.length).toBeLessThan(1_000);
  });

  it('a malformed new image (number that would round) still sends its trigger: the indexer projects the row and fails loudly there', async () => {
    const { handler, logs } = setup();
    const bad = insertRecord(faaRow('N2', { year_manufactured: 12345678901234567890n }));
    const records = [insertRecord(faaRow('N1')), bad, insertRecord(faaRow('N3'))];
    const response = await handler(streamEvent(...records));
    expect(failedIds(response)).toEqual([]);
    expect(bodies().map((b) => b.id)).toEqual(['faa.N1', 'faa.N2', 'faa.N3']);
    expect(logs.warn).toHaveBeenCalledWith(expect.stringContaining('malformed'), expect.objectContaining({ image: 'NewImage', attribute: 'year_manufactured' }));
  });
});

describe('index.ts (Lambda entry)', () => {
  const saved = process.env.TYPESENSE_QUEUE_URL;
  afterEach(() => {
    if (saved === undefined) delete process.env.TYPESENSE_QUEUE_URL;
    else process.env.TYPESENSE_QUEUE_URL = saved;
  });

  it('fails at init naming TYPESENSE_QUEUE_URL when it is missing', () => {
    delete process.env.TYPESENSE_QUEUE_URL;
    jest.isolateModules(() => {
      expect(() => require('../../lambda/typesense-sync/index')).toThrow(/TYPESENSE_QUEUE_URL/);
    });
  });

  it('exports a handler when configured', () => {
    process.env.TYPESENSE_QUEUE_URL = QUEUE_URL;
    jest.isolateModules(() => {
      expect(typeof require('../../lambda/typesense-sync/index').handler).toBe('function');
    });
  });
});

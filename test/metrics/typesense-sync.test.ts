/**
 * typesense-sync's EMF lines, from the real handler factory with SQS mocked at the client
 * boundary (aws-sdk-client-mock, as the typesense-sync suites do): the runner's record counts,
 * TriggersSent (entries SQS accepted), SendMessageBatchCalls (requests, retries included) and
 * Failures by kind.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { SendMessageBatchCommand, SQSClient, type SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { createTypesenseHandler } from '../../lambda/typesense-sync/handler';
import { insertRecord, modifyRecord, streamEvent } from '../support/events';
import { faaRow, icaoTypeRow } from '../typesense-sync/support/rows';
import { capture, countersOf, enableMetrics, expectServiceDocs, failuresOf, metricsFor } from './support';

const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/typesense.fifo';
const sqsMock = mockClient(SQSClient);
const acceptAll = (input: { Entries?: SendMessageBatchRequestEntry[] }) => ({
  Successful: (input.Entries ?? []).map((e) => ({ Id: e.Id!, MessageId: `m-${e.Id}`, MD5OfMessageBody: '' })),
  Failed: [],
});
const throttling = () => Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });

let restore: () => void;
beforeAll(() => (restore = enableMetrics()));
afterAll(() => restore());
beforeEach(() => {
  sqsMock.reset();
  sqsMock.on(SendMessageBatchCommand).callsFake(acceptAll);
});

const logger = new Logger({ serviceName: 'typesense-sync', logLevel: 'SILENT' });
const sqs = new SQSClient({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
const handlerWith = (options: { metrics?: boolean; maxAttempts?: number; maxMessageBytes?: number } = {}) =>
  createTypesenseHandler({
    sqs,
    queueUrl: QUEUE_URL,
    logger,
    retry: { sleep: async () => {}, random: () => 0.5, maxAttempts: options.maxAttempts ?? 3 },
    ...(options.maxMessageBytes && { maxMessageBytes: options.maxMessageBytes }),
    ...(options.metrics !== false && { metrics: metricsFor('typesense-sync') }),
  });
const foreignLink = (n: number) => insertRecord({ PK: 'FAA#LINKS', SK: `MFR_MDL_CODE#TS${n}#SN#1`, type_designator: 'C172' });
const sentCalls = () => sqsMock.commandCalls(SendMessageBatchCommand).length;

describe('typesense-sync metrics', () => {
  it('3 owned (one changes nothing indexed) + 2 foreign records: 5/3/2 records, TriggersSent 2 in 1 SendMessageBatch call', async () => {
    const records = [
      insertRecord(faaRow('N1')),
      foreignLink(1),
      modifyRecord(faaRow('N2'), faaRow('N2', { last_seen: '2026-03-03' })),
      foreignLink(2),
      insertRecord(icaoTypeRow('B738')),
    ];
    const { result, docs } = await capture(() => handlerWith()(streamEvent(...records)));
    expect(result).toEqual({ batchItemFailures: [] });
    expect(sentCalls()).toBe(1);
    expectServiceDocs(docs, 'typesense-sync');
    expect(countersOf(docs).values).toEqual({ RecordsReceived: 5, RecordsOwned: 3, RecordsSkipped: 2, TriggersSent: 2, SendMessageBatchCalls: 1 });
    expect(failuresOf(docs)).toEqual({});
  });

  it('two triggers of one document go in two calls; a retried entry makes a third call and is counted once', async () => {
    sqsMock
      .on(SendMessageBatchCommand)
      .callsFakeOnce((input) => ({ Successful: [], Failed: [{ Id: input.Entries![0]!.Id!, Code: 'InternalError', SenderFault: false, Message: 'try again' }] }))
      .callsFake(acceptAll);
    const records = [insertRecord(faaRow('N3')), modifyRecord(faaRow('N3'), faaRow('N3', { owner_name: 'JOHN DOE' }))];
    const { result, docs } = await capture(() => handlerWith()(streamEvent(...records)));
    expect(result).toEqual({ batchItemFailures: [] });
    expect(sentCalls()).toBe(3);
    expect(countersOf(docs).values).toMatchObject({ RecordsOwned: 2, TriggersSent: 2, SendMessageBatchCalls: 3 });
  });

  it('SQS refuses an entry as the sender\'s fault: Failures kind=rejected; the entries it accepted are still counted', async () => {
    sqsMock.on(SendMessageBatchCommand).callsFake((input) => ({
      Successful: [{ Id: input.Entries![0]!.Id!, MessageId: 'm', MD5OfMessageBody: '' }],
      Failed: input.Entries!.slice(1).map((e: SendMessageBatchRequestEntry) => ({ Id: e.Id!, Code: 'InvalidParameterValue', SenderFault: true, Message: 'no' })),
    }));
    const { result, docs } = await capture(() => handlerWith()(streamEvent(insertRecord(faaRow('N4')), insertRecord(faaRow('N5')))));
    expect((result as { batchItemFailures: unknown[] }).batchItemFailures).toHaveLength(1);
    expect(countersOf(docs).values).toMatchObject({ TriggersSent: 1, SendMessageBatchCalls: 1 });
    expect(failuresOf(docs)).toEqual({ rejected: 1 });
  });

  it('throttled on every attempt: SendMessageBatchCalls counts each attempt, Failures kind=throttled; a non-retryable error is fatal', async () => {
    sqsMock.on(SendMessageBatchCommand).rejects(throttling());
    const throttled = await capture(() => handlerWith({ maxAttempts: 2 })(streamEvent(insertRecord(faaRow('N6')))));
    expect((throttled.error as Error).name).toBe('FullBatchFailureError');
    expect(countersOf(throttled.docs).values).toMatchObject({ TriggersSent: 0, SendMessageBatchCalls: 2 });
    expect(failuresOf(throttled.docs)).toEqual({ throttled: 1 });

    sqsMock.reset();
    sqsMock.on(SendMessageBatchCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }));
    const denied = await capture(() => handlerWith({ maxAttempts: 2 })(streamEvent(insertRecord(faaRow('N7')))));
    expect(countersOf(denied.docs).values).toMatchObject({ SendMessageBatchCalls: 1 });
    expect(failuresOf(denied.docs)).toEqual({ fatal: 1 });
  });

  it('an owned INSERT without its NewImage cannot be decoded: Failures kind=decode; the record before it is still sent', async () => {
    const bare = insertRecord(faaRow('N9'));
    delete bare.dynamodb!.NewImage;
    const { result, docs } = await capture(() => handlerWith()(streamEvent(insertRecord(faaRow('N8')), bare)));
    expect((result as { batchItemFailures: unknown[] }).batchItemFailures).toHaveLength(1);
    // The runner decodes images before handing records over: the bare one is never owned-and-handed.
    expect(countersOf(docs).values).toMatchObject({ RecordsReceived: 2, RecordsOwned: 1, TriggersSent: 1 });
    expect(failuresOf(docs)).toEqual({ decode: 1 });
  });

  it('a trigger over the queue\'s message size cannot be sent: Failures kind=rejected, nothing sent', async () => {
    const { error, docs } = await capture(() => handlerWith({ maxMessageBytes: 64 })(streamEvent(insertRecord(faaRow('N11')))));
    expect((error as Error).name).toBe('FullBatchFailureError');
    expect(sentCalls()).toBe(0);
    expect(countersOf(docs).values).toMatchObject({ RecordsOwned: 1, TriggersSent: 0, SendMessageBatchCalls: 0 });
    expect(failuresOf(docs)).toEqual({ rejected: 1 });
  });

  it('without metrics the same handler sends the same and prints nothing', async () => {
    const { result, docs, other } = await capture(() => handlerWith({ metrics: false })(streamEvent(insertRecord(faaRow('N10')), foreignLink(3))));
    expect(result).toEqual({ batchItemFailures: [] });
    expect(sentCalls()).toBe(1);
    expect(docs).toEqual([]);
    expect(other).toEqual([]);
  });
});

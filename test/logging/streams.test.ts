/**
 * Nothing personal in any line the stream functions print, on their failure paths: rows and
 * stream images carry canary owner names, cities and captions; SQS (typesense-sync) and
 * DynamoDB (image-sync, faa-matcher-sync, on DynamoDB Local) fail with errors that carry
 * them too, as SDK errors can (a returned item, the response body, the request). Everything
 * printed, the thrown error as the Lambda runtime prints it included, is searched, and each
 * failure names its record (eventID, PK, SK) and a reason.
 */
import type { SendMessageBatchCommand, SendMessageBatchCommandOutput } from '@aws-sdk/client-sqs';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { createMatcherHandler } from '../../lambda/faa-matcher-sync/handler';
import { createImageHandler } from '../../lambda/image-sync/handler';
import { createTypesenseHandler } from '../../lambda/typesense-sync/handler';
import { linkRow, putLink } from '../faa-matcher-sync/helpers';
import { fixedClock, instrumentedClient, type SentCommand } from '../image-sync/helpers';
import { enableMetrics, metricsFor } from '../metrics/support';
import { createTestTable, type TestTable } from '../support/dynamodb';
import { insertRecord, modifyRecord, streamEvent } from '../support/events';
import { faaRow, imageRow } from '../typesense-sync/support/rows';
import { CANARY, canaryAttributes, captureOutput, debugLogger, expectNoCanary, joined, type Captured } from './support';

let table: TestTable;
let restoreMetrics: () => void;
beforeAll(async () => {
  restoreMetrics = enableMetrics();
  table = await createTestTable('canary-streams');
});
afterAll(async () => {
  restoreMetrics();
  await table.drop();
});

/** An SDK-shaped error carrying what real ones can: the response body and a returned item, both with canaries. */
function leakyError(name: string, fields: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(`${name} (injected)`), {
    name,
    $fault: 'client',
    $metadata: { httpStatusCode: 400, requestId: 'REQ1' },
    $response: { statusCode: 400, body: JSON.stringify({ Item: { owner_name: { S: CANARY.owner } } }) },
    Item: { city: { S: CANARY.city } },
    ...fields,
  });
}

/** The failed record's keys and a reason are named, in the ERROR line and (when the batch failed whole) in the thrown error. */
function expectNamed(captured: Captured<unknown>, record: DynamoDBRecord, reason: RegExp): void {
  const text = joined(captured);
  const { PK, SK } = record.dynamodb!.Keys!;
  expect(text).toContain(`"eventID":"${record.eventID}"`);
  expect(text).toContain(`"pk":"${PK!.S}"`);
  expect(text).toContain(`"sk":"${SK!.S}"`);
  expect(text).toMatch(reason);
  if (captured.error !== undefined) {
    expect((captured.error as Error).message).toContain(`eventID=${record.eventID} PK=${PK!.S} SK=${SK!.S}`);
    expect((captured.error as Error).message).toMatch(reason);
  }
}

describe('typesense-sync', () => {
  const owner = faaRow('N1', canaryAttributes);
  const changed = faaRow('N1', { ...canaryAttributes, city: `${CANARY.city} North` });

  function handlerWith(send: (command: SendMessageBatchCommand) => Promise<SendMessageBatchCommandOutput>) {
    return createTypesenseHandler({
      sqs: { send },
      queueUrl: 'https://sqs.us-east-1.amazonaws.com/000000000000/search.fifo',
      logger: debugLogger('typesense-sync'),
      retry: { sleep: async () => undefined, maxAttempts: 2 },
      metrics: metricsFor('typesense-sync'),
    });
  }

  it('SendMessageBatch throws an error carrying the request and the response: the batch fails whole, named', async () => {
    const records = [insertRecord(owner), modifyRecord(owner, changed)];
    const handler = handlerWith(async (command) => Promise.reject(leakyError('InvalidParameterValue', { input: command.input, images: [owner] })));
    const captured = await captureOutput(() => handler(streamEvent(...records)));
    expect((captured.error as Error).name).toBe('FullBatchFailureError');
    expectNamed(captured, records[0]!, /SendMessageBatch failed \(attempt 1 of 2\): InvalidParameterValue/);
    expectNoCanary(captured.lines);
  });

  it('throttling until the retries run out, and entries SQS refuses', async () => {
    const throttled = await captureOutput(() =>
      handlerWith(async () => Promise.reject(leakyError('ThrottlingException', { $retryable: { throttling: true } })))(streamEvent(insertRecord(owner))),
    );
    expect(joined(throttled)).toMatch(/retrying the call/);
    expectNoCanary(throttled.lines);

    const refused = await captureOutput(() =>
      handlerWith(async (command) => ({
        $metadata: {},
        Successful: [],
        Failed: (command.input.Entries ?? []).map((e) => ({ Id: e.Id!, Code: 'InvalidMessageContents', Message: 'Invalid characters found', SenderFault: true })),
      }))(streamEvent(insertRecord(owner))),
    );
    expect(joined(refused)).toMatch(/SQS rejected the message/);
    expectNoCanary(refused.lines);
  });

  it('images with malformed or undecodable attributes holding canaries', async () => {
    const malformed = insertRecord({ ...owner, owner_name: { nested: CANARY.owner } as never });
    const undecodable = insertRecord(faaRow('N2'));
    undecodable.dynamodb!.NewImage!.city = { Q: CANARY.city } as never;
    const sent: string[] = [];
    const handler = handlerWith(async (command) => {
      sent.push(...(command.input.Entries ?? []).map((e) => e.MessageBody!));
      return { $metadata: {}, Successful: (command.input.Entries ?? []).map((e) => ({ Id: e.Id!, MessageId: 'm', MD5OfMessageBody: '' })), Failed: [] };
    });
    const captured = await captureOutput(() => handler(streamEvent(malformed, undecodable)));
    expect(joined(captured)).toMatch(/malformed attribute/);
    expectNamed(captured, undecodable, /malformed NewImage/);
    expect(sent.join('\n')).not.toContain(CANARY.owner); // triggers carry keys only
    expectNoCanary(captured.lines);
  });
});

describe('image-sync (DynamoDB Local)', () => {
  const row = imageRow('CNRY1', '2026-01-02T03:04:05Z#img1', { caption: CANARY.caption, credit: CANARY.credit, ...canaryAttributes });

  it.each([
    ['the write fails (fatal, the failed item returned)', /Transact/, () => leakyError('TransactionCanceledException', { CancellationReasons: [{ Code: 'ValidationError', Item: { caption: { S: CANARY.caption } } }] }), /TransactionCanceledException/],
    ['the write keeps being throttled', /Transact/, () => leakyError('ProvisionedThroughputExceededException'), /still fails with ProvisionedThroughputExceededException/],
    ['the read fails', /Query|Get/, () => leakyError('AccessDeniedException'), /AccessDeniedException/],
  ])('%s', async (_title, command, error, reason) => {
    await table.doc.send(new PutCommand({ TableName: table.tableName, Item: row }));
    const io = instrumentedClient(table);
    try {
      io.beforeSend((sent: SentCommand) => {
        if (command.test(sent.command)) throw error();
      });
      const handler = createImageHandler({ doc: io.doc, tableName: table.tableName, logger: debugLogger('image-sync'), clock: fixedClock, sleep: async () => undefined, metrics: metricsFor('image-sync') });
      const record = insertRecord(row);
      const captured = await captureOutput(() => handler(streamEvent(record)));
      expect((captured.error as Error).name).toBe('FullBatchFailureError');
      expectNamed(captured, record, reason);
      expectNoCanary(captured.lines);
    } finally {
      io.destroy();
    }
  });
});

describe('faa-matcher-sync (DynamoDB Local)', () => {
  const link = { ...linkRow('CNRY', '1', { type_designator: 'C172', manufacturer: 'CESSNA', model: '172S' }), ...canaryAttributes };

  it.each([
    ['the transaction fails (fatal, the failed items returned)', /TransactWrite/, () => leakyError('TransactionCanceledException', { CancellationReasons: [{ Code: 'ValidationError', Item: { owner_name: { S: CANARY.owner } } }] }), /TransactionCanceled/],
    ['the transaction keeps being throttled', /TransactWrite/, () => leakyError('ProvisionedThroughputExceededException'), /gave up after 2 transactions/],
    ['the read fails', /BatchGet|Get|Query/, () => leakyError('AccessDeniedException'), /read failed: AccessDeniedException/],
  ])('%s', async (_title, command, error, reason) => {
    await putLink(table.doc, table.tableName, link);
    const io = instrumentedClient(table);
    try {
      io.beforeSend((sent: SentCommand) => {
        if (command.test(sent.command)) throw error();
      });
      const handler = createMatcherHandler({ doc: io.doc, tableName: table.tableName, logger: debugLogger('faa-matcher-sync'), sleep: async () => undefined, retry: { maxAttempts: 2 }, metrics: metricsFor('faa-matcher-sync') });
      const record = insertRecord(link);
      const captured = await captureOutput(() => handler(streamEvent(record)));
      expect((captured.error as Error).name).toBe('FullBatchFailureError');
      expectNamed(captured, record, reason);
      expectNoCanary(captured.lines);
    } finally {
      io.destroy();
    }
  });
});

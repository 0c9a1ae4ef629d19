/**
 * typesense-sync version 2 specifics: SQS-safe bodies, dedup ids by origin, the deadline,
 * the SQS client's endpoint configuration, and the tools' trigger sender.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { SendMessageBatchCommand, SQSClient, type SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ChangeFailedError } from '../../lambda/shared/errors';
import { toolTriggers, type TriggerOrigin } from '../../lambda/shared/trigger';
import { createTypesenseHandler } from '../../lambda/typesense-sync/handler';
import { deduplicationId } from '../../lambda/typesense-sync/ids';
import { outgoingMessage, sqsSafeJson } from '../../lambda/typesense-sync/messages';
import { createSearchTriggerSender } from '../../lambda/typesense-sync/sender';
import { createSqsClient } from '../../lambda/typesense-sync/sqs-client';
import { LocalFifoQueue } from '../../local/fifo-queue';
import { insertRecord, streamEvent } from '../support/events';
import { faaRow, imageRow } from './support/rows';

const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/typesense.fifo';
const logger = () => new Logger({ serviceName: 'v2-test', logLevel: 'SILENT' });
const acceptAll = (input: { Entries?: SendMessageBatchRequestEntry[] }) => ({
  Successful: (input.Entries ?? []).map((e) => ({ Id: e.Id!, MessageId: `m-${e.Id}`, MD5OfMessageBody: '' })),
  Failed: [],
});

describe('bodies hold only characters SQS accepts', () => {
  // XML 1.0 Char: #x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD #x10000-#x10FFFF
  const SQS_CHARS = /^[\u0009\u000A\u000D\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u;

  it.each([
    ['U+FFFE', 'IMG#a\uFFFEb'],
    ['U+FFFF', 'IMG#a\uFFFFb'],
    ['a lone high surrogate', 'IMG#a\uD800b'],
    ['a lone low surrogate', 'IMG#a\uDC00b'],
    ['a control character', 'IMG#a\u0001b'],
  ])('%s in a key is escaped as \\uXXXX and parses back to the same key', (_what, sk) => {
    const key = { PK: 'IMAGES#ORG#SYSTEM#ENTITY#REGISTRATION#ID#N1', SK: sk };
    const m = outgoingMessage({ collection: 'aircraft_images', id: 'x', key, hint: 'upsert', origin: { kind: 'repair', run: 'r' } }, 0);
    expect(m.body).toMatch(SQS_CHARS);
    expect(JSON.parse(m.body).key.sk).toBe(sk);
  });

  it('an emoji (astral plane) and ordinary text stay as they are', () => {
    expect(sqsSafeJson({ a: 'é✈️😀' })).toBe('{"a":"é✈️😀"}');
  });

  it('the local queue (which refuses what SQS refuses) accepts such a record end to end', async () => {
    const queue = new LocalFifoQueue({ queueUrl: QUEUE_URL });
    const handler = createTypesenseHandler({ sqs: queue, queueUrl: QUEUE_URL, logger: logger() });
    const response = await handler(streamEvent(insertRecord(imageRow('N1', 'bad\uFFFF\uD800'))));
    expect(response.batchItemFailures).toEqual([]);
    expect(queue.stats()).toMatchObject({ sent: 1, failedEntries: 0 });
  });
});

describe('MessageDeduplicationId by origin', () => {
  const stream: TriggerOrigin = { kind: 'stream', eventID: 'e1', sequenceNumber: '1', approximateCreationDateTime: null };
  it('a stream trigger and a tool run never share an id; the same run does; runs and kinds differ', () => {
    const id = (o: TriggerOrigin) => deduplicationId(o, 'registry', 'faa.N1');
    expect(id(stream)).toBe(id({ ...stream, sequenceNumber: '2' })); // eventID alone identifies a record
    const ids = [id(stream), id({ kind: 'backfill', run: 'e1' }), id({ kind: 'repair', run: 'e1' }), id({ kind: 'backfill', run: 'b2' })];
    expect(new Set(ids).size).toBe(4);
    expect(id({ kind: 'backfill', run: 'b2' })).toBe(id({ kind: 'backfill', run: 'b2' }));
  });
});

describe('the function deadline', () => {
  let sqsMock: ReturnType<typeof mockClient>;
  beforeAll(() => {
    sqsMock = mockClient(SQSClient);
  });
  afterAll(() => sqsMock.restore());
  beforeEach(() => {
    sqsMock.reset();
    sqsMock.on(SendMessageBatchCommand).callsFake(acceptAll);
  });
  const fakeContext = (remaining: () => number) => ({ getRemainingTimeInMillis: remaining }) as unknown as Context;
  const sqs = () => new SQSClient({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });

  it('stops sending before the deadline and reports the unsent records as a partial failure', async () => {
    const handler = createTypesenseHandler({ sqs: sqs(), queueUrl: QUEUE_URL, logger: logger(), deadlineMarginMs: 5_000 });
    const records = Array.from({ length: 25 }, (_, i) => insertRecord(faaRow(`N${i}`)));
    let remaining = 20_000;
    sqsMock.on(SendMessageBatchCommand).callsFake((input: { Entries?: SendMessageBatchRequestEntry[] }) => {
      remaining -= 8_000; // each call takes 8 s of the budget
      return acceptAll(input);
    });
    const response = await handler(streamEvent(...records), fakeContext(() => remaining));
    // Call 1 at 20 s left, call 2 at 12 s left; at 4 s left (< 5 s margin) it stops.
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(2);
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(records.slice(20).map((r) => r.dynamodb!.SequenceNumber));
  });

  it('does not sleep into the deadline: a retry whose backoff would cross the margin stops instead', async () => {
    const sleep = jest.fn(async () => undefined);
    const handler = createTypesenseHandler({ sqs: sqs(), queueUrl: QUEUE_URL, logger: logger(), deadlineMarginMs: 5_000, retry: { sleep, random: () => 0.5, baseDelayMs: 1_000 } });
    sqsMock.on(SendMessageBatchCommand).resolves({ Failed: [{ Id: 'e0', Code: 'ThrottlingException', SenderFault: true }] });
    // 5.5 s left, 5 s margin: the first call goes; its retry would sleep 0.75 s and cross the margin.
    const error = await handler(streamEvent(insertRecord(faaRow('N1')), insertRecord(faaRow('N2'))), fakeContext(() => 5_500)).catch((e: unknown) => e);
    expect((error as Error).name).toBe('FullBatchFailureError'); // every record failed: the runner throws so bisect can split
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(1);
    expect(sleep).not.toHaveBeenCalled();
  });

  it('without a context (tests, tools) there is no deadline', async () => {
    const handler = createTypesenseHandler({ sqs: sqs(), queueUrl: QUEUE_URL, logger: logger() });
    expect((await handler(streamEvent(insertRecord(faaRow('N1'))))).batchItemFailures).toEqual([]);
  });
});

describe('the SQS client (lambda/typesense-sync/sqs-client.ts)', () => {
  it('sends to AWS_ENDPOINT_URL_SQS, not to the queue URL\'s host, and sets request timeouts', async () => {
    const seen: { url?: string; headers: IncomingHttpHeaders }[] = [];
    const server = createServer((req, res) => {
      seen.push({ url: req.url, headers: req.headers });
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
      res.end(JSON.stringify({ Successful: [{ Id: 'e0', MessageId: 'm', MD5OfMessageBody: createHash('md5').update('{}').digest('hex') }], Failed: [] }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const saved = { ...process.env };
    Object.assign(process.env, { AWS_ENDPOINT_URL_SQS: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b' });
    try {
      const client = createSqsClient();
      const out = await client.send(new SendMessageBatchCommand({ QueueUrl: QUEUE_URL, Entries: [{ Id: 'e0', MessageBody: '{}', MessageGroupId: 'g', MessageDeduplicationId: 'd' }] }));
      expect(out.Successful).toHaveLength(1);
      expect(seen).toHaveLength(1);
      expect(seen[0]!.headers.host).toBe(new URL(process.env.AWS_ENDPOINT_URL_SQS!).host);
      // The queue URL's host is never taken as the endpoint (with this SDK version a configured
      // endpoint already wins; without one, the queue URL's host would replace the regional endpoint).
      expect(client.config.useQueueUrlAsEndpoint).toBe(false);
      const handler = (await client.config.requestHandler) as unknown as { configProvider?: Promise<{ requestTimeout?: number; connectionTimeout?: number }> };
      expect(await handler.configProvider).toMatchObject({ requestTimeout: 5_000, connectionTimeout: 2_000 });
      client.destroy();
    } finally {
      process.env = saved;
      await new Promise((r) => server.close(r));
    }
  });
});

describe('createSearchTriggerSender (backfill, repair, redrive)', () => {
  it('one trigger per distinct indexed key, with the tool\'s origin and hint upsert, in order, batched ≤ 10 with one entry per group', async () => {
    const queue = new LocalFifoQueue({ queueUrl: QUEUE_URL });
    const sender = createSearchTriggerSender({ sqs: queue, queueUrl: QUEUE_URL, logger: logger() });
    const keys = Array.from({ length: 12 }, (_, i) => ({ PK: 'AIRCRAFT#REGISTRY#FAA', SK: `DETAIL#N${i}` }));
    const triggers = toolTriggers([...keys, keys[0]!], 'backfill', 'backfill-2026-11-23');
    const results = await sender.reconcile(triggers);
    expect(results).toHaveLength(12);
    expect(results.every((r) => r.action === 'sent' && r.changed)).toBe(true);
    const bodies = queue.messages().map((m) => JSON.parse(m.body));
    expect(bodies.map((b) => b.id)).toEqual(keys.map((k) => `faa.${k.SK.slice(7)}`));
    expect(bodies[0]).toEqual({ v: 2, collection: 'registry', id: 'faa.N0', key: { pk: 'AIRCRAFT#REGISTRY#FAA', sk: 'DETAIL#N0' }, hint: 'upsert', origin: { kind: 'backfill', run: 'backfill-2026-11-23' } });
    expect(queue.stats().calls).toBe(2);
  });

  it('accepts() = an indexed spec matches; a key it does not accept fails at its position', async () => {
    const queue = new LocalFifoQueue({ queueUrl: QUEUE_URL });
    const sender = createSearchTriggerSender({ sqs: queue, queueUrl: QUEUE_URL, logger: logger() });
    expect(sender.accepts({ PK: 'ICAO#AIRCRAFT', SK: 'TYPE#B738' })).toBe(true);
    expect(sender.accepts({ PK: 'ICAO#VARIANTS', SK: 'X' })).toBe(false);
    const triggers = toolTriggers([{ PK: 'ICAO#AIRCRAFT', SK: 'TYPE#B738' }, { PK: 'ICAO#VARIANTS', SK: 'X' }], 'repair', 'r1');
    const error = await sender.reconcile(triggers).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChangeFailedError);
    expect((error as ChangeFailedError).position).toBe(1);
    expect((error as Error).message).toMatch(/not indexed.*PK=ICAO#VARIANTS/);
    expect(queue.messages()).toHaveLength(1); // the accepted key before it was sent
  });

  it('a rerun of the same run is deduplicated by SQS; a different run is not', async () => {
    const queue = new LocalFifoQueue({ queueUrl: QUEUE_URL });
    const sender = createSearchTriggerSender({ sqs: queue, queueUrl: QUEUE_URL, logger: logger() });
    const keys = [{ PK: 'ICAO#AIRCRAFT', SK: 'TYPE#B738' }];
    await sender.reconcile(toolTriggers(keys, 'redrive', 'run-1'));
    await sender.reconcile(toolTriggers(keys, 'redrive', 'run-1'));
    await sender.reconcile(toolTriggers(keys, 'redrive', 'run-2'));
    expect(queue.stats()).toMatchObject({ sent: 2, duplicates: 1 });
  });

  it('a failed entry fails at that trigger\'s position (partial failure, same rules as the stream)', async () => {
    let call = 0;
    const queue = new LocalFifoQueue({ queueUrl: QUEUE_URL, failEntry: (_e, ctx) => (ctx.call === 1 && ctx.index === 1 ? { Code: 'InvalidParameterValue', SenderFault: true } : undefined) });
    const sender = createSearchTriggerSender({ sqs: { send: (c: SendMessageBatchCommand) => ((call += 1), queue.send(c)) }, queueUrl: QUEUE_URL, logger: logger() });
    const keys = ['A', 'B', 'C'].map((r) => ({ PK: 'AIRCRAFT#REGISTRY#FAA', SK: `DETAIL#${r}` }));
    const error = await sender.reconcile(toolTriggers(keys, 'backfill', 'b')).catch((e: unknown) => e);
    expect((error as ChangeFailedError).position).toBe(1);
    expect((error as Error).message).toMatch(/faa\.B/);
    expect(call).toBe(1);
  });
});

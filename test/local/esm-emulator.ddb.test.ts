/**
 * The emulator end to end on DynamoDB Local: the table's real stream, the subsystems' real
 * filter patterns (the ones the stack synthesises), fake handlers that record their calls.
 */
import { DeleteCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_MAPPING_SETTINGS, type StreamMappingSettings } from '../../lib/mapping-settings';
import { FakeClock } from '../../local/clock';
import { EsmEmulator, subsystemMappings, type StreamHandler } from '../../local/esm-emulator';
import { createTestTable, type TestTable } from '../support/dynamodb';
import { memoryLog, seqs } from './support';

const REG_IMAGES_PK = 'IMAGES#ORG#SYSTEM#ENTITY#REGISTRATION#ID#N123AB';

interface Recorder {
  handler: StreamHandler;
  events: DynamoDBStreamEvent[];
  keys(): string[];
}

function recorder(script?: (event: DynamoDBStreamEvent, call: number) => unknown | Promise<unknown>): Recorder {
  const events: DynamoDBStreamEvent[] = [];
  return {
    events,
    handler: async (event) => {
      events.push(event);
      return script?.(event, events.length - 1);
    },
    keys: () => events.flatMap((e) => e.Records.map((r) => `${r.eventName} ${r.dynamodb!.Keys!.PK!.S}|${r.dynamodb!.Keys!.SK!.S}`)),
  };
}

describe('EsmEmulator on DynamoDB Local', () => {
  let table: TestTable;
  let emulator: EsmEmulator | undefined;
  const clock = () => new FakeClock(Date.now());
  const settings = (overrides: Partial<StreamMappingSettings> = {}): Partial<StreamMappingSettings> => ({ maxBatchingWindowSeconds: 0, ...overrides });

  beforeEach(async () => {
    table = await createTestTable('esm');
  });
  afterEach(async () => {
    await emulator?.stop();
    emulator = undefined;
    await table.drop();
  });

  const put = (Item: Record<string, unknown>) => table.doc.send(new PutCommand({ TableName: table.tableName, Item }));

  it('delivers each subsystem exactly the rows its synthesised filters select, in order, and counts the rest as filtered', async () => {
    const typesense = recorder();
    const images = recorder();
    const links = recorder();
    emulator = EsmEmulator.forEndpoint(table.endpoint, {
      tableName: table.tableName,
      mappings: subsystemMappings({ 'typesense-sync': typesense.handler, 'image-sync': images.handler, 'faa-matcher-sync': links.handler }, settings({ batchSize: 2 })),
      clock: clock(),
      log: memoryLog().log,
    });
    await emulator.start();

    await put({ PK: 'AIRCRAFT#REGISTRY#FAA', SK: 'DETAIL#N123AB', registration: 'N123AB', manufacturer: 'CESSNA', model: '172S' });
    await put({ PK: REG_IMAGES_PK, SK: 'IMG#0001', image_id: 'i1', url: 'https://x/1.jpg', org_id: 'SYSTEM', entity_type: 'REGISTRATION', entity_id: 'N123AB', blob: new Uint8Array([1, 2]) });
    await put({ PK: 'FAA#LINKS', SK: 'MFR_MDL_CODE#2072738#SN#17201', type_designator: 'C172' });
    await put({ PK: 'ICAO#VARIANTS', SK: 'C172#SKYHAWK' }); // no collection: nobody's
    await put({ PK: REG_IMAGES_PK, SK: 'DEFAULT', image_sk: 'IMG#0001' }); // a pointer: written by image-sync, nobody's
    await put({ PK: 'ICAO#MATCHER#C172', SK: 'MFR#CESSNA#MODEL#172S', count: 1 }); // a matcher tuple: nobody's
    await table.doc.send(new UpdateCommand({ TableName: table.tableName, Key: { PK: 'FAA#LINKS', SK: 'MFR_MDL_CODE#2072738#SN#17201' }, UpdateExpression: 'SET model = :m', ExpressionAttributeValues: { ':m': '172S' } }));
    await table.doc.send(new DeleteCommand({ TableName: table.tableName, Key: { PK: REG_IMAGES_PK, SK: 'IMG#0001' } }));
    await emulator.drain({ timeoutMs: 600_000 });

    expect(typesense.keys()).toEqual([
      'INSERT AIRCRAFT#REGISTRY#FAA|DETAIL#N123AB',
      `INSERT ${REG_IMAGES_PK}|IMG#0001`,
      `REMOVE ${REG_IMAGES_PK}|IMG#0001`,
    ]);
    expect(images.keys()).toEqual([`INSERT ${REG_IMAGES_PK}|IMG#0001`, `REMOVE ${REG_IMAGES_PK}|IMG#0001`]);
    expect(links.keys()).toEqual(['INSERT FAA#LINKS|MFR_MDL_CODE#2072738#SN#17201', 'MODIFY FAA#LINKS|MFR_MDL_CODE#2072738#SN#17201']);

    const counters = emulator.counters();
    expect(counters['typesense-sync']).toMatchObject({ read: 8, filtered: 5, delivered: 3, committed: 3 });
    expect(counters['image-sync']).toMatchObject({ read: 8, filtered: 6, delivered: 2, committed: 2 });
    expect(counters['faa-matcher-sync']).toMatchObject({ read: 8, filtered: 6, delivered: 2, committed: 2 });
    expect(typesense.events.every((e) => e.Records.length <= 2)).toBe(true);

    // Lambda's record shape: epoch seconds, the stream ARN, binaries as base64, both images on MODIFY.
    const [insert] = images.events[0]!.Records;
    expect(insert).toMatchObject({ eventName: 'INSERT', eventSource: 'aws:dynamodb', dynamodb: { StreamViewType: 'NEW_AND_OLD_IMAGES' } });
    expect(insert!.eventSourceARN).toMatch(new RegExp(`table/${table.tableName}/stream/`));
    expect(typeof insert!.dynamodb!.ApproximateCreationDateTime).toBe('number');
    expect(insert!.dynamodb!.NewImage!.blob).toEqual({ B: Buffer.from([1, 2]).toString('base64') });
    const modify = links.events.flatMap((e) => e.Records).find((r) => r.eventName === 'MODIFY')!;
    expect(modify.dynamodb!.OldImage!.model).toBeUndefined();
    expect(modify.dynamodb!.NewImage!.model).toEqual({ S: '172S' });
  });

  it('checkpoints at the lowest reported failure, bisects a thrown batch, and sends exhausted batches to the DLQ with their metadata', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'esm-ddb-'));
    const dlqFile = join(dir, 'dlq.jsonl');
    const poison = 'MFR_MDL_CODE#POISON#SN#1';
    const links = recorder((event, call) => {
      const sks = event.Records.map((r) => r.dynamodb!.Keys!.SK!.S);
      if (sks.includes(poison)) throw new Error('poison link');
      // The first call reports its third and second records (in that order): retry from the second.
      if (call === 0) return { batchItemFailures: [seqs(event.Records)[2], seqs(event.Records)[1]].map((itemIdentifier) => ({ itemIdentifier })) };
      return { batchItemFailures: [] };
    });
    try {
      emulator = EsmEmulator.forEndpoint(table.endpoint, {
        tableName: table.tableName,
        mappings: subsystemMappings({ 'faa-matcher-sync': links.handler }, settings({ batchSize: 4, retryAttempts: 1 })),
        settings: DEFAULT_MAPPING_SETTINGS,
        clock: clock(),
        dlqFile,
        log: memoryLog().log,
      });
      for (let i = 0; i < 4; i++) await put({ PK: 'FAA#LINKS', SK: `MFR_MDL_CODE#A#SN#${i}` });
      await put({ PK: 'FAA#LINKS', SK: 'MFR_MDL_CODE#B#SN#1' });
      await put({ PK: 'FAA#LINKS', SK: poison });
      await emulator.start(); // TRIM_HORIZON: rows written before start are delivered; one read, so batches are deterministic
      await emulator.drain({ timeoutMs: 600_000 });

      const calls = links.events.map((e) => seqs(e.Records));
      expect(calls[1]).toEqual(calls[0]!.slice(1)); // retried from the lowest reported failure
      const batches = links.events.slice(2).map((e) => e.Records.map((r) => r.dynamodb!.Keys!.SK!.S));
      // [ok, poison] throws -> halves [ok] and [poison]; poison: 1 + 1 retry, then the DLQ.
      expect(batches).toEqual([['MFR_MDL_CODE#B#SN#1', poison], ['MFR_MDL_CODE#B#SN#1'], [poison], [poison]]);

      const poisonRecord = links.events[4]!.Records[0]!;
      const [entry] = emulator.dlq('faa-matcher-sync');
      const shardId = emulator.status().shards[0]!.shardId;
      expect(entry!.body).toMatchObject({
        requestContext: { condition: 'RetryAttemptsExhausted', approximateInvokeCount: 3, functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:faa-matcher-sync' },
        responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
        version: '1.0',
        DDBStreamBatchInfo: {
          shardId,
          startSequenceNumber: poisonRecord.dynamodb!.SequenceNumber,
          endSequenceNumber: poisonRecord.dynamodb!.SequenceNumber,
          approximateArrivalOfFirstRecord: new Date(poisonRecord.dynamodb!.ApproximateCreationDateTime! * 1000).toISOString().replace('.000Z', 'Z'),
          batchSize: 1,
          streamArn: poisonRecord.eventSourceARN,
        },
      });
      expect(emulator.isInDlq('faa-matcher-sync', shardId, poisonRecord.dynamodb!.SequenceNumber!)).toBe(true);
      expect(JSON.parse(readFileSync(dlqFile, 'utf8').trim())).toEqual(JSON.parse(JSON.stringify(entry)));
      expect(emulator.counters()['faa-matcher-sync']).toMatchObject({ committed: 5, dlqBatches: 1, dlqRecords: 1, bisects: 1, retries: 2 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('sends records older than maxRecordAgeSeconds to the DLQ instead of the handler', async () => {
    const links = recorder();
    const future = new FakeClock(Date.now() + 3 * 3600_000);
    emulator = EsmEmulator.forEndpoint(table.endpoint, {
      tableName: table.tableName,
      mappings: subsystemMappings({ 'faa-matcher-sync': links.handler }, settings({ maxRecordAgeSeconds: 3600 })),
      clock: future,
      log: memoryLog().log,
    });
    await put({ PK: 'FAA#LINKS', SK: 'MFR_MDL_CODE#A#SN#1' });
    await put({ PK: 'FAA#LINKS', SK: 'MFR_MDL_CODE#A#SN#2' });
    await emulator.start();
    await emulator.drain({ timeoutMs: 600_000 });
    expect(links.events).toEqual([]);
    expect(emulator.dlq().map((e) => [e.body.requestContext.condition, e.body.DDBStreamBatchInfo.batchSize])).toEqual([['RecordAgeExceeded', 2]]);
  });

  it('drains the rows handlers write (filtered, never delivered back to anyone)', async () => {
    // A fake image-sync that writes the pointer row, as the real one does.
    const images = recorder(async (event) => {
      for (const r of event.Records) {
        if (r.eventName !== 'REMOVE') await put({ PK: r.dynamodb!.Keys!.PK!.S, SK: 'DEFAULT', image_sk: r.dynamodb!.Keys!.SK!.S });
      }
    });
    const typesense = recorder();
    emulator = EsmEmulator.forEndpoint(table.endpoint, {
      tableName: table.tableName,
      mappings: subsystemMappings({ 'image-sync': images.handler, 'typesense-sync': typesense.handler }, settings({ batchSize: 1 })),
      clock: clock(),
      log: memoryLog().log,
    });
    await emulator.start();
    for (let i = 0; i < 3; i++) await put({ PK: REG_IMAGES_PK, SK: `IMG#000${i}` });
    await emulator.drain({ timeoutMs: 600_000 });
    expect(images.keys()).toEqual([0, 1, 2].map((i) => `INSERT ${REG_IMAGES_PK}|IMG#000${i}`));
    // 3 images + the pointer's INSERT and two MODIFYs: all read by both mappings before drain resolved.
    expect(emulator.counters()['image-sync']).toMatchObject({ read: 6, filtered: 3, committed: 3 });
    expect(emulator.counters()['typesense-sync']).toMatchObject({ read: 6, filtered: 3, committed: 3 });
  });
});

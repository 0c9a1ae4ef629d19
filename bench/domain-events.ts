/**
 * Benchmark: domain-events on a bulk batch of 100 records, PutEvents calls per record.
 *
 * Drives the real handler (runner, detail, entries, planning, the publisher) and the real SDK
 * client against the local PutEvents stand-in over loopback HTTP, and compares it, in the same
 * run, with a baseline of one PutEvents call per record (the same handler limited to one entry
 * per call). Two batches: 100 distinct items (a bulk load), and 20 items changed 5 times each in
 * a row (the per-item order rule costs one call per change of an item). Times are reported,
 * never asserted. Run alone: `npx tsx bench/domain-events.ts`.
 */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { performance } from 'node:perf_hooks';
import { PUT_EVENTS_MAX_BYTES } from '../lambda/domain-events/entries';
import { createDomainEventsHandler } from '../lambda/domain-events/handler';
import { ROW_KIND_NAMES } from '../lambda/shared/row-kinds';
import { LOCAL_BUS_NAME, startLocalEventBridge, type LocalEventBridge } from '../local/eventbridge/server';
import { insertRecord, modifyRecord, streamEvent } from '../test/support/events';

const RECORDS = 100;
const ITERATIONS = 30;
const WARMUP = 5;

type Figures = Record<string, number | string>;

const registration = (i: number, status = 'V') => ({
  PK: 'AIRCRAFT#REGISTRY#FAA',
  SK: `DETAIL#N${10_000 + i}`,
  registration: `N${10_000 + i}`,
  manufacturer: 'CESSNA',
  model: '172S',
  serial_number: `172S${i}`,
  type_designator: 'C172',
  year_manufactured: 1990 + (i % 30),
  owner_name: `OWNER ${i}`,
  city: 'WICHITA',
  state: 'KS',
  country: 'US',
  status,
});

/** 100 inserts of distinct registrations: what a bulk load delivers. */
function bulkBatch(): DynamoDBStreamEvent {
  return streamEvent(...Array.from({ length: RECORDS }, (_, i) => insertRecord(registration(i))));
}

/** 20 registrations, each updated 5 times in a row (status flips): 100 records. */
function repeatedBatch(): DynamoDBStreamEvent {
  const records: DynamoDBRecord[] = [];
  const statuses = ['V', 'R', 'D', 'V', 'R', 'D'];
  for (let item = 0; item < RECORDS / 5; item += 1) {
    for (let k = 0; k < 5; k += 1) records.push(modifyRecord(registration(item, statuses[k]), registration(item, statuses[k + 1])));
  }
  return streamEvent(...records);
}

function handlerFor(client: EventBridgeClient, maxEntriesPerCall?: number) {
  return createDomainEventsHandler({
    eventBusName: LOCAL_BUS_NAME,
    source: 'stream-fanout',
    tableName: 'bench',
    rowKinds: [...ROW_KIND_NAMES],
    includeSensitive: false,
    maxRequestBytes: PUT_EVENTS_MAX_BYTES,
    events: client,
    logger: new Logger({ serviceName: 'domain-events', logLevel: 'SILENT' }),
    ...(maxEntriesPerCall !== undefined && { maxEntriesPerCall }),
  });
}

/** Calls per batch and median milliseconds per batch (a fresh copy of the batch each run, as Lambda delivers). */
async function measure(bridge: LocalEventBridge, handler: ReturnType<typeof handlerFor>, batch: () => DynamoDBStreamEvent) {
  const times: number[] = [];
  let calls = 0;
  let events = 0;
  for (let i = 0; i < WARMUP + ITERATIONS; i += 1) {
    bridge.clear();
    const event = batch();
    const t = performance.now();
    const response = await handler(event);
    const ms = performance.now() - t;
    if (response.batchItemFailures.length > 0) throw new Error('bench: a record failed');
    if (i >= WARMUP) times.push(ms);
    calls = bridge.requests().length;
    events = bridge.events().length;
  }
  times.sort((a, b) => a - b);
  return { calls, events, medianMs: times[Math.floor(times.length / 2)]! };
}

export async function benchDomainEvents(): Promise<Figures> {
  const bridge = await startLocalEventBridge();
  const client = new EventBridgeClient({ endpoint: bridge.url, region: bridge.region, credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
  try {
    const batched = handlerFor(client);
    const perRecord = handlerFor(client, 1);
    const bulk = await measure(bridge, batched, bulkBatch);
    const bulkBaseline = await measure(bridge, perRecord, bulkBatch);
    const repeated = await measure(bridge, batched, repeatedBatch);
    const repeatedBaseline = await measure(bridge, perRecord, repeatedBatch);
    if (bulk.events !== RECORDS || repeated.events !== RECORDS) throw new Error('bench: not one event per record');
    return {
      records: RECORDS,
      bulkCallsPerRecord: +(bulk.calls / RECORDS).toFixed(2),
      bulkCallsPerRecordOneCallPerRecord: +(bulkBaseline.calls / RECORDS).toFixed(2),
      bulkMsPerBatch: +bulk.medianMs.toFixed(1),
      bulkMsPerBatchOneCallPerRecord: +bulkBaseline.medianMs.toFixed(1),
      repeated5xCallsPerRecord: +(repeated.calls / RECORDS).toFixed(2),
      repeated5xCallsPerRecordOneCallPerRecord: +(repeatedBaseline.calls / RECORDS).toFixed(2),
      repeated5xMsPerBatch: +repeated.medianMs.toFixed(1),
      repeated5xMsPerBatchOneCallPerRecord: +repeatedBaseline.medianMs.toFixed(1),
      iterations: ITERATIONS,
    };
  } finally {
    client.destroy();
    await bridge.stop();
  }
}

if (require.main === module) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  benchDomainEvents().then(
    (figures) => process.stdout.write(`${JSON.stringify(figures, null, 2)}\nnode ${process.version}\n`),
    (error: unknown) => {
      process.stderr.write(`bench failed: ${String(error)}\n`);
      process.exit(1);
    },
  );
}

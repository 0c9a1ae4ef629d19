/**
 * audit-trail: history rows, DynamoDB requests, write capacity and data-key requests per record
 * for a bulk batch of 100 registry inserts (every one with personal fields), on a bare history
 * table on DynamoDB Local; then the same batch delivered again (a retry or redrive), and a
 * batch of 100 one-field updates.
 *
 * - ours, one invocation: the real handler (one conditional PutItem per row, 16 in flight; one
 *   data key for the container);
 * - ours, one invocation per record: the same handler called 100 times;
 * - baseline, one call per record: a naive trail that, per record, asks KMS for a data key
 *   and sends one unconditional PutItem keyed by a fresh id, in sequence (what idempotency by
 *   the record avoids: a redelivery adds a second row).
 * The key file stands in for KMS, so data-key figures count requests, not KMS's latency.
 * Median of ITERATIONS runs for the times.
 *
 *   npx tsx bench/audit-trail.ts      (alone: starts its own DynamoDB Local)
 */
import { CreateTableCommand, DynamoDBClient, ScanCommand, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBRecord } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAuditHandler } from '../lambda/audit-trail/handler';
import { buildHistoryRow } from '../lambda/audit-trail/history-row';
import { createHistoryTableInput } from '../lambda/audit-trail/history-table';
import { ensureKeyFile, keyFileDataKeys } from '../lambda/audit-trail/key-file';
import { encryptProtection } from '../lambda/audit-trail/sensitive';
import { decodeRecord } from '../lambda/shared/decode';
import { ROW_KINDS } from '../lambda/shared/row-kinds';
import { localClientConfig, startDynamoDbLocal } from '../local/dynamodb-local';
import { insertRecord, modifyRecord, streamEvent } from '../test/support/events';

type Figures = Record<string, number | string>;
const RECORDS = 100;
const ITERATIONS = 5;
const ROUND_TRIP_MS = 5;

/** A document client that counts requests and the write capacity DynamoDB Local reports. */
function meteredDoc(endpoint: string, roundTripMs = 0) {
  const client = new DynamoDBClient(localClientConfig(endpoint));
  const m = { requests: 0, wcu: 0 };
  client.middlewareStack.add(
    (next) => async (args) => {
      (args.input as Record<string, unknown>).ReturnConsumedCapacity = 'TOTAL';
      if (roundTripMs > 0) await new Promise((r) => setTimeout(r, roundTripMs));
      m.requests += 1;
      // A failed condition's error carries no ConsumedCapacity (DynamoDB still charges it): counted for successes only.
      const result = await next(args);
      m.wcu += (result.output as { ConsumedCapacity?: { CapacityUnits?: number } }).ConsumedCapacity?.CapacityUnits ?? 0;
      return result;
    },
    { step: 'initialize', name: 'meter' },
  );
  return { doc: DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }), m, reset: () => Object.assign(m, { requests: 0, wcu: 0 }), destroy: () => client.destroy() };
}

async function historyTable(client: DynamoDBClient): Promise<string> {
  const tableName = `bench-history-${randomUUID().slice(0, 6)}`;
  await client.send(new CreateTableCommand(createHistoryTableInput(tableName)));
  await waitUntilTableExists({ client, maxWaitTime: 30 }, { TableName: tableName });
  return tableName;
}

const batch = (run: string): DynamoDBRecord[] =>
  Array.from({ length: RECORDS }, (_, i) =>
    insertRecord({
      PK: 'AIRCRAFT#REGISTRY#FAA', SK: `DETAIL#N${run}${i}`, registration: `N${run}${i}`, manufacturer: 'CESSNA', model: '172S', serial_number: `172S${i}`,
      owner_name: `OWNER ${i}`, street: `${i} MAIN ST`, city: 'WICHITA', state: 'KS', zip_code: '67202', country: 'US', status: 'V', year_manufactured: 2004,
    }),
  );

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function benchAuditTrail(endpoint: string): Promise<Figures> {
  const setup = new DynamoDBClient(localClientConfig(endpoint));
  const tableName = await historyTable(setup);
  const meter = meteredDoc(endpoint);
  const keyFile = ensureKeyFile(join(mkdtempSync(join(tmpdir(), 'bench-audit-')), 'keys.json'));
  let dataKeys = 0;
  const source = keyFileDataKeys(keyFile);
  const counting = { generateDataKey: () => (dataKeys++, source.generateDataKey()) };
  const logger = new Logger({ serviceName: 'audit-trail', logLevel: 'SILENT' });
  const handler = () => createAuditHandler({ doc: meter.doc, historyTableName: tableName, logger, protection: encryptProtection(counting) });
  const measure = async (run: (records: DynamoDBRecord[]) => Promise<void>, records: DynamoDBRecord[]) => {
    meter.reset();
    dataKeys = 0;
    const t = performance.now();
    await run(records);
    return { ms: performance.now() - t, requests: meter.m.requests, wcu: meter.m.wcu, dataKeys };
  };
  const rowsOf = async () => {
    let count = 0;
    let start: Record<string, never> | undefined;
    do {
      const out = await setup.send(new ScanCommand({ TableName: tableName, Select: 'COUNT', ExclusiveStartKey: start }));
      count += out.Count ?? 0;
      start = out.LastEvaluatedKey as typeof start;
    } while (start);
    return count;
  };

  // The same with a simulated network round trip per request (DynamoDB Local answers in-process fast and serialises writes).
  const slow = meteredDoc(endpoint, ROUND_TRIP_MS);
  const ours = { ms: [] as number[], replayMs: [] as number[], perRecordMs: [] as number[], baselineMs: [] as number[], slowMs: [] as number[], slowBaselineMs: [] as number[] };
  let last: Record<string, { requests: number; wcu: number; dataKeys: number }> = {};
  let rowsAfter: Record<string, number> = {};
  for (let it = 0; it < ITERATIONS; it++) {
    // Ours, one invocation (a fresh container: its first data key included).
    const records = batch(`A${it}-`);
    const before = await rowsOf();
    const first = await measure(async (r) => void (await handler()(streamEvent(...r))), records);
    const afterFirst = await rowsOf();
    const replay = await measure(async (r) => void (await handler()(streamEvent(...r))), records);
    const afterReplay = await rowsOf();
    // A typical update: one field changed on each of the 100 items.
    const updates = records.map((r) => {
      const row = decodeRecord(r).newImage! as Record<string, unknown> & { PK: string; SK: string };
      return modifyRecord(row, { ...row, status: 'D' });
    });
    const modify = await measure(async (r) => void (await handler()(streamEvent(...r))), updates);
    ours.ms.push(first.ms);
    ours.replayMs.push(replay.ms);

    // Ours, one invocation per record (one container).
    const single = batch(`B${it}-`);
    const h = handler();
    const perRecord = await measure(async (r) => {
      for (const record of r) await h(streamEvent(record));
    }, single);
    ours.perRecordMs.push(perRecord.ms);

    // Baseline: a data key and one unconditional put per record, in sequence; a replay adds rows.
    const naive = batch(`C${it}-`);
    const naiveRun = async (r: DynamoDBRecord[]) => {
      for (const record of r) {
        const change = decodeRecord(record);
        const row = await buildHistoryRow(change, ROW_KINDS['faa-registration'], { source: 'dynamodb-streams', retentionDays: 90, protection: encryptProtection(counting, { maxAgeMs: 0, maxRows: 0 }) });
        await meter.doc.send(new PutCommand({ TableName: tableName, Item: { ...row, SK: randomUUID() } }));
      }
    };
    const beforeNaive = await rowsOf();
    const baseline = await measure(naiveRun, naive);
    await naiveRun(naive);
    const afterNaive = await rowsOf();
    ours.baselineMs.push(baseline.ms);

    const slowHandler = createAuditHandler({ doc: slow.doc, historyTableName: tableName, logger, protection: encryptProtection(counting) });
    let t = performance.now();
    await slowHandler(streamEvent(...batch(`D${it}-`)));
    ours.slowMs.push(performance.now() - t);
    t = performance.now();
    for (const record of batch(`E${it}-`)) {
      const row = await buildHistoryRow(decodeRecord(record), ROW_KINDS['faa-registration'], { source: 'dynamodb-streams', retentionDays: 90, protection: encryptProtection(counting, { maxAgeMs: 0, maxRows: 0 }) });
      await slow.doc.send(new PutCommand({ TableName: tableName, Item: { ...row, SK: randomUUID() } }));
    }
    ours.slowBaselineMs.push(performance.now() - t);

    last = { first, replay, modify, perRecord, baseline };
    rowsAfter = { first: afterFirst - before, replay: afterReplay - afterFirst, naiveTwice: afterNaive - beforeNaive };
  }
  meter.destroy();
  slow.destroy();
  setup.destroy();
  const per = (n: number) => +(n / RECORDS).toFixed(2);
  return {
    records: RECORDS,
    historyRowsPerRecord: per(rowsAfter.first!),
    historyRowsPerRecordAfterReplay: per(rowsAfter.first! + rowsAfter.replay!),
    baselineHistoryRowsPerRecordAfterReplay: per(rowsAfter.naiveTwice!),
    requestsPerRecord: per(last.first!.requests),
    requestsPerRecordReplay: per(last.replay!.requests),
    requestsPerRecordOneInvocationPerRecord: per(last.perRecord!.requests),
    baselineRequestsPerRecord: per(last.baseline!.requests),
    wcuPerRecord: per(last.first!.wcu),
    wcuPerRecordOneFieldModify: per(last.modify!.wcu),
    baselineWcuPerRecord: per(last.baseline!.wcu),
    dataKeysPerBatch: last.first!.dataKeys,
    dataKeysOneInvocationPerRecord: last.perRecord!.dataKeys,
    baselineDataKeysPerBatch: last.baseline!.dataKeys,
    msPerBatch: +median(ours.ms).toFixed(1),
    msPerBatchReplay: +median(ours.replayMs).toFixed(1),
    msOneInvocationPerRecord: +median(ours.perRecordMs).toFixed(1),
    baselineMsPerBatch: +median(ours.baselineMs).toFixed(1),
    msPerBatchWith5msRoundTrip: +median(ours.slowMs).toFixed(1),
    baselineMsPerBatchWith5msRoundTrip: +median(ours.slowBaselineMs).toFixed(1),
    iterations: ITERATIONS,
  };
}

if (require.main === module) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  (async () => {
    const ddb = await startDynamoDbLocal();
    try {
      const figures = await benchAuditTrail(ddb.endpoint);
      process.stdout.write(`${JSON.stringify(figures, null, 2)}\nnode ${process.version}\n`);
    } finally {
      await ddb.stop();
    }
  })().catch((error: unknown) => {
    process.stderr.write(`bench failed: ${String(error)}\n`);
    process.exit(1);
  });
}

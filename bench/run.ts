/**
 * `npm run bench`: every figure in BENCHMARKS.md, each against a baseline measured in the
 * same run (ratios travel between machines better than absolutes). Starts its own
 * DynamoDB Local. Prints a Markdown report; `--json` prints the raw figures.
 *
 *   npm run bench                  all benchmarks (a few minutes)
 *   npm run bench -- --quick       smaller sizes, for a smoke run
 */
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { randomUUID } from 'node:crypto';
import { createImageHandler } from '../lambda/image-sync/handler';
import { DEFAULT_MAPPING_SETTINGS } from '../lib/mapping-settings';
import { runChaos } from '../local/chaos';
import { generateDataset } from '../local/dataset';
import { localClientConfig, startDynamoDbLocal } from '../local/dynamodb-local';
import { LocalPipeline } from '../local/pipeline';
import { applyChange, loadRows } from '../local/table-io';
import { countingDoc, createTestTable } from '../test/support/dynamodb';
import { insertRecord, streamEvent } from '../test/support/events';
import { benchAuditMemory } from './audit-memory';
import { benchBundles } from './bundles';
import { benchAuditTrail } from './audit-trail';
import { benchDomainEvents } from './domain-events';
import { benchImageReconcile } from './image-sync';
import { benchIndexer } from './indexer';
import { benchMatcherReconcile } from './matcher';
import { benchSources } from './sources';
import { benchTypesenseSync } from './typesense-sync';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const quick = process.argv.includes('--quick');
const silent = (name: string) => new Logger({ serviceName: name, logLevel: 'SILENT' });
type Figures = Record<string, number | string>;


/** image-sync: a burst of 50 inserts for one entity, in one batch vs one invocation per record. */
async function benchImageCoalescing(endpoint: string): Promise<Figures> {
  // A bare table: no emulator running, so only the benchmarked handler touches it.
  const { tableName: table, drop } = await createTestTable('bench-img', endpoint);
  const { doc, total, reset, client } = countingDoc(endpoint);
  const handler = createImageHandler({ doc, tableName: table, logger: silent('image-sync') });
  const burst = (entity: string) =>
    Array.from({ length: 50 }, (_, i) => {
      const row = { PK: `IMAGES#ORG#SYSTEM#ENTITY#REGISTRATION#ID#${entity}`, SK: `IMG#2026-01-01T00:00:${String(i).padStart(2, '0')}Z#${i}`, org_id: 'SYSTEM', entity_type: 'REGISTRATION', entity_id: entity, image_id: `i${i}`, url: `u${i}` };
      return { row, record: insertRecord(row) };
    });
  const a = burst('N1');
  for (const { row } of a) await doc.send(new PutCommand({ TableName: table, Item: row }));
  reset();
  let t = performance.now();
  await handler(streamEvent(...a.map((x) => x.record)));
  const batchedMs = performance.now() - t;
  const batched = total();

  const b = burst('N2');
  for (const { row } of b) await doc.send(new PutCommand({ TableName: table, Item: row }));
  reset();
  t = performance.now();
  for (const { record } of b) await handler(streamEvent(record));
  const perRecordMs = performance.now() - t;
  const perRecord = total();
  client.destroy();
  await drop();
  return {
    records: 50,
    requestsBatched: batched,
    requestsOneInvocationPerRecord: perRecord,
    requestReduction: +(perRecord / batched).toFixed(1),
    msBatched: Math.round(batchedMs),
    msOneInvocationPerRecord: Math.round(perRecordMs),
  };
}

/** The whole pipeline on a generated dataset: load, drain, change set, drain. */
async function benchPipeline(endpoint: string): Promise<Figures> {
  const dataset = generateDataset({ seed: 42, registrations: quick ? 200 : 1000 });
  const pipeline = new LocalPipeline({ endpoint, tableName: `bench-pl-${randomUUID().slice(0, 6)}`, logLevel: 'SILENT', emulatorLog: () => undefined });
  await pipeline.start();
  try {
    const t0 = performance.now();
    await loadRows(pipeline.doc, pipeline.tableName, dataset.rows);
    const loaded = performance.now();
    await pipeline.drain(600_000);
    const drained = performance.now();
    for (const change of dataset.changes) await applyChange(pipeline.doc, pipeline.tableName, change);
    await pipeline.drain(600_000);
    const report = await pipeline.report();
    const delivered = Object.values(report.counters).reduce((n, c) => n + c.delivered, 0);
    return {
      rows: dataset.rows.length,
      loadSeconds: +((loaded - t0) / 1000).toFixed(1),
      tableWritesPerSecond: Math.round(dataset.rows.length / ((loaded - t0) / 1000)),
      drainAfterLoadSeconds: +((drained - loaded) / 1000).toFixed(1),
      endToEndRowsPerSecond: Math.round(dataset.rows.length / ((drained - t0) / 1000)),
      deliveries: delivered,
      drift: report.audit.drift.length,
      dlq: report.dlq.length,
    };
  } finally {
    await pipeline.stop({ dropTable: true });
  }
}

/** Chaos, larger than the test's: the same workload with faults off (baseline) and on. */
async function benchChaos(endpoint: string): Promise<Figures> {
  const operations = quick ? 1000 : 5000;
  const clean = await runChaos(7, { endpoint, operations, faults: false });
  const faulty = await runChaos(7, { endpoint, operations, faults: true });
  const sum = (r: typeof clean, key: 'invocations' | 'retries' | 'bisects' | 'delivered') => Object.values(r.report.counters).reduce((n, c) => n + c[key], 0);
  return {
    operations,
    faultsInjected: Object.values(faulty.faults).reduce((a, b) => a + b, 0),
    drainSecondsNoFaults: +clean.seconds.drain.toFixed(1),
    drainSecondsWithFaults: +faulty.seconds.drain.toFixed(1),
    invocationsNoFaults: sum(clean, 'invocations'),
    invocationsWithFaults: sum(faulty, 'invocations'),
    retries: sum(faulty, 'retries'),
    bisects: sum(faulty, 'bisects'),
    deliveryAmplification: +(sum(faulty, 'delivered') / sum(clean, 'delivered')).toFixed(2),
    drift: clean.report.audit.drift.length + faulty.report.audit.drift.length,
    dlq: clean.report.dlq.length + faulty.report.dlq.length,
  };
}

/**
 * Three mappings on one stream exceed the two-readers-per-shard guidance, so GetRecords may be
 * throttled. Locally we measure the consequence: the same load with half of all GetRecords
 * calls throttled (LimitExceededException) against none.
 */
async function benchThrottledReads(endpoint: string): Promise<Figures> {
  const dataset = generateDataset({ seed: 9, registrations: quick ? 100 : 400 });
  const run = async (throttleShare: number) => {
    let calls = 0;
    let throttled = 0;
    const real = new DynamoDBStreamsClient(localClientConfig(endpoint));
    const streams = {
      send: ((command: { constructor: { name: string } }) => {
        if (command.constructor.name === 'GetRecordsCommand') {
          calls += 1;
          if (Math.random() < throttleShare) {
            throttled += 1;
            return Promise.reject(Object.assign(new Error('Too many requests for this shard'), { name: 'LimitExceededException' }));
          }
        }
        return real.send(command as never);
      }) as DynamoDBStreamsClient['send'],
    };
    const pipeline = new LocalPipeline({ endpoint, tableName: `bench-thr-${randomUUID().slice(0, 6)}`, logLevel: 'SILENT', emulatorLog: () => undefined, streams });
    await pipeline.start();
    try {
      const t0 = performance.now();
      await loadRows(pipeline.doc, pipeline.tableName, dataset.rows);
      await pipeline.drain(600_000);
      const report = await pipeline.report();
      return { seconds: (performance.now() - t0) / 1000, calls, throttled, drift: report.audit.drift.length + report.dlq.length };
    } finally {
      await pipeline.stop({ dropTable: true });
      real.destroy();
    }
  };
  const free = await run(0);
  const half = await run(0.5);
  const pollsPerSecondPerMapping = 1000 / 250;
  return {
    rows: dataset.rows.length,
    secondsUnthrottled: +free.seconds.toFixed(1),
    secondsHalfThrottled: +half.seconds.toFixed(1),
    slowdown: +(half.seconds / free.seconds).toFixed(2),
    getRecordsThrottled: half.throttled,
    driftOrDlq: free.drift + half.drift,
    lambdaGetRecordsPerShardPerSecond: `${3 * pollsPerSecondPerMapping} (3 mappings x ${pollsPerSecondPerMapping}/s) vs ${pollsPerSecondPerMapping} for one`,
  };
}

function markdown(results: Record<string, Figures>): string {
  const lines: string[] = [];
  for (const [name, figures] of Object.entries(results)) {
    lines.push(`### ${name}`, '', '| figure | value |', '|---|---|');
    for (const [k, v] of Object.entries(figures)) lines.push(`| ${k} | ${v} |`);
    lines.push('');
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const results: Record<string, Figures> = {};
  // Each step gets a fresh DynamoDB Local (~2 s): it slows down after heavy use, even with
  // its tables dropped, which would skew the steps that run late.
  const step = async (name: string, run: (endpoint: string) => Promise<Figures>) => {
    process.stderr.write(`bench: ${name}...\n`);
    const ddb = await startDynamoDbLocal();
    try {
      results[name] = await run(ddb.endpoint);
    } finally {
      await ddb.stop();
    }
  };
  results['typesense-sync: SQS calls on a bulk batch of 100 documents'] = await benchTypesenseSync();
  process.stderr.write('bench: domain-events...\n');
  results['domain-events: PutEvents calls per record on a batch of 100, vs one call per record'] = await benchDomainEvents();
  await step('audit-trail: history rows, requests and data keys per record for a bulk batch of 100, vs one call per record', benchAuditTrail);
  await step('image-sync: burst of 50 images for one entity', benchImageCoalescing);
  await step('image-sync: requests per image event, transaction with source check vs plain conditional write', benchImageReconcile);
  await step('faa-matcher-sync: requests per link change and per unchanged replay, vs a naive recount', (endpoint) =>
    benchMatcherReconcile(endpoint, quick ? 200 : 600),
  );
  await step('typesense-indexer: Typesense calls and DynamoDB reads per message, batch of 10 vs 1', benchIndexer);
  await step('pipeline: generated dataset through DynamoDB Local and the emulator', benchPipeline);
  await step('chaos: faults off vs on, same workload', benchChaos);
  await step('three mappings: GetRecords throttled half the time vs never', benchThrottledReads);
  await step('ops audit: peak RSS at two table sizes 10x apart, streaming vs loading everything', (endpoint) =>
    benchAuditMemory(endpoint, quick ? [2_000, 20_000] : [5_000, 50_000]),
  );
  await step('sources: read calls per shard per second (3 and 5 subsystems), freshness per subsystem, dynamodb-streams (baseline) vs kinesis', (endpoint) => benchSources(endpoint, quick));
  process.stderr.write('bench: bundles...\n');
  results['bundles: size and cold init on Node 22, naive vs chosen esbuild options'] = await benchBundles();
  const settings = DEFAULT_MAPPING_SETTINGS;
  process.stdout.write(process.argv.includes('--json') ? `${JSON.stringify(results, null, 2)}\n` : `${markdown(results)}\nmapping settings: batchSize ${settings.batchSize}, window ${settings.maxBatchingWindowSeconds}s; node ${process.version}${quick ? '; --quick sizes' : ''}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});

/**
 * `npm start`: the whole pipeline on DynamoDB Local. Loads the sample dataset, applies the
 * scripted change set, drains, prints a report and audits I1–I3; exits 1 on drift.
 *
 *   npm start                       sample dataset (~300 rows), then exit
 *   npm start -- --records 5000     a larger generated dataset, with a progress bar
 *   npm start -- --keep-running     leave DynamoDB Local and the emulator up; Ctrl-C to stop
 *   npm start -- --seed 7 --port 8000 --verbose
 *   npm start -- --typesense-url http://localhost:8108 --typesense-api-key KEY
 *                                   index into a real Typesense instead of the local stand-in
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { generateDataset, SAMPLE_DATASET_OPTIONS, type Dataset } from './dataset';
import { startDynamoDbLocal, type DynamoDbLocal } from './dynamodb-local';
import { LocalPipeline, type PipelineReport } from './pipeline';
import { applyChange, loadRows } from './table-io';

// The SDK's notice about its future Node.js floor is noise in this CLI's report (engines: node >= 20).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const TABLE = 'stream-fanout-local';
const OUT_DIR = resolve(__dirname, '..', '.cache', 'npm-start');

interface Args {
  keepRunning: boolean;
  records?: number;
  seed: number;
  port?: number;
  verbose: boolean;
  typesense?: { url: string; apiKey: string };
}

export function parseCli(argv: readonly string[]): Args {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      'keep-running': { type: 'boolean', default: false },
      records: { type: 'string' },
      seed: { type: 'string' },
      port: { type: 'string' },
      verbose: { type: 'boolean', default: false },
      'typesense-url': { type: 'string' },
      'typesense-api-key': { type: 'string' },
    },
    strict: true,
  });
  const positive = (name: string, text: string | undefined) => {
    if (text === undefined) return undefined;
    const n = Number(text);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} takes a positive whole number, got ${JSON.stringify(text)}`);
    return n;
  };
  const url = values['typesense-url'];
  const apiKey = values['typesense-api-key'];
  if ((url === undefined) !== (apiKey === undefined)) throw new Error('--typesense-url and --typesense-api-key go together');
  if (url !== undefined && !/^https?:\/\/[^/]+/.test(url)) throw new Error(`--typesense-url takes an http(s) URL, got ${JSON.stringify(url)}`);
  return {
    ...(url !== undefined && apiKey !== undefined && { typesense: { url: url.replace(/\/+$/, ''), apiKey } }),
    keepRunning: values['keep-running'] ?? false,
    records: positive('records', values.records),
    seed: positive('seed', values.seed) ?? SAMPLE_DATASET_OPTIONS.seed,
    port: positive('port', values.port),
    verbose: values.verbose ?? false,
  };
}

/** About `records` rows in all: FAA registrations are a fifth of a generated dataset. */
export function datasetFor(args: Pick<Args, 'records' | 'seed'>): Dataset {
  return generateDataset(args.records ? { seed: args.seed, registrations: Math.max(1, Math.round(args.records / 5)) } : { ...SAMPLE_DATASET_OPTIONS, seed: args.seed });
}

const out = (line = '') => process.stdout.write(`${line}\n`);

function progress(label: string, total: number): (done: number) => void {
  if (!process.stderr.isTTY || total < 500) return () => undefined;
  return (done) => {
    const width = 30;
    const filled = Math.round((done / total) * width);
    process.stderr.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}${done === total ? '\n' : ''}`);
  };
}

export function formatReport(report: PipelineReport, seconds: number): string[] {
  const lines: string[] = [];
  const pad = (s: string | number, n: number) => String(s).padStart(n);
  lines.push('', `Pipeline drained in ${seconds.toFixed(1)} s`, '');
  lines.push(`${'subsystem'.padEnd(18)}${pad('read', 7)}${pad('delivered', 11)}${pad('filtered', 10)}${pad('invocations', 13)}${pad('retries', 9)}${pad('dlq', 5)}`);
  for (const [name, c] of Object.entries(report.counters)) {
    lines.push(`${name.padEnd(18)}${pad(c.read, 7)}${pad(c.delivered, 11)}${pad(c.filtered, 10)}${pad(c.invocations, 13)}${pad(c.retries, 9)}${pad(c.dlqBatches, 5)}`);
  }
  lines.push('', `Search triggers queued: ${report.queue.sent} (${report.queue.duplicates} deduplicated)`);
  if (report.indexer) {
    const i = report.indexer;
    lines.push(`Indexer: ${i.invocations} invocations, ${i.messages} messages received, ${i.failed} failed (redelivered), ${i.deadLettered} dead-lettered`);
  }
  for (const [collection, a] of Object.entries(report.queue.byCollection)) {
    lines.push(`  ${collection.padEnd(20)} ${pad(a.upsert, 5)} upserts ${pad(a.delete, 5)} deletes   -> ${report.index[collection] ?? 0} documents in the index`);
  }
  const writes = (name: string) => Object.entries(report.dynamoRequests[name] ?? {}).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
  lines.push('', `Default-image pointers: ${report.pointers}   (image-sync requests: ${writes('image-sync')})`);
  lines.push(`Matcher tuples: ${report.tuples}   (faa-matcher-sync requests: ${writes('faa-matcher-sync')})`);
  lines.push(`DLQ entries: ${report.dlq.length}`);
  const { checked, drift } = report.audit;
  lines.push('', `Consistency audit: ${checked.documents} documents (I1), ${checked.entities} image entities (I2), ${checked.tuples} matcher tuples (I3)`);
  if (drift.length === 0 && report.dlq.length === 0 && (report.indexer?.deadLettered ?? 0) === 0) lines.push('  no drift: I1, I2, I3 hold and nothing was dead-lettered');
  for (const d of drift.slice(0, 20)) lines.push(`  ${d.invariant} ${d.where}: ${d.problem}`);
  if (drift.length > 20) lines.push(`  ... and ${drift.length - 20} more`);
  return lines;
}

async function keepRunning(pipeline: LocalPipeline, ddb: DynamoDbLocal): Promise<void> {
  out('');
  out(`DynamoDB Local is up at ${ddb.endpoint} (table ${TABLE}); the emulator is watching its stream.`);
  out('Write rows with any DynamoDB tool, e.g.:');
  out(`  AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local aws dynamodb put-item --endpoint-url ${ddb.endpoint} --region us-east-1 \\`);
  out(`    --table-name ${TABLE} --item '{"PK":{"S":"ICAO#AIRCRAFT"},"SK":{"S":"TYPE#A388"},"type_designator":{"S":"A388"},"manufacturer":{"S":"AIRBUS"},"model":{"S":"A380-800"}}'`);
  out("The indexer's progress is printed as it processes search triggers. Ctrl-C stops, audits and exits.");
  let stopping = false;
  const stopped = new Promise<void>((done) => {
    const stop = () => {
      if (!stopping) (stopping = true), done();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  const size = async () => [...(await pipeline.snapshotIndex()).values()].reduce((n, docs) => n + docs.size, 0);
  let seen = await size();
  while (!stopping) {
    await Promise.race([stopped, new Promise((r) => setTimeout(r, 500))]);
    const applied = await pipeline.consumeQueue();
    if (applied > 0) {
      const now = await size();
      out(`[indexer] processed ${applied} trigger(s); index now holds ${now} documents (${now - seen >= 0 ? '+' : ''}${now - seen})`);
      seen = now;
    }
  }
}

/** No drift, nothing dead-lettered on the stream or the search queue (I4). */
const clean = (r: PipelineReport) => r.audit.drift.length === 0 && r.dlq.length === 0 && (r.indexer?.deadLettered ?? 0) === 0;

export async function main(argv: readonly string[]): Promise<number> {
  const args = parseCli(argv);
  const dataset = datasetFor(args);
  rmSync(OUT_DIR, { recursive: true, force: true });
  mkdirSync(OUT_DIR, { recursive: true });

  out(`Starting DynamoDB Local${args.port ? ` on port ${args.port}` : ''}...`);
  const ddb = await startDynamoDbLocal(args.port ? { port: args.port } : {});
  const pipeline = new LocalPipeline({
    endpoint: ddb.endpoint,
    tableName: TABLE,
    logLevel: args.verbose || args.keepRunning ? 'INFO' : 'WARN',
    dlqFile: join(OUT_DIR, 'dlq.jsonl'),
    ...(args.typesense && { typesense: args.typesense }),
  });
  try {
    await pipeline.start();
    out(args.typesense ? `Indexing into Typesense at ${args.typesense.url}` : `Indexing into the local Typesense stand-in at ${pipeline.typesense?.url} (not Typesense: none can run here)`);
    const started = Date.now();
    out(`Loading ${dataset.rows.length} rows, then ${dataset.changes.length} scripted changes (seed ${args.seed})...`);
    await loadRows(pipeline.doc, TABLE, dataset.rows, progress('loading', dataset.rows.length));
    await pipeline.drain();
    for (const change of dataset.changes) await applyChange(pipeline.doc, TABLE, change);
    await pipeline.drain();
    const report = await pipeline.report();
    formatReport(report, (Date.now() - started) / 1000).forEach((line) => out(line));
    if (report.dlq.length > 0) out(`DLQ batches written to ${join(OUT_DIR, 'dlq.jsonl')}`);

    if (args.keepRunning) {
      await keepRunning(pipeline, ddb);
      await pipeline.drain();
      const final = await pipeline.report();
      formatReport(final, (Date.now() - started) / 1000).forEach((line) => out(line));
      return clean(final) ? 0 : 1;
    }
    return clean(report) ? 0 : 1;
  } finally {
    await pipeline.stop();
    await ddb.stop();
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`npm start failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(2);
    },
  );
}

/**
 * `npm start`: the whole pipeline on DynamoDB Local. Loads the sample dataset, applies the
 * scripted change set, drains, prints a report and audits I1–I3; exits 1 on drift.
 * Flags: local/cli-args.ts (`npm start -- --help`).
 *
 * DynamoDB Local runs in its own process group, so a terminal's Ctrl-C reaches only this
 * process: it stops writing, drains, audits, reports and exits (0 clean, 1 drift). A second
 * Ctrl-C, SIGTERM, an error or an uncaught exception stops DynamoDB Local too (no java is
 * left behind).
 */
import { mkdirSync } from 'node:fs';
import type { DynamoDBRecord } from 'aws-lambda';
import { HELP, parseCli, UsageError, datasetFor, type Args } from './cli-args';
import { startDynamoDbLocal, type DynamoDbLocal } from './dynamodb-local';
import type { EmulatorLog, InvocationCall } from './esm-emulator';
import { LocalPipeline, type PipelineReport } from './pipeline';
import { formatReport } from './start-report';
import { indexChanges, rowChanges } from './verbose-diff';
import { applyChange, loadRows } from './table-io';

export { parseCli, datasetFor, DEFAULT_FAILURE_DIR } from './cli-args';
export { formatReport } from './start-report';

// The SDK's notice about its future Node.js floor is noise in this CLI's report (engines: node >= 20).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const TABLE = 'stream-fanout-local';
const out = (line = '') => process.stdout.write(`${line}\n`);

function progress(label: string, total: number): (done: number) => void {
  if (!process.stderr.isTTY || total < 500) return () => undefined;
  return (done) => {
    const width = 30;
    const filled = Math.round((done / total) * width);
    process.stderr.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}${done === total ? '\n' : ''}`);
  };
}

/** The emulator's failure events, one line each (the handlers' own logs are off unless --verbose). */
export const compactLog: EmulatorLog = (level, message, fields = {}) => {
  if (level !== 'warn' && level !== 'error') return;
  const { error, lastError, ...rest } = fields as Record<string, unknown>;
  const where = Object.entries(rest).map(([k, v]) => `${k}=${String(v)}`).join(' ');
  process.stderr.write(`[esm] ${message}: ${where}${error ?? lastError ? ` (${String(error ?? lastError)})` : ''}\n`);
};

/** Partial batch failures, one line per attempt naming the failed records. */
async function invokeReporting(call: InvocationCall): Promise<unknown> {
  const response = (await call.handler(call.event, call.context)) as { batchItemFailures?: { itemIdentifier: string }[] } | undefined;
  const failed = response?.batchItemFailures ?? [];
  if (failed.length > 0) {
    const keys = failed.map((f) => call.event.Records.find((r: DynamoDBRecord) => r.dynamodb?.SequenceNumber === f.itemIdentifier)).map((r) => `${r?.dynamodb?.Keys?.PK?.S} ${r?.dynamodb?.Keys?.SK?.S} (${r?.eventID})`);
    process.stderr.write(`[esm] ${call.subsystem}: ${failed.length} of ${call.event.Records.length} records failed (attempt ${call.attempt}): ${keys.slice(0, 3).join(', ')}${keys.length > 3 ? ', ...' : ''}\n`);
  }
  return response;
}

const clean = (r: PipelineReport) => r.audit.drift.length === 0 && r.dlq.length === 0 && (r.indexer?.deadLettered ?? 0) === 0;

export async function main(args: Args, stop: AbortSignal): Promise<number> {
  const dataset = datasetFor(args);
  mkdirSync(args.failureDir, { recursive: true });
  out(`Starting DynamoDB Local${args.port ? ` on port ${args.port}` : ''}...`);
  const ddb: DynamoDbLocal = await startDynamoDbLocal({ ...(args.port && { port: args.port }) });
  process.on('exit', ddb.killNow);
  out(`DynamoDB Local is up at ${ddb.endpoint} (process group ${ddb.pgid})`);
  const pipeline = new LocalPipeline({
    endpoint: ddb.endpoint,
    tableName: TABLE,
    // Powertools' JSON lines (with stacks) are the Lambda format; here failures are one line
    // each (compactLog, invokeReporting) and --verbose prints the changes themselves.
    logLevel: 'SILENT',
    emulatorLog: compactLog,
    invoke: invokeReporting,
    failureDir: args.failureDir,
    ...(args.typesense && { typesense: args.typesense }),
  });
  try {
    await pipeline.start();
    out(args.typesense ? `Indexing into Typesense at ${args.typesense.url}` : `Indexing into the local Typesense stand-in at ${pipeline.typesense?.url} (not Typesense: none can run here)`);
    let seen = args.verbose ? { index: await pipeline.snapshotIndex(), rows: await pipeline.rows() } : undefined;
    const drained = async () => {
      await pipeline.drain();
      if (!seen) return;
      const now = { index: await pipeline.snapshotIndex(), rows: await pipeline.rows() };
      [...indexChanges(seen.index, now.index), ...rowChanges(seen.rows, now.rows)].forEach((line) => out(line));
      seen = now;
    };
    const started = Date.now();
    out(`Loading ${dataset.rows.length} rows, then ${dataset.changes.length} scripted changes (seed ${args.seed})...`);
    await loadRows(pipeline.doc, TABLE, dataset.rows, progress('loading', dataset.rows.length));
    for (const change of dataset.changes) {
      if (stop.aborted) break;
      await applyChange(pipeline.doc, TABLE, change);
    }
    const written = Date.now();
    await drained();
    const timings = { rows: dataset.rows.length + dataset.changes.length, loadSeconds: (written - started) / 1000, drainSeconds: (Date.now() - written) / 1000 };
    let report = await pipeline.report();
    formatReport(report, timings).forEach((line) => out(line));
    if (report.dlq.length > 0) out(`Failed batches written to ${args.failureDir} (npm run ops -- redrive --from ${args.failureDir})`);

    if (args.keepRunning && !stop.aborted) {
      out('');
      out(`Up: DynamoDB Local at ${ddb.endpoint} (table ${TABLE}); the emulator is watching its stream. Ctrl-C drains, audits and exits.`);
      while (!stop.aborted) {
        await new Promise((r) => setTimeout(r, 500));
        const applied = await pipeline.consumeQueue();
        if (applied === 0) continue;
        out(`[indexer] processed ${applied} trigger(s)`);
        await drained();
      }
      out('Stopping: draining, then auditing...');
      const last = Date.now();
      await drained();
      report = await pipeline.report();
      formatReport(report, { ...timings, drainSeconds: (Date.now() - last) / 1000 }).forEach((line) => out(line));
    }
    return clean(report) ? 0 : 1;
  } finally {
    await pipeline.stop();
    await ddb.stop();
  }
}

if (require.main === module) {
  let args: Args;
  try {
    args = parseCli(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`npm start: ${error instanceof UsageError ? error.message : String(error)}; see --help\n`);
    process.exit(2);
  }
  if (args.help) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  const controller = new AbortController();
  // `npm start` runs node under npm and tsx, which both relay the terminal's Ctrl-C: copies
  // arriving within a second of the first are that one Ctrl-C, not a second.
  let firstAt = 0;
  process.on('SIGINT', () => {
    if (!controller.signal.aborted) return (firstAt = Date.now()), controller.abort();
    if (Date.now() - firstAt < 1_000) return;
    process.stderr.write('npm start: second Ctrl-C, stopping now\n');
    process.exit(130); // the 'exit' handler kills DynamoDB Local's process group
  });
  process.on('SIGTERM', () => process.exit(143));
  main(args, controller.signal).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`npm start failed: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(2);
    },
  );
}

/**
 * `npm start`: the whole pipeline on DynamoDB Local. Loads the sample dataset, applies the
 * scripted change set, drains, prints a report and audits I1–I3; exits 1 on drift.
 * Flags: local/cli-args.ts (`npm start -- --help`).
 *
 * DynamoDB Local runs in its own process group under a watchdog (local/process/), so a
 * terminal's Ctrl-C reaches only this process: it stops writing, drains, audits, reports and
 * exits (0 clean, 1 drift). A second Ctrl-C, SIGTERM, SIGHUP, an error, or the death of the
 * process that started us (npm) stops at once (local/process/stop-signals.ts); the watchdog ends java even when
 * this process is killed outright. While up, the search queue is served over SQS's protocol
 * (local/emulator/sqs-json-server.ts) so `npm run ops -- redrive` can send to it.
 */
import { mkdirSync } from 'node:fs';
import type { DynamoDBRecord } from 'aws-lambda';
import { resolve } from 'node:path';
import { HELP, parseCli, UsageError, datasetFor, type Args } from './cli-args';
import { startDynamoDbLocal, type DynamoDbLocal } from './dynamodb-local';
import { serveSqsQueue } from './emulator/sqs-json-server';
import type { EmulatorLog, InvocationCall } from './esm-emulator';
import { LOCAL_QUEUE_URL, LocalPipeline, type PipelineReport } from './pipeline';
import { onStopSignals } from './process/stop-signals';
import { formatReport, redriveCommand } from './start-report';
import { formatAuditTrailReport, startAuditTrailLocal } from './audit-trail/audit-trail-local';
import { domainEventsClean, formatDomainEventsReport, startDomainEventsLocal } from './eventbridge/domain-events-local';
import { checkTypesense } from './start/typesense-check';
import { indexChanges, rowChanges } from './verbose-diff';
import { applyChange, loadRows } from './table-io';

export { parseCli, datasetFor, DEFAULT_FAILURE_DIR } from './cli-args';
export { formatReport, redriveCommand } from './start-report';

// The SDK's notice about its future Node.js floor is noise in this CLI's report (engines: node >= 20).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const TABLE = 'stream-fanout-local';
/** Stands in for the audit trail's KMS key and hash secret locally (created on first use). */
const AUDIT_KEY_FILE = resolve(__dirname, '..', '.cache', 'npm-start', 'audit-keys.json');
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

/** The edge subsystems the flags turn on, each one more mapping on the same changes. */
async function startEdges(args: Args, endpoint: string) {
  const domainEvents = args.domainEvents ? await startDomainEventsLocal({ tableName: TABLE, logLevel: 'SILENT' }) : undefined;
  if (domainEvents) out(`Domain events go to a local stand-in for EventBridge's PutEvents API at ${domainEvents.eventBridge.url} (not EventBridge)`);
  const auditTrail = args.auditTrail ? await startAuditTrailLocal({ endpoint, keyFile: AUDIT_KEY_FILE, logLevel: 'SILENT', source: args.source }) : undefined;
  if (auditTrail) out(`Audit trail: history table ${auditTrail.historyTableName}; a key file (${AUDIT_KEY_FILE}) stands in for KMS`);
  return {
    mappings: [...(domainEvents ? [domainEvents.mapping] : []), ...(auditTrail ? [auditTrail.mapping] : [])],
    verbose: async () => [...(domainEvents?.verboseLines() ?? []), ...(auditTrail ? auditTrail.verboseLines(await auditTrail.rows()) : [])],
    report: async () => {
      const lines = [...(domainEvents ? formatDomainEventsReport(domainEvents.report()) : [])];
      const history = auditTrail ? await auditTrail.report() : undefined;
      if (history) lines.push(...formatAuditTrailReport(history));
      return { lines, clean: (!domainEvents || domainEventsClean(domainEvents.report())) && (!history || history.i5.findings.length === 0) };
    },
    stop: async () => {
      await domainEvents?.stop();
      await auditTrail?.stop();
    },
  };
}

export async function main(args: Args, stop: AbortSignal): Promise<number> {
  const dataset = datasetFor(args);
  mkdirSync(args.failureDir, { recursive: true });
  if (args.typesense) await checkTypesense(args.typesense.url, args.typesense.apiKey);
  out(`Starting DynamoDB Local${args.port ? ` on port ${args.port}` : ''}...`);
  const ddb: DynamoDbLocal = await startDynamoDbLocal({ ...(args.port && { port: args.port }) });
  process.on('exit', ddb.killNow);
  out(`DynamoDB Local is up at ${ddb.endpoint} (process group ${ddb.pgid})`);
  const edges = await startEdges(args, ddb.endpoint);
  if (args.source === 'kinesis') out('Changes reach the functions the Kinesis way (emulated over the table stream: records spread over shards, some twice, microsecond change times)');
  const pipeline = new LocalPipeline({
    endpoint: ddb.endpoint,
    tableName: TABLE,
    source: args.source,
    extraMappings: edges.mappings,
    // Powertools' JSON lines (with stacks) are the Lambda format; here failures are one line
    // each (compactLog, invokeReporting) and --verbose prints the changes themselves.
    logLevel: 'SILENT',
    emulatorLog: compactLog,
    invoke: invokeReporting,
    failureDir: args.failureDir,
    ...(args.typesense && { typesense: args.typesense }),
  });
  let queueServer: Awaited<ReturnType<typeof serveSqsQueue>> | undefined;
  try {
    await pipeline.start();
    queueServer = await serveSqsQueue(pipeline.queue, LOCAL_QUEUE_URL);
    out(args.typesense ? `Indexing into Typesense at ${args.typesense.url}` : `Indexing into the local Typesense stand-in at ${pipeline.typesense?.url} (not Typesense: none can run here)`);
    let seen = args.verbose ? { index: await pipeline.snapshotIndex(), rows: await pipeline.rows() } : undefined;
    const drained = async () => {
      await pipeline.drain();
      if (!seen) return;
      const now = { index: await pipeline.snapshotIndex(), rows: await pipeline.rows() };
      [...indexChanges(seen.index, now.index), ...rowChanges(seen.rows, now.rows), ...(await edges.verbose())].forEach((line) => out(line));
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
    let edgeReport = await edges.report();
    edgeReport.lines.forEach((line) => out(line));
    const redrive = redriveCommand({ failureDir: args.failureDir, table: TABLE, endpoint: ddb.endpoint, queueUrl: queueServer.queueUrl });
    if (report.dlq.length > 0) out(`Failed batches written to ${args.failureDir}${args.keepRunning ? '' : ' (replay them while `npm start -- --keep-running` is up)'}`);

    if (args.keepRunning && !stop.aborted) {
      out('');
      out(`Up: DynamoDB Local at ${ddb.endpoint} (table ${TABLE}); the emulator is watching its stream; the search queue is at ${queueServer.queueUrl}. Ctrl-C drains, audits and exits.`);
      out(`Replay failed batches with: ${redrive}`);
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
      edgeReport = await edges.report();
      edgeReport.lines.forEach((line) => out(line));
    }
    return clean(report) && edgeReport.clean ? 0 : 1;
  } finally {
    await queueServer?.stop();
    await pipeline.stop();
    await edges.stop();
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
  // A closed terminal or a gone npm turns writes into EIO/EPIPE errors: they must not crash us before DynamoDB Local is stopped.
  process.stdout.on('error', () => undefined);
  process.stderr.on('error', () => undefined);
  const controller = new AbortController();
  onStopSignals({
    graceful: () => controller.abort(),
    stopNow: (code, reason) => {
      process.stderr.write(`npm start: ${reason}, stopping now\n`);
      process.exit(code); // the 'exit' handler kills DynamoDB Local's process group
    },
  });
  main(args, controller.signal).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`npm start failed: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(2);
    },
  );
}

/** `npm start`'s report: the mappings' counters, the search queue and indexer, the audit; and its redrive command. */
import { isAbsolute, relative, resolve } from 'node:path';
import type { PipelineReport } from './pipeline';

/** The package root: `npm run` runs its scripts there, whatever the caller's folder. */
const ROOT = resolve(__dirname, '..');

/** What the report's timings measure. */
export interface Timings {
  readonly rows: number;
  /** Writing the dataset's rows and its scripted changes. */
  readonly loadSeconds: number;
  /** From the last write until every mapping and the search queue were drained. */
  readonly drainSeconds: number;
}

export function formatReport(report: PipelineReport, t: Timings): string[] {
  const lines: string[] = [];
  const pad = (s: string | number, n: number) => String(s).padStart(n);
  lines.push('', `Loaded ${t.rows} rows and changes in ${t.loadSeconds.toFixed(1)} s; drained in ${t.drainSeconds.toFixed(1)} s after the last write`, '');
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

/**
 * The command that replays `npm start`'s failed batches while it is up: the failure folder
 * (relative to the package root, where `npm run` runs), the table on DynamoDB Local, and the
 * search queue as served over SQS's protocol. AWS_ENDPOINT_URL_SQS points the SDK's SQS client
 * at the queue's host (given only the queue URL, the SDK also sends there, but warns on every request).
 */
export function redriveCommand(o: { failureDir: string; table: string; endpoint: string; queueUrl: string }): string {
  const rel = relative(ROOT, o.failureDir);
  const dir = rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : o.failureDir;
  const quote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  return `AWS_ENDPOINT_URL_SQS=${new URL(o.queueUrl).origin} npm run ops -- redrive --from ${quote(dir)} --table ${quote(o.table)} --endpoint ${o.endpoint} --queue-url ${o.queueUrl}`;
}

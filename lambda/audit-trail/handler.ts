/**
 * The audit-trail subsystem (edge-triggered): one history row per delivered change of a source
 * row, built from the record's images (the only place the change exists) and written with a
 * conditional put keyed by the record, so duplicates, retries, bisects and redrives write
 * nothing new. Derived rows (pointers, tuples, contribution rows) are never owned.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { RetryPolicy } from '../shared/backoff';
import type { StreamChange } from '../shared/decode';
import { ChangeFailedError, StreamRecordError } from '../shared/errors';
import { classified, MetricTally, STREAM_METRICS } from '../shared/metrics';
import { ROW_KIND_NAMES, rowKindOf, type RowKindName } from '../shared/row-kinds';
import { createStreamHandler, type Subsystem } from '../shared/runner';
import { safeError } from '../shared/safe-error';
import { buildHistoryRow, type HistoryRow } from './history-row';
import { HistoryStore } from './history-store';
import { DEFAULT_RETENTION_DAYS, type ChangeSource } from './history-table';
import type { SensitiveProtection } from './sensitive';

export { DEFAULT_RETENTION_DAYS };

export interface AuditTrailDeps {
  readonly doc: DynamoDBDocumentClient;
  readonly historyTableName: string;
  readonly logger: Logger;
  /** How sensitive values are sealed (encrypt with a data key, or keyed hash). */
  readonly protection: SensitiveProtection;
  /** The row kinds to keep a history of. Default: every source row kind. */
  readonly rowKinds?: readonly RowKindName[];
  /** Days a history row is kept after its change. Default 90. */
  readonly retentionDays?: number;
  /** Default `dynamodb-streams`. */
  readonly source?: ChangeSource;
  readonly concurrency?: number;
  readonly retry?: Partial<RetryPolicy>;
  readonly tally?: MetricTally;
}

export function createAuditSubsystem(deps: AuditTrailDeps): Subsystem {
  const kinds = deps.rowKinds ?? ROW_KIND_NAMES;
  const store = new HistoryStore(deps.doc, deps.historyTableName, deps.retry);
  const tally = deps.tally ?? new MetricTally();
  const options = { source: deps.source ?? 'dynamodb-streams', retentionDays: deps.retentionDays ?? DEFAULT_RETENTION_DAYS, protection: deps.protection } as const;

  return {
    name: 'audit-trail',
    owns: (keys) => rowKindOf(keys, kinds) !== undefined,
    apply: async (changes: readonly StreamChange[]) => {
      // Build every row first (the first build failure stops there), then write them concurrently.
      const rows: HistoryRow[] = [];
      let stop: { position: number; error: unknown } | undefined;
      for (const [position, change] of changes.entries()) {
        try {
          rows.push(await buildHistoryRow(change, rowKindOf(change.keys, kinds)!, options));
        } catch (error) {
          // A bad record is `decode`; a key service that throttled or failed transiently `throttled`; else `fatal`.
          const reduced = safeError(error);
          stop = { position, error: classified(reduced, error instanceof StreamRecordError ? 'decode' : reduced.retryable ? 'throttled' : 'fatal') };
          break;
        }
      }
      const { outcomes, failed } = await store.putAll(rows, deps.concurrency);
      const written = outcomes.filter((o) => o === 'written').length;
      const duplicates = outcomes.filter((o) => o === 'duplicate').length;
      const omitted = rows.reduce((n, row, i) => n + (outcomes[i] === 'written' ? (row.omitted ?? 0) : 0), 0);
      tally.count('HistoryRowsWritten', written);
      tally.count('HistoryDuplicates', duplicates);
      tally.count('HistoryValuesOmitted', omitted);
      tally.applied(rows.flatMap((row, i) => (outcomes[i] === 'written' ? [row.change_time_us / 1e6] : [])));
      deps.logger.info('history batch', { changes: changes.length, written, duplicates, omittedValues: omitted });
      if (failed && (!stop || failed.position < stop.position)) stop = failed;
      if (stop) throw new ChangeFailedError(stop.position, stop.error);
    },
  };
}

/** The Lambda handler over an audit-trail subsystem; with `metrics`, it publishes one tally per invocation. */
export function createAuditHandler(deps: AuditTrailDeps & { readonly metrics?: Metrics }) {
  const tally = new MetricTally(deps.metrics, [...STREAM_METRICS, 'HistoryRowsWritten', 'HistoryDuplicates', 'HistoryValuesOmitted']);
  return createStreamHandler(createAuditSubsystem({ ...deps, tally }), deps.logger, tally);
}

/**
 * The names of the functions' custom metrics, with no dependency: the functions count them
 * (Powertools Metrics) and the stack's dashboard graphs them (CUSTOM_METRICS).
 */
/** The stack sets each function's POWERTOOLS_METRICS_NAMESPACE to this too (METRICS_NAMESPACE). */
export const DEFAULT_METRICS_NAMESPACE = 'StreamFanout';

/**
 * Counters; each is published once per invocation as its sum (Unit Count, dimension `service`).
 * - RecordsReceived: stream records in the batch (stream functions).
 * - RecordsOwned: records the subsystem owns and was handed.
 * - RecordsSkipped: records it does not own (the exact ownership rule filtered them out).
 * - TriggersSent: typesense-sync, trigger messages SQS accepted.
 * - SendMessageBatchCalls: typesense-sync, SendMessageBatch requests made, retries included.
 * - PointersWritten: image-sync, pointer writes that took effect (one per entity write,
 *   however many of the entity's keys the batch named).
 * - TuplesWritten: faa-matcher-sync, tuple count rows changed (a move changes two).
 * - ConditionalRetries: image-sync and faa-matcher-sync, re-reads after a write's condition
 *   failed (the truth moved between read and write).
 * - ReconcileNoops: keys whose reconcile found the derived state right and wrote nothing.
 * - DocumentsImported / DocumentsDeleted / DocumentsRejected: typesense-indexer, documents
 *   Typesense accepted in an import, deleted (were present), refused in an import.
 * - EventsPublished / EventsFailed: domain-events, PutEvents entries EventBridge accepted, and
 *   entries it refused or whose call threw (each attempt counts; retries included).
 * - HistoryRowsWritten / HistoryDuplicates: audit-trail, history rows written, and rows whose
 *   record already had one (a redelivery: the conditional put wrote nothing).
 * - HistoryValuesOmitted: audit-trail, diff values left out (size and digest kept) so that a
 *   history row fits DynamoDB's 400 KB item limit.
 */
export const COUNT_METRICS = [
  'RecordsReceived',
  'RecordsOwned',
  'RecordsSkipped',
  'TriggersSent',
  'SendMessageBatchCalls',
  'PointersWritten',
  'TuplesWritten',
  'ConditionalRetries',
  'ReconcileNoops',
  'DocumentsImported',
  'DocumentsDeleted',
  'DocumentsRejected',
  'EventsPublished',
  'EventsFailed',
  'HistoryRowsWritten',
  'HistoryDuplicates',
  'HistoryValuesOmitted',
] as const;
export type CountMetric = (typeof COUNT_METRICS)[number];

/** What every stream function publishes (zeros included). */
export const STREAM_METRICS: readonly CountMetric[] = ['RecordsReceived', 'RecordsOwned', 'RecordsSkipped'];

/**
 * The `kind` of a `Failures` datapoint (a closed set; the dashboard sums over all of them).
 * A stream function counts one failure per invocation that stopped at a record (the record
 * where the batch resumes); the indexer counts one per failed document or unreadable message.
 * - `decode`: input that cannot be read: a stream record, a key naming no entity, a search
 *   trigger message, a row that cannot be projected or a corrupt contribution row.
 * - `condition-exhausted`: the truth kept changing under a conditional write; gave up after
 *   the configured number of re-reads.
 * - `throttled`: retryable errors outlasted the retries (throttling, transaction conflicts,
 *   5xx and timeouts, or the function's deadline came first).
 * - `rejected`: the destination refused an item as invalid (Typesense import line, SQS entry
 *   with SenderFault).
 * - `fatal`: anything else (access denied, validation, missing table, counts changed outside
 *   the subsystem).
 */
export const FAILURE_KINDS = ['decode', 'condition-exhausted', 'throttled', 'rejected', 'fatal'] as const;
export type FailureKind = (typeof FAILURE_KINDS)[number];

/** The functions' service names (POWERTOOLS_SERVICE_NAME), as the metrics' `service` dimension carries them. */
const STREAM_SERVICES = ['typesense-sync', 'image-sync', 'faa-matcher-sync', 'domain-events', 'audit-trail'] as const;
const RECONCILING_SERVICES = ['image-sync', 'faa-matcher-sync'] as const;

/** Which functions publish each counter: the dashboard graphs a counter only for those. `Failures` comes from every function. */
export const METRIC_PUBLISHERS: Readonly<Record<CountMetric, readonly string[]>> = {
  RecordsReceived: STREAM_SERVICES,
  RecordsOwned: STREAM_SERVICES,
  RecordsSkipped: STREAM_SERVICES,
  TriggersSent: ['typesense-sync'],
  SendMessageBatchCalls: ['typesense-sync'],
  PointersWritten: ['image-sync'],
  TuplesWritten: ['faa-matcher-sync'],
  ConditionalRetries: RECONCILING_SERVICES,
  ReconcileNoops: RECONCILING_SERVICES,
  DocumentsImported: ['typesense-indexer'],
  DocumentsDeleted: ['typesense-indexer'],
  DocumentsRejected: ['typesense-indexer'],
  EventsPublished: ['domain-events'],
  EventsFailed: ['domain-events'],
  HistoryRowsWritten: ['audit-trail'],
  HistoryDuplicates: ['audit-trail'],
  HistoryValuesOmitted: ['audit-trail'],
};

/**
 * Freshness, one datapoint per change applied (Unit Milliseconds, dimension `service`): the
 * time from the change in the table (the record's ApproximateCreationDateTime, carried through
 * the search queue in the trigger's origin) to the moment its derived write (or, for the
 * indexer, the Typesense import or delete) completed. p50/p99 are CloudWatch statistics of it.
 * DynamoDB Streams gives the change time in whole seconds, so values there read up to 1 s high;
 * Kinesis gives microseconds.
 */
export const FRESHNESS_METRIC = 'ChangeToAppliedMs';

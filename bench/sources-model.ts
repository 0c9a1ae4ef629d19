/**
 * The read side of each source, modelled from AWS's documentation (no Kinesis server and no
 * real DynamoDB Streams quota can run here), and the percentile helper the freshness figures use.
 *
 * Documented inputs (checked 2026-12, see BENCHMARKS.md for the links):
 * - Lambda polls each shard of a DynamoDB stream at a base rate of 4 times a second, per
 *   event-source mapping (Lambda developer guide, "Using AWS Lambda with Amazon DynamoDB").
 * - DynamoDB Streams: no more than two processes should read the same shard at the same time,
 *   more can be throttled (DynamoDB developer guide, "Change data capture for DynamoDB
 *   Streams"; the GetRecords API's LimitExceededException). One for global tables.
 * - A rate limit of 5 GetRecords calls per second per shard is documented for Kinesis Data
 *   Streams' shared-throughput reads; it is often quoted for DynamoDB Streams too, but the
 *   DynamoDB documentation does not state it. We show it as "quoted, not documented".
 * - Kinesis enhanced fan-out: each registered consumer holds one SubscribeToShard
 *   subscription per shard, which lasts up to 5 minutes and is then renewed (at most one
 *   call per second per consumer and shard); records are pushed; each consumer gets its own
 *   2 MiB/s per shard; up to 20 consumers per stream (50 with On-demand Advantage).
 */

export type SourceName = 'dynamodb-streams' | 'kinesis';

export const LAMBDA_POLLS_PER_SECOND_PER_MAPPING = 4;
export const DYNAMODB_STREAMS_READERS_PER_SHARD = 2;
/** Kinesis's documented shared-throughput GetRecords limit, quoted (not documented) for DynamoDB Streams. */
export const QUOTED_GETRECORDS_PER_SECOND_PER_SHARD = 5;
export const SUBSCRIPTION_SECONDS = 300;
export const EFO_CONSUMERS_PER_STREAM = 20;
export const EFO_MIB_PER_SECOND_PER_CONSUMER_AND_SHARD = 2;

export interface ReadModel {
  readonly source: SourceName;
  readonly subsystems: number;
  /** Read API calls one shard receives per second, all mappings together. */
  readonly readCallsPerShardPerSecond: number;
  readonly readersPerShard: number;
  /** The documented ceiling on readers per shard for this source. */
  readonly readerLimit: number;
  readonly withinReaderLimit: boolean;
  /** Only for dynamodb-streams: against the quoted 5 calls/s. */
  readonly withinQuotedCallRate?: boolean;
  /** How the figure comes about, for the report. */
  readonly note: string;
}

/** Read calls per shard per second and readers per shard for `subsystems` mappings on `source`. */
export function readModel(source: SourceName, subsystems: number): ReadModel {
  if (!Number.isInteger(subsystems) || subsystems < 1) throw new Error(`readModel: subsystems must be a positive integer (got ${subsystems})`);
  if (source === 'dynamodb-streams') {
    const calls = LAMBDA_POLLS_PER_SECOND_PER_MAPPING * subsystems;
    return {
      source,
      subsystems,
      readCallsPerShardPerSecond: calls,
      readersPerShard: subsystems,
      readerLimit: DYNAMODB_STREAMS_READERS_PER_SHARD,
      withinReaderLimit: subsystems <= DYNAMODB_STREAMS_READERS_PER_SHARD,
      withinQuotedCallRate: calls <= QUOTED_GETRECORDS_PER_SECOND_PER_SHARD,
      note: `${LAMBDA_POLLS_PER_SECOND_PER_MAPPING} GetRecords/s per mapping, every mapping polls every shard`,
    };
  }
  return {
    source,
    subsystems,
    readCallsPerShardPerSecond: subsystems / SUBSCRIPTION_SECONDS,
    readersPerShard: subsystems,
    readerLimit: EFO_CONSUMERS_PER_STREAM,
    withinReaderLimit: subsystems <= EFO_CONSUMERS_PER_STREAM,
    note: `1 SubscribeToShard per consumer per ${SUBSCRIPTION_SECONDS} s, records pushed, ${EFO_MIB_PER_SECOND_PER_CONSUMER_AND_SHARD} MiB/s each`,
  };
}

/** Nearest-rank percentile (p in 0..100) of `values`; undefined for no values. */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (!(p >= 0 && p <= 100)) throw new Error(`percentile: p must be within 0..100 (got ${p})`);
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

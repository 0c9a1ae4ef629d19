import { Duration } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { StreamEventSourceProps } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { FilterPattern } from '../../lambda/shared/key-rules';
import type { StreamMappingSettings } from '../mapping-settings';

/** Where the table's changes are read from. */
export const SOURCE_KINDS = ['dynamodb-streams', 'kinesis'] as const;
export type SourceKind = (typeof SOURCE_KINDS)[number];

/** DynamoDB Streams' guidance: at most two simultaneous readers per shard (one on global tables). */
export const DYNAMODB_STREAMS_READERS_PER_SHARD = 2;

/** What one function's mapping needs from the construct. */
export interface MappingRequest {
  /** The function's name (typesense-sync, audit-trail, ...): names its Kinesis consumer. */
  readonly name: string;
  readonly settings: StreamMappingSettings;
  /** The key filters on a stream record (`{dynamodb:{Keys:...}}`); each source places them where its records carry them. */
  readonly filters: readonly FilterPattern[];
  readonly onFailure: lambda.IEventSourceDlq;
}

/**
 * A source of table changes: one event source (one reader) per function, each with the same
 * mapping semantics: ordered per shard, bisect on error, partial batch responses, bounded
 * retries and record age, the S3 failure destination, and Lambda's event counts published.
 */
export interface ChangeSource {
  readonly kind: SourceKind;
  eventSource(request: MappingRequest): MappingEventSource;
  /** Acknowledges, with its reason, what cdk-nag finds on a reader's role because of this source. */
  acknowledgeReader(role: iam.IRole): void;
}

/** An event source whose mapping id is known once it is bound to its function. */
export type MappingEventSource = lambda.IEventSource & { readonly eventSourceMappingId: string };

/** The mapping settings every source shares. */
export function streamMappingProps(request: MappingRequest, filters: readonly FilterPattern[]): StreamEventSourceProps {
  const { settings } = request;
  return {
    startingPosition: lambda.StartingPosition[settings.startingPosition],
    batchSize: settings.batchSize,
    maxBatchingWindow: Duration.seconds(settings.maxBatchingWindowSeconds),
    retryAttempts: settings.retryAttempts,
    maxRecordAge: Duration.seconds(settings.maxRecordAgeSeconds),
    bisectBatchOnError: settings.bisectBatchOnError,
    parallelizationFactor: settings.parallelizationFactor,
    reportBatchItemFailures: true,
    onFailure: request.onFailure,
    filters: filters.map((pattern) => lambda.FilterCriteria.filter(pattern as Record<string, unknown>)),
    // Records polled, filtered out, processed and dropped, per mapping: shows the key filters at work.
    metricsConfig: { metrics: [lambda.MetricType.EVENT_COUNT] },
  };
}

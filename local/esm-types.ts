/** The emulator's public types: mappings, invocations, counters, options and failure entries. */
import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { Context, DynamoDBStreamEvent } from 'aws-lambda';
import type { StreamMappingSettings } from '../lib/mapping-settings';
import type { Clock } from './clock';
import type { OnFailureRecord, S3FailureObject } from './esm-batch';
import type { StreamSource } from './stream-source';

/** A Lambda handler for a DynamoDB stream: returns a batch response, or throws when the whole batch failed. */
export type StreamHandler = (event: DynamoDBStreamEvent, context?: Context) => Promise<unknown>;

export interface MappingConfig {
  /** The subsystem (function) name: names the counters, the DLQ entries and the function ARN. */
  readonly name: string;
  readonly handler: StreamHandler;
  /** Lambda filter patterns, ORed; an empty list delivers every record (no FilterCriteria). */
  readonly filterPatterns: readonly unknown[];
  /** Overrides the emulator-wide settings for this mapping. */
  readonly settings?: Partial<StreamMappingSettings>;
}

/** One invocation, as the invoke hook sees it. */
export interface InvocationCall {
  readonly subsystem: string;
  readonly shardId: string;
  /** A fresh copy per invocation, as Lambda deserialises a fresh payload each time. */
  readonly event: DynamoDBStreamEvent;
  readonly context: Context;
  /** 1 for the first invocation of this batch; bisected halves inherit the count. */
  readonly attempt: number;
  /** Retries already consumed by this batch. */
  readonly retries: number;
  readonly handler: StreamHandler;
}

/**
 * Replaces the invocation (fault injection). The default calls `handler(event, context)`.
 * A throw is a function error (e.g. a "timeout" after part of the side effects); the
 * return value is read as the handler's batch response.
 */
export type InvokeHook = (call: InvocationCall) => Promise<unknown>;

export interface DlqEntry {
  readonly subsystem: string;
  /** Exactly what Lambda would send to the on-failure destination. */
  readonly body: OnFailureRecord;
  /** Local diagnostics (not part of Lambda's record): the last invocation's error. */
  readonly lastError?: { readonly name: string; readonly message: string };
  /** The object an S3 on-failure destination would hold for this batch (record + payload). */
  readonly failureObject: S3FailureObject;
}

export interface MappingCounters {
  /** Records the mapping took from the stream (filtered + matched). */
  read: number;
  /** Records that matched no filter pattern: consumed, never delivered. */
  filtered: number;
  /** Records that matched and were queued for delivery. */
  matched: number;
  /** Record deliveries, counting each retry of a record again. */
  delivered: number;
  /** Records the mapping checkpointed past after success. */
  committed: number;
  invocations: number;
  /** Invocations that threw (or were made to fail by the invoke hook). */
  functionErrors: number;
  /** Invocations that reported batchItemFailures. */
  partialFailures: number;
  /** Invocations whose response Lambda would reject (unknown or empty itemIdentifier). */
  invalidResponses: number;
  retries: number;
  bisects: number;
  dlqBatches: number;
  dlqRecords: number;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type EmulatorLog = (level: LogLevel, message: string, fields?: Record<string, unknown>) => void;

export interface EsmEmulatorOptions {
  /** A StreamSource, or an SDK Streams client (wrapped with sdkStreamSource). */
  readonly streams: StreamSource | Pick<DynamoDBStreamsClient, 'send'>;
  /** The stream to read; or give tableName and the newest stream of that table is used. */
  readonly streamArn?: string;
  readonly tableName?: string;
  readonly mappings: readonly MappingConfig[];
  /** Defaults to the stack's DEFAULT_MAPPING_SETTINGS. */
  readonly settings?: StreamMappingSettings;
  readonly invoke?: InvokeHook;
  readonly clock?: Clock;
  /** Pause between rounds when nothing happened. Default 250 ms (Lambda polls a shard 4 times a second). */
  readonly pollIntervalMs?: number;
  /** GetRecords page size (max 1000). */
  readonly getRecordsLimit?: number;
  /** Append each DLQ entry to this file as one JSON line. */
  readonly dlqFile?: string;
  /**
   * Stand-in for the S3 on-failure bucket: each discarded batch becomes a file at its object
   * key under this folder (`ops redrive --from <folder>` reads it).
   */
  readonly failureDir?: string;
  readonly onDlq?: (entry: DlqEntry) => void;
  /** Delay before a failed batch is retried, by retries consumed so far. Default: none. */
  readonly retryDelayMs?: (retries: number) => number;
  /** See RetryPolicy.bisectConsumesRetry. Default false (Lambda's documented behaviour). */
  readonly bisectConsumesRetry?: boolean;
  /** After this many failed polls in a row, pending drain() calls reject. Default 20. */
  readonly maxConsecutivePollErrors?: number;
  readonly log?: EmulatorLog;
  readonly region?: string;
  readonly accountId?: string;
}

export interface DrainOptions {
  /** Reject when not drained after this long on the emulator's clock. Default: wait forever. */
  readonly timeoutMs?: number;
}

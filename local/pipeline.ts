/**
 * The whole pipeline on one machine: a table on DynamoDB Local, the three real handlers
 * behind the event-source-mapping emulator (with the stack's filters and settings), the
 * FIFO queue model in place of SQS, and the real Typesense indexer behind an SQS-to-Lambda
 * emulation, writing to the local Typesense stand-in (no Typesense server can run here) or
 * to a real Typesense given by URL and key. `npm start`, the chaos test and the benchmark
 * all run this same assembly.
 */
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { createMatcherHandler } from '../lambda/faa-matcher-sync/handler';
import { MATCHER_TUPLE_PK_PREFIX } from '../lambda/faa-matcher-sync/keys';
import { createImageHandler } from '../lambda/image-sync/handler';
import { DEFAULT_SK, IMAGE_PK_PREFIX } from '../lambda/image-sync/keys';
import type { SubsystemName } from '../lambda/subsystems';
import { createTypesenseHandler } from '../lambda/typesense-sync/handler';
import { DEFAULT_MAPPING_SETTINGS, type StreamMappingSettings } from '../lib/mapping-settings';
import { audit, type AuditResult } from '../ops/invariants';
import { exportIndex } from '../ops/typesense';
import { localClientConfig } from './dynamodb-local';
import { EsmEmulator, subsystemMappings, type DlqEntry, type EmulatorLog, type InvokeHook, type MappingConfig, type MappingCounters } from './esm-emulator';
import { prng } from './dataset';
import { kinesisHandler, LOCAL_KINESIS_STREAM_ARN } from './kinesis/kinesis-invoke';
import { KinesisStreamEmulation } from './kinesis/kinesis-stream';
import { findStreamArn, sdkStreamSource } from './stream-source';
import { LocalFifoQueue, type FifoQueueOptions } from './fifo-queue';
import { indexBatch, type IndexerOutcome } from '../lambda/typesense-indexer/handler';
import { typesenseClient, typesenseSearchPort } from '../lambda/typesense-indexer/search';
import type { Clock } from './clock';
import { SqsLambda, type SqsLambdaCounters } from './sqs-lambda';
import { startLocalTypesense, type LocalTypesense } from './typesense-server';
import type { Client as TypesenseClient } from 'typesense';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createTable, scanAll } from './table-io';
import type { Item } from '../lambda/shared/decode';
import { DEFAULT_INDEXER_RETRY } from '../lambda/typesense-indexer/retry';

export const LOCAL_QUEUE_URL = 'https://sqs.local/000000000000/search-actions.fifo';

/** Called around every DynamoDB request a handler makes; throwing fails the request (fault injection). */
export type DynamoHook = (call: { readonly subsystem: SubsystemName; readonly command: string; readonly input: unknown }) => void;

export interface PipelineOptions {
  readonly endpoint: string;
  readonly tableName: string;
  /** Create the table (default true). */
  readonly createTable?: boolean;
  readonly settings?: Partial<StreamMappingSettings>;
  /** Powertools log level of the handlers. Default WARN. */
  readonly logLevel?: string;
  readonly invoke?: InvokeHook;
  readonly queue?: Omit<FifoQueueOptions, 'queueUrl'>;
  readonly beforeDynamo?: DynamoHook;
  /** After the request took effect: throwing here loses the response, not the write. */
  readonly afterDynamo?: DynamoHook;
  readonly pollIntervalMs?: number;
  /** The Streams client the emulator reads with (default: one for `endpoint`); wrap it to inject GetRecords faults. */
  readonly streams?: Pick<DynamoDBStreamsClient, 'send'>;
  /** Failed batches go here as Lambda's S3 on-failure objects (what `ops redrive --from` reads). */
  readonly failureDir?: string;
  readonly onDlq?: (entry: DlqEntry) => void;
  readonly emulatorLog?: EmulatorLog;
  /** Sleep used by the handlers' own retry backoff (tests shorten it). */
  readonly sleep?: (ms: number) => Promise<void>;
  /** A real Typesense to index into; default: a local stand-in started with the pipeline. */
  readonly typesense?: { readonly url: string; readonly apiKey: string };
  /** Wraps every indexer invocation (fault injection): call `handler` zero or more times. */
  readonly indexerInvoke?: (event: SQSEvent, handler: (event: SQSEvent) => Promise<SQSBatchResponse>) => Promise<SQSBatchResponse | void>;
  /** The search queue's visibility timeout (default 200 ms locally: failed messages come back soon). */
  readonly queueVisibilityTimeoutMs?: number;
  /**
   * How changes reach the functions: `dynamodb-streams` (default) or `kinesis`, Kinesis Data
   * Streams for DynamoDB emulated over the table stream (local/kinesis: records spread over
   * shards, duplicates, microsecond change times), each function given Kinesis records.
   */
  readonly source?: 'dynamodb-streams' | 'kinesis';
  /** With the Kinesis source: virtual shards (default 4), the chance of a duplicate (default 0.05), the seed. */
  readonly kinesis?: { readonly shards?: number; readonly duplicateRate?: number; readonly seed?: number };
  /** More mappings on the same changes (the edge subsystems: domain events, audit trail). */
  readonly extraMappings?: readonly MappingConfig[];
}

/** The search queue's redrive policy, as the stack sets it. */
export const SEARCH_QUEUE_MAX_RECEIVE_COUNT = 5;

export interface PipelineReport {
  readonly counters: Record<string, MappingCounters>;
  readonly dynamoRequests: Record<string, Record<string, number>>;
  /** Triggers queued, and per collection what the indexer did (upserts, deletes of present documents). */
  readonly queue: { readonly sent: number; readonly duplicates: number; readonly byCollection: Record<string, { upsert: number; delete: number }> };
  /** The indexer's SQS event source: invocations, messages, failures; and the queue's dead letters. */
  readonly indexer?: SqsLambdaCounters & { readonly deadLettered: number };
  readonly index: Record<string, number>;
  readonly pointers: number;
  readonly tuples: number;
  readonly dlq: readonly DlqEntry[];
  readonly audit: AuditResult;
}

export class LocalPipeline {
  readonly client: DynamoDBClient;
  readonly doc: DynamoDBDocumentClient;
  readonly queue: LocalFifoQueue;
  /** The local Typesense stand-in (undefined when a real Typesense was given). */
  typesense?: LocalTypesense;
  private typesenseClient?: TypesenseClient;
  private indexer?: SqsLambda;
  readonly emulator: EsmEmulator;
  readonly tableName: string;
  /** DynamoDB requests per subsystem and command, as the handlers made them. */
  readonly dynamoRequests: Record<SubsystemName, Record<string, number>> = { 'typesense-sync': {}, 'image-sync': {}, 'faa-matcher-sync': {} };
  private readonly subsystemClients: DynamoDBClient[] = [];
  private readonly actions: Record<string, { upsert: number; delete: number }> = {};

  constructor(private readonly options: PipelineOptions) {
    this.tableName = options.tableName;
    const config = localClientConfig(options.endpoint);
    this.client = new DynamoDBClient(config);
    this.doc = DynamoDBDocumentClient.from(this.client, { marshallOptions: { removeUndefinedValues: true } });
    this.queue = new LocalFifoQueue({
      queueUrl: LOCAL_QUEUE_URL,
      deduplicationScope: 'messageGroup',
      visibilityTimeoutMs: options.queueVisibilityTimeoutMs ?? 200,
      maxReceiveCount: SEARCH_QUEUE_MAX_RECEIVE_COUNT,
      ...options.queue,
    });

    const logger = (name: SubsystemName) => new Logger({ serviceName: name, logLevel: (options.logLevel ?? 'WARN') as never });
    const handlers = {
      'typesense-sync': createTypesenseHandler({
        sqs: this.queue,
        queueUrl: LOCAL_QUEUE_URL,
        logger: logger('typesense-sync'),
        ...(options.sleep && { retry: { sleep: options.sleep } }),
      }),
      'image-sync': createImageHandler({ doc: this.subsystemDoc('image-sync'), tableName: this.tableName, logger: logger('image-sync') }),
      'faa-matcher-sync': createMatcherHandler({
        doc: this.subsystemDoc('faa-matcher-sync'),
        tableName: this.tableName,
        logger: logger('faa-matcher-sync'),
        ...(options.sleep && { sleep: options.sleep }),
      }),
    };
    const mappings = [...subsystemMappings(handlers), ...(options.extraMappings ?? [])];
    const kinesis = options.source === 'kinesis' ? this.kinesisEmulation() : undefined;
    const emulatorOptions = {
      tableName: this.tableName,
      // On Kinesis each function receives Kinesis records (the emulator and its fault hooks keep the stream shape).
      mappings: kinesis ? mappings.map((m) => ({ ...m, handler: kinesisHandler(m.handler as never, kinesis, this.tableName) })) : mappings,
      ...(options.settings && { settings: { ...DEFAULT_MAPPING_SETTINGS, ...options.settings } }),
      ...(options.invoke && { invoke: options.invoke }),
      ...(options.pollIntervalMs !== undefined && { pollIntervalMs: options.pollIntervalMs }),
      ...(options.failureDir && { failureDir: options.failureDir }),
      ...(options.onDlq && { onDlq: options.onDlq }),
      ...(options.emulatorLog && { log: options.emulatorLog }),
    };
    this.kinesis = kinesis;
    this.emulator = kinesis
      ? new EsmEmulator({ ...emulatorOptions, streams: kinesis, streamArn: LOCAL_KINESIS_STREAM_ARN })
      : options.streams
        ? new EsmEmulator({ ...emulatorOptions, streams: options.streams })
        : EsmEmulator.forEndpoint(options.endpoint, emulatorOptions);
  }

  /** With the Kinesis source: the emulated stream (its duplicates count). */
  readonly kinesis?: KinesisStreamEmulation;
  private ownedStreams?: DynamoDBStreamsClient;

  private kinesisEmulation(): KinesisStreamEmulation {
    const streams = this.options.streams ?? (this.ownedStreams = new DynamoDBStreamsClient(localClientConfig(this.options.endpoint)));
    let arn: Promise<string> | undefined;
    const k = this.options.kinesis ?? {};
    return new KinesisStreamEmulation(sdkStreamSource(streams), {
      shards: k.shards ?? 4,
      duplicateRate: k.duplicateRate ?? 0.05,
      random: prng(k.seed ?? 0x6b1),
      tableStreamArn: () => (arn ??= findStreamArn(streams, this.tableName)),
    });
  }

  /** Each subsystem gets its own client (as each Lambda has), instrumented to count and to inject faults. */
  private subsystemDoc(subsystem: SubsystemName): DynamoDBDocumentClient {
    return DynamoDBDocumentClient.from(this.countedClient(subsystem, this.dynamoRequests[subsystem]), { marshallOptions: { removeUndefinedValues: true } });
  }

  private countedClient(subsystem: SubsystemName | undefined, counts: Record<string, number>): DynamoDBClient {
    const client = new DynamoDBClient(localClientConfig(this.options.endpoint));
    this.subsystemClients.push(client);
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const command = String(context.commandName ?? 'unknown').replace(/Command$/, '');
        if (subsystem) this.options.beforeDynamo?.({ subsystem, command, input: args.input });
        const result = await next(args);
        counts[command] = (counts[command] ?? 0) + 1;
        if (subsystem) this.options.afterDynamo?.({ subsystem, command, input: args.input });
        return result;
      },
      { step: 'initialize', name: 'localPipelineHooks' },
    );
    return client;
  }

  /** DynamoDB requests of the indexer (BatchGetItem), by command. */
  readonly indexerDynamoRequests: Record<string, number> = {};

  /** Starts the local Typesense stand-in (unless one was given) and wires the real indexer behind the SQS event source emulation. */
  private async startIndexer(): Promise<void> {
    const target = this.options.typesense ?? (this.typesense = await startLocalTypesense());
    this.typesenseClient = typesenseClient([target.url], target.apiKey);
    const logger = new Logger({ serviceName: 'typesense-indexer', logLevel: (this.options.logLevel ?? 'WARN') as never });
    const retry = this.options.sleep ? { sleep: this.options.sleep } : {};
    const deps = {
      ddb: this.countedClient(undefined, this.indexerDynamoRequests),
      tableName: this.tableName,
      search: typesenseSearchPort(this.typesenseClient, { ...DEFAULT_INDEXER_RETRY, ...retry }, logger),
      logger,
      retry,
    };
    this.indexer = new SqsLambda({
      queue: this.queue,
      // The event source waits on the queue's clock (a FakeClock in tests, so no real waits).
      ...(isClock(this.options.queue?.clock) && { clock: this.options.queue.clock }),
      handler: async (event) => {
        const handler = async (e: SQSEvent) => {
          const outcome: IndexerOutcome = await indexBatch(deps, e.Records);
          for (const [collection, c] of Object.entries(outcome.byCollection)) {
            const counts = (this.actions[collection] ??= { upsert: 0, delete: 0 });
            counts.upsert += c.upserted;
            counts.delete += c.deleted;
          }
          return outcome.response;
        };
        return this.options.indexerInvoke ? this.options.indexerInvoke(event, handler) : handler(event);
      },
    });
  }

  async start(): Promise<void> {
    if (this.options.createTable !== false) {
      await createTable(this.client, this.tableName);
    }
    await this.startIndexer();
    await this.emulator.start();
  }

  /** Runs the indexer until the search queue is empty (failed messages come back after the visibility timeout). Returns messages processed. */
  async consumeQueue(): Promise<number> {
    if (!this.indexer) throw new Error('LocalPipeline: start() first');
    const before = this.indexer.counters().deleted;
    await this.indexer.drain();
    return this.indexer.counters().deleted - before;
  }

  /** Waits until every mapping caught up with the stream, then lets the indexer empty the search queue. */
  async drain(timeoutMs?: number): Promise<void> {
    await this.emulator.drain(timeoutMs === undefined ? {} : { timeoutMs });
    await this.consumeQueue();
  }

  /** The index as the audit sees it: every collection exported through the Typesense API. */
  async snapshotIndex(): Promise<Map<string, Map<string, unknown>>> {
    if (!this.typesenseClient) throw new Error('LocalPipeline: start() first');
    return exportIndex(this.typesenseClient);
  }

  async rows(): Promise<Item[]> {
    return scanAll(this.client, this.tableName);
  }

  async report(): Promise<PipelineReport> {
    const rows = await this.rows();
    const queue = this.queue.stats();
    const index = await this.snapshotIndex();
    return {
      counters: this.emulator.counters(),
      dynamoRequests: this.dynamoRequests,
      queue: { sent: queue.sent, duplicates: queue.duplicates, byCollection: this.actions },
      ...(this.indexer && { indexer: { ...this.indexer.counters(), deadLettered: queue.deadLettered } }),
      index: Object.fromEntries([...index].map(([c, docs]) => [c, docs.size])),
      pointers: rows.filter((r) => String(r.PK).startsWith(IMAGE_PK_PREFIX) && r.SK === DEFAULT_SK).length,
      tuples: rows.filter((r) => String(r.PK).startsWith(MATCHER_TUPLE_PK_PREFIX)).length,
      dlq: this.emulator.dlq(),
      audit: audit(rows, index),
    };
  }

  /** Stops the emulator and closes the clients; `dropTable` also deletes the table (DynamoDB Local slows as tables pile up). */
  async stop(options: { dropTable?: boolean } = {}): Promise<void> {
    await this.emulator.stop();
    this.ownedStreams?.destroy();
    if (options.dropTable) await this.client.send(new DeleteTableCommand({ TableName: this.tableName }));
    for (const c of this.subsystemClients) c.destroy();
    this.client.destroy();
    await this.typesense?.stop();
  }
}

const isClock = (c: unknown): c is Clock => typeof (c as Clock | undefined)?.sleep === 'function';

/** The index as the I1 audit reads it, through the Typesense API (shared with `ops audit`). */
export { exportIndex };

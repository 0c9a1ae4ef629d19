/**
 * The whole pipeline on one machine: a table on DynamoDB Local, the three real handlers
 * behind the event-source-mapping emulator (with the stack's filters and settings), the
 * FIFO queue model in place of SQS, and a search index fed from it. `npm start`, the
 * chaos test and the benchmark all run this same assembly.
 */
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { createMatcherHandler } from '../lambda/faa-matcher-sync/handler';
import { MATCHER_TUPLE_PK_PREFIX } from '../lambda/faa-matcher-sync/keys';
import { createImageHandler } from '../lambda/image-sync/handler';
import { DEFAULT_SK, IMAGE_PK_PREFIX } from '../lambda/image-sync/keys';
import type { SubsystemName } from '../lambda/subsystems';
import { createTypesenseHandler } from '../lambda/typesense-sync/handler';
import { COLLECTION_SCHEMAS } from '../lambda/typesense-sync/specs';
import { DEFAULT_MAPPING_SETTINGS, type StreamMappingSettings } from '../lib/mapping-settings';
import { audit, type AuditResult } from './audit';
import { localClientConfig } from './dynamodb-local';
import { EsmEmulator, subsystemMappings, type DlqEntry, type EmulatorLog, type InvokeHook, type MappingCounters } from './esm-emulator';
import { LocalFifoQueue, type FifoQueueOptions } from './fifo-queue';
import { consumeIntoIndex, LocalSearchIndex } from './search-index';
import { createTable, scanAll } from './table-io';
import type { Item } from '../lambda/shared/decode';

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
  readonly dlqFile?: string;
  readonly onDlq?: (entry: DlqEntry) => void;
  readonly emulatorLog?: EmulatorLog;
  /** Sleep used by the handlers' own retry backoff (tests shorten it). */
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface PipelineReport {
  readonly counters: Record<string, MappingCounters>;
  readonly dynamoRequests: Record<string, Record<string, number>>;
  readonly queue: { readonly sent: number; readonly duplicates: number; readonly byCollection: Record<string, { upsert: number; delete: number }> };
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
  readonly index: LocalSearchIndex;
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
    this.queue = new LocalFifoQueue({ queueUrl: LOCAL_QUEUE_URL, deduplicationScope: 'messageGroup', ...options.queue });
    this.index = new LocalSearchIndex({ collections: COLLECTION_SCHEMAS.map((s) => s.name) });

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
    const emulatorOptions = {
      tableName: this.tableName,
      mappings: subsystemMappings(handlers),
      ...(options.settings && { settings: { ...DEFAULT_MAPPING_SETTINGS, ...options.settings } }),
      ...(options.invoke && { invoke: options.invoke }),
      ...(options.pollIntervalMs !== undefined && { pollIntervalMs: options.pollIntervalMs }),
      ...(options.dlqFile && { dlqFile: options.dlqFile }),
      ...(options.onDlq && { onDlq: options.onDlq }),
      ...(options.emulatorLog && { log: options.emulatorLog }),
    };
    this.emulator = options.streams
      ? new EsmEmulator({ ...emulatorOptions, streams: options.streams })
      : EsmEmulator.forEndpoint(options.endpoint, emulatorOptions);
  }

  /** Each subsystem gets its own client (as each Lambda has), instrumented to count and to inject faults. */
  private subsystemDoc(subsystem: SubsystemName): DynamoDBDocumentClient {
    const client = new DynamoDBClient(localClientConfig(this.options.endpoint));
    this.subsystemClients.push(client);
    const counts = this.dynamoRequests[subsystem];
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const command = String(context.commandName ?? 'unknown').replace(/Command$/, '');
        this.options.beforeDynamo?.({ subsystem, command, input: args.input });
        const result = await next(args);
        counts[command] = (counts[command] ?? 0) + 1;
        this.options.afterDynamo?.({ subsystem, command, input: args.input });
        return result;
      },
      { step: 'initialize', name: 'localPipelineHooks' },
    );
    return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  async start(): Promise<void> {
    if (this.options.createTable !== false) {
      await createTable(this.client, this.tableName);
    }
    await this.emulator.start();
  }

  /** Applies every receivable queue message to the index, counting actions by collection. */
  async consumeQueue(): Promise<number> {
    const before = this.index.stats();
    const applied = await consumeIntoIndex(this.queue, this.index);
    const after = this.index.stats();
    for (const [collection, stats] of Object.entries(after)) {
      const prev = before[collection];
      const counts = (this.actions[collection] ??= { upsert: 0, delete: 0 });
      counts.upsert += stats.upserts - (prev?.upserts ?? 0);
      counts.delete += stats.deletes - (prev?.deletes ?? 0);
    }
    return applied;
  }

  /** Waits until every mapping caught up with the stream, then empties the queue into the index. */
  async drain(timeoutMs?: number): Promise<void> {
    await this.emulator.drain(timeoutMs === undefined ? {} : { timeoutMs });
    await this.consumeQueue();
  }

  snapshotIndex(): Map<string, Map<string, unknown>> {
    return new Map(this.index.collections().map((c) => [c, this.index.documents(c) as Map<string, unknown>]));
  }

  async rows(): Promise<Item[]> {
    return scanAll(this.client, this.tableName);
  }

  async report(): Promise<PipelineReport> {
    const rows = await this.rows();
    const queue = this.queue.stats();
    return {
      counters: this.emulator.counters(),
      dynamoRequests: this.dynamoRequests,
      queue: { sent: queue.sent, duplicates: queue.duplicates, byCollection: this.actions },
      index: Object.fromEntries(this.index.collections().map((c) => [c, this.index.size(c)])),
      pointers: rows.filter((r) => String(r.PK).startsWith(IMAGE_PK_PREFIX) && r.SK === DEFAULT_SK).length,
      tuples: rows.filter((r) => String(r.PK).startsWith(MATCHER_TUPLE_PK_PREFIX)).length,
      dlq: this.emulator.dlq(),
      audit: audit(rows, this.snapshotIndex()),
    };
  }

  /** Stops the emulator and closes the clients; `dropTable` also deletes the table (DynamoDB Local slows as tables pile up). */
  async stop(options: { dropTable?: boolean } = {}): Promise<void> {
    await this.emulator.stop();
    if (options.dropTable) await this.client.send(new DeleteTableCommand({ TableName: this.tableName }));
    for (const c of this.subsystemClients) c.destroy();
    this.client.destroy();
  }
}

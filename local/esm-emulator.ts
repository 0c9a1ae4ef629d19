/**
 * Local event-source-mapping emulator: reads a table's stream (DynamoDB Local or any Streams
 * endpoint) and runs one independent mapping per subsystem with Lambda's semantics (see
 * esm-batch.ts for the rules themselves): filter criteria, batch size and window, in-order
 * delivery per shard, partial batch responses, bisect on error, retry limit, record age and
 * an on-failure destination (local DLQ).
 *
 * One reader serves every mapping: it reads each shard once (TRIM_HORIZON, children only
 * after their parent is exhausted) into a log, and each mapping keeps its own cursor,
 * queue and retry state per shard. In AWS each mapping polls the shard itself; sharing the
 * read changes nothing a handler can observe and keeps DynamoDB Local's load flat.
 *
 * The loop works in rounds: poll the stream, then let every mapping deliver what it can
 * (mappings and shards in parallel, one batch at a time per mapping and shard). A handler
 * that hangs therefore stalls the round; the real service would only stall that shard.
 */
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { Context, DynamoDBStreamEvent } from 'aws-lambda';
import { createHash, randomUUID } from 'node:crypto';
import { appendFileSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { matchesAnyFilter } from '../lambda/shared/key-rules';
import { filterPatterns, type SubsystemName } from '../lambda/subsystems';
import { DEFAULT_MAPPING_SETTINGS, type StreamMappingSettings } from '../lib/mapping-settings';
import { systemClock, type Clock } from './clock';
import { localClientConfig } from './dynamodb-local';
import {
  expiredPrefix,
  interpretResponse,
  nextStep,
  onFailureRecord,
  s3FailureObject,
  takeBatch,
  type FailureCondition,
  type InvokeOutcome,
  type OnFailureRecord,
  type PendingBatch,
  type S3FailureObject,
  type StreamItem,
} from './esm-batch';
import { compareSequenceNumbers } from '../ops/sequence-number';
import { creationTimeMs, findStreamArn, sdkStreamSource, toLambdaRecord, type StreamSource } from './stream-source';

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

interface ShardLog {
  readonly shardId: string;
  readonly parentShardId?: string;
  /** Absolute index of items[0]; items below it were consumed by every mapping and dropped. */
  base: number;
  items: StreamItem[];
  iterator?: string;
  lastSequenceNumber?: string;
  /** Closed and read to the end: no record will ever follow. */
  exhausted: boolean;
}

const shardEnd = (shard: ShardLog) => shard.base + shard.items.length;

interface Cursor {
  /** Absolute index of the next record to run through the filter. */
  scanned: number;
  /** Matched records not yet in a batch. */
  queue: StreamItem[];
  /** The batch in progress; after a bisect, its halves (front first). */
  pending: PendingBatch[];
  /** Pending batch may not be retried before this time. */
  notBefore: number;
  /** Last sequence number committed or discarded (reporting only). */
  checkpoint?: string;
}

const emptyCounters = (): MappingCounters => ({
  read: 0,
  filtered: 0,
  matched: 0,
  delivered: 0,
  committed: 0,
  invocations: 0,
  functionErrors: 0,
  partialFailures: 0,
  invalidResponses: 0,
  retries: 0,
  bisects: 0,
  dlqBatches: 0,
  dlqRecords: 0,
});

const toError = (error: unknown): Error => (error instanceof Error ? error : new Error(String(error)));

const defaultLog: EmulatorLog = (level, message, fields) => {
  if (level === 'warn' || level === 'error') console.error(`[esm] ${level}: ${message}`, fields ? JSON.stringify(fields) : '');
};

function isStreamSource(x: EsmEmulatorOptions['streams']): x is StreamSource {
  return typeof (x as StreamSource).describeShards === 'function';
}

class Mapping {
  readonly counters = emptyCounters();
  readonly cursors = new Map<string, Cursor>();

  constructor(
    readonly config: MappingConfig,
    readonly settings: StreamMappingSettings,
    readonly functionArn: string,
  ) {}

  cursor(shardId: string): Cursor {
    let c = this.cursors.get(shardId);
    if (!c) {
      c = { scanned: 0, queue: [], pending: [], notBefore: 0 };
      this.cursors.set(shardId, c);
    }
    return c;
  }

  /** Every record of the shard read so far went through this mapping (delivered, filtered or discarded). */
  caughtUp(shard: ShardLog): boolean {
    const c = this.cursor(shard.shardId);
    return c.scanned === shardEnd(shard) && c.queue.length === 0 && c.pending.length === 0;
  }
}

export class EsmEmulator {
  private readonly source: StreamSource;
  private ownedClient?: DynamoDBStreamsClient;
  private readonly clock: Clock;
  private readonly log: EmulatorLog;
  private readonly mappings: Mapping[];
  private readonly shards = new Map<string, ShardLog>();
  private readonly dlqEntries: DlqEntry[] = [];
  private streamArn?: string;
  private running = false;
  private loop?: Promise<void>;
  private wakeUp = new AbortController();
  private iteration = 0;
  private consecutivePollErrors = 0;
  private lastPollError?: Error;
  private fatal?: Error;
  private waiters: { after: number; deadline: number; resolve: () => void; reject: (e: Error) => void }[] = [];

  constructor(private readonly options: EsmEmulatorOptions) {
    if (options.mappings.length === 0) throw new Error('EsmEmulator: no mappings');
    const names = options.mappings.map((m) => m.name);
    if (new Set(names).size !== names.length) throw new Error(`EsmEmulator: duplicate mapping names in ${names.join(', ')}`);
    if (!options.streamArn && !options.tableName) throw new Error('EsmEmulator: give streamArn or tableName');
    this.source = isStreamSource(options.streams) ? options.streams : sdkStreamSource(options.streams);
    this.clock = options.clock ?? systemClock;
    this.log = options.log ?? defaultLog;
    const region = options.region ?? 'us-east-1';
    const account = options.accountId ?? '000000000000';
    this.mappings = options.mappings.map((config) => {
      const settings = { ...(options.settings ?? DEFAULT_MAPPING_SETTINGS), ...config.settings };
      if (settings.startingPosition !== 'TRIM_HORIZON') {
        throw new Error(`EsmEmulator: mapping ${config.name}: only TRIM_HORIZON is emulated (got ${settings.startingPosition})`);
      }
      if (!(settings.batchSize >= 1)) throw new Error(`EsmEmulator: mapping ${config.name}: batchSize must be >= 1`);
      return new Mapping(config, settings, `arn:aws:lambda:${region}:${account}:function:${config.name}`);
    });
  }

  /** An emulator over DynamoDB Local at `endpoint` (it owns, and on stop destroys, its Streams client). */
  static forEndpoint(endpoint: string, options: Omit<EsmEmulatorOptions, 'streams'>): EsmEmulator {
    const client = new DynamoDBStreamsClient(localClientConfig(endpoint));
    const emulator = new EsmEmulator({ ...options, streams: client });
    emulator.ownedClient = client;
    return emulator;
  }

  async start(): Promise<void> {
    if (this.running || this.loop) throw new Error('EsmEmulator: already started');
    if (!this.options.streamArn) {
      const streams = this.options.streams;
      if (isStreamSource(streams)) throw new Error('EsmEmulator: tableName needs an SDK Streams client (or pass streamArn)');
      this.streamArn = await findStreamArn(streams, this.options.tableName!);
    } else {
      this.streamArn = this.options.streamArn;
    }
    this.running = true;
    this.loop = this.run();
  }

  /** Stops polling, waits for the invocation in flight, rejects pending drains. Safe to call twice. */
  async stop(): Promise<void> {
    this.running = false;
    this.wakeUp.abort();
    await this.loop;
    this.rejectWaiters(new Error('EsmEmulator stopped before the stream was drained'));
    this.ownedClient?.destroy();
  }

  /**
   * Resolves once every mapping has caught up with the end of the stream, as seen by a poll
   * that started after this call, with nothing queued, in flight or waiting to be retried;
   * records written by handlers meanwhile are part of the stream too, so they get drained.
   */
  drain(options: DrainOptions = {}): Promise<void> {
    if (this.fatal) return Promise.reject(this.fatal);
    if (!this.running) return Promise.reject(new Error('EsmEmulator is not running'));
    return new Promise<void>((resolve, reject) => {
      const deadline = options.timeoutMs === undefined ? Number.POSITIVE_INFINITY : this.clock.now() + options.timeoutMs;
      this.waiters.push({ after: this.iteration, deadline, resolve, reject });
      this.wakeUp.abort(); // cut the idle pause short
    });
  }

  /** Counters per mapping (copies). */
  counters(): Record<string, MappingCounters> {
    return Object.fromEntries(this.mappings.map((m) => [m.config.name, { ...m.counters }]));
  }

  /** DLQ entries so far, optionally for one mapping. */
  dlq(subsystem?: string): DlqEntry[] {
    return this.dlqEntries.filter((e) => subsystem === undefined || e.subsystem === subsystem);
  }

  /** True when the record (shard, sequence number) lies in a batch a mapping sent to its DLQ. */
  isInDlq(subsystem: string, shardId: string, sequenceNumber: string): boolean {
    return this.dlq(subsystem).some(({ body: { DDBStreamBatchInfo: b } }) =>
      b.shardId === shardId &&
      compareSequenceNumbers(b.startSequenceNumber, sequenceNumber) <= 0 &&
      compareSequenceNumbers(sequenceNumber, b.endSequenceNumber) <= 0,
    );
  }

  /** Where each mapping stands per shard (for logs and debugging). */
  status() {
    return {
      streamArn: this.streamArn,
      iteration: this.iteration,
      lastPollError: this.lastPollError?.message,
      shards: [...this.shards.values()].map((s) => ({ shardId: s.shardId, parentShardId: s.parentShardId, read: shardEnd(s), exhausted: s.exhausted })),
      mappings: Object.fromEntries(
        this.mappings.map((m) => [
          m.config.name,
          [...m.cursors.entries()].map(([shardId, c]) => ({
            shardId,
            scanned: c.scanned,
            queued: c.queue.length,
            pendingRecords: c.pending.reduce((n, b) => n + b.items.length, 0),
            checkpoint: c.checkpoint,
          })),
        ]),
      ),
    };
  }

  // ---- the loop --------------------------------------------------------------------

  private async run(): Promise<void> {
    try {
      while (this.running) {
        const iteration = ++this.iteration;
        const wasIdle = this.allCaughtUp();
        const { fresh, ok } = await this.poll();
        const worked = await this.pumpAll();
        this.trimLogs();
        // Quiet: nothing was pending, and a successful poll that started after that found nothing new.
        const quiet = wasIdle && ok && fresh === 0 && !worked;
        this.settleWaiters(iteration, quiet);
        // After a failed poll, pause too: a stream that is down must not be hammered.
        if (((fresh === 0 && !worked) || !ok) && this.running) await this.idle(!ok);
      }
    } catch (error) {
      // A bug in the emulator itself (handler errors never get here): stop loudly.
      this.fatal = toError(error);
      this.running = false;
      this.log('error', 'emulator stopped on an internal error', { error: this.fatal.stack });
      this.rejectWaiters(this.fatal);
    }
  }

  private async idle(fullPause = false): Promise<void> {
    if (this.wakeUp.signal.aborted) this.wakeUp = new AbortController();
    const interval = this.options.pollIntervalMs ?? 250;
    if (fullPause) return this.clock.sleep(interval, this.wakeUp.signal);
    // A drain() that arrived during this round wants the next round now, not after a pause.
    if (this.waiters.some((w) => w.after >= this.iteration)) return;
    const pause = Math.min(interval, Math.max(0, this.nextDueAt() - this.clock.now()));
    await this.clock.sleep(pause, this.wakeUp.signal);
  }

  /** The earliest time a waiting batch becomes due (its batching window ends, or its retry delay). */
  private nextDueAt(): number {
    let due = Number.POSITIVE_INFINITY;
    for (const m of this.mappings) {
      const windowMs = m.settings.maxBatchingWindowSeconds * 1000;
      for (const c of m.cursors.values()) {
        if (c.pending.length > 0) due = Math.min(due, c.notBefore);
        else if (c.queue.length > 0) due = Math.min(due, c.queue[0]!.readAtMs + windowMs);
      }
    }
    return due;
  }

  private settleWaiters(iteration: number, quiet: boolean): void {
    const now = this.clock.now();
    const limit = this.options.maxConsecutivePollErrors ?? 20;
    this.waiters = this.waiters.filter((w) => {
      if (quiet && iteration > w.after) return w.resolve(), false;
      if (now > w.deadline) {
        return w.reject(new Error(`EsmEmulator: not drained in time; status ${JSON.stringify(this.status())}`)), false;
      }
      if (this.consecutivePollErrors >= limit) {
        return w.reject(new Error(`EsmEmulator: stream polling keeps failing: ${this.lastPollError?.message}`)), false;
      }
      return true;
    });
  }

  private rejectWaiters(error: Error): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.reject(error);
  }

  private allCaughtUp(): boolean {
    return this.mappings.every((m) => [...this.shards.values()].every((s) => m.caughtUp(s)));
  }

  // ---- reading the stream ----------------------------------------------------------

  /** One pass over the stream: new shards, then new records of every readable shard. */
  private async poll(): Promise<{ fresh: number; ok: boolean }> {
    let fresh = 0;
    try {
      for (const info of await this.source.describeShards(this.streamArn!)) {
        if (!this.shards.has(info.shardId)) {
          this.shards.set(info.shardId, { shardId: info.shardId, parentShardId: info.parentShardId, base: 0, items: [], exhausted: false });
          this.log('debug', 'new shard', { shardId: info.shardId, parentShardId: info.parentShardId });
        }
      }
      for (const shard of this.shards.values()) {
        if (shard.exhausted || !this.parentExhausted(shard)) continue;
        fresh += await this.readShard(shard);
      }
      this.consecutivePollErrors = 0;
      return { fresh, ok: true };
    } catch (error) {
      this.consecutivePollErrors += 1;
      this.lastPollError = toError(error);
      this.log('warn', 'stream poll failed; retrying', { error: this.lastPollError.message, consecutive: this.consecutivePollErrors });
      // Never a quiet round: a failed poll proves nothing about the end of the stream.
      return { fresh, ok: false };
    }
  }

  /** A child shard is read only after its parent is exhausted (a parent no longer listed has expired). */
  private parentExhausted(shard: ShardLog): boolean {
    const parent = shard.parentShardId ? this.shards.get(shard.parentShardId) : undefined;
    return !parent || parent.exhausted;
  }

  private async readShard(shard: ShardLog): Promise<number> {
    const limit = this.options.getRecordsLimit ?? 1000;
    let fresh = 0;
    // A few pages per round so a backlog is read quickly, without starving the mappings.
    for (let page = 0; page < 10; page++) {
      if (!shard.iterator) {
        shard.iterator = await this.source.getShardIterator(
          this.streamArn!,
          shard.shardId,
          shard.lastSequenceNumber ? { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: shard.lastSequenceNumber } : { type: 'TRIM_HORIZON' },
        );
        if (!shard.iterator) throw new Error(`no iterator for shard ${shard.shardId}`);
      }
      let result;
      try {
        result = await this.source.getRecords(shard.iterator, limit);
      } catch (error) {
        const name = (error as { name?: string }).name;
        if (name === 'ExpiredIteratorException') {
          shard.iterator = undefined; // re-acquired after the last record read
          continue;
        }
        if (name === 'TrimmedDataAccessException' || name === 'ResourceNotFoundException') {
          // Past the 24 h retention: what we missed is gone, as it would be for Lambda.
          this.log('warn', 'shard data expired; skipping what is no longer in the stream', { shardId: shard.shardId, error: name });
          shard.iterator = undefined;
          if (name === 'ResourceNotFoundException') shard.exhausted = true;
          return fresh;
        }
        throw error;
      }
      const now = this.clock.now();
      for (const record of result.records) {
        const sequenceNumber = record.dynamodb?.SequenceNumber;
        if (!sequenceNumber) throw new Error(`stream record without SequenceNumber in shard ${shard.shardId}`);
        const lambdaRecord = toLambdaRecord(record, this.streamArn!);
        const createdAtMs = creationTimeMs(record);
        shard.items.push({
          shardId: shard.shardId,
          sequenceNumber,
          record: lambdaRecord,
          ...(createdAtMs !== undefined && { createdAtMs }),
          readAtMs: now,
          payloadBytes: Buffer.byteLength(JSON.stringify(lambdaRecord)),
        });
        shard.lastSequenceNumber = sequenceNumber;
      }
      fresh += result.records.length;
      shard.iterator = result.nextIterator;
      if (!result.nextIterator) {
        shard.exhausted = true;
        this.log('debug', 'shard exhausted', { shardId: shard.shardId });
        break;
      }
      if (result.records.length < limit) break;
    }
    return fresh;
  }

  /** Drops records every mapping has moved past. */
  private trimLogs(): void {
    for (const shard of this.shards.values()) {
      const low = Math.min(...this.mappings.map((m) => m.cursor(shard.shardId).scanned));
      if (low > shard.base) {
        shard.items = shard.items.slice(low - shard.base);
        shard.base = low;
      }
    }
  }

  // ---- delivering ------------------------------------------------------------------

  private async pumpAll(): Promise<boolean> {
    const results = await Promise.all(
      this.mappings.flatMap((m) =>
        [...this.shards.values()].filter((s) => this.deliverable(m, s)).map((s) => this.pump(m, s)),
      ),
    );
    return results.some(Boolean);
  }

  /** A mapping works on a child shard only once it has finished the parent (order per key across a split). */
  private deliverable(mapping: Mapping, shard: ShardLog): boolean {
    const parent = shard.parentShardId ? this.shards.get(shard.parentShardId) : undefined;
    return !parent || (parent.exhausted && mapping.caughtUp(parent));
  }

  /** Filters newly read records and delivers batches until the shard waits (window, retry delay) or is empty. */
  private async pump(mapping: Mapping, shard: ShardLog): Promise<boolean> {
    const cursor = mapping.cursor(shard.shardId);
    const { counters, settings } = mapping;
    let progressed = false;

    while (cursor.scanned < shardEnd(shard)) {
      const item = shard.items[cursor.scanned - shard.base]!;
      cursor.scanned += 1;
      counters.read += 1;
      progressed = true;
      if (matchesAnyFilter(mapping.config.filterPatterns, item.record) || mapping.config.filterPatterns.length === 0) {
        counters.matched += 1;
        cursor.queue.push(item);
      } else {
        counters.filtered += 1;
        if (cursor.queue.length === 0 && cursor.pending.length === 0) cursor.checkpoint = item.sequenceNumber;
      }
    }

    while (this.running) {
      const now = this.clock.now();
      if (cursor.pending.length === 0) {
        const count = takeBatch(cursor.queue, {
          batchSize: settings.batchSize,
          batchingWindowMs: settings.maxBatchingWindowSeconds * 1000,
          nowMs: now,
          shardExhausted: shard.exhausted,
        });
        if (count === 0) break;
        cursor.pending.push({ items: cursor.queue.splice(0, count), retries: 0, invokeCount: 0 });
      }
      if (now < cursor.notBefore) break;
      const batch = cursor.pending[0]!;
      progressed = true;

      const expired = expiredPrefix(batch.items, now, settings.maxRecordAgeSeconds);
      if (expired > 0) {
        this.discard(mapping, { ...batch, items: batch.items.slice(0, expired) }, 'RecordAgeExceeded');
        const rest = batch.items.slice(expired);
        if (rest.length > 0) cursor.pending[0] = { ...batch, items: rest };
        else cursor.pending.shift();
        cursor.checkpoint = batch.items[expired - 1]!.sequenceNumber;
        continue;
      }

      const invoked: PendingBatch = { ...batch, invokeCount: batch.invokeCount + 1 };
      const outcome = await this.invoke(mapping, shard.shardId, invoked);
      const step = nextStep(invoked, outcome, {
        retryAttempts: settings.retryAttempts,
        bisectBatchOnError: settings.bisectBatchOnError,
        bisectConsumesRetry: this.options.bisectConsumesRetry ?? false,
      });
      const commit = (count: number) => {
        counters.committed += count;
        if (count > 0) cursor.checkpoint = invoked.items[count - 1]!.sequenceNumber;
      };
      switch (step.kind) {
        case 'commit':
          commit(step.count);
          cursor.pending.shift();
          break;
        case 'retry':
          commit(step.commit);
          counters.retries += 1;
          cursor.pending[0] = step.batch;
          cursor.notBefore = now + (this.options.retryDelayMs?.(step.batch.retries) ?? 0);
          // The retry waits for the next round, as Lambda's goes back through its poller: this
          // keeps drain deadlines and stop() responsive under endless retries.
          return progressed;
        case 'bisect':
          counters.bisects += 1;
          if (this.options.bisectConsumesRetry) counters.retries += 1;
          cursor.pending.splice(0, 1, ...step.halves);
          break;
        case 'discard':
          commit(step.commit);
          this.discard(mapping, step.batch, 'RetryAttemptsExhausted');
          cursor.checkpoint = invoked.items[invoked.items.length - 1]!.sequenceNumber;
          cursor.pending.shift();
          break;
      }
    }
    return progressed;
  }

  private async invoke(mapping: Mapping, shardId: string, batch: PendingBatch): Promise<InvokeOutcome> {
    const { counters, config } = mapping;
    const requestId = randomUUID();
    const call: InvocationCall = {
      subsystem: config.name,
      shardId,
      event: { Records: batch.items.map((i) => structuredClone(i.record)) },
      context: this.lambdaContext(mapping, requestId),
      attempt: batch.invokeCount,
      retries: batch.retries,
      handler: config.handler,
    };
    counters.invocations += 1;
    counters.delivered += batch.items.length;
    let outcome: InvokeOutcome;
    try {
      const invoke = this.options.invoke ?? ((c: InvocationCall) => c.handler(c.event, c.context));
      const response = await invoke(call);
      outcome = interpretResponse(
        batch.items.map((i) => i.sequenceNumber),
        response,
      );
    } catch (error) {
      outcome = { kind: 'failure', error: toError(error), functionError: 'Unhandled' };
    }
    if (outcome.kind === 'partial') counters.partialFailures += 1;
    if (outcome.kind === 'failure') {
      if (outcome.functionError) counters.functionErrors += 1;
      else counters.invalidResponses += 1;
      this.log('warn', 'invocation failed', {
        subsystem: config.name,
        shardId,
        records: batch.items.length,
        attempt: batch.invokeCount,
        error: outcome.error.message,
      });
    }
    return outcome;
  }

  private discard(mapping: Mapping, batch: PendingBatch, condition: FailureCondition): void {
    const nowMs = this.clock.now();
    const body = onFailureRecord({
      batch,
      condition,
      functionArn: mapping.functionArn,
      streamArn: this.streamArn!,
      requestId: randomUUID(),
      nowMs,
    });
    const failureObject = s3FailureObject({ record: body, items: batch.items, mappingUuid: mappingUuid(this.streamArn!, mapping.config.name), nowMs, randomId: randomUUID() });
    const last = batch.lastOutcome;
    const entry: DlqEntry = {
      subsystem: mapping.config.name,
      body,
      ...(last?.kind === 'failure' && { lastError: { name: last.error.name, message: last.error.message } }),
      ...(last?.kind === 'partial' && { lastError: { name: 'BatchItemFailure', message: 'the handler reported this record as failed' } }),
      failureObject,
    };
    if (this.options.failureDir) writeFailureObject(this.options.failureDir, failureObject);
    mapping.counters.dlqBatches += 1;
    mapping.counters.dlqRecords += batch.items.length;
    this.dlqEntries.push(entry);
    if (this.options.dlqFile) {
      mkdirSync(dirname(this.options.dlqFile), { recursive: true });
      appendFileSync(this.options.dlqFile, `${JSON.stringify(entry)}\n`);
    }
    this.log('error', 'batch sent to the on-failure destination', {
      subsystem: entry.subsystem,
      condition,
      ...body.DDBStreamBatchInfo,
      lastError: entry.lastError?.message,
    });
    this.options.onDlq?.(entry);
  }

  private lambdaContext(mapping: Mapping, requestId: string): Context {
    const name = mapping.config.name;
    const deadline = this.clock.now() + 60_000;
    const noop = () => undefined;
    return {
      callbackWaitsForEmptyEventLoop: true,
      functionName: name,
      functionVersion: '$LATEST',
      invokedFunctionArn: mapping.functionArn,
      memoryLimitInMB: '1024',
      awsRequestId: requestId,
      logGroupName: `/aws/lambda/${name}`,
      logStreamName: `local/[$LATEST]${requestId.replace(/-/g, '')}`,
      getRemainingTimeInMillis: () => Math.max(0, deadline - this.clock.now()),
      done: noop,
      fail: noop,
      succeed: noop,
    };
  }
}

/** A mapping's UUID, stable for a stream and a function (Lambda's is random per mapping; only the key layout matters here). */
function mappingUuid(streamArn: string, name: string): string {
  const h = createHash('sha256').update(`${streamArn}\n${name}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Writes an on-failure object under `dir` at its S3 key, atomically (a reader never sees half a file). */
export function writeFailureObject(dir: string, object: S3FailureObject): string {
  const path = join(dir, ...object.key.split('/'));
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(`${path}.tmp`, JSON.stringify(object.body));
  renameSync(`${path}.tmp`, path);
  return path;
}

/**
 * The production wiring: one mapping per given subsystem, with the filter patterns the CDK
 * stack synthesises (`filterPatterns(name)`), so local runs deliver exactly what AWS would.
 */
export function subsystemMappings(
  handlers: Partial<Record<SubsystemName, StreamHandler>>,
  settings?: Partial<StreamMappingSettings>,
): MappingConfig[] {
  return (Object.entries(handlers) as [SubsystemName, StreamHandler | undefined][])
    .filter((e): e is [SubsystemName, StreamHandler] => e[1] !== undefined)
    .map(([name, handler]) => ({ name, handler, filterPatterns: filterPatterns(name), ...(settings && { settings }) }));
}

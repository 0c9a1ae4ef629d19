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
 *
 * This file: the loop, drain and the failure destination. The shard reader is
 * esm-shard-reader.ts, per-mapping delivery esm-delivery.ts, the state esm-mapping.ts, the
 * Lambda context and failure entries esm-failure.ts, the public types esm-types.ts.
 */
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { filterPatterns, type SubsystemName } from '../lambda/subsystems';
import { DEFAULT_MAPPING_SETTINGS, type StreamMappingSettings } from '../lib/mapping-settings';
import { compareSequenceNumbers } from '../ops/sequence-number';
import { systemClock, type Clock } from './clock';
import { localClientConfig } from './dynamodb-local';
import type { FailureCondition, PendingBatch } from './esm-batch';
import { pump, type DeliveryContext } from './esm-delivery';
import { failureEntry, writeFailureObject } from './esm-failure';
import { Mapping, shardEnd, type ShardLog } from './esm-mapping';
import { ShardReader } from './esm-shard-reader';
import type { DlqEntry, DrainOptions, EmulatorLog, EsmEmulatorOptions, MappingConfig, MappingCounters, StreamHandler } from './esm-types';
import { findStreamArn, sdkStreamSource, type StreamSource } from './stream-source';

export type * from './esm-types';
export { writeFailureObject } from './esm-failure';

const toError = (error: unknown): Error => (error instanceof Error ? error : new Error(String(error)));

const defaultLog: EmulatorLog = (level, message, fields) => {
  if (level === 'warn' || level === 'error') console.error(`[esm] ${level}: ${message}`, fields ? JSON.stringify(fields) : '');
};

function isStreamSource(x: EsmEmulatorOptions['streams']): x is StreamSource {
  return typeof (x as StreamSource).describeShards === 'function';
}

export class EsmEmulator {
  private readonly reader: ShardReader;
  private readonly delivery: DeliveryContext;
  private readonly shards: Map<string, ShardLog>;
  private ownedClient?: DynamoDBStreamsClient;
  private readonly clock: Clock;
  private readonly log: EmulatorLog;
  private readonly mappings: Mapping[];
  private readonly dlqEntries: DlqEntry[] = [];
  private streamArn?: string;
  private running = false;
  private loop?: Promise<void>;
  private wakeUp = new AbortController();
  private iteration = 0;
  private fatal?: Error;
  private waiters: { after: number; deadline: number; resolve: () => void; reject: (e: Error) => void }[] = [];

  constructor(private readonly options: EsmEmulatorOptions) {
    if (options.mappings.length === 0) throw new Error('EsmEmulator: no mappings');
    const names = options.mappings.map((m) => m.name);
    if (new Set(names).size !== names.length) throw new Error(`EsmEmulator: duplicate mapping names in ${names.join(', ')}`);
    if (!options.streamArn && !options.tableName) throw new Error('EsmEmulator: give streamArn or tableName');
    this.clock = options.clock ?? systemClock;
    this.log = options.log ?? defaultLog;
    this.reader = new ShardReader({
      source: isStreamSource(options.streams) ? options.streams : sdkStreamSource(options.streams),
      streamArn: () => this.streamArn!,
      clock: this.clock,
      log: this.log,
      ...(options.getRecordsLimit !== undefined && { getRecordsLimit: options.getRecordsLimit }),
    });
    this.shards = this.reader.shards;
    this.delivery = {
      clock: this.clock,
      log: this.log,
      options,
      running: () => this.running,
      discard: (mapping, batch, condition) => this.discard(mapping, batch, condition),
    };
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
      lastPollError: this.reader.lastPollError?.message,
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
        const { fresh, ok } = await this.reader.poll();
        const worked = await this.pumpAll();
        this.reader.trim((shardId) => Math.min(...this.mappings.map((m) => m.cursor(shardId).scanned)));
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
      if (this.reader.consecutivePollErrors >= limit) {
        return w.reject(new Error(`EsmEmulator: stream polling keeps failing: ${this.reader.lastPollError?.message}`)), false;
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

  // ---- delivering ------------------------------------------------------------------

  private async pumpAll(): Promise<boolean> {
    const results = await Promise.all(
      this.mappings.flatMap((m) =>
        [...this.shards.values()].filter((s) => this.deliverable(m, s)).map((s) => pump(this.delivery, m, s)),
      ),
    );
    return results.some(Boolean);
  }

  /** A mapping works on a child shard only once it has finished the parent (order per key across a split). */
  private deliverable(mapping: Mapping, shard: ShardLog): boolean {
    const parent = shard.parentShardId ? this.shards.get(shard.parentShardId) : undefined;
    return !parent || (parent.exhausted && mapping.caughtUp(parent));
  }

  private discard(mapping: Mapping, batch: PendingBatch, condition: FailureCondition): void {
    const entry = failureEntry({ subsystem: mapping.config.name, functionArn: mapping.functionArn, streamArn: this.streamArn!, batch, condition, nowMs: this.clock.now() });
    const body = entry.body;
    if (this.options.failureDir) writeFailureObject(this.options.failureDir, entry.failureObject!);
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

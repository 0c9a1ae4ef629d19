/**
 * The emulator's one reader: reads each shard once (TRIM_HORIZON, children only after their
 * parent is exhausted) into a log every mapping delivers from; follows expired iterators and
 * skips what the stream no longer retains, as Lambda would.
 */
import type { Clock } from './clock';
import type { ShardLog } from './esm-mapping';
import type { EmulatorLog } from './esm-types';
import { creationTimeMs, toLambdaRecord, type StreamSource } from './stream-source';

export interface ShardReaderDeps {
  readonly source: StreamSource;
  /** Known once the emulator started. */
  readonly streamArn: () => string;
  readonly clock: Clock;
  readonly log: EmulatorLog;
  /** GetRecords page size (default 1000). */
  readonly getRecordsLimit?: number;
}

const toError = (error: unknown): Error => (error instanceof Error ? error : new Error(String(error)));

export class ShardReader {
  readonly shards = new Map<string, ShardLog>();
  consecutivePollErrors = 0;
  lastPollError?: Error;

  constructor(private readonly deps: ShardReaderDeps) {}

  /** One pass over the stream: new shards, then new records of every readable shard. */
  async poll(): Promise<{ fresh: number; ok: boolean }> {
    let fresh = 0;
    try {
      for (const info of await this.deps.source.describeShards(this.deps.streamArn())) {
        if (!this.shards.has(info.shardId)) {
          this.shards.set(info.shardId, { shardId: info.shardId, parentShardId: info.parentShardId, base: 0, items: [], exhausted: false });
          this.deps.log('debug', 'new shard', { shardId: info.shardId, parentShardId: info.parentShardId });
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
      this.deps.log('warn', 'stream poll failed; retrying', { error: this.lastPollError.message, consecutive: this.consecutivePollErrors });
      // Never a quiet round: a failed poll proves nothing about the end of the stream.
      return { fresh, ok: false };
    }
  }

  /** A child shard is read only after its parent is exhausted (a parent no longer listed has expired). */
  parentExhausted(shard: ShardLog): boolean {
    const parent = shard.parentShardId ? this.shards.get(shard.parentShardId) : undefined;
    return !parent || parent.exhausted;
  }

  private async readShard(shard: ShardLog): Promise<number> {
    const limit = this.deps.getRecordsLimit ?? 1000;
    let fresh = 0;
    // A few pages per round so a backlog is read quickly, without starving the mappings.
    for (let page = 0; page < 10; page++) {
      if (!shard.iterator) {
        shard.iterator = await this.deps.source.getShardIterator(
          this.deps.streamArn(),
          shard.shardId,
          shard.lastSequenceNumber ? { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: shard.lastSequenceNumber } : { type: 'TRIM_HORIZON' },
        );
        if (!shard.iterator) throw new Error(`no iterator for shard ${shard.shardId}`);
      }
      let result;
      try {
        result = await this.deps.source.getRecords(shard.iterator, limit);
      } catch (error) {
        const name = (error as { name?: string }).name;
        if (name === 'ExpiredIteratorException') {
          shard.iterator = undefined; // re-acquired after the last record read
          continue;
        }
        if (name === 'TrimmedDataAccessException' || name === 'ResourceNotFoundException') {
          // Past the 24 h retention: what we missed is gone, as it would be for Lambda.
          this.deps.log('warn', 'shard data expired; skipping what is no longer in the stream', { shardId: shard.shardId, error: name });
          shard.iterator = undefined;
          if (name === 'ResourceNotFoundException') shard.exhausted = true;
          return fresh;
        }
        throw error;
      }
      const now = this.deps.clock.now();
      for (const record of result.records) {
        const sequenceNumber = record.dynamodb?.SequenceNumber;
        if (!sequenceNumber) throw new Error(`stream record without SequenceNumber in shard ${shard.shardId}`);
        const lambdaRecord = toLambdaRecord(record, this.deps.streamArn());
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
        this.deps.log('debug', 'shard exhausted', { shardId: shard.shardId });
        break;
      }
      if (result.records.length < limit) break;
    }
    return fresh;
  }

  /** Drops records every mapping has moved past (`low`: the lowest cursor of a shard). */
  trim(low: (shardId: string) => number): void {
    for (const shard of this.shards.values()) {
      const low_ = low(shard.shardId);
      if (low_ > shard.base) {
        shard.items = shard.items.slice(low_ - shard.base);
        shard.base = low_;
      }
    }
  }
}

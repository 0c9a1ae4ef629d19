/**
 * The emulator's state: each shard's log of records read (shared by every mapping), and per
 * mapping its counters and, per shard, a cursor (filter position, queue, batch in progress).
 */
import type { StreamMappingSettings } from '../lib/mapping-settings';
import type { PendingBatch, StreamItem } from './esm-batch';
import type { MappingConfig, MappingCounters } from './esm-types';

export interface ShardLog {
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

export const shardEnd = (shard: ShardLog) => shard.base + shard.items.length;

export interface Cursor {
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

export class Mapping {
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

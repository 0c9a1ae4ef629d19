/**
 * Kinesis Data Streams for DynamoDB, emulated over the table's DynamoDB stream (DynamoDB Local
 * has no Kinesis destination, and no Kinesis server runs here): a StreamSource the event-source
 * emulator reads like any stream, with the delivery semantics Kinesis has and DynamoDB Streams
 * does not:
 * - records of one item are spread over several shards, so they reach a function in no
 *   particular order (DynamoDB Streams keeps one item's records in one shard, in order);
 * - some records arrive twice (a producer retry: same change and eventID, new sequence number);
 * - each record's change time has microsecond precision (the table destination's MICROSECOND
 *   setting), strictly increasing in table order, so ordering by change time is the true order.
 * Sequence numbers are unique across the stream. See kinesis-invoke.ts for the record shape.
 */
import type { _Record as SdkStreamRecord } from '@aws-sdk/client-dynamodb-streams';
import type { Random } from '../dataset';
import type { IteratorPosition, RecordsPage, ShardInfo, StreamSource } from '../stream-source';

export interface KinesisStreamOptions {
  /** The table stream the changes are read from (the emulator's own stream ARN names the Kinesis stream). */
  readonly tableStreamArn?: () => Promise<string>;
  /** Virtual shards the records are spread over. Default 4. */
  readonly shards?: number;
  /** Chance that a record is delivered a second time. Default 0 (chaos sets it). */
  readonly duplicateRate?: number;
  readonly random: Random;
}

interface InnerShard {
  readonly shardId: string;
  readonly parentShardId?: string;
  iterator?: string;
  exhausted: boolean;
}

export class KinesisStreamEmulation implements StreamSource {
  /** Change time in epoch microseconds by virtual sequence number (read by the invoke wrapper). */
  readonly changeTimeMicros = new Map<string, number>();
  private readonly buffers: SdkStreamRecord[][];
  private readonly inner = new Map<string, InnerShard>();
  private nextSequence = 49_600_000_000_000_000_000_000_000_000_000_000_000_000_000_000_000n;
  private lastMicros = 0;
  duplicates = 0;

  constructor(
    private readonly source: StreamSource,
    private readonly options: KinesisStreamOptions,
  ) {
    this.buffers = Array.from({ length: options.shards ?? 4 }, () => []);
  }

  /**
   * The emulator asks for the shards once per poll, before reading them: the table stream is
   * read here, once a round, rather than again for every virtual shard's GetRecords.
   */
  async describeShards(streamArn: string): Promise<ShardInfo[]> {
    await this.pump(this.options.tableStreamArn ? await this.options.tableStreamArn() : streamArn);
    return this.buffers.map((_, i) => ({ shardId: shardName(i) }));
  }

  async getShardIterator(streamArn: string, shardId: string, position: IteratorPosition): Promise<string | undefined> {
    const index = shardIndex(shardId);
    if (position.type === 'TRIM_HORIZON') return iterator(streamArn, index, 0);
    if (position.type === 'LATEST') return iterator(streamArn, index, this.buffers[index]!.length);
    if (!('sequenceNumber' in position)) throw new Error(`kinesis emulation: unknown iterator type`);
    const at = this.buffers[index]!.findIndex((r) => r.dynamodb?.SequenceNumber === position.sequenceNumber);
    if (at < 0) throw new Error(`kinesis emulation: ${shardId} has no sequence number ${position.sequenceNumber}`);
    return iterator(streamArn, index, position.type === 'AFTER_SEQUENCE_NUMBER' ? at + 1 : at);
  }

  async getRecords(it: string, limit: number): Promise<RecordsPage> {
    const [streamArn, indexText, offsetText] = it.split('|') as [string, string, string];
    const buffer = this.buffers[Number(indexText)]!;
    const offset = Number(offsetText);
    const records = buffer.slice(offset, offset + limit);
    return { records, nextIterator: iterator(streamArn, Number(indexText), offset + records.length) };
  }

  /** Reads whatever the table's stream has (parents before children) and spreads it over the shards. */
  private async pump(streamArn: string): Promise<void> {
    for (const info of await this.source.describeShards(streamArn)) {
      if (!this.inner.has(info.shardId)) this.inner.set(info.shardId, { shardId: info.shardId, parentShardId: info.parentShardId, exhausted: false });
    }
    for (const shard of this.inner.values()) {
      const parent = shard.parentShardId ? this.inner.get(shard.parentShardId) : undefined;
      if (shard.exhausted || (parent && !parent.exhausted)) continue;
      shard.iterator ??= await this.source.getShardIterator(streamArn, shard.shardId, { type: 'TRIM_HORIZON' });
      while (shard.iterator) {
        const page = await this.source.getRecords(shard.iterator, 1000);
        for (const record of page.records) this.spread(record);
        shard.iterator = page.nextIterator;
        if (page.records.length === 0) break;
      }
      if (!shard.iterator) shard.exhausted = true;
    }
  }

  private spread(record: SdkStreamRecord): void {
    const created = record.dynamodb?.ApproximateCreationDateTime;
    const seconds = created instanceof Date ? created.getTime() / 1000 : Number(created ?? 0);
    // Microseconds within the record's second, strictly increasing in table order.
    this.lastMicros = Math.max(Math.floor(seconds) * 1_000_000, this.lastMicros + 1);
    this.put(record, this.lastMicros);
    if (this.options.random() < (this.options.duplicateRate ?? 0)) {
      this.duplicates += 1;
      this.put(record, this.lastMicros);
    }
  }

  private put(record: SdkStreamRecord, micros: number): void {
    this.nextSequence += 1_000n;
    const sequenceNumber = this.nextSequence.toString();
    this.changeTimeMicros.set(sequenceNumber, micros);
    const shard = Math.floor(this.options.random() * this.buffers.length);
    this.buffers[shard]!.push({ ...record, dynamodb: { ...record.dynamodb, SequenceNumber: sequenceNumber } });
  }
}

const shardName = (i: number) => `shardId-${String(i).padStart(12, '0')}`;
const shardIndex = (shardId: string) => Number(shardId.slice('shardId-'.length));
const iterator = (streamArn: string, index: number, offset: number) => `${streamArn}|${index}|${offset}`;

/** Fakes for the local runtime's tests: a scriptable stream (StreamSource) and record factories. */
import type { _Record as SdkStreamRecord } from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord } from 'aws-lambda';
import type { StreamItem } from '../../local/esm-batch';
import type { IteratorPosition, RecordsPage, ShardInfo, StreamSource } from '../../local/stream-source';

export const STREAM_ARN = 'arn:aws:dynamodb:us-east-1:000000000000:table/fake/stream/2026-01-01T00:00:00.000';

let sequence = 1000;

/** An SDK-shaped stream record (as GetRecords returns it) for keys PK/SK. */
export function sdkRecord(
  pk: string,
  sk: string,
  options: { eventName?: 'INSERT' | 'MODIFY' | 'REMOVE'; createdAt?: Date; sequenceNumber?: string; attrs?: Record<string, string> } = {},
): SdkStreamRecord {
  const seq = options.sequenceNumber ?? String((sequence += 1)).padStart(21, '0');
  const eventName = options.eventName ?? 'INSERT';
  const image = { PK: { S: pk }, SK: { S: sk }, ...Object.fromEntries(Object.entries(options.attrs ?? {}).map(([k, v]) => [k, { S: v }])) };
  return {
    eventID: `evt-${seq}`,
    eventName,
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'us-east-1',
    dynamodb: {
      ApproximateCreationDateTime: options.createdAt ?? new Date(Date.UTC(2026, 0, 1)),
      Keys: { PK: { S: pk }, SK: { S: sk } },
      ...(eventName !== 'REMOVE' && { NewImage: image }),
      ...(eventName !== 'INSERT' && { OldImage: image }),
      SequenceNumber: seq,
      SizeBytes: 20,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
  };
}

interface FakeShard {
  info: ShardInfo;
  records: SdkStreamRecord[];
  closed: boolean;
}

/** A stream whose shards and records a test scripts; it logs every GetRecords call. */
export class FakeStream implements StreamSource {
  readonly shards = new Map<string, FakeShard>();
  readonly getRecordsCalls: string[] = [];
  /** Set to make the next getRecords calls throw (e.g. an expired iterator). */
  failNext: Error[] = [];

  addShard(shardId: string, parentShardId?: string): this {
    this.shards.set(shardId, { info: { shardId, ...(parentShardId && { parentShardId }) }, records: [], closed: false });
    return this;
  }

  put(shardId: string, ...records: SdkStreamRecord[]): SdkStreamRecord[] {
    const shard = this.shards.get(shardId);
    if (!shard) throw new Error(`no shard ${shardId}`);
    if (shard.closed) throw new Error(`shard ${shardId} is closed`);
    shard.records.push(...records);
    return records;
  }

  close(shardId: string): void {
    this.shards.get(shardId)!.closed = true;
  }

  async describeShards(): Promise<ShardInfo[]> {
    return [...this.shards.values()].map((s) => ({
      ...s.info,
      ...(s.closed && s.records.length > 0 && { endingSequenceNumber: s.records[s.records.length - 1]!.dynamodb!.SequenceNumber! }),
    }));
  }

  async getShardIterator(_arn: string, shardId: string, position: IteratorPosition): Promise<string> {
    const shard = this.shards.get(shardId)!;
    if (position.type === 'TRIM_HORIZON') return `${shardId}|0`;
    if (position.type === 'AFTER_SEQUENCE_NUMBER') {
      const index = shard.records.findIndex((r) => r.dynamodb?.SequenceNumber === position.sequenceNumber);
      return `${shardId}|${index + 1}`;
    }
    throw new Error(`fake: unsupported iterator ${position.type}`);
  }

  async getRecords(iterator: string, limit: number): Promise<RecordsPage> {
    const failure = this.failNext.shift();
    if (failure) throw failure;
    const [shardId, at] = iterator.split('|') as [string, string];
    this.getRecordsCalls.push(shardId);
    const shard = this.shards.get(shardId)!;
    const start = Number(at);
    const records = shard.records.slice(start, start + limit);
    const end = start + records.length;
    const done = shard.closed && end === shard.records.length;
    return { records, ...(!done && { nextIterator: `${shardId}|${end}` }) };
  }
}

/** A StreamItem for the pure batch functions. */
export function item(sequenceNumber: string, options: { createdAtMs?: number; readAtMs?: number; payloadBytes?: number; shardId?: string } = {}): StreamItem {
  const seconds = options.createdAtMs !== undefined ? Math.floor(options.createdAtMs / 1000) : undefined;
  const record: DynamoDBRecord = {
    eventID: `evt-${sequenceNumber}`,
    eventName: 'INSERT',
    dynamodb: { SequenceNumber: sequenceNumber, ...(seconds !== undefined && { ApproximateCreationDateTime: seconds }), Keys: { PK: { S: 'P' }, SK: { S: sequenceNumber } } },
  };
  return {
    shardId: options.shardId ?? 'shardId-1',
    sequenceNumber,
    record,
    ...(options.createdAtMs !== undefined && { createdAtMs: options.createdAtMs }),
    readAtMs: options.readAtMs ?? 0,
    payloadBytes: options.payloadBytes ?? 100,
  };
}

/** Sequence numbers of the records of a stream event. */
export const seqs = (records: readonly DynamoDBRecord[]) => records.map((r) => r.dynamodb!.SequenceNumber!);

/** A silent emulator log that keeps lines for assertions. */
export function memoryLog() {
  const lines: { level: string; message: string; fields?: Record<string, unknown> }[] = [];
  return { lines, log: (level: string, message: string, fields?: Record<string, unknown>) => void lines.push({ level, message, fields }) };
}

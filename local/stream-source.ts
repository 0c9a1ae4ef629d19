/**
 * The DynamoDB Streams edge of the emulator: a small port (what the emulator needs from a
 * stream), its adapter over @aws-sdk/client-dynamodb-streams, and the conversion of SDK
 * stream records into the aws-lambda event shape Lambda delivers.
 */
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListStreamsCommand,
  type _Record as SdkStreamRecord,
  type AttributeValue as SdkAttributeValue,
} from '@aws-sdk/client-dynamodb-streams';
import type { AttributeValue as LambdaAttributeValue, DynamoDBRecord } from 'aws-lambda';

export interface ShardInfo {
  readonly shardId: string;
  readonly parentShardId?: string;
  /** Present once the shard is closed (it will receive no more records). */
  readonly endingSequenceNumber?: string;
}

export type IteratorPosition =
  | { readonly type: 'TRIM_HORIZON' | 'LATEST' }
  | { readonly type: 'AFTER_SEQUENCE_NUMBER' | 'AT_SEQUENCE_NUMBER'; readonly sequenceNumber: string };

export interface RecordsPage {
  readonly records: readonly SdkStreamRecord[];
  /** Absent when the shard is closed and every record was read. */
  readonly nextIterator?: string;
}

/** What the emulator needs from a stream: enough to fake in a unit test. */
export interface StreamSource {
  /** All shards of the stream (the adapter follows DescribeStream's pagination). */
  describeShards(streamArn: string): Promise<ShardInfo[]>;
  getShardIterator(streamArn: string, shardId: string, position: IteratorPosition): Promise<string | undefined>;
  getRecords(iterator: string, limit: number): Promise<RecordsPage>;
}

/** The StreamSource over a real DynamoDB Streams endpoint (DynamoDB Local or AWS). */
export function sdkStreamSource(client: Pick<DynamoDBStreamsClient, 'send'>): StreamSource {
  return {
    async describeShards(streamArn) {
      const shards: ShardInfo[] = [];
      let exclusiveStartShardId: string | undefined;
      do {
        const out = await client.send(new DescribeStreamCommand({ StreamArn: streamArn, ExclusiveStartShardId: exclusiveStartShardId }));
        for (const shard of out.StreamDescription?.Shards ?? []) {
          if (!shard.ShardId) continue;
          shards.push({
            shardId: shard.ShardId,
            ...(shard.ParentShardId && { parentShardId: shard.ParentShardId }),
            ...(shard.SequenceNumberRange?.EndingSequenceNumber && { endingSequenceNumber: shard.SequenceNumberRange.EndingSequenceNumber }),
          });
        }
        exclusiveStartShardId = out.StreamDescription?.LastEvaluatedShardId;
      } while (exclusiveStartShardId);
      return shards;
    },
    async getShardIterator(streamArn, shardId, position) {
      const out = await client.send(
        new GetShardIteratorCommand({
          StreamArn: streamArn,
          ShardId: shardId,
          ShardIteratorType: position.type,
          ...('sequenceNumber' in position && { SequenceNumber: position.sequenceNumber }),
        }),
      );
      return out.ShardIterator;
    },
    async getRecords(iterator, limit) {
      const out = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: limit }));
      return { records: out.Records ?? [], ...(out.NextShardIterator && { nextIterator: out.NextShardIterator }) };
    },
  };
}

/**
 * The stream ARN of a table, via the Streams API alone (ListStreams filtered by table).
 * A table re-created under the same name lists older streams too: the newest label wins.
 */
export async function findStreamArn(client: Pick<DynamoDBStreamsClient, 'send'>, tableName: string): Promise<string> {
  const arns: { arn: string; label: string }[] = [];
  let exclusiveStartStreamArn: string | undefined;
  do {
    const out = await client.send(new ListStreamsCommand({ TableName: tableName, ExclusiveStartStreamArn: exclusiveStartStreamArn }));
    for (const s of out.Streams ?? []) if (s.StreamArn) arns.push({ arn: s.StreamArn, label: s.StreamLabel ?? '' });
    exclusiveStartStreamArn = out.LastEvaluatedStreamArn;
  } while (exclusiveStartStreamArn);
  if (arns.length === 0) throw new Error(`table ${tableName} has no stream (is StreamSpecification enabled?)`);
  arns.sort((a, b) => a.label.localeCompare(b.label));
  return arns[arns.length - 1]!.arn;
}

const base64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

/** SDK attribute values carry binaries as bytes; Lambda's JSON event carries them as base64. */
export function toLambdaAttributeValue(value: SdkAttributeValue): LambdaAttributeValue {
  if (value.B !== undefined) return { B: base64(value.B) };
  if (value.BS !== undefined) return { BS: value.BS.map(base64) };
  if (value.M !== undefined) return { M: toLambdaImage(value.M) };
  if (value.L !== undefined) return { L: value.L.map(toLambdaAttributeValue) };
  if (value.S !== undefined) return { S: value.S };
  if (value.N !== undefined) return { N: value.N };
  if (value.SS !== undefined) return { SS: [...value.SS] };
  if (value.NS !== undefined) return { NS: [...value.NS] };
  if (value.BOOL !== undefined) return { BOOL: value.BOOL };
  if (value.NULL !== undefined) return { NULL: value.NULL };
  throw new Error(`unsupported stream attribute value: ${JSON.stringify(value)}`);
}

function toLambdaImage(image: Record<string, SdkAttributeValue>): Record<string, LambdaAttributeValue> {
  return Object.fromEntries(Object.entries(image).map(([k, v]) => [k, toLambdaAttributeValue(v)]));
}

/**
 * An SDK stream record in the shape Lambda delivers to a function: the same fields plus
 * `eventSourceARN`, ApproximateCreationDateTime as epoch seconds, binaries as base64.
 */
export function toLambdaRecord(record: SdkStreamRecord, streamArn: string): DynamoDBRecord {
  const data = record.dynamodb ?? {};
  const created = data.ApproximateCreationDateTime;
  return {
    ...(record.eventID !== undefined && { eventID: record.eventID }),
    ...(record.eventName !== undefined && { eventName: record.eventName }),
    ...(record.eventVersion !== undefined && { eventVersion: record.eventVersion }),
    ...(record.eventSource !== undefined && { eventSource: record.eventSource }),
    ...(record.awsRegion !== undefined && { awsRegion: record.awsRegion }),
    eventSourceARN: streamArn,
    dynamodb: {
      ...(created !== undefined && { ApproximateCreationDateTime: Math.floor(toDate(created).getTime() / 1000) }),
      ...(data.Keys && { Keys: toLambdaImage(data.Keys) }),
      ...(data.NewImage && { NewImage: toLambdaImage(data.NewImage) }),
      ...(data.OldImage && { OldImage: toLambdaImage(data.OldImage) }),
      ...(data.SequenceNumber !== undefined && { SequenceNumber: data.SequenceNumber }),
      ...(data.SizeBytes !== undefined && { SizeBytes: data.SizeBytes }),
      ...(data.StreamViewType !== undefined && { StreamViewType: data.StreamViewType }),
    },
    // TTL deletions carry the service principal here; filters can match on it.
    ...(record.userIdentity && { userIdentity: { ...record.userIdentity } }),
  };
}

function toDate(value: Date | number | string): Date {
  if (value instanceof Date) return value;
  // A raw epoch number from a hand-written fake is seconds, as on the wire.
  return typeof value === 'number' ? new Date(value * 1000) : new Date(value);
}

/** Creation time in ms, for record-age checks (undefined when the record has none: it never expires by age). */
export function creationTimeMs(record: SdkStreamRecord): number | undefined {
  const created = record.dynamodb?.ApproximateCreationDateTime;
  return created === undefined ? undefined : toDate(created).getTime();
}

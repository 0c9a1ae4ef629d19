import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { DescribeStreamCommand, DynamoDBStreamsClient, GetRecordsCommand, GetShardIteratorCommand } from '@aws-sdk/client-dynamodb-streams';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { localClientConfig } from '../local/dynamodb-local';
import { createTestTable, type TestTable } from './support/dynamodb';

describe('DynamoDB Local harness', () => {
  let table: TestTable;
  beforeAll(async () => {
    table = await createTestTable('harness');
  });
  afterAll(() => table.drop());

  it('creates the table the stack defines: PK/SK strings and a NEW_AND_OLD_IMAGES stream', async () => {
    const { Table } = await table.client.send(new DescribeTableCommand({ TableName: table.tableName }));
    expect(Table?.KeySchema).toEqual([
      { AttributeName: 'PK', KeyType: 'HASH' },
      { AttributeName: 'SK', KeyType: 'RANGE' },
    ]);
    expect(Table?.StreamSpecification).toEqual({ StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' });
  });

  it('round-trips an item and emits its stream record with both images', async () => {
    await table.doc.send(new PutCommand({ TableName: table.tableName, Item: { PK: 'A', SK: 'B', n: 1 } }));
    await table.doc.send(new PutCommand({ TableName: table.tableName, Item: { PK: 'A', SK: 'B', n: 2 } }));
    const got = await table.doc.send(new GetCommand({ TableName: table.tableName, Key: { PK: 'A', SK: 'B' }, ConsistentRead: true }));
    expect(got.Item).toEqual({ PK: 'A', SK: 'B', n: 2 });

    const { Table } = await table.client.send(new DescribeTableCommand({ TableName: table.tableName }));
    const streams = new DynamoDBStreamsClient(localClientConfig(table.endpoint));
    const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: Table!.LatestStreamArn! }));
    const shard = StreamDescription!.Shards![0]!;
    const { ShardIterator } = await streams.send(
      new GetShardIteratorCommand({ StreamArn: Table!.LatestStreamArn!, ShardId: shard.ShardId!, ShardIteratorType: 'TRIM_HORIZON' }),
    );
    const { Records } = await streams.send(new GetRecordsCommand({ ShardIterator }));
    expect(Records?.map((r) => r.eventName)).toEqual(['INSERT', 'MODIFY']);
    expect(Records?.[1]?.dynamodb?.OldImage?.n).toEqual({ N: '1' });
    expect(Records?.[1]?.dynamodb?.NewImage?.n).toEqual({ N: '2' });
    streams.destroy();
  });
});

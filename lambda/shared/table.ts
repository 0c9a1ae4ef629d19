/**
 * The single table's shape, shared by the CDK stack, the test harness and `npm start`,
 * so DynamoDB Local always runs the table the stack deploys.
 */
export const TABLE_SCHEMA = {
  partitionKey: 'PK',
  sortKey: 'SK',
  streamViewType: 'NEW_AND_OLD_IMAGES',
  /** TTL attribute (epoch seconds): faa-matcher-sync's expiring ledger markers use it. */
  timeToLiveAttribute: 'expires_at',
} as const;

/** CreateTable input for DynamoDB Local (on-demand, stream with both images). */
export function createTableInput(tableName: string) {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST' as const,
    AttributeDefinitions: [
      { AttributeName: TABLE_SCHEMA.partitionKey, AttributeType: 'S' as const },
      { AttributeName: TABLE_SCHEMA.sortKey, AttributeType: 'S' as const },
    ],
    KeySchema: [
      { AttributeName: TABLE_SCHEMA.partitionKey, KeyType: 'HASH' as const },
      { AttributeName: TABLE_SCHEMA.sortKey, KeyType: 'RANGE' as const },
    ],
    StreamSpecification: { StreamEnabled: true, StreamViewType: TABLE_SCHEMA.streamViewType },
  };
}

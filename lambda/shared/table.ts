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

/** CreateTable input for DynamoDB Local of an on-demand table keyed by two strings. */
export function keyedTableInput(tableName: string, keys: { readonly partitionKey: string; readonly sortKey: string }) {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST' as const,
    AttributeDefinitions: [
      { AttributeName: keys.partitionKey, AttributeType: 'S' as const },
      { AttributeName: keys.sortKey, AttributeType: 'S' as const },
    ],
    KeySchema: [
      { AttributeName: keys.partitionKey, KeyType: 'HASH' as const },
      { AttributeName: keys.sortKey, KeyType: 'RANGE' as const },
    ],
  };
}

/** CreateTable input for DynamoDB Local (on-demand, stream with both images). */
export function createTableInput(tableName: string) {
  return {
    ...keyedTableInput(tableName, TABLE_SCHEMA),
    StreamSpecification: { StreamEnabled: true, StreamViewType: TABLE_SCHEMA.streamViewType },
  };
}

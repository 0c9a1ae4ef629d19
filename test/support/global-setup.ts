import { startDynamoDbLocal, type DynamoDbLocal } from '../../local/dynamodb-local';

declare global {
  // eslint-disable-next-line no-var
  var __DYNAMODB_LOCAL__: DynamoDbLocal | undefined;
}

/**
 * One DynamoDB Local for the whole jest run; workers inherit its endpoint through env. java runs
 * under a watchdog (local/process/watchdog.cjs): a jest killed before its teardown leaves no java.
 */
export default async function globalSetup(): Promise<void> {
  const ddb = await startDynamoDbLocal();
  globalThis.__DYNAMODB_LOCAL__ = ddb;
  process.env.DYNAMODB_LOCAL_ENDPOINT = ddb.endpoint;
}

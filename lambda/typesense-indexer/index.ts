import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { requireEnv } from '../shared/env';
import { createLogger } from '../shared/log';
import { createMetrics } from '../shared/metrics';
import { createIndexerHandler } from './handler';
import { DEFAULT_INDEXER_RETRY, InvocationDeadline } from './retry';
import { INDEXER_DEADLINE_MARGIN_MS, typesenseClient, typesenseSearchPort, type SearchPort } from './search';
import { cachedSecret } from './secret';

// Configuration is checked at init (DESIGN §7): a missing variable fails the function here.
const tableName = requireEnv('TABLE_NAME');
const nodes = requireEnv('TYPESENSE_NODES')
  .split(',')
  .map((url) => url.trim())
  .filter(Boolean);
const secretArn = requireEnv('TYPESENSE_API_KEY_SECRET_ARN');
const logger = createLogger('typesense-indexer');
const metrics = createMetrics('typesense-indexer');
// Endpoints and credentials come from the SDK's standard configuration (AWS_ENDPOINT_URL_DYNAMODB, ...).
const ddb = new DynamoDBClient({});
const apiKey = cachedSecret(new SecretsManagerClient({}), secretArn);

const deadline = new InvocationDeadline(INDEXER_DEADLINE_MARGIN_MS);

let search: SearchPort | undefined;
const searchPort = async (): Promise<SearchPort> => {
  search ??= typesenseSearchPort(typesenseClient(nodes, await apiKey()), DEFAULT_INDEXER_RETRY, logger, deadline);
  return search;
};

export const handler = createIndexerHandler({ ddb, tableName, search: searchPort, logger, deadline, metrics });

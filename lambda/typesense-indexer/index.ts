import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { requireEnv } from '../shared/env';
import { createLogger } from '../shared/log';
import { createMetrics } from '../shared/metrics';
import { keyedClients } from './client-source';
import { createIndexerHandler } from './handler';
import { DEFAULT_INDEXER_RETRY, InvocationDeadline } from './retry';
import { INDEXER_DEADLINE_MARGIN_MS, typesenseClient, typesenseSearchPort } from './search';
import { CachedSecret, secretMaxAgeMs } from './secret';

// Configuration is checked at init: a missing or malformed variable fails the function here.
const tableName = requireEnv('TABLE_NAME');
const nodes = requireEnv('TYPESENSE_NODES')
  .split(',')
  .map((url) => url.trim())
  .filter(Boolean);
const secretArn = requireEnv('TYPESENSE_API_KEY_SECRET_ARN');
const maxAgeMs = secretMaxAgeMs();
const logger = createLogger('typesense-indexer');
const metrics = createMetrics('typesense-indexer');
// Endpoints and credentials come from the SDK's standard configuration (AWS_ENDPOINT_URL_DYNAMODB, ...).
const ddb = new DynamoDBClient({});
// The key is read on first use, again past its max age, and at once after a 401/403.
const apiKey = new CachedSecret(new SecretsManagerClient({}), secretArn, { maxAgeMs });
const deadline = new InvocationDeadline(INDEXER_DEADLINE_MARGIN_MS);
const search = typesenseSearchPort(
  keyedClients(apiKey, (key) => typesenseClient(nodes, key)),
  DEFAULT_INDEXER_RETRY,
  logger,
  deadline,
);

export const handler = createIndexerHandler({ ddb, tableName, search, logger, deadline, metrics });

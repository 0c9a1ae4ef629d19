import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { requireEnv } from '../shared/env';
import { createLogger } from '../shared/log';
import { createMetrics } from '../shared/metrics';
import { createImageHandler } from './handler';

// Module scope: a missing TABLE_NAME fails the function at init, naming the variable.
const logger = createLogger('image-sync');
const metrics = createMetrics('image-sync');
const tableName = requireEnv('TABLE_NAME');
// Endpoint, region and credentials come from the SDK's standard configuration
// (e.g. AWS_ENDPOINT_URL_DYNAMODB for DynamoDB Local), so this bundle runs unchanged anywhere.
const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
  marshallOptions: { removeUndefinedValues: true },
});

export const handler = createImageHandler({ doc, tableName, logger, metrics });

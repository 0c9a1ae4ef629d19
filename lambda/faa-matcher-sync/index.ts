import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { requireEnv } from '../shared/env';
import { createLogger } from '../shared/log';
import { createMetrics } from '../shared/metrics';
import { createMatcherHandler } from './handler';

// Module scope: a missing TABLE_NAME fails the function at init, naming the variable.
const tableName = requireEnv('TABLE_NAME');
const logger = createLogger('faa-matcher-sync');
const metrics = createMetrics('faa-matcher-sync');
// Endpoint, region and credentials come from the SDK's standard configuration
// (e.g. AWS_ENDPOINT_URL_DYNAMODB for DynamoDB Local), so the same bundle runs anywhere.
const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true } });

export const handler = createMatcherHandler({ doc, tableName, logger, metrics });

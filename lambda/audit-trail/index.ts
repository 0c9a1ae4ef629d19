import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createLogger } from '../shared/log';
import { createMetrics } from '../shared/metrics';
import { auditConfigFromEnv } from './config';
import { createAuditHandler } from './handler';
import { kmsDataKeySource } from './kms-keys';
import { secretHashKey } from './secret-hash-key';
import { encryptProtection, hashProtection } from './sensitive';

// Module scope: a missing or bad setting fails the function at init, naming the variable.
const logger = createLogger('audit-trail');
const metrics = createMetrics('audit-trail');
const config = auditConfigFromEnv();
// Endpoints, region and credentials come from the SDK's standard configuration.
const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true } });
const protection =
  config.sensitive.mode === 'encrypt'
    ? encryptProtection(kmsDataKeySource(new KMSClient({}), config.sensitive.kmsKeyId))
    : hashProtection(secretHashKey(new SecretsManagerClient({}), config.sensitive.secretArn));

export const handler = createAuditHandler({
  doc,
  historyTableName: config.historyTableName,
  logger,
  metrics,
  protection,
  rowKinds: config.rowKinds,
  retentionDays: config.retentionDays,
  source: config.source,
});

import { requireEnv } from '../shared/env';
import { createLogger } from '../shared/log';
import { createMetrics } from '../shared/metrics';
import { createTypesenseHandler } from './handler';
import { createSqsClient } from './sqs-client';

// Configuration is checked at init: a missing queue URL fails the function
// here, naming the variable, never at the first record.
const queueUrl = requireEnv('TYPESENSE_QUEUE_URL');
const logger = createLogger('typesense-sync');
const metrics = createMetrics('typesense-sync');
const sqs = createSqsClient();

export const handler = createTypesenseHandler({ sqs, queueUrl, logger, metrics });

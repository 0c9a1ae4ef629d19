import { SQSClient } from '@aws-sdk/client-sqs';
import { requireEnv } from '../shared/env';
import { createLogger } from '../shared/log';
import { createTypesenseHandler } from './handler';

// Configuration is checked at init (DESIGN §7): a missing queue URL fails the function
// here, naming the variable, never at the first record.
const queueUrl = requireEnv('TYPESENSE_QUEUE_URL');
const logger = createLogger('typesense-sync');
// Endpoint and credentials come from the SDK's standard configuration (AWS_ENDPOINT_URL_SQS, ...).
const sqs = new SQSClient({});

export const handler = createTypesenseHandler({ sqs, queueUrl, logger });

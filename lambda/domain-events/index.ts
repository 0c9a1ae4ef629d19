import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { createLogger } from '../shared/log';
import { createMetrics } from '../shared/metrics';
import { configFromEnv } from './config';
import { createDomainEventsHandler } from './handler';

/** Bounds on one PutEvents request, so a stuck connection fails (and is retried) long before the function's timeout. */
const CONNECTION_TIMEOUT_MS = 2_000;
const REQUEST_TIMEOUT_MS = 5_000;

// Module scope: a missing or bad variable fails the function at init, naming it.
const config = configFromEnv();
const logger = createLogger('domain-events');
const metrics = createMetrics('domain-events');
// Endpoint, region and credentials come from the SDK's standard configuration
// (AWS_ENDPOINT_URL_EVENTBRIDGE for a local stand-in), so this bundle runs unchanged anywhere.
const events = new EventBridgeClient({ requestHandler: { connectionTimeout: CONNECTION_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS } });

export const handler = createDomainEventsHandler({ ...config, events, logger, metrics });

import { SQSClient } from '@aws-sdk/client-sqs';

/** Bounds on one SQS request, so a stuck connection fails (and is retried) long before the function's timeout. */
export const SQS_CONNECTION_TIMEOUT_MS = 2_000;
export const SQS_REQUEST_TIMEOUT_MS = 5_000;

/**
 * The SQS client of typesense-sync and of the tools. Endpoint and credentials come from the
 * SDK's standard configuration (AWS_ENDPOINT_URL_SQS, ...): `useQueueUrlAsEndpoint: false`
 * stops the client from sending each request to the queue URL's host instead, which would
 * ignore a configured endpoint.
 */
export function createSqsClient(): SQSClient {
  return new SQSClient({
    useQueueUrlAsEndpoint: false,
    requestHandler: { connectionTimeout: SQS_CONNECTION_TIMEOUT_MS, requestTimeout: SQS_REQUEST_TIMEOUT_MS },
  });
}

/**
 * The SDK clients of one ops run. Region and credentials come from the SDK's standard
 * resolution (--region, AWS_REGION, profiles; environment, profile, SSO, instance role). With
 * an endpoint option (a local engine such as DynamoDB Local), nothing of AWS is needed: the
 * region defaults to us-east-1 and, when the standard chain finds no credentials, dummy ones
 * are used, as `npm start` does. Every client names the resource of a failed request on the
 * error (`requestOf`), so a failure can be reported as one line naming it.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CouldNotRunError } from './common';

export const LOCAL_REGION = 'us-east-1';
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

/** What a failed request was about: the service, the operation and the resource it named. */
export interface FailedRequest {
  readonly service: string;
  readonly operation: string;
  readonly resource?: string;
}

const REQUEST = Symbol('ops.request');

export const requestOf = (error: unknown): FailedRequest | undefined =>
  error !== null && typeof error === 'object' ? ((error as Record<symbol, FailedRequest | undefined>)[REQUEST]) : undefined;

interface WithStack {
  readonly middlewareStack: { add(middleware: unknown, options: { step: 'initialize'; name: string }): void };
}

/** Tags every error of `client` with the failed request (outermost step: credentials and region errors too). */
export function nameFailedRequests<C>(client: C, service: string): C {
  const middleware =
    (next: (args: { input: Record<string, unknown> }) => Promise<unknown>, context: { commandName?: string }) =>
    async (args: { input: Record<string, unknown> }) => {
      try {
        return await next(args);
      } catch (error) {
        if (error !== null && typeof error === 'object' && !(REQUEST in error)) {
          const input = args.input ?? {};
          const resource = [input.TableName, input.QueueUrl, input.Bucket, input.StreamArn].find((v) => typeof v === 'string') as string | undefined;
          const request: FailedRequest = { service, operation: String(context.commandName ?? 'request').replace(/Command$/, ''), ...(resource && { resource }) };
          Object.defineProperty(error, REQUEST, { value: request, enumerable: false });
        }
        throw error;
      }
    };
  (client as unknown as WithStack).middlewareStack.add(middleware, { step: 'initialize', name: 'opsNameFailedRequests' });
  return client;
}

/** --region, else the SDK's standard resolution, else (with an endpoint option) us-east-1. */
export async function resolveRegion(given: string | undefined, local: boolean): Promise<string> {
  if (given) return given;
  const probe = new DynamoDBClient({});
  try {
    return await probe.config.region();
  } catch (error) {
    if (!/region is missing/i.test(String((error as Error)?.message))) throw error;
    if (local) return LOCAL_REGION;
    throw new CouldNotRunError('no region: give --region or set AWS_REGION (or a region in the AWS profile)');
  } finally {
    probe.destroy();
  }
}

/**
 * Credentials for a local engine: the standard chain when it finds some (an endpoint may be
 * AWS-compatible and check them), otherwise dummy ones. Undefined (the SDK's own chain) for AWS.
 */
export function credentialsFor(local: boolean, region: string) {
  if (!local) return undefined;
  const chain = new DynamoDBClient({ region });
  let none = false;
  return async () => {
    if (none) return LOCAL_CREDENTIALS;
    try {
      return await chain.config.credentials();
    } catch (error) {
      if ((error as Error)?.name !== 'CredentialsProviderError') throw error;
      none = true;
      return LOCAL_CREDENTIALS;
    }
  };
}

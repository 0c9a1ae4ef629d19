/**
 * The ops command-line contract: exit 0 all is well, 1 drift found or keys failed (or the
 * data refuses a step, e.g. a takeover), 2 usage error, 3 could not run (credentials, region,
 * endpoint, table, queue, bucket, permissions). Every message is one line starting `ops: `.
 * Runtime errors are mapped here to that line, naming the option or resource at fault.
 */
import { requestOf } from './aws';
import { CouldNotRunError, errorMessage, UsageError } from './common';


/** Refusals that mean "the data is not as this step needs it" (exit 1, like drift). */
const DATA_REFUSALS = new Set(['TakeoverRefusedError']);

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ECONNABORTED', 'TimeoutError', 'RequestTimeout']);
const TLS = /^(CERT_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_(GET|VERIFY)_)/;
const REJECTED = new Set([
  'UnrecognizedClientException', 'InvalidSignatureException', 'ExpiredTokenException', 'ExpiredToken', 'InvalidClientTokenId',
  'SignatureDoesNotMatch', 'InvalidAccessKeyId', 'MissingAuthenticationTokenException', 'IncompleteSignatureException', 'InvalidToken',
  'AuthFailure', 'TokenRefreshRequired',
]);
const DENIED = new Set(['AccessDeniedException', 'AccessDenied', 'AllAccessDisabled', 'AuthorizationError', 'KMSAccessDeniedException', 'UnauthorizedOperation']);
const NO_QUEUE = new Set(['QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue', 'NonExistentQueue']);

export interface RunPlace {
  /** --endpoint (DynamoDB and its stream); absent: AWS in `region`. */
  readonly endpoint?: string;
  readonly region?: string;
}

/**
 * The request could not have worked whatever it asked: nothing answers at the endpoint, the
 * named queue, table or bucket does not exist, or there are no (valid) credentials or region.
 * Unlike a permission refusal, which may concern this one operation only.
 */
export function isNotThere(error: unknown): boolean {
  const e = (error ?? {}) as { name?: unknown; code?: unknown; message?: unknown };
  const names = [e.name, e.code].filter((v): v is string => typeof v === 'string');
  return (
    names.some((n) => UNREACHABLE.has(n) || NO_QUEUE.has(n) || REJECTED.has(n) || n === 'CredentialsProviderError' || n === 'ResourceNotFoundException' || n === 'NoSuchBucket') ||
    /region is missing/i.test(String(e.message))
  );
}

const firstLine = (text: string) => text.split('\n')[0]!.trim();

/** The exit code and the one line (without the `ops: ` prefix) for an error that ended a command. */
export function describeFailure(error: unknown, place: RunPlace = {}): { code: 1 | 2 | 3; line: string } {
  const e = (error ?? {}) as { name?: unknown; code?: unknown; Code?: unknown; address?: unknown; port?: unknown; hostname?: unknown };
  const name = typeof e.name === 'string' ? e.name : 'Error';
  const code = [e.code, e.Code].find((c): c is string => typeof c === 'string');
  const message = firstLine(errorMessage(error));
  if (error instanceof UsageError || name === 'UsageError') return { code: 2, line: message };
  if (DATA_REFUSALS.has(name)) return { code: 1, line: message };
  const couldNot = (line: string) => ({ code: 3 as const, line: `could not run: ${line}` });
  if (error instanceof CouldNotRunError || name === 'CouldNotRunError') return couldNot(message);

  const request = requestOf(error);
  const service = request?.service ?? 'AWS';
  const dynamo = service === 'DynamoDB' || service === 'DynamoDB Streams';
  const where = dynamo ? (place.endpoint ?? `AWS ${place.region ?? ''}`.trim()) : `${service}${place.region ? ` in ${place.region}` : ''}`;
  const tag = `(${code && code !== name && name === 'Error' ? code : name})`;

  if (name === 'CredentialsProviderError') {
    return couldNot('no AWS credentials found (CredentialsProviderError): set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or give --endpoint for a local engine');
  }
  if (/region is missing/i.test(message)) return couldNot('no region: give --region or set AWS_REGION (or a region in the AWS profile)');
  if (UNREACHABLE.has(name) || (code && UNREACHABLE.has(code))) {
    const target = dynamo ? where : typeof e.hostname === 'string' ? e.hostname : typeof e.address === 'string' ? `${e.address}${typeof e.port === 'number' ? `:${e.port}` : ''}` : service;
    return couldNot(`cannot reach ${service} at ${target} ${tag}${dynamo && place.endpoint ? ': check --endpoint' : ''}`);
  }
  if (code && TLS.test(code)) return couldNot(`TLS handshake with ${service} at ${where} failed (${code})`);
  if (name === 'ResourceNotFoundException' && dynamo) {
    const what = service === 'DynamoDB Streams' ? `stream ${request?.resource ?? ''}`.trim() : `table ${request?.resource ?? '?'}`;
    return couldNot(`${what} not found at ${where} (ResourceNotFoundException)`);
  }
  if (NO_QUEUE.has(name) || (code && NO_QUEUE.has(code))) return couldNot(`queue ${request?.resource ?? '?'} does not exist (${name})`);
  if (name === 'NoSuchBucket') return couldNot(`bucket ${request?.resource ?? '?'} not found (NoSuchBucket)`);
  if (REJECTED.has(name)) return couldNot(`${service} at ${where} rejected the credentials (${name})`);
  if (DENIED.has(name)) return couldNot(`permission denied: ${service} ${request?.operation ?? ''} on ${request?.resource ?? where} (${name})`.replace(/\s+/g, ' '));
  if (request) return couldNot(`${service} ${request.operation}${request.resource ? ` on ${request.resource}` : ''} failed: ${name}: ${message}`);
  return couldNot(`${name}: ${message}`);
}

/**
 * What an invocation sees and what a discarded batch leaves: the Lambda context, and the
 * on-failure entry (Lambda's record, plus the S3 object a bucket destination would hold).
 */
import type { Context } from 'aws-lambda';
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Clock } from './clock';
import { onFailureRecord, s3FailureObject, type FailureCondition, type PendingBatch, type S3FailureObject } from './esm-batch';
import type { DlqEntry } from './esm-types';

export function lambdaContext(name: string, functionArn: string, requestId: string, clock: Clock): Context {
  const deadline = clock.now() + 60_000;
  const noop = () => undefined;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: name,
    functionVersion: '$LATEST',
    invokedFunctionArn: functionArn,
    memoryLimitInMB: '1024',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: `local/[$LATEST]${requestId.replace(/-/g, '')}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - clock.now()),
    done: noop,
    fail: noop,
    succeed: noop,
  };
}

/** A mapping's UUID, stable for a stream and a function (Lambda's is random per mapping; only the key layout matters here). */
function mappingUuid(streamArn: string, name: string): string {
  const h = createHash('sha256').update(`${streamArn}\n${name}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Writes an on-failure object under `dir` at its S3 key, atomically (a reader never sees half a file). */
export function writeFailureObject(dir: string, object: S3FailureObject): string {
  const path = join(dir, ...object.key.split('/'));
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(`${path}.tmp`, JSON.stringify(object.body));
  renameSync(`${path}.tmp`, path);
  return path;
}

/** The entry for a batch sent to the on-failure destination: Lambda's record, the S3 object, the last error. */
export function failureEntry(p: { subsystem: string; functionArn: string; streamArn: string; batch: PendingBatch; condition: FailureCondition; nowMs: number }): DlqEntry {
  const { batch, nowMs } = p;
  const body = onFailureRecord({ batch, condition: p.condition, functionArn: p.functionArn, streamArn: p.streamArn, requestId: randomUUID(), nowMs });
  const failureObject = s3FailureObject({ record: body, items: batch.items, mappingUuid: mappingUuid(p.streamArn, p.subsystem), nowMs, randomId: randomUUID() });
  const last = batch.lastOutcome;
  return {
    subsystem: p.subsystem,
    body,
    ...(last?.kind === 'failure' && { lastError: { name: last.error.name, message: last.error.message } }),
    ...(last?.kind === 'partial' && { lastError: { name: 'BatchItemFailure', message: 'the handler reported this record as failed' } }),
    failureObject,
  };
}

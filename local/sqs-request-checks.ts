/**
 * SQS's request checks, as the local FIFO queue applies them: request-level limits of
 * SendMessageBatch (thrown as the SDK's exceptions) and per-entry rules (a Failed entry).
 */
import {
  BatchEntryIdsNotDistinct,
  BatchRequestTooLong,
  EmptyBatchRequest,
  InvalidBatchEntryId,
  TooManyEntriesInBatchRequest,
  type MessageAttributeValue,
  type SendMessageBatchRequestEntry,
} from '@aws-sdk/client-sqs';
import { createHash, randomUUID } from 'node:crypto';

export const md5 = (text: string) => createHash('md5').update(text, 'utf8').digest('hex');
export const meta = () => ({ httpStatusCode: 200, requestId: randomUUID(), attempts: 1, totalRetryDelay: 0 });
const ENTRY_ID = /^[A-Za-z0-9_-]{1,80}$/;
// SQS accepts alphanumerics and punctuation in group and deduplication ids, up to 128 characters.
const FIFO_ID = /^[A-Za-z0-9!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]{1,128}$/;
// XML 1.0 characters: SQS rejects anything else in a body.
const BODY_CHARS = /^[\u0009\u000A\u000D\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u;

function attributesBytes(attributes: Record<string, MessageAttributeValue> | undefined): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(attributes ?? {})) {
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value.DataType ?? '');
    if (value.StringValue !== undefined) bytes += Buffer.byteLength(value.StringValue);
    if (value.BinaryValue !== undefined) bytes += value.BinaryValue.length;
  }
  return bytes;
}

export const entryBytes = (e: SendMessageBatchRequestEntry) => Buffer.byteLength(e.MessageBody ?? '') + attributesBytes(e.MessageAttributes);

export const clientError = (Ctor: new (o: { message: string; $metadata: object }) => Error, message: string) =>
  new Ctor({ message, $metadata: { httpStatusCode: 400 } });

/** Throws what SQS answers for a SendMessageBatch over its limits (empty, too many entries, bad or repeated ids, too long). */
export function checkBatchRequest(entries: readonly SendMessageBatchRequestEntry[], max: number, maxBytes: number): void {
  if (entries.length === 0) throw clientError(EmptyBatchRequest, 'There should be at least one SendMessageBatchRequestEntry in the request.');
  if (entries.length > max) {
    throw clientError(TooManyEntriesInBatchRequest, `Maximum number of entries per request are ${max}. You have sent ${entries.length}.`);
  }
  for (const e of entries) {
    if (typeof e.Id !== 'string' || !ENTRY_ID.test(e.Id)) {
      throw clientError(InvalidBatchEntryId, `A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long. (${JSON.stringify(e.Id)})`);
    }
  }
  if (new Set(entries.map((e) => e.Id)).size !== entries.length) {
    throw clientError(BatchEntryIdsNotDistinct, 'Two or more batch entries in the request have the same Id.');
  }
  const total = entries.reduce((n, e) => n + entryBytes(e), 0);
  if (total > maxBytes) {
    throw clientError(BatchRequestTooLong, `Batch requests cannot be longer than ${maxBytes} bytes. You have sent ${total} bytes.`);
  }
}

/** One entry's problem (SenderFault), or what the queue needs from it. */
export function checkEntry(entry: SendMessageBatchRequestEntry, contentBasedDeduplication: boolean): { Code: string; Message: string } | { body: string; groupId: string; deduplicationId: string } {
  const bad = (Code: string, Message: string) => ({ Code, Message });
  const body = entry.MessageBody;
  if (body === undefined || body === '') return bad('MissingParameter', 'The request must contain the parameter MessageBody.');
  if (!BODY_CHARS.test(body)) return bad('InvalidMessageContents', 'Invalid characters found in the message body.');
  if (entry.MessageGroupId === undefined) return bad('MissingParameter', 'The request must contain the parameter MessageGroupId.');
  if (!FIFO_ID.test(entry.MessageGroupId)) return bad('InvalidParameterValue', `Value ${entry.MessageGroupId} for parameter MessageGroupId is invalid.`);
  if (entry.DelaySeconds !== undefined && entry.DelaySeconds !== 0) {
    return bad('InvalidParameterValue', `Value ${entry.DelaySeconds} for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type.`);
  }
  let deduplicationId = entry.MessageDeduplicationId;
  if (deduplicationId === undefined) {
    if (!contentBasedDeduplication) {
      return bad('InvalidParameterValue', 'The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly');
    }
    deduplicationId = createHash('sha256').update(body, 'utf8').digest('hex');
  } else if (!FIFO_ID.test(deduplicationId)) {
    return bad('InvalidParameterValue', `Value ${deduplicationId} for parameter MessageDeduplicationId is invalid.`);
  }
  return { body, groupId: entry.MessageGroupId, deduplicationId };
}

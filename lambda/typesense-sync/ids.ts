import { createHash } from 'node:crypto';
import type { TriggerOrigin } from '../shared/trigger';

/**
 * Identifier rules: document ids, FIFO message group ids and deduplication ids.
 * All pure and deterministic.
 */

const SAFE_ID_CHAR = /[A-Za-z0-9-]/;

/**
 * Encodes one id part with characters that are safe in a URL path segment and that a
 * FIFO group id accepts: `[A-Za-z0-9-]` stays, every other character becomes `_HH` per
 * UTF-8 byte (`_` itself included, so the encoding is injective). An empty part is `_`.
 */
export function encodeIdPart(part: string): string {
  if (part === '') return '_';
  let out = '';
  for (const char of part) {
    if (SAFE_ID_CHAR.test(char)) {
      out += char;
    } else {
      for (const byte of Buffer.from(char, 'utf8')) out += `_${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    }
  }
  return out;
}

/**
 * A document id from its parts, joined by `.` (which `encodeIdPart` never emits, so
 * different part lists never give the same id). Never `.` or `..` (parts are never empty).
 */
export function documentIdFrom(...parts: readonly string[]): string {
  return parts.map(encodeIdPart).join('.');
}

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** SQS limit for MessageGroupId and MessageDeduplicationId. */
export const MAX_SQS_ID_LENGTH = 128;

/**
 * FIFO MessageGroupId: `<collection>:<id>`, one group per document. When that is over
 * 128 characters it becomes `<collection>~<sha256(id)>`; `~` never occurs in an
 * unhashed group id (ids never hold it), so a hashed id cannot equal an unhashed one.
 */
export function messageGroupId(collection: string, id: string): string {
  const plain = `${collection}:${id}`;
  if (plain.length <= MAX_SQS_ID_LENGTH && /^[A-Za-z0-9_.:-]+$/.test(plain)) return plain;
  return `${collection.slice(0, 40)}~${sha256(`${collection}\n${id}`)}`;
}

/**
 * FIFO MessageDeduplicationId, derived from the trigger's origin:
 * - stream: from the eventID, so a redelivered or retried record gives the same id and SQS
 *   drops the copy within its 5-minute window (eventIDs are unique within the stream);
 * - a tool run: from the run, so a rerun of the same run is deduplicated but a backfill,
 *   a repair or a redrive never collides with the stream's triggers or with another run.
 */
export function deduplicationId(origin: TriggerOrigin, collection: string, id: string): string {
  const source = origin.kind === 'stream' ? `stream\n${origin.eventID}` : `${origin.kind}\n${origin.run}`;
  return sha256(`${source}\n${collection}\n${id}`);
}

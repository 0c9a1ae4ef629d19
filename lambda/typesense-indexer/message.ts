import type { RowKeys } from '../shared/key-rules';
import type { TriggerOrigin } from '../shared/trigger';
import type { QueueMessage } from '../typesense-sync/messages';
import { matchIndexedSpec, type IndexedSpec } from '../typesense-sync/specs';

/** A queue message the indexer cannot act on. The message names the SQS message and its group. */
export class TriggerMessageError extends Error {
  constructor(messageId: string, groupId: string | undefined, reason: string) {
    super(`bad search trigger: ${reason} [SQS messageId=${messageId} group=${groupId ?? '?'}]`);
    this.name = 'TriggerMessageError';
  }
}

/** A validated v2 trigger, with the spec its key matches. */
export interface ParsedTrigger {
  readonly message: QueueMessage;
  readonly key: RowKeys;
  readonly spec: IndexedSpec;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
/**
 * A bad message field as a reason names it: a number, boolean or null as is, anything else by
 * its type and size only. The body is the sender's; it may hold anything, row values included.
 */
const quote = (value: unknown): string => {
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (typeof value === 'string') return `(a string of ${value.length} characters)`;
  return `(${Array.isArray(value) ? 'a list' : typeof value === 'object' ? 'an object' : typeof value})`;
};

function checkOrigin(origin: unknown): string | undefined {
  if (!isObject(origin)) return 'origin must be an object';
  if (origin.kind === 'stream') {
    if (typeof origin.eventID !== 'string' || typeof origin.sequenceNumber !== 'string') return 'a stream origin needs eventID and sequenceNumber strings';
    const at = origin.approximateCreationDateTime;
    if (at !== null && typeof at !== 'number') return 'approximateCreationDateTime must be a number or null';
    return undefined;
  }
  if (origin.kind === 'backfill' || origin.kind === 'repair' || origin.kind === 'redrive') {
    return typeof origin.run === 'string' && origin.run !== '' ? undefined : `a ${origin.kind} origin needs a run`;
  }
  return `unknown origin kind ${quote(origin.kind)}`;
}

/**
 * A version 1 message (0.1.0 put the document in it) read as the trigger it implies: its
 * `source` names the row and the stream record. The document is ignored like any hint, so
 * messages left in the queue across an upgrade are indexed from the row as it is now.
 */
function fromVersion1(value: Record<string, unknown>): Record<string, unknown> {
  const source = isObject(value.source) ? value.source : {};
  return {
    v: 2,
    collection: value.collection,
    id: value.id,
    key: { pk: source.pk, sk: source.sk },
    hint: value.action,
    origin: {
      kind: 'stream',
      eventID: source.eventID,
      sequenceNumber: source.sequenceNumber,
      approximateCreationDateTime: source.approximateCreationDateTime ?? null,
    },
  };
}

/**
 * Parses and checks one message body (v2: docs/queue-message.schema.json; a v1 body is read as its trigger). Beyond the shape, the key must match an
 * indexed spec whose collection and document id are the message's: a message can only ever
 * name a document its own key projects to. Any problem throws TriggerMessageError.
 */
export function parseTrigger(body: string, messageId: string, groupId?: string): ParsedTrigger {
  const fail = (reason: string): never => {
    throw new TriggerMessageError(messageId, groupId, reason);
  };
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    // Neither the body nor the parser's message (which quotes the body) goes into the reason.
    return fail(`body is not JSON (${body.length} characters)`);
  }
  if (!isObject(value)) return fail('body is not a JSON object');
  if (value.v === 1) value = fromVersion1(value);
  if (!isObject(value) || value.v !== 2) return fail(`unsupported version ${quote((value as Record<string, unknown>).v)} (this indexer reads v 1 and v 2)`);
  const { collection, id, key, hint, origin } = value;
  if (typeof collection !== 'string' || collection === '') return fail('collection must be a non-empty string');
  if (typeof id !== 'string' || id === '') return fail('id must be a non-empty string');
  if (!isObject(key) || typeof key.pk !== 'string' || typeof key.sk !== 'string') return fail('key must hold pk and sk strings');
  if (hint !== 'upsert' && hint !== 'delete') return fail(`unknown hint ${quote(hint)}`);
  const originProblem = checkOrigin(origin);
  if (originProblem) return fail(originProblem);
  const rowKey: RowKeys = { PK: key.pk, SK: key.sk };
  const spec = matchIndexedSpec(rowKey);
  if (!spec) return fail(`key PK=${key.pk} SK=${key.sk} matches no indexed spec`);
  if (spec.collection !== collection || spec.documentId(rowKey) !== id) {
    return fail(`key PK=${key.pk} SK=${key.sk} projects to ${spec.collection}/${spec.documentId(rowKey)}, not ${collection}/${id}`);
  }
  const message: QueueMessage = { v: 2, collection, id, key: { pk: key.pk, sk: key.sk }, hint, origin: origin as unknown as TriggerOrigin };
  return { message, key: rowKey, spec };
}

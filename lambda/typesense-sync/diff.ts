import type { Item, StreamChange } from '../shared/decode';
import { StreamRecordError, type RecordRef } from '../shared/errors';
import { AttributeError, deepEqual, type SearchDocument } from './documents';
import { matchSpec, type IndexedSpec } from './specs';

/** What one stream record means for the index. */
export type Action =
  | { readonly action: 'upsert'; readonly spec: IndexedSpec; readonly collection: string; readonly id: string; readonly document: SearchDocument }
  | { readonly action: 'delete'; readonly spec: IndexedSpec; readonly collection: string; readonly id: string };

/** Why a record yields no action (for the one debug line). */
export type NoAction =
  | { readonly action: 'none'; readonly reason: 'no-spec' | 'no-collection' | 'unchanged' | 'not-indexable'; readonly collection?: string; readonly id?: string };

export type Plan = Action | NoAction;

export const refOf = (change: StreamChange): RecordRef => ({ eventID: change.eventID, pk: change.keys.PK, sk: change.keys.SK });

/** The old image's document, or UNKNOWN when the old image is malformed (see planAction). */
const UNKNOWN = Symbol('unknown old document');

/**
 * The diff of DESIGN §3, pure:
 * - old doc existed and new doc is null (or REMOVE) -> delete
 * - new doc exists and differs (deep equality) from the old one -> upsert
 * - equal docs, no doc on either side, or no indexed spec -> nothing
 *
 * A malformed attribute in the NEW image fails the record (StreamRecordError naming it):
 * a number that would be rounded is never indexed. A malformed OLD image does not block
 * the record: otherwise a row with a bad value could never be repaired or removed. Its
 * document is taken as unknown, so the record always sends its action (an upsert of the
 * new doc, or a delete, which the indexer must treat as done when the id is absent).
 */
export function planAction(change: StreamChange, onOldImageProblem?: (error: AttributeError) => void): Plan {
  const spec = matchSpec(change.keys);
  if (!spec) return { action: 'none', reason: 'no-spec' };
  if (spec.collection === null) return { action: 'none', reason: 'no-collection' };
  const collection = spec.collection;
  const id = spec.documentId(change.keys);

  const newDoc = change.eventName === 'REMOVE' ? null : documentOf(spec, change, change.newImage, 'NewImage');
  let oldDoc: SearchDocument | null | typeof UNKNOWN = null;
  if (change.eventName !== 'INSERT') {
    try {
      oldDoc = documentOf(spec, change, change.oldImage, 'OldImage');
    } catch (error) {
      if (!(error instanceof StreamRecordError && error.cause instanceof AttributeError)) throw error;
      onOldImageProblem?.(error.cause);
      oldDoc = UNKNOWN;
    }
  }

  if (newDoc === null) {
    return oldDoc === null
      ? { action: 'none', reason: 'not-indexable', collection, id }
      : { action: 'delete', spec, collection, id };
  }
  if (oldDoc !== UNKNOWN && oldDoc !== null && deepEqual(oldDoc, newDoc)) {
    return { action: 'none', reason: 'unchanged', collection, id };
  }
  return { action: 'upsert', spec, collection, id, document: newDoc };
}

function documentOf(spec: IndexedSpec, change: StreamChange, image: Item | undefined, which: 'NewImage' | 'OldImage'): SearchDocument | null {
  if (image === undefined) {
    // decodeRecord already guarantees the images the event needs; this guards direct callers.
    throw new StreamRecordError(refOf(change), `${change.eventName} record has no ${which}`);
  }
  try {
    // The keys come from the record, so a REMOVE/MODIFY image without PK/SK still works.
    return spec.toDocument({ ...image, PK: change.keys.PK, SK: change.keys.SK });
  } catch (error) {
    if (error instanceof AttributeError) {
      throw new StreamRecordError(refOf(change), `malformed ${which} ${error.message}`, { cause: error });
    }
    throw error;
  }
}

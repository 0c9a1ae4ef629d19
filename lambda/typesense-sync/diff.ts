import type { Item, StreamChange } from '../shared/decode';
import { StreamRecordError, type RecordRef } from '../shared/errors';
import { AttributeError, deepEqual, type SearchDocument } from './documents';
import type { QueueHint } from './messages';
import { matchSpec, type IndexedSpec } from './specs';

/**
 * What one stream record means for the index. The images are used only to
 * SKIP records that provably change nothing indexed; anything else sends a trigger, and
 * the indexer reads the row as it is when it runs.
 */
export type Plan =
  | { readonly action: 'trigger'; readonly spec: IndexedSpec; readonly collection: string; readonly id: string; readonly hint: QueueHint }
  | {
      readonly action: 'none';
      readonly reason: 'no-spec' | 'no-collection' | 'unchanged' | 'not-indexable';
      readonly collection?: string;
      readonly id?: string;
    };

export const refOf = (change: StreamChange): RecordRef => ({ eventID: change.eventID, pk: change.keys.PK, sk: change.keys.SK });

/** An image whose document cannot be computed (malformed attribute): nothing is provable. */
const UNKNOWN = Symbol('unknown document');
type Doc = SearchDocument | null | typeof UNKNOWN;

/**
 * The skip rule, pure:
 * - no indexed spec -> nothing
 * - neither side indexable (null documents), or equal documents -> nothing ('unchanged')
 * - otherwise a trigger; `hint` is 'delete' when the new side has no document, else 'upsert'.
 *
 * A malformed attribute on either side makes that side UNKNOWN, so the trigger is sent
 * (`onImageProblem` names it): the indexer projects the row itself and fails the message
 * loudly if the row is still malformed. A row with a bad value never blocks the stream.
 */
export function planAction(change: StreamChange, onImageProblem?: (which: 'NewImage' | 'OldImage', error: AttributeError) => void): Plan {
  const spec = matchSpec(change.keys);
  if (!spec) return { action: 'none', reason: 'no-spec' };
  if (spec.collection === null) return { action: 'none', reason: 'no-collection' };
  const collection = spec.collection;
  const id = spec.documentId(change.keys);

  const newDoc: Doc = change.eventName === 'REMOVE' ? null : documentOf(spec, change, change.newImage, 'NewImage', onImageProblem);
  const oldDoc: Doc = change.eventName === 'INSERT' ? null : documentOf(spec, change, change.oldImage, 'OldImage', onImageProblem);

  if (newDoc === null && oldDoc === null) return { action: 'none', reason: 'not-indexable', collection, id };
  if (newDoc !== UNKNOWN && oldDoc !== UNKNOWN && newDoc !== null && oldDoc !== null && deepEqual(oldDoc, newDoc)) {
    return { action: 'none', reason: 'unchanged', collection, id };
  }
  return { action: 'trigger', spec, collection, id, hint: newDoc === null ? 'delete' : 'upsert' };
}

function documentOf(
  spec: IndexedSpec,
  change: StreamChange,
  image: Item | undefined,
  which: 'NewImage' | 'OldImage',
  onImageProblem?: (which: 'NewImage' | 'OldImage', error: AttributeError) => void,
): Doc {
  if (image === undefined) {
    // decodeRecord already guarantees the images the event needs; this guards direct callers.
    throw new StreamRecordError(refOf(change), `${change.eventName} record has no ${which}`);
  }
  try {
    // The keys come from the record, so a REMOVE/MODIFY image without PK/SK still works.
    return spec.toDocument({ ...image, PK: change.keys.PK, SK: change.keys.SK });
  } catch (error) {
    if (!(error instanceof AttributeError)) throw error;
    onImageProblem?.(which, error);
    return UNKNOWN;
  }
}

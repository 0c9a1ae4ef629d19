/**
 * The entity a trigger concerns, from its key alone: a level-triggered reconcile
 * never reads the record's images, so a REMOVE without OldImage, a backfill key and an audit
 * repair key are all handled the same way.
 */
import { StreamRecordError, type RecordRef } from '../shared/errors';
import type { RowKeys } from '../shared/key-rules';
import type { Trigger } from '../shared/trigger';
import { DEFAULT_SK, IMAGE_PK_PREFIX, imagePartitionKey, isEntityType, isImageSortKey, type ImageEntity } from './keys';

/** `IMAGES#ORG#<org_id>#ENTITY#<entity_type>#ID#<entity_id>`: org_id has no `#`, entity_id is the rest. */
const PARTITION = /^IMAGES#ORG#([^#]+)#ENTITY#([^#]+)#ID#(.+)$/;

/**
 * Keys a reconcile of the default image can start from: an image row or the pointer row of an
 * image partition. Tools (audit repair) trigger pointer keys too; the stream delivers image rows.
 */
export function isImageSyncKey(key: RowKeys): boolean {
  return key.PK.startsWith(IMAGE_PK_PREFIX) && (isImageSortKey(key.SK) || key.SK === DEFAULT_SK);
}

/** What names a trigger in errors: its key, and its eventID when it came from the stream. */
export function triggerRef(trigger: Trigger): RecordRef {
  const eventID = trigger.origin.kind === 'stream' ? trigger.origin.eventID : undefined;
  return { eventID, pk: trigger.key.PK, sk: trigger.key.SK };
}

/**
 * The entity whose pointer a key belongs to, parsed from the PK. An unparsable PK, an unknown
 * entity type, or an SK that is neither an image nor the pointer is an error naming the key
 * (never a guess: reconciling the wrong partition would be silent damage).
 */
export function entityOfKey(trigger: Trigger): ImageEntity {
  const ref = triggerRef(trigger);
  const { PK, SK } = trigger.key;
  if (!isImageSortKey(SK) && SK !== DEFAULT_SK) {
    throw new StreamRecordError(ref, `not an image-sync key: SK must begin with IMG# or be ${DEFAULT_SK}`);
  }
  const match = PARTITION.exec(PK);
  if (!match) {
    throw new StreamRecordError(ref, 'not an entity image partition: PK must be IMAGES#ORG#<org_id>#ENTITY#<entity_type>#ID#<entity_id>');
  }
  const [, orgId, entityType, entityId] = match as unknown as [string, string, string, string];
  if (!isEntityType(entityType)) {
    throw new StreamRecordError(ref, `image partition has unknown entity type ${JSON.stringify(entityType)} (expected REGISTRATION or ICAO)`);
  }
  const entity: ImageEntity = { orgId, entityType, entityId };
  // The key builders are the one definition of the partition; a parse they disagree with is a bug here.
  if (imagePartitionKey(entity) !== PK) throw new StreamRecordError(ref, `image partition does not round-trip (got ${imagePartitionKey(entity)})`);
  return entity;
}

import type { StreamChange } from '../shared/decode';
import { StreamRecordError, type RecordRef } from '../shared/errors';
import { imagePartitionKey, isEntityType, type ImageEntity } from './keys';

export function recordRef(change: StreamChange): RecordRef {
  return { eventID: change.eventID, pk: change.keys.PK, sk: change.keys.SK };
}

/**
 * The entity whose default image a change may affect, from the image row's own attributes:
 * NewImage for INSERT/MODIFY, OldImage for REMOVE. A missing or malformed attribute, an
 * unknown entity type, or a row whose PK is not the entity's image partition is an error
 * naming the record (never a guess: reconciling the wrong partition would be silent damage).
 */
export function entityOfChange(change: StreamChange): ImageEntity {
  const ref = recordRef(change);
  const image = change.eventName === 'REMOVE' ? change.oldImage : change.newImage;
  const which = change.eventName === 'REMOVE' ? 'OldImage' : 'NewImage';
  if (!image) throw new StreamRecordError(ref, `${change.eventName} image record has no ${which}`);

  const text = (name: string): string => {
    const value = image[name];
    if (value === undefined || value === null) {
      throw new StreamRecordError(ref, `image row has no ${name} attribute (${which})`);
    }
    if (typeof value !== 'string' || value.trim() === '') {
      throw new StreamRecordError(ref, `image row attribute ${name} must be a non-empty string (${which})`);
    }
    return value;
  };

  const orgId = text('org_id');
  const entityType = text('entity_type');
  const entityId = text('entity_id');
  if (!isEntityType(entityType)) {
    throw new StreamRecordError(ref, `image row has unknown entity_type ${JSON.stringify(entityType)} (expected REGISTRATION or ICAO)`);
  }
  const entity: ImageEntity = { orgId, entityType, entityId };
  const expected = imagePartitionKey(entity);
  if (change.keys.PK !== expected) {
    throw new StreamRecordError(ref, `image row PK does not match its org_id/entity_type/entity_id (expected ${expected})`);
  }
  return entity;
}

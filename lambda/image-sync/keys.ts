/**
 * Image models and key builders (docs/data-model.md).
 *
 * An entity's images and its default-image pointer share one partition:
 *   image   PK = IMAGES#ORG#<org_id>#ENTITY#<entity_type>#ID#<entity_id>   SK = IMG#<sortable>
 *   pointer PK = (same)                                                   SK = DEFAULT
 * The pointer's SK does not begin with IMG#, so it matches no image-sync filter (and no other
 * subsystem's): a pointer write is never delivered back to a handler.
 */

export const IMAGE_PK_PREFIX = 'IMAGES#';
export const IMAGE_SK_PREFIX = 'IMG#';
export const DEFAULT_SK = 'DEFAULT';

export const ENTITY_TYPES = ['REGISTRATION', 'ICAO'] as const;
export type EntityType = (typeof ENTITY_TYPES)[number];

/** The entity that owns a set of images, as the image rows name it. */
export interface ImageEntity {
  readonly orgId: string;
  readonly entityType: EntityType;
  readonly entityId: string;
}

export interface TableKey {
  readonly PK: string;
  readonly SK: string;
}

/** Key builders for one entity type's image partition. */
export interface ImageModel {
  readonly entityType: EntityType;
  partitionKey(orgId: string, entityId: string): string;
}

function imageModel(entityType: EntityType): ImageModel {
  return {
    entityType,
    partitionKey: (orgId, entityId) => `${IMAGE_PK_PREFIX}ORG#${orgId}#ENTITY#${entityType}#ID#${entityId}`,
  };
}

/** One model per entity type; an entity type missing here is not an image owner we know. */
export const IMAGE_MODELS: Readonly<Record<EntityType, ImageModel>> = {
  REGISTRATION: imageModel('REGISTRATION'),
  ICAO: imageModel('ICAO'),
};

export function isEntityType(value: unknown): value is EntityType {
  return typeof value === 'string' && (ENTITY_TYPES as readonly string[]).includes(value);
}

/** The partition holding the entity's images and its pointer. */
export function imagePartitionKey(entity: ImageEntity): string {
  return IMAGE_MODELS[entity.entityType].partitionKey(entity.orgId, entity.entityId);
}

/** The default-image pointer row's key. */
export function defaultPointerKey(entity: ImageEntity): { PK: string; SK: typeof DEFAULT_SK } {
  return { PK: imagePartitionKey(entity), SK: DEFAULT_SK };
}

/** The key of one of the entity's images. */
export function imageKey(entity: ImageEntity, imageSk: string): TableKey {
  return { PK: imagePartitionKey(entity), SK: imageSk };
}

/** True for an image row's sort key (so never the pointer's). */
export function isImageSortKey(sk: unknown): sk is string {
  return typeof sk === 'string' && sk.startsWith(IMAGE_SK_PREFIX) && sk.length > IMAGE_SK_PREFIX.length;
}

/**
 * Default-image reconciliation as pure functions: state in, action out, plus
 * what the write must still find in the source when it lands. No I/O here; the repository
 * reads the state and performs the action conditionally.
 */
import { isDeepStrictEqual } from 'node:util';
import { isImageSortKey } from './keys';

/** The image attributes the pointer carries a copy of (docs/data-model.md). */
export const DISPLAY_FIELDS = ['image_id', 'url', 'thumbnail_url', 'caption'] as const;
export type DisplayField = (typeof DISPLAY_FIELDS)[number];

/** Every attribute image-sync writes on the pointer row. */
export const POINTER_FIELDS = ['image_sk', ...DISPLAY_FIELDS, 'updated_at'] as const;
export type PointerField = (typeof POINTER_FIELDS)[number];

/** An image row as read: its sort key plus (some of) the display fields. */
export interface ImageRow {
  readonly SK: string;
  readonly [attribute: string]: unknown;
}

/** The pointer row as read (only image-sync's attributes matter). */
export type PointerRow = { readonly [attribute: string]: unknown };

/** What the pointer row is written as (key excluded). */
export type PointerAttributes = { image_sk: string; updated_at: string } & Partial<Record<DisplayField, unknown>>;

export interface ReconcileState {
  /** The entity's newest image (greatest SK), absent when it has none. */
  readonly newest?: ImageRow;
  /** The pointer row, absent when there is none. */
  readonly pointer?: PointerRow;
  /**
   * The image the pointer names, when it exists. Needed only when the pointer names an image
   * other than the newest (otherwise `newest` is that image); absent means "does not exist".
   */
  readonly pointed?: ImageRow;
}

export type Action =
  /** Nothing to write: no images and no pointer, or the pointer is valid with equal fields. */
  | { readonly kind: 'none'; readonly reason: 'no-images' | 'in-sync' }
  /** Case 1: no images remain; delete the pointer (only if it is still as read). */
  | { readonly kind: 'delete'; readonly pointer: PointerRow }
  /** Case 2: images but no pointer; create it pointing at the newest (only if still absent). */
  | { readonly kind: 'create'; readonly image: ImageRow }
  /** Case 3: the pointer names a missing image; point it at the newest (only if still as read). */
  | { readonly kind: 'switch'; readonly pointer: PointerRow; readonly image: ImageRow }
  /** Case 4: the pointer is valid but its copy of the display fields differs; rewrite them. */
  | { readonly kind: 'repair'; readonly pointer: PointerRow; readonly image: ImageRow; readonly fields: readonly DisplayField[] };

/** DynamoDB has no "undefined"; a NULL attribute is treated as absent too. */
const present = (value: unknown): boolean => value !== undefined && value !== null;

/** The display fields an image contributes to its pointer (absent ones omitted). */
export function displayFields(image: ImageRow): Partial<Record<DisplayField, unknown>> {
  const fields: Partial<Record<DisplayField, unknown>> = {};
  for (const field of DISPLAY_FIELDS) {
    if (present(image[field])) fields[field] = image[field];
  }
  return fields;
}

/** The pointer's attributes for an image. `updated_at` comes from the caller's clock. */
export function pointerAttributes(image: ImageRow, updatedAt: string): PointerAttributes {
  return { image_sk: image.SK, ...displayFields(image), updated_at: updatedAt };
}

/** Display fields whose copy on the pointer differs from the image (`updated_at` is never compared). */
export function differingFields(pointer: PointerRow, image: ImageRow): DisplayField[] {
  return DISPLAY_FIELDS.filter((field) => {
    const a = present(pointer[field]) ? pointer[field] : undefined;
    const b = present(image[field]) ? image[field] : undefined;
    return !isDeepStrictEqual(a, b);
  });
}

/**
 * True when the pointer names an image that is not the newest, so its existence must be
 * read separately. A pointer whose image_sk is not an image sort key names nothing.
 */
export function needsPointedRead(pointer: PointerRow | undefined, newest: ImageRow | undefined): boolean {
  return pointer !== undefined && newest !== undefined && isImageSortKey(pointer.image_sk) && pointer.image_sk !== newest.SK;
}

/** The existing image the pointer names, if any. */
export function pointedImage(state: ReconcileState): ImageRow | undefined {
  const { pointer, newest, pointed } = state;
  if (!pointer || !isImageSortKey(pointer.image_sk)) return undefined;
  if (newest && newest.SK === pointer.image_sk) return newest;
  return pointed && pointed.SK === pointer.image_sk ? pointed : undefined;
}

/** A pointer to an existing image that is not the newest is kept (a user's choice). */
export function decide(state: ReconcileState): Action {
  const { newest, pointer } = state;
  if (!newest) return pointer ? { kind: 'delete', pointer } : { kind: 'none', reason: 'no-images' };
  if (!pointer) return { kind: 'create', image: newest };
  const current = pointedImage(state);
  if (!current) return { kind: 'switch', pointer, image: newest };
  const fields = differingFields(pointer, current);
  return fields.length > 0 ? { kind: 'repair', pointer, image: current, fields } : { kind: 'none', reason: 'in-sync' };
}

/**
 * What a write must find in the source rows, checked in the same transaction:
 * conditioning on the pointer alone lets a reconcile that read stale images write them.
 * - `image-as-read`: the image the pointer will name still exists with exactly the display
 *   fields being copied (create, switch, repair).
 * - `image-absent`: the image the deleted pointer named still does not exist, so an image
 *   re-created under the same SK after the read keeps its pointer (delete).
 * A pointer whose image_sk is not an image sort key names nothing: its delete checks only the pointer.
 */
export type SourceCheck = { readonly kind: 'image-as-read'; readonly image: ImageRow } | { readonly kind: 'image-absent'; readonly imageSk: string };

export function sourceCheck(action: Action): SourceCheck | undefined {
  switch (action.kind) {
    case 'none':
      return undefined;
    case 'delete':
      return isImageSortKey(action.pointer.image_sk) ? { kind: 'image-absent', imageSk: action.pointer.image_sk } : undefined;
    case 'create':
    case 'switch':
    case 'repair':
      return { kind: 'image-as-read', image: action.image };
  }
}

/**
 * I2 for one entity (docs/data-model.md, invariants), given all its images and its pointer: with images there is
 * a pointer naming one of them whose display fields equal that image's; without images there
 * is no pointer. Returns the violations (empty when it holds).
 */
export function i2Violations(images: readonly ImageRow[], pointer: PointerRow | undefined): string[] {
  if (images.length === 0) return pointer ? ['pointer exists but the entity has no images'] : [];
  if (!pointer) return ['entity has images but no pointer'];
  const named = images.find((image) => image.SK === pointer.image_sk);
  if (!named) return [`pointer names missing image ${String(pointer.image_sk)}`];
  return differingFields(pointer, named).map((field) => `pointer field ${field} differs from image ${named.SK}`);
}

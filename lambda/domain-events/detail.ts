/**
 * The domain event of one table change, as pure data: `detail` (docs/domain-event.schema.json)
 * and its detail type `<entity>.created|updated|deleted`. Everything here reads the record's
 * images, the only place the change exists (no later read of the table can say what a row was).
 */
import { NumberValueImpl as NumberValue } from '@aws-sdk/util-dynamodb';
import type { Item, StreamChange } from '../shared/decode';
import { StreamRecordError } from '../shared/errors';
import type { RowKind } from '../shared/row-kinds';

/** The version of `detail`; a change a consumer must know about gets a new one. */
export const DETAIL_VERSION = 1;

export type ChangeKind = 'created' | 'updated' | 'deleted';

export const CHANGE_KINDS: Readonly<Record<StreamChange['eventName'], ChangeKind>> = {
  INSERT: 'created',
  MODIFY: 'updated',
  REMOVE: 'deleted',
};

/** A projected state: the kind's attributes present in the image, as JSON values. */
export type EntityState = Record<string, unknown>;

export interface DomainEventDetail {
  readonly version: typeof DETAIL_VERSION;
  /** The stream record's eventID: consumers deduplicate on it (delivery is at least once). */
  readonly eventID: string;
  readonly eventName: StreamChange['eventName'];
  readonly entity: string;
  readonly rowKind: string;
  readonly table: string;
  readonly keys: { readonly PK: string; readonly SK: string };
  readonly sequenceNumber: string;
  /** ISO 8601 with microseconds ("2026-03-01T12:00:00.000000Z"). */
  readonly changeTime: string;
  /** The same instant in epoch microseconds (Kinesis sources carry microseconds). */
  readonly changeTimeMicros: number;
  /** The kind's attributes that differ between the images (all present ones for created/deleted), sorted. */
  readonly changedFields: readonly string[];
  /** The new state (created, updated). */
  readonly state?: EntityState;
  /** The state before the change (updated, deleted). */
  readonly previous?: EntityState;
  /** Present instead of `state`/`previous` when the entry with them would exceed PutEvents' size limit. */
  readonly stateOmitted?: { readonly reason: 'entry-too-large'; readonly entryBytes: number; readonly limitBytes: number };
}

export interface DetailOptions {
  /** The table the change came from (`detail.table`, where a consumer reads the row by `keys`). */
  readonly table: string;
  /** Include the kind's sensitive attributes in `state`/`previous` (only for a bus the team controls). */
  readonly includeSensitive: boolean;
}

const refOf = (change: StreamChange) => ({ eventID: change.eventID, pk: change.keys.PK, sk: change.keys.SK });

/** A decoded attribute value as JSON: exact numbers beyond a double stay exact as strings, binary becomes base64. */
export function jsonValue(value: unknown): unknown {
  if (value instanceof NumberValue) return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map(jsonValue);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = jsonValue(v);
    return out;
  }
  return value;
}

/** The attributes of `kind` an event may carry: all of them, or all but the sensitive ones. */
export function projectedAttributes(kind: RowKind, includeSensitive: boolean): readonly string[] {
  return includeSensitive ? kind.attributes : kind.attributes.filter((a) => !kind.sensitive.includes(a));
}

export function projectState(image: Item, attributes: readonly string[]): EntityState {
  const state: EntityState = {};
  for (const name of attributes) if (image[name] !== undefined) state[name] = jsonValue(image[name]);
  return state;
}

/** Compares decoded attribute values by their JSON form (NumberValue and bytes included). */
const sameValue = (a: unknown, b: unknown): boolean => JSON.stringify(jsonValue(a)) === JSON.stringify(jsonValue(b));

/**
 * The kind's attributes this change touches, sensitive ones included (a name is not a value):
 * for an update those that differ between the images; for a create or delete those present.
 * An empty list means the entity did not change (only attributes outside it did).
 */
export function changedFields(change: StreamChange, kind: RowKind): string[] {
  const { newImage, oldImage } = change;
  const names = kind.attributes.filter((name) => {
    const before = oldImage?.[name];
    const after = newImage?.[name];
    if (change.eventName === 'MODIFY') return before === undefined ? after !== undefined : after === undefined || !sameValue(before, after);
    return (after ?? before) !== undefined;
  });
  return [...names].sort();
}

/**
 * Whether a change makes an event: every create and delete does; an update only when one of
 * the entity's attributes changed (an edit of bookkeeping fields outside the entity says
 * nothing a consumer can see, and publishing it would only be noise). Pure, so the I6 check
 * (ops/invariants-events.ts) applies the same rule.
 */
export function publishesEvent(change: StreamChange, kind: RowKind): boolean {
  return change.eventName !== 'MODIFY' || changedFields(change, kind).length > 0;
}

/** Epoch microseconds and ISO 8601 with microseconds from the record's change time (epoch seconds, fraction kept). */
export function changeTimeOf(change: StreamChange): { iso: string; micros: number } {
  const seconds = change.approximateCreationDateTime;
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds <= 0) {
    throw new StreamRecordError(refOf(change), 'stream record has no ApproximateCreationDateTime: a domain event needs the change time');
  }
  // A double's spacing near 2e9 s is ~0.24 µs, so rounding recovers the microseconds exactly.
  const micros = Math.round(seconds * 1e6);
  const iso = new Date(Math.floor(micros / 1000)).toISOString();
  return { iso: `${iso.slice(0, -1)}${String(micros % 1000).padStart(3, '0')}Z`, micros };
}

export const detailType = (kind: RowKind, change: StreamChange): string => `${kind.entity}.${CHANGE_KINDS[change.eventName]}`;

/** The full detail of one change (state and previous as the change kind has them). */
export function buildDetail(change: StreamChange, kind: RowKind, options: DetailOptions): DomainEventDetail {
  const { iso, micros } = changeTimeOf(change);
  const attributes = projectedAttributes(kind, options.includeSensitive);
  const needsNew = change.eventName !== 'REMOVE';
  const needsOld = change.eventName !== 'INSERT';
  if ((needsNew && !change.newImage) || (needsOld && !change.oldImage)) {
    throw new StreamRecordError(refOf(change), `${change.eventName} record lacks an image: domain events need StreamViewType NEW_AND_OLD_IMAGES`);
  }
  return {
    version: DETAIL_VERSION,
    eventID: change.eventID,
    eventName: change.eventName,
    entity: kind.entity,
    rowKind: kind.name,
    table: options.table,
    keys: { PK: change.keys.PK, SK: change.keys.SK },
    sequenceNumber: change.sequenceNumber,
    changeTime: iso,
    changeTimeMicros: micros,
    changedFields: changedFields(change, kind),
    ...(needsNew && { state: projectState(change.newImage!, attributes) }),
    ...(needsOld && { previous: projectState(change.oldImage!, attributes) }),
  };
}

/** The same detail with its states replaced by a reference: the consumer reads the row by `table` + `keys`. */
export function withoutState(detail: DomainEventDetail, entryBytes: number, limitBytes: number): DomainEventDetail {
  const { state: _state, previous: _previous, ...rest } = detail;
  return { ...rest, stateOmitted: { reason: 'entry-too-large', entryBytes, limitBytes } };
}

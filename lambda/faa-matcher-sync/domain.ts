import type { EventName, Item } from '../shared/decode';
import { matcherTupleKey } from './keys';

/** The matcher fields of an FAA link, normalised (DESIGN §5). */
export interface Tuple {
  /** Trimmed and upper-cased. */
  readonly type_designator: string;
  /** Trimmed. */
  readonly manufacturer: string;
  /** Trimmed. */
  readonly model: string;
}

const field = (item: Item, name: string): string | null => {
  const value = item[name];
  if (typeof value !== 'string') return null;
  const trimmed = value.trim();
  return trimmed === '' ? null : trimmed;
};

/**
 * The tuple an FAA link row carries, or null when it carries none: all three fields must be
 * non-empty strings after trimming (a number, a set or a missing attribute is not a string).
 * The type designator is upper-cased; manufacturer and model keep their case.
 */
export function matcherFields(item: Item | undefined): Tuple | null {
  if (!item) return null;
  const typeDesignator = field(item, 'type_designator');
  const manufacturer = field(item, 'manufacturer');
  const model = field(item, 'model');
  if (typeDesignator === null || manufacturer === null || model === null) return null;
  return { type_designator: typeDesignator.toUpperCase(), manufacturer, model };
}

/** Same counted row: tuples are compared by the key of the row that counts them. */
export function sameTuple(a: Tuple | null, b: Tuple | null): boolean {
  if (a === null || b === null) return a === b;
  const ka = matcherTupleKey(a);
  const kb = matcherTupleKey(b);
  return ka.PK === kb.PK && ka.SK === kb.SK;
}

export type Decision =
  | { readonly kind: 'increment'; readonly to: Tuple }
  | { readonly kind: 'decrement'; readonly from: Tuple }
  | { readonly kind: 'move'; readonly from: Tuple; readonly to: Tuple }
  | { readonly kind: 'none'; readonly reason: 'unchanged' | 'no-valid-fields' };

/**
 * What one change does to the counts. `current` is the tuple the link contributes to now
 * (from the contribution ledger, not blindly from the record's OldImage); `next` is the tuple
 * its new image carries. A REMOVE carries nothing, whatever `next` says.
 */
export function decide(current: Tuple | null, next: Tuple | null, eventName: EventName): Decision {
  const after = eventName === 'REMOVE' ? null : next;
  if (current === null && after === null) return { kind: 'none', reason: 'no-valid-fields' };
  if (current === null) return { kind: 'increment', to: after! };
  if (after === null) return { kind: 'decrement', from: current };
  if (sameTuple(current, after)) return { kind: 'none', reason: 'unchanged' };
  return { kind: 'move', from: current, to: after };
}

/**
 * Width of the comparable form of a stream sequence number. DynamoDB stream sequence numbers
 * are decimal digit strings of varying length (21 to ~40 digits today), so "9" vs "10" must
 * compare numerically: we left-pad with zeros to a fixed width and compare the strings, which
 * DynamoDB condition expressions (`<` on S, byte order) and JS (`<`) both do the same way.
 */
export const SEQUENCE_ORDER_WIDTH = 64;

/** The fixed-width, lexicographically ordered form of a sequence number; null if it is not one. */
export function sequenceOrder(sequenceNumber: string): string | null {
  if (!/^\d+$/.test(sequenceNumber)) return null;
  const digits = sequenceNumber.replace(/^0+(?=\d)/, '');
  if (digits.length > SEQUENCE_ORDER_WIDTH) return null;
  return digits.padStart(SEQUENCE_ORDER_WIDTH, '0');
}

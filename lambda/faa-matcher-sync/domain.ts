import type { Item } from '../shared/decode';
import { matcherTupleKey } from './keys';

/** The matcher fields of an FAA link, normalised. */
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
  | { readonly kind: 'none' };

/**
 * Level-triggered: `recorded` is the tuple the link's contribution row says it is
 * counted in, `desired` the tuple the link row carries now (null: deleted or invalid). The
 * decision moves the link's one count from the first to the second; no history is involved.
 */
export function decide(recorded: Tuple | null, desired: Tuple | null): Decision {
  if (sameTuple(recorded, desired)) return { kind: 'none' };
  if (recorded === null) return { kind: 'increment', to: desired! };
  if (desired === null) return { kind: 'decrement', from: recorded };
  return { kind: 'move', from: recorded, to: desired };
}

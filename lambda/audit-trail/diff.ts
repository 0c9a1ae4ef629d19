/**
 * The field-level diff of a change: attributes added, removed, and changed (old and new), the
 * item's keys (PK, SK) left out since the history names them. Values compare by their
 * canonical form, so nested maps and lists that are equal are not reported.
 */
import type { Item } from '../shared/decode';
import { encodeValue } from './values';

export interface FieldDiff {
  readonly added: Readonly<Record<string, unknown>>;
  readonly removed: Readonly<Record<string, unknown>>;
  readonly changed: Readonly<Record<string, { readonly old: unknown; readonly new: unknown }>>;
}

const KEY_ATTRIBUTES: ReadonlySet<string> = new Set(['PK', 'SK']);

export function fieldDiff(oldImage: Item | undefined, newImage: Item | undefined): FieldDiff {
  const before = oldImage ?? {};
  const after = newImage ?? {};
  const added: Record<string, unknown> = {};
  const removed: Record<string, unknown> = {};
  const changed: Record<string, { old: unknown; new: unknown }> = {};
  const names = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((n) => !KEY_ATTRIBUTES.has(n)).sort();
  for (const name of names) {
    const inOld = before[name] !== undefined;
    const inNew = after[name] !== undefined;
    if (inOld && !inNew) removed[name] = before[name];
    else if (!inOld && inNew) added[name] = after[name];
    else if (inOld && inNew && encodeValue(before[name]) !== encodeValue(after[name])) changed[name] = { old: before[name], new: after[name] };
  }
  return { added, removed, changed };
}

/** The names of the fields a diff touches. */
export const diffFields = (diff: FieldDiff): string[] =>
  [...Object.keys(diff.added), ...Object.keys(diff.removed), ...Object.keys(diff.changed)].sort();

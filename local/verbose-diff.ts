/**
 * `npm start --verbose`: what changed between two looks at the index and the table, one line
 * per change: every search document added, updated or deleted, every matcher count and every
 * default-image pointer that moved.
 */
import { MATCHER_TUPLE_PK_PREFIX } from '../lambda/faa-matcher-sync/keys';
import { DEFAULT_SK, IMAGE_PK_PREFIX } from '../lambda/image-sync/keys';
import type { Item } from '../lambda/shared/decode';

export type IndexView = ReadonlyMap<string, ReadonlyMap<string, unknown>>;

export function indexChanges(before: IndexView, after: IndexView): string[] {
  const lines: string[] = [];
  for (const collection of new Set([...before.keys(), ...after.keys()])) {
    const old = before.get(collection) ?? new Map<string, unknown>();
    const now = after.get(collection) ?? new Map<string, unknown>();
    for (const [id, doc] of now) {
      if (!old.has(id)) lines.push(`[index] added ${collection}/${id} ${JSON.stringify(doc)}`);
      else if (JSON.stringify(old.get(id)) !== JSON.stringify(doc)) lines.push(`[index] updated ${collection}/${id} ${JSON.stringify(doc)}`);
    }
    for (const id of old.keys()) if (!now.has(id)) lines.push(`[index] deleted ${collection}/${id}`);
  }
  return lines;
}

/** Matcher tuple counts and default-image pointers, keyed by their row key. */
function derived(rows: readonly Item[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const row of rows) {
    const pk = String(row.PK);
    if (pk.startsWith(MATCHER_TUPLE_PK_PREFIX)) out.set(`[count] ${pk} ${String(row.SK)}`, String(row.count));
    else if (pk.startsWith(IMAGE_PK_PREFIX) && row.SK === DEFAULT_SK) out.set(`[pointer] ${pk}`, String(row.image_id));
  }
  return out;
}

export function rowChanges(before: readonly Item[], after: readonly Item[]): string[] {
  const old = derived(before);
  const now = derived(after);
  const lines: string[] = [];
  for (const [what, value] of now) if (old.get(what) !== value) lines.push(`${what}: ${old.get(what) ?? 'none'} -> ${value}`);
  for (const [what, value] of old) if (!now.has(what)) lines.push(`${what}: ${value} -> none`);
  return lines;
}

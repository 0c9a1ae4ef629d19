/**
 * The consistency audit (DESIGN §6): given a snapshot of the table and of the search
 * index, list every way I1–I3 fail. Pure, so `npm start`, the chaos test and a user's
 * own tooling judge drift the same way.
 */
import { matcherFields } from '../lambda/faa-matcher-sync/domain';
import { matcherTupleKey, MATCHER_TUPLE_PK_PREFIX } from '../lambda/faa-matcher-sync/keys';
import { DEFAULT_SK, IMAGE_PK_PREFIX } from '../lambda/image-sync/keys';
import { i2Violations, type ImageRow } from '../lambda/image-sync/reconcile';
import type { Item } from '../lambda/shared/decode';
import { deepEqual } from '../lambda/typesense-sync/documents';
import { matchIndexedSpec } from '../lambda/typesense-sync/specs';
import { owns } from '../lambda/subsystems';

/** collection -> document id -> document */
export type IndexSnapshot = ReadonlyMap<string, ReadonlyMap<string, unknown>>;

export interface Drift {
  readonly invariant: 'I1' | 'I2' | 'I3';
  readonly where: string;
  readonly problem: string;
}

export interface AuditResult {
  readonly drift: readonly Drift[];
  readonly checked: { readonly documents: number; readonly entities: number; readonly tuples: number };
}

const keysOf = (row: Item) => ({ PK: String(row.PK), SK: String(row.SK) });

/** I1: the index equals the projection of the current table through the specs. */
export function auditSearch(rows: readonly Item[], index: IndexSnapshot): { drift: Drift[]; documents: number } {
  const drift: Drift[] = [];
  const expected = new Map<string, Map<string, unknown>>();
  for (const row of rows) {
    const spec = matchIndexedSpec(keysOf(row));
    if (!spec) continue;
    let document;
    try {
      document = spec.toDocument(row);
    } catch (error) {
      drift.push({ invariant: 'I1', where: `${row.PK} ${row.SK}`, problem: `row cannot be projected: ${(error as Error).message}` });
      continue;
    }
    if (document === null) continue;
    const collection = expected.get(spec.collection) ?? new Map<string, unknown>();
    collection.set(spec.documentId(keysOf(row)), document);
    expected.set(spec.collection, collection);
  }
  let documents = 0;
  for (const name of new Set([...expected.keys(), ...index.keys()])) {
    const want = expected.get(name) ?? new Map<string, unknown>();
    const have = index.get(name) ?? new Map<string, unknown>();
    documents += want.size;
    for (const [id, doc] of want) {
      if (!have.has(id)) drift.push({ invariant: 'I1', where: `${name}/${id}`, problem: 'missing from the index' });
      else if (!deepEqual(have.get(id), doc)) drift.push({ invariant: 'I1', where: `${name}/${id}`, problem: 'stale document in the index' });
    }
    for (const id of have.keys()) {
      if (!want.has(id)) drift.push({ invariant: 'I1', where: `${name}/${id}`, problem: 'in the index but not in the table' });
    }
  }
  return { drift, documents };
}

/** I2: every entity with images has one valid, repaired pointer; no pointer without images. */
export function auditImages(rows: readonly Item[]): { drift: Drift[]; entities: number } {
  const entities = new Map<string, { images: ImageRow[]; pointer?: Item }>();
  const entity = (pk: string) => entities.get(pk) ?? entities.set(pk, { images: [] }).get(pk)!;
  for (const row of rows) {
    const keys = keysOf(row);
    if (owns('image-sync', keys)) entity(keys.PK).images.push(row as ImageRow);
    else if (keys.PK.startsWith(IMAGE_PK_PREFIX) && keys.SK === DEFAULT_SK) entity(keys.PK).pointer = row;
  }
  const drift: Drift[] = [];
  for (const [pk, { images, pointer }] of entities) {
    for (const problem of i2Violations(images, pointer)) drift.push({ invariant: 'I2', where: pk, problem });
  }
  return { drift, entities: entities.size };
}

/** I3: each tuple's count equals the number of FAA links carrying it; no tuple row with count <= 0. */
export function auditMatcher(rows: readonly Item[]): { drift: Drift[]; tuples: number } {
  const expected = new Map<string, number>();
  const actual = new Map<string, unknown>();
  for (const row of rows) {
    const keys = keysOf(row);
    if (owns('faa-matcher-sync', keys)) {
      const tuple = matcherFields(row);
      if (!tuple) continue;
      const key = matcherTupleKey(tuple);
      const id = `${key.PK} ${key.SK}`;
      expected.set(id, (expected.get(id) ?? 0) + 1);
    } else if (keys.PK.startsWith(MATCHER_TUPLE_PK_PREFIX)) {
      actual.set(`${keys.PK} ${keys.SK}`, row.count);
    }
  }
  const drift: Drift[] = [];
  for (const [id, count] of expected) {
    if (actual.get(id) !== count) drift.push({ invariant: 'I3', where: id, problem: `count ${String(actual.get(id) ?? 'missing')}, links ${count}` });
  }
  for (const [id, count] of actual) {
    if (!expected.has(id)) drift.push({ invariant: 'I3', where: id, problem: `tuple row with count ${String(count)} but no link carries it` });
  }
  return { drift, tuples: expected.size };
}

export function audit(rows: readonly Item[], index: IndexSnapshot): AuditResult {
  const search = auditSearch(rows, index);
  const images = auditImages(rows);
  const matcher = auditMatcher(rows);
  return {
    drift: [...search.drift, ...images.drift, ...matcher.drift],
    checked: { documents: search.documents, entities: images.entities, tuples: matcher.tuples },
  };
}

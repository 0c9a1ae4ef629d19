/**
 * The consistency audit (docs/data-model.md, invariants): every way I1–I3 fail, each finding naming the row key at
 * fault and the keys whose reconcile repairs it. Pure and built from per-unit checks (one row
 * and its document, one entity partition, one link, one tuple), so `ops audit` streams the
 * table through the same checks that `npm start`, the chaos test and a user's own tooling run
 * on a snapshot with `audit(rows, index)`.
 */
import type { Tuple } from '../lambda/faa-matcher-sync/domain';
import { DEFAULT_SK, IMAGE_PK_PREFIX } from '../lambda/image-sync/keys';
import { i2Violations, type ImageRow } from '../lambda/image-sync/reconcile';
import type { Item } from '../lambda/shared/decode';
import type { RowKeys } from '../lambda/shared/key-rules';
import { deepEqual } from '../lambda/typesense-sync/documents';
import { matchIndexedSpec } from '../lambda/typesense-sync/specs';
import { owns } from '../lambda/subsystems';
import { auditMatcher } from './audit-matcher';

export { auditMatcher };

/** collection -> document id -> document */
export type IndexSnapshot = ReadonlyMap<string, ReadonlyMap<string, unknown>>;

export type Invariant = 'I1' | 'I2' | 'I3';

/** What every report prints about one violation. */
export interface Drift {
  readonly invariant: Invariant;
  /** One line naming the place. */
  readonly where: string;
  readonly problem: string;
}

/** A violation with the keys at fault: what the audit produces. */
export interface Finding extends Drift {
  /** The row at fault: the source row (I1), the pointer row (I2), the tuple row or the link (I3). Null: no row names it (a document no row projects to). */
  readonly pk: string | null;
  readonly sk: string | null;
  /** I1 only: the search document concerned. */
  readonly collection?: string;
  readonly id?: string;
  /** Keys whose reconcile repairs this finding (empty: a tuple finding, repaired by a recount and its links' findings, or nothing; see `problem`). */
  readonly repair: readonly RowKeys[];
  /** I3 tuple findings: the tuple (a recount needs its fields). */
  readonly tuple?: Tuple;
  /** I3 link findings: the tuples the link's reconcile moves a count between. */
  readonly tuples?: readonly Tuple[];
}

export interface AuditChecked {
  readonly documents: number;
  readonly entities: number;
  readonly tuples: number;
}

/** `npm start`'s report holds this (it prints `invariant`, `where`, `problem`). */
export interface AuditResult {
  readonly drift: readonly Drift[];
  readonly checked: AuditChecked;
}

const keysOf = (row: Item): RowKeys => ({ PK: String(row.PK), SK: String(row.SK) });

// ---- I1: one row and its search document ---------------------------------------------------

/** A row's place in the index: its collection, document id and the document it projects to. */
export interface Projected {
  readonly key: RowKeys;
  readonly collection: string;
  readonly id: string;
  readonly document: unknown;
}

function i1(key: RowKeys | null, collection: string, id: string, problem: string): Finding {
  return { invariant: 'I1', pk: key?.PK ?? null, sk: key?.SK ?? null, collection, id, problem, where: `${collection}/${id}`, repair: key ? [key] : [] };
}

/** The row's document; null when no collection indexes the row or it is not indexable; a finding when it cannot be projected. */
export function projectRow(row: Item): Projected | Finding | null {
  const key = keysOf(row);
  const spec = matchIndexedSpec(key);
  if (!spec) return null;
  let document;
  try {
    document = spec.toDocument(row);
  } catch (error) {
    return i1(key, spec.collection, spec.documentId(key), `row cannot be projected: ${(error as Error).message}`);
  }
  return document === null ? null : { key, collection: spec.collection, id: spec.documentId(key), document };
}

export const isFinding = (x: Projected | Finding): x is Finding => 'invariant' in x;

/** A projected row against what the index holds under its id (undefined: nothing). */
export function documentFinding(p: Projected, indexed: unknown): Finding | null {
  if (indexed === undefined) return i1(p.key, p.collection, p.id, 'missing from the index');
  return deepEqual(indexed, p.document) ? null : i1(p.key, p.collection, p.id, 'stale document in the index');
}

/** A document no row projects to: no trigger can remove it (delete it by id). */
export const extraDocumentFinding = (collection: string, id: string): Finding => i1(null, collection, id, 'in the index but not in the table');

/** The search documents the table projects to: collection -> id -> { key, document }; plus rows that cannot be projected. */
export function projectTable(rows: readonly Item[]): { expected: Map<string, Map<string, { key: RowKeys; document: unknown }>>; findings: Finding[] } {
  const expected = new Map<string, Map<string, { key: RowKeys; document: unknown }>>();
  const findings: Finding[] = [];
  for (const row of rows) {
    const p = projectRow(row);
    if (p === null) continue;
    if (isFinding(p)) {
      findings.push(p);
      continue;
    }
    const collection = expected.get(p.collection) ?? new Map();
    collection.set(p.id, { key: p.key, document: p.document });
    expected.set(p.collection, collection);
  }
  return { expected, findings };
}

/** Documents per collection the table projects to (what `ops audit` prints without a search server). */
export function projectionCounts(rows: readonly Item[]): Record<string, number> {
  return Object.fromEntries([...projectTable(rows).expected].map(([name, docs]) => [name, docs.size]));
}

/** I1: the index equals the projection of the current table through the specs. */
export function auditSearch(rows: readonly Item[], index: IndexSnapshot): { drift: Finding[]; documents: number } {
  const { expected, findings: drift } = projectTable(rows);
  let documents = 0;
  for (const name of new Set([...expected.keys(), ...index.keys()])) {
    const want = expected.get(name) ?? new Map<string, { key: RowKeys; document: unknown }>();
    const have = index.get(name) ?? new Map<string, unknown>();
    documents += want.size;
    for (const [id, { key, document }] of want) {
      const f = documentFinding({ key, collection: name, id, document }, have.get(id));
      if (f) drift.push(f);
    }
    for (const id of have.keys()) if (!want.has(id)) drift.push(extraDocumentFinding(name, id));
  }
  return { drift, documents };
}

// ---- I2: one entity partition ------------------------------------------------------------

/** The row's part in I2: an image, a pointer (an entity's DEFAULT row), or neither. */
export function imageRole(row: Item): 'image' | 'pointer' | null {
  const keys = keysOf(row);
  if (owns('image-sync', keys)) return 'image';
  return keys.PK.startsWith(IMAGE_PK_PREFIX) && keys.SK === DEFAULT_SK ? 'pointer' : null;
}

/** I2: every entity with images has one valid, repaired pointer; no pointer without images. */
export function auditImages(rows: readonly Item[]): { drift: Finding[]; entities: number } {
  const entities = new Map<string, { images: ImageRow[]; pointer?: Item }>();
  const entity = (pk: string) => entities.get(pk) ?? entities.set(pk, { images: [] }).get(pk)!;
  for (const row of rows) {
    const role = imageRole(row);
    if (role === 'image') entity(String(row.PK)).images.push(row as ImageRow);
    else if (role === 'pointer') entity(String(row.PK)).pointer = row;
  }
  const drift: Finding[] = [];
  for (const [pk, { images, pointer }] of entities) {
    const key = { PK: pk, SK: DEFAULT_SK };
    for (const problem of i2Violations(images, pointer)) drift.push({ invariant: 'I2', pk, sk: DEFAULT_SK, problem, where: pk, repair: [key] });
  }
  return { drift, entities: entities.size };
}

// ---- The whole snapshot ------------------------------------------------------------------

/** What `audit` returns: an AuditResult whose drift entries are full findings. */
export interface FindingsResult extends AuditResult {
  readonly drift: readonly Finding[];
}

export function audit(rows: readonly Item[], index: IndexSnapshot): FindingsResult {
  const search = auditSearch(rows, index);
  const images = auditImages(rows);
  const matcher = auditMatcher(rows);
  return {
    drift: [...search.drift, ...images.drift, ...matcher.drift],
    checked: { documents: search.documents, entities: images.entities, tuples: matcher.tuples },
  };
}

/** A finding's place across two audits (first pass and re-check): invariant, keys and document. */
export const findingPlace = (f: Pick<Finding, 'invariant' | 'pk' | 'sk' | 'collection' | 'id'>): string =>
  `${f.invariant}\u0000${f.pk}\u0000${f.sk}\u0000${f.collection ?? ''}\u0000${f.id ?? ''}`;

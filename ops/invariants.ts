/**
 * The consistency audit (DESIGN §6): given a snapshot of the table and of the search
 * index, list every way I1–I3 fail, each finding naming the row key at fault and the keys
 * whose reconcile repairs it. Pure, so `npm start`, the chaos test, `ops audit` and a user's
 * own tooling judge drift the same way.
 */
import { matcherFields } from '../lambda/faa-matcher-sync/domain';
import { CONTRIBUTION_PK_PREFIX, CONTRIBUTION_SK_PREFIX, contributionKey, matcherTupleKey, MATCHER_TUPLE_PK_PREFIX } from '../lambda/faa-matcher-sync/keys';
import { FAA_LINK_KEY_RULES } from '../lambda/faa-matcher-sync/ownership';
import { DEFAULT_SK, IMAGE_PK_PREFIX } from '../lambda/image-sync/keys';
import { i2Violations, type ImageRow } from '../lambda/image-sync/reconcile';
import type { Item } from '../lambda/shared/decode';
import type { RowKeys } from '../lambda/shared/key-rules';
import { deepEqual } from '../lambda/typesense-sync/documents';
import { matchIndexedSpec } from '../lambda/typesense-sync/specs';
import { owns } from '../lambda/subsystems';

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
  /** Keys whose reconcile repairs this finding (empty: no key can; see `problem`). */
  readonly repair: readonly RowKeys[];
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
const keyText = (k: RowKeys) => `${k.PK} ${k.SK}`;

/** The search documents the table projects to: collection -> id -> { key, document }; plus rows that cannot be projected. */
export function projectTable(rows: readonly Item[]): { expected: Map<string, Map<string, { key: RowKeys; document: unknown }>>; findings: Finding[] } {
  const expected = new Map<string, Map<string, { key: RowKeys; document: unknown }>>();
  const findings: Finding[] = [];
  for (const row of rows) {
    const key = keysOf(row);
    const spec = matchIndexedSpec(key);
    if (!spec) continue;
    let document;
    try {
      document = spec.toDocument(row);
    } catch (error) {
      findings.push(i1(key, spec.collection, spec.documentId(key), `row cannot be projected: ${(error as Error).message}`));
      continue;
    }
    if (document === null) continue;
    const collection = expected.get(spec.collection) ?? new Map();
    collection.set(spec.documentId(key), { key, document });
    expected.set(spec.collection, collection);
  }
  return { expected, findings };
}

function i1(key: RowKeys | null, collection: string, id: string, problem: string): Finding {
  return { invariant: 'I1', pk: key?.PK ?? null, sk: key?.SK ?? null, collection, id, problem, where: `${collection}/${id}`, repair: key ? [key] : [] };
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
      if (!have.has(id)) drift.push(i1(key, name, id, 'missing from the index'));
      else if (!deepEqual(have.get(id), document)) drift.push(i1(key, name, id, 'stale document in the index'));
    }
    for (const id of have.keys()) {
      if (!want.has(id)) drift.push(i1(null, name, id, 'in the index but not in the table'));
    }
  }
  return { drift, documents };
}

/** I2: every entity with images has one valid, repaired pointer; no pointer without images. */
export function auditImages(rows: readonly Item[]): { drift: Finding[]; entities: number } {
  const entities = new Map<string, { images: ImageRow[]; pointer?: Item }>();
  const entity = (pk: string) => entities.get(pk) ?? entities.set(pk, { images: [] }).get(pk)!;
  for (const row of rows) {
    const keys = keysOf(row);
    if (owns('image-sync', keys)) entity(keys.PK).images.push(row as ImageRow);
    else if (keys.PK.startsWith(IMAGE_PK_PREFIX) && keys.SK === DEFAULT_SK) entity(keys.PK).pointer = row;
  }
  const drift: Finding[] = [];
  for (const [pk, { images, pointer }] of entities) {
    const key = { PK: pk, SK: DEFAULT_SK };
    for (const problem of i2Violations(images, pointer)) drift.push({ invariant: 'I2', pk, sk: DEFAULT_SK, problem, where: pk, repair: [key] });
  }
  return { drift, entities: entities.size };
}

/**
 * I3: each tuple's count equals the number of FAA links carrying it; no tuple row with
 * count <= 0; and a link's contribution row (the matcher's ledger) names the tuple the link
 * carries now. A tuple finding is repaired by reconciling the links that carry it or that a
 * contribution row counts toward it.
 */
export function auditMatcher(rows: readonly Item[]): { drift: Finding[]; tuples: number } {
  const carriers = new Map<string, { key: RowKeys; links: RowKeys[] }>();
  const actual = new Map<string, { key: RowKeys; count: unknown }>();
  const linkTuple = new Map<string, string | null>();
  const contributions: { link: RowKeys; tuple: string | null }[] = [];
  for (const row of rows) {
    const keys = keysOf(row);
    if (owns('faa-matcher-sync', keys)) {
      const tuple = matcherFields(row);
      const tupleKey = tuple ? matcherTupleKey(tuple) : null;
      linkTuple.set(keyText(keys), tupleKey ? keyText(tupleKey) : null);
      if (!tupleKey) continue;
      const entry = carriers.get(keyText(tupleKey)) ?? { key: tupleKey, links: [] };
      entry.links.push(keys);
      carriers.set(keyText(tupleKey), entry);
    } else if (keys.PK.startsWith(MATCHER_TUPLE_PK_PREFIX)) {
      actual.set(keyText(keys), { key: keys, count: row.count });
    } else if (keys.PK.startsWith(CONTRIBUTION_PK_PREFIX) && keys.SK.startsWith(CONTRIBUTION_SK_PREFIX)) {
      const link = { PK: keys.SK.slice(CONTRIBUTION_SK_PREFIX.length), SK: keys.PK.slice(CONTRIBUTION_PK_PREFIX.length) };
      const tuple = typeof row.tuple_pk === 'string' && typeof row.tuple_sk === 'string' ? `${row.tuple_pk} ${row.tuple_sk}` : null;
      contributions.push({ link, tuple });
    }
  }
  const countedToward = new Map<string, RowKeys[]>();
  for (const { link, tuple } of contributions) if (tuple) countedToward.set(tuple, [...(countedToward.get(tuple) ?? []), link]);
  const repairOf = (id: string): RowKeys[] => {
    const keys = new Map<string, RowKeys>();
    for (const k of [...(carriers.get(id)?.links ?? []), ...(countedToward.get(id) ?? [])]) keys.set(keyText(k), k);
    return [...keys.values()];
  };
  const i3 = (key: RowKeys, problem: string, repair: RowKeys[]): Finding => ({ invariant: 'I3', pk: key.PK, sk: key.SK, problem, where: keyText(key), repair });

  const drift: Finding[] = [];
  for (const [id, { key, links }] of carriers) {
    const count = actual.get(id)?.count;
    if (count !== links.length) drift.push(i3(key, `count ${String(count ?? 'missing')}, links ${links.length}`, repairOf(id)));
  }
  for (const [id, { key, count }] of actual) {
    if (!carriers.has(id)) drift.push(i3(key, `tuple row with count ${String(count)} but no link carries it`, repairOf(id)));
  }
  // Once the ledger exists (any contribution row; none before a takeover), a link counted
  // nowhere can hide behind a count that happens to match: report the link itself. (A count
  // that does not match is already a finding whose repair reconciles every carrier.)
  const counted = new Set(contributions.map((c) => keyText(c.link)));
  for (const [id, { key, links }] of contributions.length > 0 ? carriers : []) {
    if (actual.get(id)?.count !== links.length) continue;
    for (const link of links) if (!counted.has(keyText(link))) drift.push(i3(link, `link carries ${keyText(key)} but no contribution row counts it`, [link]));
  }
  for (const { link, tuple } of contributions) {
    const carried = linkTuple.get(keyText(link));
    if (carried === undefined && tuple) drift.push(i3(link, `contribution row counts a deleted link toward ${tuple}`, [link]));
    else if (carried !== undefined && carried !== tuple) {
      drift.push(i3(link, `contribution row counts the link toward ${tuple ?? 'nothing'} but it carries ${carried ?? 'no valid tuple'}`, [link]));
    }
  }
  return { drift, tuples: carriers.size };
}

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

/** I2 and I3 only (no index snapshot): what `ops audit` runs when I1 is not asked for. */
export function auditTable(rows: readonly Item[], only: ReadonlySet<Invariant>): { drift: Finding[]; checked: Partial<AuditChecked> } {
  const drift: Finding[] = [];
  const checked: { entities?: number; tuples?: number } = {};
  if (only.has('I2')) {
    const r = auditImages(rows);
    drift.push(...r.drift);
    checked.entities = r.entities;
  }
  if (only.has('I3')) {
    const r = auditMatcher(rows);
    drift.push(...r.drift);
    checked.tuples = r.tuples;
  }
  return { drift, checked };
}

/** The links partition (the FAA link rule's exact PK). */
const FAA_LINKS_PK = (FAA_LINK_KEY_RULES[0]!.PK as { value: string }).value;

/** A finding's identity across two audits (to keep only drift a consistent re-check confirms). */
export const findingId = (f: Finding): string => `${f.invariant}\u0000${f.pk}\u0000${f.sk}\u0000${f.collection ?? ''}\u0000${f.id ?? ''}\u0000${f.problem}`;

/** The partitions whose rows decide a finding: re-reading these (strongly consistent) re-checks it. */
export function partitionsOf(finding: Finding): string[] {
  const pks = new Set<string>();
  if (finding.pk) pks.add(finding.pk);
  for (const k of finding.repair) pks.add(k.PK);
  if (finding.invariant === 'I3') {
    // A tuple's carriers live in the links partition; each link's ledger row in its own.
    for (const k of finding.repair) pks.add(contributionKey(k).PK);
    pks.add(FAA_LINKS_PK);
  }
  return [...pks];
}

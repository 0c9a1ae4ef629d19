/**
 * I3, pure: the checks `ops audit` streams and `audit(rows)` runs on a snapshot alike.
 *
 * Per tuple: `count` equals the links carrying it, and (once the ledger exists) `count -
 * legacy_count` equals the contribution rows naming it. Per link: its contribution row names
 * the tuple it carries. A link finding is repaired by reconciling the link; a tuple whose count
 * disagrees with its contribution rows only by a recount (lambda/faa-matcher-sync/recount.ts):
 * reconciling its links would move the count and the rows together and keep the difference.
 */
import { matcherFields, type Tuple } from '../lambda/faa-matcher-sync/domain';
import { CONTRIBUTION_PK_PREFIX, CONTRIBUTION_SK_PREFIX, LEGACY_COUNT_ATTRIBUTE, matcherTupleKey, MATCHER_TUPLE_PK_PREFIX } from '../lambda/faa-matcher-sync/keys';
import { contributionTuple } from '../lambda/faa-matcher-sync/recount';
import type { Item } from '../lambda/shared/decode';
import type { RowKeys } from '../lambda/shared/key-rules';
import { owns } from '../lambda/subsystems';
import type { Finding } from './invariants';

export const keyText = (k: RowKeys): string => `${k.PK} ${k.SK}`;
const keysOf = (row: Item): RowKeys => ({ PK: String(row.PK), SK: String(row.SK) });

/** What a matcher-related row is to I3. */
export type MatcherRow =
  | { readonly kind: 'link'; readonly key: RowKeys; readonly tuple: Tuple | null }
  | { readonly kind: 'tuple'; readonly key: RowKeys; readonly tuple: Tuple | null; readonly count: unknown; readonly legacy: unknown }
  | { readonly kind: 'contribution'; readonly key: RowKeys; readonly link: RowKeys; readonly recorded: Recorded }
  | null;

/** A contribution row's content: the tuple its link is counted in, none (a tombstone), or a partial tuple (not the matcher's). */
export type Recorded = { readonly kind: 'counted'; readonly tuple: Tuple } | { readonly kind: 'none' } | { readonly kind: 'partial'; readonly attributes: string };

export function classifyMatcherRow(row: Item): MatcherRow {
  const key = keysOf(row);
  if (owns('faa-matcher-sync', key)) return { kind: 'link', key, tuple: matcherFields(row) };
  if (key.PK.startsWith(MATCHER_TUPLE_PK_PREFIX)) {
    const t = contributionTuple(row);
    return { kind: 'tuple', key, tuple: t && keyText(matcherTupleKey(t)) === keyText(key) ? t : tupleOfKey(key), count: row.count, legacy: row[LEGACY_COUNT_ATTRIBUTE] };
  }
  if (key.PK.startsWith(CONTRIBUTION_PK_PREFIX) && key.SK.startsWith(CONTRIBUTION_SK_PREFIX)) {
    const link = { PK: key.SK.slice(CONTRIBUTION_SK_PREFIX.length), SK: key.PK.slice(CONTRIBUTION_PK_PREFIX.length) };
    return { kind: 'contribution', key, link, recorded: recordedOf(row) };
  }
  return null;
}

/** A tuple row's tuple read back from its key (for a row without its fields); null when the key is not a tuple key. */
export function tupleOfKey(key: RowKeys): Tuple | null {
  const sk = /^MFR#(.+)#MODEL#(.+)$/s.exec(key.SK);
  if (!key.PK.startsWith(MATCHER_TUPLE_PK_PREFIX) || !sk) return null;
  const tuple = { type_designator: key.PK.slice(MATCHER_TUPLE_PK_PREFIX.length), manufacturer: sk[1]!, model: sk[2]! };
  return keyText(matcherTupleKey(tuple)) === keyText(key) ? tuple : null;
}

export function recordedOf(row: Item | undefined): Recorded {
  if (!row) return { kind: 'none' };
  const tuple = contributionTuple(row);
  if (tuple) return { kind: 'counted', tuple };
  const present = ['type_designator', 'manufacturer', 'model'].filter((a) => row[a] !== undefined);
  return present.length === 0 ? { kind: 'none' } : { kind: 'partial', attributes: present.join(', ') };
}

const i3Finding = (key: RowKeys, problem: string, repair: RowKeys[], tuple?: Tuple, tuples?: Tuple[]): Finding => ({
  invariant: 'I3',
  pk: key.PK,
  sk: key.SK,
  problem,
  where: keyText(key),
  repair,
  ...(tuple && { tuple }),
  ...(tuples && { tuples }),
});

/**
 * One link against its contribution row. `carried`: the link row's tuple (null: none valid),
 * undefined when the link row does not exist; `contribution`: undefined when there is no row.
 * A link counted nowhere is drift only once the ledger exists (`ledger`): before a takeover no
 * link has a row.
 */
export function linkFinding(link: RowKeys, carried: Tuple | null | undefined, contribution: Recorded | undefined, ledger: boolean): Finding | null {
  const recorded = contribution ?? { kind: 'none' };
  const touched = linkTuples(carried, contribution);
  const i3 = (key: RowKeys, problem: string, repair: RowKeys[]) => i3Finding(key, problem, repair, undefined, touched);
  const carriedText = carried ? keyText(matcherTupleKey(carried)) : carried === null ? 'no valid tuple' : undefined;
  if (recorded.kind === 'partial') {
    return i3(link, `contribution row has a partial tuple (${recorded.attributes}): not written by faa-matcher-sync; fix or delete it by hand`, []);
  }
  if (recorded.kind === 'none') {
    if (!carried || !ledger) return null;
    return i3(link, `link carries ${carriedText} but no contribution row counts it`, [link]);
  }
  const toward = keyText(matcherTupleKey(recorded.tuple));
  if (carried === undefined) return i3(link, `contribution row counts a deleted link toward ${toward}`, [link]);
  if (carriedText === toward) return null;
  return i3(link, `contribution row counts the link toward ${toward} but it carries ${carriedText}`, [link]);
}

/** The tuples a link finding's reconcile moves counts between (recorded and carried). */
export function linkTuples(carried: Tuple | null | undefined, contribution: Recorded | undefined): Tuple[] {
  return [...(carried ? [carried] : []), ...(contribution?.kind === 'counted' ? [contribution.tuple] : [])];
}

/** Everything I3 needs to know about one tuple, whatever order its rows come in. */
export interface TupleTally {
  readonly key: RowKeys;
  tuple?: Tuple;
  /** The tuple row exists. */
  row: boolean;
  count: unknown;
  legacy: unknown;
  /** Link rows carrying it. */
  carriers: number;
  /** Contribution rows naming it. */
  contributions: number;
}

/** Per-tuple tallies: one small entry per tuple, built row by row. */
export class TupleTallies {
  readonly byId = new Map<string, TupleTally>();
  /** Any contribution row seen (tombstones included): the ledger exists. */
  ledger = false;

  private entry(key: RowKeys, tuple?: Tuple): TupleTally {
    const id = keyText(key);
    let t = this.byId.get(id);
    if (!t) this.byId.set(id, (t = { key, row: false, count: undefined, legacy: undefined, carriers: 0, contributions: 0 }));
    if (tuple && !t.tuple) t.tuple = tuple;
    return t;
  }

  add(row: MatcherRow): void {
    if (row?.kind === 'link' && row.tuple) this.entry(matcherTupleKey(row.tuple), row.tuple).carriers += 1;
    else if (row?.kind === 'tuple') Object.assign(this.entry(row.key, row.tuple ?? undefined), { row: true, count: row.count, legacy: row.legacy });
    else if (row?.kind === 'contribution') {
      this.ledger = true;
      if (row.recorded.kind === 'counted') this.entry(matcherTupleKey(row.recorded.tuple), row.recorded.tuple).contributions += 1;
    }
  }
}

/** Count against the links carrying the tuple (I3 itself). */
export function tupleFinding(t: TupleTally): Finding | null {
  const legacy = t.legacy === undefined ? '' : ` (${LEGACY_COUNT_ATTRIBUTE} ${String(t.legacy)})`;
  if (t.carriers === 0) return t.row ? i3Finding(t.key, `tuple row with count ${String(t.count)}${legacy} but no link carries it`, [], t.tuple) : null;
  if (!t.row || t.count !== t.carriers) return i3Finding(t.key, `count ${t.row ? String(t.count ?? 'missing') : 'missing'}${legacy}, links ${t.carriers}`, [], t.tuple);
  return null;
}

/** The ledger finding's problem: the row as read, the contribution rows naming it, and the count a recount writes (0: no row). */
export function ledgerProblem(row: { count: unknown; legacy: unknown } | null, contributions: number, target: number): string {
  const shown = row ? `count ${String(row.count ?? 'missing')}${row.legacy === undefined ? '' : `, ${LEGACY_COUNT_ATTRIBUTE} ${String(row.legacy)}`}` : 'no tuple row';
  return `${shown} but ${contributions} contribution row(s) count links toward it (a recount ${target === 0 ? 'deletes the row' : `sets count to ${target}`})`;
}

/** I3 for a tuple as a recount measured it (or as its problem names it). */
export const ledgerFindingFor = (key: RowKeys, tuple: Tuple | undefined, problem: string): Finding => i3Finding(key, problem, [], tuple);

/** Count against the contribution rows naming the tuple; `contributions` must come from one consistent view (a snapshot or a fenced recount). */
export function ledgerFinding(t: Pick<TupleTally, 'key' | 'tuple' | 'row' | 'count' | 'legacy'>, contributions: number): Finding | null {
  const legacy = typeof t.legacy === 'number' ? t.legacy : 0;
  const count = t.row ? t.count : 0;
  if (count === legacy + contributions && (t.row ? contributions + legacy > 0 : true)) return null;
  return ledgerFindingFor(t.key, t.tuple, ledgerProblem(t.row ? t : null, contributions, legacy + contributions));
}

/** I3 over a snapshot of rows (the local pipeline, the chaos test, unit tests). */
export function auditMatcher(rows: readonly Item[]): { drift: Finding[]; tuples: number } {
  const tallies = new TupleTallies();
  const links = new Map<string, { key: RowKeys; tuple: Tuple | null }>();
  const contributions = new Map<string, { link: RowKeys; recorded: Recorded }>();
  for (const row of rows) {
    const m = classifyMatcherRow(row);
    tallies.add(m);
    if (m?.kind === 'link') links.set(keyText(m.key), m);
    else if (m?.kind === 'contribution') contributions.set(keyText(m.link), m);
  }
  const drift: Finding[] = [];
  for (const t of tallies.byId.values()) {
    const f = tupleFinding(t);
    if (f) drift.push(f);
    const l = tallies.ledger ? ledgerFinding(t, t.contributions) : null;
    if (l) drift.push(l);
  }
  for (const [id, { key, tuple }] of links) {
    const f = linkFinding(key, tuple, contributions.get(id)?.recorded, tallies.ledger);
    if (f) drift.push(f);
  }
  for (const [id, { link, recorded }] of contributions) {
    if (links.has(id)) continue;
    const f = linkFinding(link, undefined, recorded, tallies.ledger);
    if (f) drift.push(f);
  }
  return { drift, tuples: [...tallies.byId.values()].filter((t) => t.carriers > 0).length };
}

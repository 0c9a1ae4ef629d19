/**
 * `ops audit --repair`: after the tuples were recounted (ops/audit-recount.ts), reconcile exactly
 * the keys of the confirmed findings through the reconcile entries (origin `repair`), leave
 * untouched and report by key what no key can repair safely, then re-audit what was touched.
 *
 * Never makes a count worse: a link whose reconcile would move the count of a tuple that could
 * not be recounted (it kept changing, or its legacy_count is not a count) is held back, since
 * the reconcile moves that count and the contribution rows together and keeps their difference.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { matcherTupleKey } from '../lambda/faa-matcher-sync/keys';
import type { TupleRecount } from '../lambda/faa-matcher-sync/recount';
import type { RowKeys } from '../lambda/shared/key-rules';
import { owns } from '../lambda/subsystems';
import { rowId } from './audit-io';
import { keyText } from './audit-matcher';
import { evaluatePlaces } from './audit-recheck';
import type { Finding, Invariant } from './invariants';
import { reconcileKeys, type ReconcilerSet, type ReconcileTally } from './reconcile';

/** A confirmed finding the repair left as it was, and why. */
export interface Untouched {
  readonly invariant: Invariant;
  readonly pk: string | null;
  readonly sk: string | null;
  readonly collection?: string;
  readonly id?: string;
  readonly reason: string;
}

export interface RepairReport extends ReconcileTally {
  /** Keys reconciled. */
  readonly keys: number;
  /** Findings left untouched (listed in `untouched`). */
  readonly unrepairable: number;
  /** Repair keys no given reconciler accepts (e.g. I1 keys without --queue-url). */
  readonly notRouted: number;
  /** Tuples measured under a fence: written (`recounted`), found exact, not settled (`untouched`). */
  readonly recount: { readonly tuples: number; readonly recounted: number; readonly exact: number };
  readonly untouched: Untouched[];
  /** Search triggers sent: the indexer applies them after this command; audit I1 again to confirm. */
  readonly queued: number;
  /** Places re-audited after the repair (strongly consistent) and the drift still found there. */
  readonly reaudited: number;
  readonly remaining: Finding[];
}

export interface RepairInput {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  readonly reconcilers: ReconcilerSet;
  readonly run: string;
  readonly findings: readonly Finding[];
  readonly recounts: readonly TupleRecount[];
  /** The matcher's ledger exists; without it counts belong to another worker (takeover). */
  readonly ledger: boolean;
}

const isLink = (f: Finding) => f.pk !== null && f.sk !== null && owns('faa-matcher-sync', { PK: f.pk, SK: f.sk });
const place = (invariant: Invariant, k: RowKeys): Finding => ({ invariant, pk: k.PK, sk: k.SK, where: keyText(k), problem: '', repair: [] });

const NO_LEDGER =
  'no contribution rows exist, so faa-matcher-sync has counted no link here: counts made by another worker are taken over (ops takeover prepare, then backfill --takeover); with no such counts, backfill the matcher (backfill --subsystems faa-matcher-sync)';

export async function repairFindings(input: RepairInput): Promise<RepairReport> {
  const unsettled = new Map(input.recounts.filter((r) => r.outcome === 'moved' || r.outcome === 'refused').map((r) => [keyText(r.key), r]));
  const blocked = (tuples: readonly { type_designator: string; manufacturer: string; model: string }[] | undefined) =>
    (tuples ?? []).map((t) => unsettled.get(keyText(matcherTupleKey(t)))).find((r) => r !== undefined);
  const keys = new Map<string, RowKeys>();
  const untouched: Untouched[] = [];
  const touchedTuples = new Map<string, RowKeys>();
  const touchedLinks = new Map<string, RowKeys>();
  const leave = (f: Finding, reason: string) =>
    untouched.push({ invariant: f.invariant, pk: f.pk, sk: f.sk, ...(f.collection !== undefined && { collection: f.collection, id: f.id }), reason });

  for (const f of input.findings) {
    if (f.invariant !== 'I3') {
      if (f.repair.length === 0) leave(f, 'no row projects to this document: delete it by id in Typesense');
      for (const k of f.repair) keys.set(rowId(k), k);
      continue;
    }
    if (!input.ledger) {
      leave(f, NO_LEDGER);
      continue;
    }
    if (isLink(f)) {
      const held = blocked(f.tuples);
      if (f.repair.length === 0) leave(f, f.problem);
      else if (held) leave(f, `held back: tuple ${keyText(held.key)} was not recounted (${held.reason}); reconciling this link would move its wrong count`);
      else {
        for (const k of f.repair) (keys.set(rowId(k), k), touchedLinks.set(rowId(k), k));
        for (const t of f.tuples ?? []) touchedTuples.set(keyText(matcherTupleKey(t)), matcherTupleKey(t));
      }
      continue;
    }
    const held = unsettled.get(`${f.pk} ${f.sk}`);
    if (held) leave(f, held.outcome === 'refused' ? held.reason! : `not recounted: ${held.reason}`);
    else touchedTuples.set(`${f.pk} ${f.sk}`, { PK: f.pk!, SK: f.sk! });
  }
  for (const r of input.recounts) if (r.outcome === 'recounted') touchedTuples.set(keyText(r.key), r.key);
  // A tuple measured only for its links' sake, and not settled, is named too.
  const named = new Set(untouched.map((u) => `${u.pk} ${u.sk}`));
  for (const r of unsettled.values()) {
    if (!named.has(keyText(r.key))) untouched.push({ invariant: 'I3', pk: r.key.PK, sk: r.key.SK, reason: r.outcome === 'refused' ? r.reason! : `not recounted: ${r.reason}` });
  }

  const reconcilers = Object.values(input.reconcilers);
  const routed = [...keys.values()].filter((k) => reconcilers.some((r) => r?.accepts(k)));
  const tally = await reconcileKeys(input.reconcilers, routed, { kind: 'repair', run: input.run });

  // Re-audit what was touched in the table (search triggers are applied later, by the indexer).
  const failed = new Set(tally.failures.map((f) => rowId({ PK: f.pk, SK: f.sk })));
  const places = [
    ...input.findings.filter((f) => f.invariant === 'I2' && !failed.has(rowId({ PK: f.pk!, SK: f.sk! }))).map((f) => place('I2', { PK: f.pk!, SK: f.sk! })),
    ...[...touchedLinks.values()].map((k) => place('I3', k)),
    ...[...touchedTuples.values()].map((k) => place('I3', k)),
  ];
  const remaining = places.length > 0 ? await evaluatePlaces({ client: input.client, tableName: input.tableName, ledger: true }, dedupe(places)) : [];
  return {
    ...tally,
    keys: keys.size,
    unrepairable: untouched.length,
    notRouted: keys.size - routed.length,
    recount: {
      tuples: input.recounts.length,
      recounted: input.recounts.filter((r) => r.outcome === 'recounted').length,
      exact: input.recounts.filter((r) => r.outcome === 'exact').length,
    },
    untouched,
    queued: tally.subsystems['typesense-sync']?.changed ?? 0,
    reaudited: dedupe(places).length,
    remaining,
  };
}

function dedupe(places: Finding[]): Finding[] {
  return [...new Map(places.map((p) => [`${p.invariant} ${p.pk} ${p.sk}`, p])).values()];
}

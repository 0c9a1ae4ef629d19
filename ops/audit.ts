/**
 * `ops audit`: every violation of I1-I3 by key, in four steps, with memory bounded by the
 * largest partition rather than the table (ops/audit-pass.ts says what is held):
 * 1. first pass: one scan in parallel segments (rate-limited), each page checked and dropped;
 *    the index export streamed; the links partition read page by page;
 * 2. re-check: each finding evaluated again from strongly consistent reads of the rows that
 *    decide it (a change still on its way through the stream is not reported);
 * 3. I3 findings confirmed and the matcher's ledger present: their tuples measured (`--repair`:
 *    recounted) under a fence in one consistent scan of the contribution rows
 *    (lambda/faa-matcher-sync/recount.ts): a count that disagrees with its contribution rows;
 * 4. `--repair`: the keys reconciled, what cannot be repaired safely left untouched and named,
 *    the touched keys re-audited (ops/audit-repair.ts).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Tuple } from '../lambda/faa-matcher-sync/domain';
import type { RecountHooks, TupleRecount } from '../lambda/faa-matcher-sync/recount';
import { firstPass } from './audit-pass';
import { recheck } from './audit-recheck';
import { recount, recountFinding } from './audit-recount';
import { repairFindings, type RepairReport, type Untouched } from './audit-repair';
import { findingPlace, type Finding, type IndexSnapshot, type Invariant } from './invariants';
import type { ReconcilerSet } from './reconcile';
import { snapshotReader, type SearchIndexReader } from './typesense';

export interface AuditOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  readonly segments: number;
  readonly rate?: number;
  readonly only: ReadonlySet<Invariant>;
  /** The search index (I1): a streaming reader, or a snapshot in memory; absent: I1 is not checked and the projection's counts are reported. */
  readonly readIndex?: () => Promise<SearchIndexReader | IndexSnapshot>;
  /** Repair the confirmed drift with these reconcilers (origin `repair`, this run id). */
  readonly repair?: { readonly reconcilers: ReconcilerSet; readonly run: string };
  readonly onProgress?: (items: number) => void;
  /** Tests pause the recount here. */
  readonly recountHooks?: RecountHooks;
}

export interface FindingJson {
  readonly invariant: Invariant;
  readonly pk: string | null;
  readonly sk: string | null;
  readonly collection?: string;
  readonly id?: string;
  readonly problem: string;
}

export interface AuditReport {
  readonly findings: FindingJson[];
  readonly checked: {
    rows: number;
    documents?: number;
    /** Documents read from the index's export. */
    indexed?: number;
    entities?: number;
    tuples?: number;
    /** Findings of the first pass evaluated again, and those the re-check cleared. */
    rechecked: number;
    cleared: number;
    /** Tuples whose count was measured against its contribution rows. */
    recounted?: number;
  };
  /** Documents per collection the table projects to (when I1 was not checked against a server). */
  readonly projection?: Record<string, number>;
  readonly repair?: Omit<RepairReport, 'remaining' | 'untouched'> & { readonly untouched: Untouched[]; readonly remaining: FindingJson[] };
}

const toJson = (f: Finding): FindingJson => ({
  invariant: f.invariant,
  pk: f.pk,
  sk: f.sk,
  ...(f.collection !== undefined && { collection: f.collection, id: f.id }),
  problem: f.problem,
});

const isReader = (x: SearchIndexReader | IndexSnapshot): x is SearchIndexReader => typeof (x as SearchIndexReader).documents === 'function';

/** The tuples whose counts the confirmed I3 findings involve (tuple rows, and the tuples a drifted link moves a count between). */
function tuplesOf(findings: readonly Finding[]): Tuple[] {
  const tuples = new Map<string, Tuple>();
  for (const f of findings) for (const t of [...(f.tuple ? [f.tuple] : []), ...(f.tuples ?? [])]) tuples.set(JSON.stringify(t), t);
  return [...tuples.values()];
}

export async function runAudit(options: AuditOptions): Promise<AuditReport> {
  const { client, tableName, only } = options;
  const loaded = options.readIndex && only.has('I1') ? await options.readIndex() : undefined;
  const index = loaded === undefined ? undefined : isReader(loaded) ? loaded : snapshotReader(loaded);
  const pass = await firstPass({ client, tableName, segments: options.segments, ...(options.rate !== undefined && { rate: options.rate }), only, ...(index && { index }), ...(options.onProgress && { onProgress: options.onProgress }) });
  const ledger = pass.tallies.ledger;
  const confirmed = await recheck({ client, tableName, ledger, ...(index && { index }) }, pass.findings);
  // The re-check reads a tuple back from its key; the first pass knew its fields.
  const tupleAt = new Map(pass.findings.filter((f) => f.tuple).map((f) => [findingPlace(f), f.tuple!]));
  const confirmedPlaces = new Set(confirmed.map(findingPlace));
  let findings = confirmed.map((f) => (f.tuple || !tupleAt.has(findingPlace(f)) ? f : { ...f, tuple: tupleAt.get(findingPlace(f))! }));

  let recounts: TupleRecount[] = [];
  const i3 = findings.filter((f) => f.invariant === 'I3');
  if (ledger && i3.length > 0) {
    const ctx = { client, tableName, segments: options.segments, ...(options.rate !== undefined && { rate: options.rate }), ...(options.recountHooks && { hooks: options.recountHooks }) };
    recounts = await recount(ctx, tuplesOf(i3), options.repair !== undefined);
    findings = [...findings, ...recounts.flatMap((r) => recountFinding(r) ?? [])];
  }

  let repair: AuditReport['repair'];
  if (options.repair) {
    const r = await repairFindings({ client, tableName, ...options.repair, findings, recounts, ledger });
    repair = { ...r, remaining: r.remaining.map(toJson) };
  }

  return {
    findings: findings.map(toJson),
    checked: {
      rows: pass.rows,
      ...(only.has('I1') && { documents: pass.documents }),
      ...(pass.indexed !== undefined && { indexed: pass.indexed }),
      ...(only.has('I2') && { entities: pass.entities }),
      ...(only.has('I3') && { tuples: [...pass.tallies.byId.values()].filter((t) => t.carriers > 0).length }),
      rechecked: pass.findings.length,
      cleared: pass.findings.filter((f) => !confirmedPlaces.has(findingPlace(f))).length,
      ...(recounts.length > 0 && { recounted: recounts.length }),
    },
    ...(pass.projection && { projection: pass.projection }),
    ...(repair && { repair }),
  };
}

/** The command's exit status: 0 only when nothing is drifted, or every finding was repaired and re-audited clean. */
export function auditExitCode(report: AuditReport): 0 | 1 {
  const r = report.repair;
  if (!r) return report.findings.length > 0 ? 1 : 0;
  return r.untouched.length === 0 && r.failures.length === 0 && r.notRouted === 0 && r.remaining.length === 0 && r.queued === 0 ? 0 : 1;
}

/**
 * `ops audit`: reads the table (parallel segments, rate-limited) and, when given, the
 * Typesense index; reports every violation of I1-I3 by key (the pure checks of
 * ops/invariants.ts). A table whose stream is still draining looks drifted for a moment, so
 * every finding is re-checked once against strongly consistent reads of the partitions
 * that decide it; only drift that survives is reported. `--repair` reconciles exactly the
 * drifted keys through the reconcile entries.
 */
import { QueryCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { decodeImage, type Item } from '../lambda/shared/decode';
import type { RowKeys } from '../lambda/shared/key-rules';
import { auditSearch, auditTable, findingId, partitionsOf, projectionCounts, type Finding, type IndexSnapshot, type Invariant } from './invariants';
import { reconcileKeys, type ReconcilerSet, type ReconcileTally } from './reconcile';
import { scanRows } from './scan';

export interface AuditOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  readonly segments: number;
  readonly rate?: number;
  readonly only: ReadonlySet<Invariant>;
  /** Reads the search index (I1); absent: I1 is not checked and the projection's counts are reported. */
  readonly readIndex?: () => Promise<IndexSnapshot>;
  /** Reconcile the drifted keys with these reconcilers (origin `repair`, this run id). */
  readonly repair?: { readonly reconcilers: ReconcilerSet; readonly run: string };
  readonly onProgress?: (items: number) => void;
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
  readonly checked: { rows: number; documents?: number; entities?: number; tuples?: number; recheckedPartitions: number; cleared: number };
  /** Documents per collection the table projects to (when I1 was not checked against a server). */
  readonly projection?: Record<string, number>;
  readonly repair?: ReconcileTally & {
    readonly keys: number;
    /** Findings no key can repair (a document no row projects to: delete it by id). */
    readonly unrepairable: number;
    /** Repair keys no given reconciler accepts (e.g. I1 keys without --queue-url). */
    readonly notRouted: number;
  };
}

const toJson = (f: Finding): FindingJson => ({
  invariant: f.invariant,
  pk: f.pk,
  sk: f.sk,
  ...(f.collection !== undefined && { collection: f.collection, id: f.id }),
  problem: f.problem,
});

function findingsOf(rows: readonly Item[], index: IndexSnapshot | undefined, only: ReadonlySet<Invariant>) {
  const table = auditTable(rows, only);
  const search = index && only.has('I1') ? auditSearch(rows, index) : undefined;
  return { drift: [...(search?.drift ?? []), ...table.drift], checked: { ...table.checked, ...(search && { documents: search.documents }) } };
}

/** Every row of one partition, strongly consistent. */
async function queryPartition(client: DynamoDBClient, tableName: string, pk: string): Promise<Item[]> {
  const rows: Item[] = [];
  let ExclusiveStartKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': 'PK' },
        ExpressionAttributeValues: { ':pk': { S: pk } },
        ConsistentRead: true,
        ExclusiveStartKey,
      }),
    );
    rows.push(...(page.Items ?? []).map((i) => decodeImage(i)));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return rows;
}

export async function runAudit(options: AuditOptions): Promise<AuditReport> {
  const { client, tableName, only } = options;
  const rows = await scanRows({ client, tableName, segments: options.segments, rate: options.rate, run: 'audit', consistent: false, ...(options.onProgress && { onProgress: options.onProgress }) });
  const index = options.readIndex && only.has('I1') ? await options.readIndex() : undefined;
  const first = findingsOf(rows, index, only);

  // Re-check: re-read (consistently) every partition a finding depends on, audit again, keep what persists.
  const partitions = new Set(first.drift.flatMap(partitionsOf));
  let findings = first.drift;
  if (partitions.size > 0) {
    const fresh = (await Promise.all([...partitions].map((pk) => queryPartition(client, tableName, pk)))).flat();
    const second = findingsOf([...rows.filter((r) => !partitions.has(String(r.PK))), ...fresh], index, only);
    const confirmed = new Set(second.drift.map(findingId));
    findings = second.drift.filter((f) => confirmed.has(findingId(f)) && first.drift.some((g) => findingId(g) === findingId(f)));
  }

  let repair: AuditReport['repair'];
  if (options.repair) {
    const keys = new Map<string, RowKeys>();
    for (const f of findings) for (const k of f.repair) keys.set(`${k.PK}\u0000${k.SK}`, k);
    const reconcilers = Object.values(options.repair.reconcilers);
    const routed = [...keys.values()].filter((k) => reconcilers.some((r) => r?.accepts(k)));
    const tally = await reconcileKeys(options.repair.reconcilers, routed, { kind: 'repair', run: options.repair.run });
    // No key names an extra document; an I1 key without --queue-url has no reconciler here.
    const unrepairable = findings.filter((f) => f.repair.length === 0).length;
    repair = { ...tally, keys: keys.size, unrepairable, notRouted: keys.size - routed.length };
  }

  return {
    findings: findings.map(toJson),
    checked: { rows: rows.length, ...first.checked, recheckedPartitions: partitions.size, cleared: first.drift.length - findings.length },
    ...(!index && only.has('I1') && { projection: projectionCounts(rows) }),
    ...(repair && { repair }),
  };
}

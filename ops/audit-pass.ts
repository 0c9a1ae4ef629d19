/**
 * The audit's first pass: one eventually consistent scan in parallel segments, every row handed
 * to the checks as its page arrives and then dropped. What stays in memory is bounded by the
 * largest partition, not the table:
 * - I2 groups an entity's images and pointer: one partition per segment at a time (a scan returns
 *   a partition's rows one after another; were one ever split, each part is checked and the
 *   consistent re-check reads the whole partition);
 * - I1 keeps one batch of documents per collection (lookups by id), then streams the export;
 * - I3 keeps one tally per tuple (counts, not links) and one batch of point reads, then reads the
 *   links partition page by page for links that no contribution row counts.
 * Findings come out unconfirmed: ops/audit-recheck.ts re-reads each one consistently.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { contributionKey } from '../lambda/faa-matcher-sync/keys';
import { FAA_LINK_KEY_RULES } from '../lambda/faa-matcher-sync/ownership';
import { matcherFields } from '../lambda/faa-matcher-sync/domain';
import type { Item } from '../lambda/shared/decode';
import type { RowKeys } from '../lambda/shared/key-rules';
import { owns } from '../lambda/subsystems';
import { batchGet, Batcher, queryPartition, rowId } from './audit-io';
import { classifyMatcherRow, linkFinding, recordedOf, tupleFinding, TupleTallies, type Recorded } from './audit-matcher';
import { SearchCheck } from './audit-search';
import { auditImages, imageRole, isFinding, projectRow, type Finding, type Invariant } from './invariants';
import { scanSegments } from './scan';
import type { SearchIndexReader } from './typesense';

export const MATCHER_ATTRIBUTES = ['type_designator', 'manufacturer', 'model'];

/**
 * Items per scan page. A page stays in memory while its rows wait for their lookups, long enough
 * for the garbage collector to move it to the old generation; small pages keep that, and so the
 * heap the process grows to, small (measured: BENCHMARKS.md). The read cost is the same.
 */
const SCAN_PAGE_ITEMS = 250;

/** The partitions holding FAA links (the link rules' exact PKs). */
export const LINK_PARTITIONS = FAA_LINK_KEY_RULES.map((rule) => {
  if (rule.PK.kind !== 'equals') throw new Error('audit: an FAA link rule with a PK prefix cannot be read by partition');
  return rule.PK.value;
});

export interface PassOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  readonly segments: number;
  readonly rate?: number;
  readonly only: ReadonlySet<Invariant>;
  readonly index?: SearchIndexReader;
  readonly onProgress?: (items: number) => void;
}

export interface PassResult {
  readonly findings: Finding[];
  readonly rows: number;
  readonly entities: number;
  /** Rows that project to a search document; documents read from the index (with an index). */
  readonly documents: number;
  readonly indexed?: number;
  /** Documents per collection the table projects to (I1 without an index). */
  readonly projection?: Record<string, number>;
  readonly tallies: TupleTallies;
}

export async function firstPass(options: PassOptions): Promise<PassResult> {
  const { client, tableName, only } = options;
  const findings: Finding[] = [];
  const report = (f: Finding) => void findings.push(f);
  const reportedLinks = new Set<string>();
  const reportLink = (f: Finding | null) => {
    if (!f || reportedLinks.has(`${f.pk} ${f.sk}`)) return;
    reportedLinks.add(`${f.pk} ${f.sk}`);
    report(f);
  };
  const tallies = new TupleTallies();
  const search = options.index && only.has('I1') ? new SearchCheck(client, tableName, options.index, report) : undefined;
  const projection: Record<string, number> = {};
  let entities = 0;
  let rows = 0;

  // I2: the entity partition each segment is in.
  const groups = new Map<number, { pk: string; rows: Item[] }>();
  const closeGroup = (segment: number) => {
    const group = groups.get(segment);
    if (!group) return;
    groups.delete(segment);
    entities += 1;
    auditImages(group.rows).drift.forEach(report);
  };

  // I3, contribution side: the link each counted contribution row names, read in batches.
  const contributions = new Batcher<{ link: RowKeys; recorded: Recorded }>(100, async (items) => {
    const links = await batchGet(client, tableName, items.map((i) => i.link), { consistent: false, attributes: MATCHER_ATTRIBUTES });
    for (const { link, recorded } of items) {
      const row = links.get(rowId(link));
      reportLink(linkFinding(link, row && owns('faa-matcher-sync', link) ? matcherFields(row) : undefined, recorded, true));
    }
  });

  const handle = async (segment: number, row: Item) => {
    if (only.has('I2')) {
      if (imageRole(row) !== null) {
        const group = groups.get(segment);
        if (group && group.pk !== row.PK) closeGroup(segment);
        const open = groups.get(segment) ?? groups.set(segment, { pk: String(row.PK), rows: [] }).get(segment)!;
        open.rows.push(row);
      }
    }
    if (search) await search.row(row);
    else if (only.has('I1')) {
      const p = projectRow(row);
      if (p && !isFinding(p)) projection[p.collection] = (projection[p.collection] ?? 0) + 1;
    }
    if (only.has('I3')) {
      const m = classifyMatcherRow(row);
      tallies.add(m);
      if (m?.kind === 'contribution' && m.recorded.kind !== 'none') await contributions.add({ link: m.link, recorded: m.recorded });
    }
  };

  await scanSegments({
    client,
    tableName,
    segments: options.segments,
    ...(options.rate !== undefined && { rate: options.rate }),
    consistent: false,
    pageSize: SCAN_PAGE_ITEMS,
    onPage: async (segment, page) => {
      for (const row of page) await handle(segment, row);
      rows += page.length;
      options.onProgress?.(rows);
    },
  });
  for (const segment of [...groups.keys()]) closeGroup(segment);
  await contributions.drain();
  await search?.finishTable();
  await search?.indexSide();
  if (only.has('I3')) {
    if (tallies.ledger) await linkSide(client, tableName, reportLink);
    for (const t of tallies.byId.values()) {
      const f = tupleFinding(t);
      if (f) report(f);
    }
  }
  return {
    findings,
    rows,
    entities,
    documents: search?.documents ?? Object.values(projection).reduce((a, b) => a + b, 0),
    ...(search && { indexed: search.indexed }),
    ...(!search && only.has('I1') && { projection }),
    tallies,
  };
}

/** I3, link side (once the ledger exists): each link with a valid tuple against its contribution row, read in batches. */
async function linkSide(client: DynamoDBClient, tableName: string, reportLink: (f: Finding | null) => void): Promise<void> {
  const links = new Batcher<{ link: RowKeys; row: Item }>(100, async (items) => {
    const rows = await batchGet(client, tableName, items.map((i) => contributionKey(i.link)), { consistent: false, attributes: MATCHER_ATTRIBUTES });
    for (const { link, row } of items) {
      const c = rows.get(rowId(contributionKey(link)));
      reportLink(linkFinding(link, matcherFields(row), c ? recordedOf(c) : undefined, true));
    }
  });
  for (const pk of LINK_PARTITIONS) {
    await queryPartition(client, tableName, pk, {
      consistent: false,
      attributes: MATCHER_ATTRIBUTES,
      onPage: async (page) => {
        for (const row of page) {
          const link = { PK: String(row.PK), SK: String(row.SK) };
          if (owns('faa-matcher-sync', link) && matcherFields(row)) await links.add({ link, row });
        }
      },
    });
  }
  await links.drain();
}

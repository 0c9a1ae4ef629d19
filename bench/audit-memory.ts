/**
 * `ops audit`'s peak memory at two table sizes 10x apart (I1 against the local Typesense
 * stand-in, I2, I3), next to a baseline measured in the same run: the previous design, which read
 * every row and the whole index export into memory and then checked them. Each audit runs in its
 * own process (`ops audit` exactly as a user runs it: ops/bin.cjs); its peak RSS is what the
 * process reports at exit (process.resourceUsage().maxRSS, loaded with --import).
 *
 *   tsx bench/audit-memory.ts              this benchmark alone (its own DynamoDB Local)
 *   tsx bench/audit-memory.ts --quick      smaller sizes
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { Client } from 'typesense';
import { contributionKey, matcherTupleKey } from '../lambda/faa-matcher-sync/keys';
import type { Item } from '../lambda/shared/decode';
import { COLLECTION_SCHEMAS } from '../lambda/typesense-sync/specs';
import { localClientConfig, startDynamoDbLocal } from '../local/dynamodb-local';
import { loadRows } from '../local/table-io';
import { startLocalTypesense } from '../local/typesense-server';
import { audit, isFinding, projectRow } from '../ops/invariants';
import { scanRows } from '../ops/scan';
import { exportIndex } from '../ops/typesense';
import { createTestTable } from '../test/support/dynamodb';

type Figures = Record<string, number | string>;

const ROOT = join(__dirname, '..');
const KEY_ENV = 'BENCH_TYPESENSE_API_KEY';
/** Prints the process's peak RSS (KiB) as the last line of stderr when it exits. */
const REPORT_RSS = `data:text/javascript,${encodeURIComponent("process.on('exit',()=>process.stderr.write('maxrss '+process.resourceUsage().maxRSS+'\\n'))")}`;
const TUPLES = ['C172', 'PA28', 'B738', 'A320', 'SR22', 'BE36', 'DA40', 'C182'].flatMap((td) => ['A', 'B', 'C'].map((m) => ({ type_designator: td, manufacturer: `MFR-${td}`, model: `MODEL-${m}` })));
const filler = (i: number, n: number) => `${i}-`.repeat(n).slice(0, n);

/**
 * A consistent table of about `n` items: per 10 items, two registry rows (indexed, with the FAA
 * registry's ~30 attributes), an entity with two images (indexed) and its pointer, an FAA link and
 * its contribution row, three rows of other kinds; then one row per matcher tuple. About 700 bytes
 * per item on average.
 */
export function auditDataset(n: number): Item[] {
  const rows: Item[] = [];
  const counts = new Map<number, number>();
  for (let i = 0; rows.length + TUPLES.length < n; i += 1) {
    for (const r of [2 * i, 2 * i + 1]) {
      rows.push({
        PK: 'AIRCRAFT#REGISTRY#FAA', SK: `DETAIL#N${r}`, registration: `N${r}`, manufacturer: 'CESSNA', model: '172S', serial_number: `SN${r}`, year_manufactured: 1990 + (r % 30),
        owner_name: `Owner ${filler(r, 40)}`, street: `${r} ${filler(r, 30)} Street`, street2: filler(r, 20), city: 'WICHITA', state: 'KS', zip_code: '67201', region: '4', county: '173', country: 'US',
        status: 'V', mfr_mdl_code: '2072738', eng_mfr_mdl: '41514', type_registrant: '1', type_aircraft: '4', type_engine: '1', certification: '1N', mode_s_code: '50000000', mode_s_hex: 'A00001',
        last_action_date: '20240101', cert_issue_date: '20200101', air_worth_date: '19950101', expiration_date: '20270101', unique_id: String(r).padStart(8, '0'), other_names: [1, 2, 3].map((k) => `Other ${k} ${filler(r, 25)}`), notes: filler(r, 200),
      });
    }
    const pk = `IMAGES#ORG#SYSTEM#ENTITY#REGISTRATION#ID#E${i}`;
    const images = [1, 2].map((k) => ({
      PK: pk, SK: `IMG#2026-01-0${k}T00:00:00Z#${k}`, org_id: 'SYSTEM', entity_type: 'REGISTRATION', entity_id: `E${i}`, image_id: `E${i}-${k}`, url: `https://img.example/${i}/${k}.jpg`,
      thumbnail_url: `https://img.example/${i}/${k}-thumb.jpg`, caption: filler(i, 160), credit: `Photographer ${filler(i, 30)}`, width: 1600, height: 1200, created_at: `2026-01-0${k}T00:00:00Z`, exif: filler(i * k, 300),
    }));
    const shown = images[1]!;
    rows.push(...images, { PK: pk, SK: 'DEFAULT', image_sk: shown.SK, image_id: shown.image_id, url: shown.url, thumbnail_url: shown.thumbnail_url, caption: shown.caption, updated_at: '2026-01-02T00:00:00Z' });
    const t = i % TUPLES.length;
    const tuple = TUPLES[t]!;
    const link = { PK: 'FAA#LINKS', SK: `MFR_MDL_CODE#${t}#SN#${i}`, ...tuple, serial_number: `SN${i}` };
    const tupleKey = matcherTupleKey(tuple);
    rows.push(link, { ...contributionKey(link), link_pk: link.PK, link_sk: link.SK, ...tuple, tuple_pk: tupleKey.PK, tuple_sk: tupleKey.SK });
    counts.set(t, (counts.get(t) ?? 0) + 1);
    for (const k of [1, 2, 3]) rows.push({ PK: `FLEET#OP${i}`, SK: `AIRCRAFT#${k}`, operator: `Operator ${filler(i, 30)}`, base: 'KICT', payload: filler(i * k, 600) });
  }
  for (const [t, count] of counts) rows.push({ ...matcherTupleKey(TUPLES[t]!), ...TUPLES[t]!, count });
  return rows;
}

interface ChildRun {
  /** Null: the process ran out of memory under its heap limit. */
  readonly maxRssMb: number | null;
  readonly seconds: number;
  readonly stdout: string;
}

/** Runs node with `args` (and the peak-RSS reporter), `extra` node options first. */
function runChild(extra: readonly string[], args: readonly string[], env: Record<string, string>): Promise<ChildRun> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [...extra, '--import', REPORT_RSS, ...args], { cwd: ROOT, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024, timeout: 600_000 }, (error, stdout, stderr) => {
      const seconds = (performance.now() - started) / 1000;
      if (/heap out of memory/i.test(stderr)) return resolve({ maxRssMb: null, seconds, stdout });
      const rss = /maxrss (\d+)\s*$/.exec(stderr);
      if (!rss || error) return reject(new Error(`audit child failed: ${error?.message ?? ''} ${stderr.slice(-2000)}`));
      resolve({ maxRssMb: Math.round(Number(rss[1]) / 1024), seconds, stdout });
    });
  });
}

/**
 * The previous design, for the baseline (run in a child: `naiveChild`): every row, then the whole
 * index export, in memory; then the checks. It loads the CLI's modules first, so both processes
 * start from the same code.
 */
export async function naiveChild(): Promise<void> {
  require('../ops/cli'); // eslint-disable-line @typescript-eslint/no-require-imports
  const { endpoint, tableName, url } = JSON.parse(process.env.BENCH_NAIVE_AUDIT!) as { endpoint: string; tableName: string; url: string };
  const client = new DynamoDBClient(localClientConfig(endpoint));
  const rows = await scanRows({ client, tableName, segments: 4, consistent: false });
  const index = await exportIndex(new Client({ nodes: [{ url }], apiKey: process.env[KEY_ENV]!, logLevel: 'silent' }));
  const result = audit(rows, index);
  process.stdout.write(`${JSON.stringify({ findings: result.drift.length, rows: rows.length })}\n`);
  client.destroy();
}

async function loadIndex(url: string, apiKey: string, rows: readonly Item[]): Promise<number> {
  const client = new Client({ nodes: [{ url }], apiKey, logLevel: 'silent' });
  for (const schema of COLLECTION_SCHEMAS) await client.collections().create(schema as never);
  const byCollection = new Map<string, unknown[]>();
  for (const row of rows) {
    const p = projectRow(row);
    if (!p || isFinding(p)) continue;
    const docs = byCollection.get(p.collection) ?? byCollection.set(p.collection, []).get(p.collection)!;
    docs.push(p.document);
  }
  let documents = 0;
  for (const [name, docs] of byCollection) {
    for (let i = 0; i < docs.length; i += 1000) await client.collections(name).documents().import(docs.slice(i, i + 1000) as never, { action: 'upsert' });
    documents += docs.length;
  }
  return documents;
}

/** Heap limit of the second measurement: enough for the streaming audit at any size (its live heap stays near 20 MB here). */
const CAPPED_HEAP_MB = 64;

export async function benchAuditMemory(endpoint: string, sizes: readonly number[] = [5_000, 50_000]): Promise<Figures> {
  const figures: Figures = {};
  const env = { AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
  const shown = (r: ChildRun) => (r.maxRssMb === null ? 'out of memory' : String(r.maxRssMb));
  const rssOf: Record<string, number | null>[] = [];
  for (const n of sizes) {
    const table = await createTestTable('bench-audit', endpoint);
    const typesense = await startLocalTypesense({ apiKey: 'bench-key' });
    try {
      const rows = auditDataset(n);
      await loadRows(table.doc, table.tableName, rows);
      const documents = await loadIndex(typesense.url, typesense.apiKey, rows);
      const childEnv = { ...env, [KEY_ENV]: typesense.apiKey, BENCH_NAIVE_AUDIT: JSON.stringify({ endpoint, tableName: table.tableName, url: typesense.url }) };
      const streamingArgs = ['ops/bin.cjs', 'audit', '--table', table.tableName, '--endpoint', endpoint, '--typesense-url', typesense.url, '--typesense-api-key-env', KEY_ENV, '--segments', '4', '--json'];
      const naiveArgs = ['--require', 'tsx/cjs', '-e', "require('./bench/audit-memory.ts').naiveChild()"];
      const label = `${rows.length} items (${documents} search documents)`;
      const rss: Record<string, number | null> = {};
      for (const [limit, extra] of [['default heap', []], [`heap capped at ${CAPPED_HEAP_MB} MB`, [`--max-old-space-size=${CAPPED_HEAP_MB}`]]] as const) {
        const streaming = await runChild(extra, streamingArgs, childEnv);
        const report = streaming.maxRssMb === null ? undefined : (JSON.parse(streaming.stdout) as { findings: unknown[]; checked: { rows: number } });
        if (!report || report.findings.length > 0 || report.checked.rows !== rows.length) throw new Error(`bench audit: expected a clean audit of ${rows.length} rows, got ${streaming.stdout.slice(0, 500)}`);
        const naive = await runChild(extra, naiveArgs, childEnv);
        const baseline = naive.maxRssMb === null ? undefined : (JSON.parse(naive.stdout) as { findings: number; rows: number });
        if (baseline && (baseline.findings > 0 || baseline.rows !== rows.length)) throw new Error(`bench audit: the baseline found ${naive.stdout}`);
        figures[`peak RSS MB, ${label}, ${limit}: streaming / load everything`] = `${shown(streaming)} / ${shown(naive)}`;
        figures[`seconds, ${label}, ${limit}: streaming / load everything`] = `${streaming.seconds.toFixed(1)} / ${naive.seconds.toFixed(1)}`;
        rss[`streaming ${limit}`] = streaming.maxRssMb;
        rss[`naive ${limit}`] = naive.maxRssMb;
      }
      rssOf.push(rss);
    } finally {
      await typesense.stop();
      await table.drop();
    }
  }
  if (rssOf.length === 2) {
    for (const key of Object.keys(rssOf[0]!)) {
      const [a, b] = [rssOf[0]![key], rssOf[1]![key]];
      if (a != null && b != null) figures[`peak RSS growth from size 1 to size 2, ${key}`] = `${b - a} MB`;
    }
  }
  return figures;
}

if (require.main === module) {
  (async () => {
    const ddb = await startDynamoDbLocal();
    try {
      const figures = await benchAuditMemory(ddb.endpoint, process.argv.includes('--quick') ? [2_000, 20_000] : [5_000, 50_000]);
      for (const [k, v] of Object.entries(figures)) process.stdout.write(`| ${k} | ${v} |\n`);
      process.stdout.write(`node ${process.version}\n`);
    } finally {
      await ddb.stop();
    }
  })().catch((error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}

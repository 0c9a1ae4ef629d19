/**
 * sources: what each source costs the shard, and how fresh each subsystem is on it.
 *
 * 1. Read calls per shard per second with 3 and 5 subsystems (the core three; plus domain
 *    events and the audit trail). DynamoDB Streams: modelled (Lambda polls each shard 4 times a
 *    second per mapping) and measured (one poller per mapping at that cadence against DynamoDB
 *    Local's Streams API; DynamoDB Local throttles nothing, which a back-to-back probe shows).
 *    Kinesis with enhanced fan-out: modelled only (no Kinesis server runs here): one
 *    SubscribeToShard per consumer and shard every 5 minutes, records pushed.
 * 2. Freshness p50/p99 per subsystem at a fixed write rate, same workload and seed, in the same
 *    run: DynamoDB Streams (the baseline), then the Kinesis emulation with one virtual shard
 *    (as many as DynamoDB Local's stream has, so the same parallelism) and with four (the local
 *    pipeline's default). A short discarded run first warms DynamoDB Local and the JIT; then
 *    each case runs twice, A B C C B A, and its samples are pooled.
 *
 *   npx tsx bench/sources.ts [--quick] [--json]     (alone: starts its own DynamoDB Local)
 */
import { startDynamoDbLocal } from '../local/dynamodb-local';
import { DEFAULT_MAPPING_SETTINGS } from '../lib/mapping-settings';
import { measureFreshness, poolRuns, type FreshnessRun } from './sources-freshness';
import { readModel, type ReadModel } from './sources-model';
import { measurePolling, type PollingFigures } from './sources-polling';
import { SEARCH_INDEXED } from './sources-tracker';

type Figures = Record<string, number | string>;

export interface SourcesSizes {
  readonly pollSeconds: number;
  readonly writesPerSecond: number;
  readonly freshnessSeconds: number;
  readonly warmUpSeconds: number;
  readonly seed: number;
}

export const FULL: SourcesSizes = { pollSeconds: 5, writesPerSecond: 20, freshnessSeconds: 8, warmUpSeconds: 3, seed: 7 };
export const QUICK: SourcesSizes = { pollSeconds: 2, writesPerSecond: 20, freshnessSeconds: 3, warmUpSeconds: 1, seed: 7 };
const SUBSYSTEM_COUNTS = [3, 5] as const;
/** The freshness cases, baseline first. One virtual shard: as many as DynamoDB Local's stream has. */
const CASES: readonly { label: string; source: 'dynamodb-streams' | 'kinesis'; shards?: number }[] = [
  { label: 'dynamodb-streams (baseline)', source: 'dynamodb-streams' },
  { label: 'kinesis, 1 virtual shard', source: 'kinesis', shards: 1 },
  { label: 'kinesis, 4 virtual shards', source: 'kinesis', shards: 4 },
];

export interface FreshnessCase {
  readonly label: string;
  readonly run: FreshnessRun;
}

export interface SourcesResult {
  readonly sizes: SourcesSizes;
  readonly model: readonly ReadModel[];
  readonly polled: readonly PollingFigures[];
  /** One poller reading one shard back to back: how fast DynamoDB Local lets a shard be read. */
  readonly burst: PollingFigures;
  readonly freshness: readonly FreshnessCase[];
}

export async function measureSources(endpoint: string, sizes: SourcesSizes = FULL): Promise<SourcesResult> {
  const model = (['dynamodb-streams', 'kinesis'] as const).flatMap((source) => SUBSYSTEM_COUNTS.map((n) => readModel(source, n)));
  const polled: PollingFigures[] = [];
  for (const mappings of SUBSYSTEM_COUNTS) polled.push(await measurePolling(endpoint, { mappings, seconds: sizes.pollSeconds, writesPerSecond: sizes.writesPerSecond }));
  const burst = await measurePolling(endpoint, { mappings: 1, seconds: Math.min(3, sizes.pollSeconds), writesPerSecond: sizes.writesPerSecond, intervalMs: 0 });
  const load = { writesPerSecond: sizes.writesPerSecond, seed: sizes.seed, seconds: sizes.freshnessSeconds };
  await measureFreshness(endpoint, 'dynamodb-streams', { ...load, seconds: sizes.warmUpSeconds }); // warm-up, discarded
  // Each case twice, in the order A B C then C B A, samples pooled: DynamoDB Local and the JIT
  // keep speeding up over the first minutes, which would otherwise favour whichever runs last.
  const runs = new Map<string, FreshnessRun[]>(CASES.map((c) => [c.label, []]));
  for (const c of [...CASES, ...[...CASES].reverse()]) {
    runs.get(c.label)!.push(await measureFreshness(endpoint, c.source, { ...load, ...(c.shards !== undefined && { shards: c.shards }) }));
  }
  const freshness = CASES.map((c) => ({ label: c.label, run: poolRuns(runs.get(c.label)!) }));
  return { sizes, model, polled, burst, freshness };
}

const ms = (x: number | undefined) => (x === undefined ? '-' : String(x));

/** The BENCHMARKS.md tables. */
export function sourcesMarkdown(r: SourcesResult): string {
  const lines = [
    '| source | subsystems | read calls/shard/s, model | measured on DynamoDB Local (throttled) | readers per shard | documented limit |',
    '|---|---|---|---|---|---|',
  ];
  for (const m of r.model) {
    const measured = m.source === 'dynamodb-streams' ? r.polled.find((p) => p.mappings === m.subsystems) : undefined;
    const limit = m.source === 'dynamodb-streams' ? `${m.readerLimit} readers (5 calls/s quoted, not documented)` : `${m.readerLimit} consumers per stream`;
    lines.push(
      `| ${m.source} | ${m.subsystems} | ${+m.readCallsPerShardPerSecond.toFixed(3)} | ${measured ? `${measured.callsPerShardPerSecond} (${measured.throttled})` : 'not measurable here'} | ${m.readersPerShard}${m.withinReaderLimit ? '' : ' (over)'} | ${limit} |`,
    );
  }
  const b = r.burst;
  lines.push('', `Back-to-back probe: one poller read one shard ${b.callsPerShardPerSecond} times a second for ${b.seconds} s, throttled ${b.throttled} times.`, '');
  const subsystems = [...new Set(r.freshness.flatMap((c) => Object.keys(c.run.bySubsystem)))].sort((a, b) => (a === SEARCH_INDEXED ? 1 : b === SEARCH_INDEXED ? -1 : a.localeCompare(b)));
  lines.push(`| subsystem | ${r.freshness.map((c) => `${c.label}: p50 / p99 ms (n)`).join(' | ')} |`, `|---|${r.freshness.map(() => '---').join('|')}|`);
  for (const s of subsystems) {
    lines.push(`| ${s} | ${r.freshness.map((c) => c.run.bySubsystem[s]).map((f) => (f ? `${ms(f.p50Ms)} / ${ms(f.p99Ms)} (${f.applied})` : '-')).join(' | ')} |`);
  }
  const row = (name: string, pick: (run: FreshnessRun) => number | string | undefined) => `| ${name} | ${r.freshness.map((c) => pick(c.run) ?? '-').join(' | ')} |`;
  lines.push(
    row('writes (writes/s held)', (f) => `${f.writes} (${f.writesPerSecond})`),
    row('changes applied again (duplicates, retries)', (f) => f.reapplied),
    row('Kinesis duplicates injected', (f) => f.kinesisDuplicates),
    row("emulator's GetRecords on the table stream /s", (f) => f.emulatorGetRecordsPerSecond),
    row('drift, dead letters, I5/I6 findings', (f) => f.driftOrDeadLettered),
  );
  const s = DEFAULT_MAPPING_SETTINGS;
  lines.push('', `mapping settings: batchSize ${s.batchSize}, window ${s.maxBatchingWindowSeconds}s; ${r.sizes.writesPerSecond} writes/s for ${r.sizes.freshnessSeconds} s per run, two runs per case (A B C C B A), seed ${r.sizes.seed}; node ${process.version}`);
  return lines.join('\n');
}

/** Flat figures for `npm run bench`'s report. */
export function sourcesFigures(r: SourcesResult): Figures {
  const f: Figures = {};
  for (const m of r.model) f[`model ${m.source} x${m.subsystems}: read calls/shard/s`] = +m.readCallsPerShardPerSecond.toFixed(3);
  for (const p of r.polled) f[`measured dynamodb-streams x${p.mappings}: GetRecords/shard/s (throttled)`] = `${p.callsPerShardPerSecond} (${p.throttled})`;
  f['back-to-back GetRecords/shard/s on DynamoDB Local (throttled)'] = `${r.burst.callsPerShardPerSecond} (${r.burst.throttled})`;
  for (const c of r.freshness) {
    for (const [s, x] of Object.entries(c.run.bySubsystem)) f[`${c.label}: ${s} p50/p99 ms (n)`] = `${ms(x.p50Ms)} / ${ms(x.p99Ms)} (${x.applied})`;
    f[`${c.label}: drift, dead letters, I5/I6 findings`] = c.run.driftOrDeadLettered;
  }
  return f;
}

export async function benchSources(endpoint: string, quick = false): Promise<Figures> {
  return sourcesFigures(await measureSources(endpoint, quick ? QUICK : FULL));
}

if (require.main === module) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  (async () => {
    const ddb = await startDynamoDbLocal();
    try {
      const t0 = performance.now();
      const result = await measureSources(ddb.endpoint, process.argv.includes('--quick') ? QUICK : FULL);
      // The raw samples stay out of the JSON: the summaries are the figures.
      const json = () => JSON.stringify({ ...result, freshness: result.freshness.map((c) => ({ ...c, run: { ...c.run, samples: undefined } })) }, null, 2);
      process.stdout.write(process.argv.includes('--json') ? `${json()}\n` : `${sourcesMarkdown(result)}\n`);
      process.stderr.write(`bench sources: ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
    } finally {
      await ddb.stop();
    }
  })().catch((error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}

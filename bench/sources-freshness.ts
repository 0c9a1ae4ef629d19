/**
 * Freshness per subsystem at a fixed load, on one source: the whole local pipeline (the three
 * core subsystems, domain events and the audit trail: five mappings) on DynamoDB Local, fed
 * the chaos workload (every row kind) at a fixed rate, one write at a time. Per subsystem:
 * write completion on the client → the handler call that applied it resolved (the emulator's
 * invoke hook); for search also → the indexer call that handled its message resolved.
 *
 * The indexer's SQS event source is driven by a loop every INDEXER_POLL_MS (Lambda's SQS
 * pollers long-poll, so they take a message about as soon as it is sent; the stack sets no
 * batching window on that mapping). The stream mappings run with the stack's settings.
 */
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAuditTrailLocal } from '../local/audit-trail/audit-trail-local';
import { chaosWorkload } from '../local/chaos-workload';
import { prng, type Change } from '../local/dataset';
import { localClientConfig } from '../local/dynamodb-local';
import { startDomainEventsLocal } from '../local/eventbridge/domain-events-local';
import { LocalPipeline } from '../local/pipeline';
import { applyChange } from '../local/table-io';
import type { SourceName } from './sources-model';
import { FreshnessTracker, summarize, VERSION_ATTRIBUTE, writeKey, type FreshnessSummary } from './sources-tracker';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const INDEXER_POLL_MS = 50;

export interface FreshnessRun {
  readonly source: SourceName;
  /** Kinesis only: the virtual shards the changes were spread over. */
  readonly shards?: number;
  readonly writes: number;
  /** The rate the writer held (it aims at the requested one, one write at a time). */
  readonly writesPerSecond: number;
  readonly bySubsystem: Record<string, FreshnessSummary>;
  /** The freshness of every applied write per subsystem, ms (what bySubsystem summarises). */
  readonly samples: Record<string, number[]>;
  readonly reapplied: number;
  readonly kinesisDuplicates?: number;
  /** The emulator's own reads of the table stream (one reader for every mapping, unlike AWS). */
  readonly emulatorGetRecordsPerSecond: number;
  /** I1-I4 drift, dead letters, I6 and I5 findings after the drain: 0 means every subsystem applied every change. */
  readonly driftOrDeadLettered: number;
}

/** Adds the version attribute to a put or update; a delete stays as it is. */
function versioned(change: Change, version: number): Change {
  if (change.kind === 'put') return { kind: 'put', item: { ...change.item, [VERSION_ATTRIBUTE]: version } };
  if (change.kind === 'update') return { ...change, set: { ...change.set, [VERSION_ATTRIBUTE]: version } };
  return change;
}

const keyOf = (change: Change) => (change.kind === 'put' ? { PK: String(change.item.PK), SK: String(change.item.SK) } : change.key);

export async function measureFreshness(
  endpoint: string,
  source: SourceName,
  options: { writesPerSecond: number; seconds: number; seed: number; shards?: number },
): Promise<FreshnessRun> {
  const id = randomUUID().slice(0, 8);
  const tableName = `bench-src-${id}`;
  const keyDir = mkdtempSync(join(tmpdir(), 'bench-sources-'));
  const tracker = new FreshnessTracker();
  const real = new DynamoDBStreamsClient(localClientConfig(endpoint));
  let getRecords = 0;
  const streams = {
    send: ((command: { constructor: { name: string } }) => {
      if (command.constructor.name === 'GetRecordsCommand') getRecords += 1;
      return real.send(command as never);
    }) as DynamoDBStreamsClient['send'],
  };
  const events = await startDomainEventsLocal({ tableName, logLevel: 'SILENT' });
  const trail = await startAuditTrailLocal({ endpoint, keyFile: join(keyDir, 'keys.json'), historyTableName: `bench-src-history-${id}`, logLevel: 'SILENT', source });
  const pipeline = new LocalPipeline({
    endpoint,
    tableName,
    source,
    kinesis: { seed: options.seed, ...(options.shards !== undefined && { shards: options.shards }) },
    logLevel: 'SILENT',
    emulatorLog: () => undefined,
    streams,
    extraMappings: [events.mapping, trail.mapping],
    invoke: tracker.invoke,
    indexerInvoke: tracker.indexerInvoke,
  });
  await pipeline.start();
  let indexing = true;
  const indexer = (async () => {
    while (indexing) {
      await pipeline.consumeQueue();
      await sleep(INDEXER_POLL_MS);
    }
  })();
  try {
    const changes = chaosWorkload(prng(options.seed), Math.round(options.writesPerSecond * options.seconds));
    const versions = new Map<string, number>();
    const gap = 1000 / options.writesPerSecond;
    const t0 = performance.now();
    for (const [i, change] of changes.entries()) {
      await sleep(Math.max(0, t0 + i * gap - performance.now()));
      const version = i + 1;
      const { PK, SK } = keyOf(change);
      const row = `${PK}\u0000${SK}`;
      await applyChange(pipeline.doc, tableName, versioned(change, version));
      const done = performance.now();
      if (change.kind !== 'delete') {
        tracker.wrote(writeKey(PK, SK, version, false), done);
        versions.set(row, version);
      } else if (versions.has(row)) {
        // Deleting a missing row writes no stream record: only a real removal is tracked.
        tracker.wrote(writeKey(PK, SK, versions.get(row)!, true), done);
        versions.delete(row);
      }
    }
    const writeSeconds = (performance.now() - t0) / 1000;
    // The stream mappings first, with the indexer loop still running; then the queue's rest.
    await pipeline.emulator.drain({ timeoutMs: 120_000 });
    const streamSeconds = (performance.now() - t0) / 1000;
    indexing = false;
    await indexer;
    await pipeline.drain(120_000);
    const report = await pipeline.report();
    const history = await trail.report();
    return {
      source,
      ...(source === 'kinesis' && { shards: options.shards ?? 4 }),
      writes: changes.length,
      writesPerSecond: +(changes.length / writeSeconds).toFixed(1),
      bySubsystem: summarize(tracker.samples()),
      samples: tracker.samples(),
      reapplied: tracker.reapplied,
      ...(pipeline.kinesis && { kinesisDuplicates: pipeline.kinesis.duplicates }),
      emulatorGetRecordsPerSecond: +(getRecords / streamSeconds).toFixed(1),
      driftOrDeadLettered: report.audit.drift.length + report.dlq.length + (report.indexer?.deadLettered ?? 0) + events.audit().findings.length + history.i5.findings.length,
    };
  } finally {
    indexing = false;
    await indexer.catch(() => undefined);
    await pipeline.stop({ dropTable: true });
    await events.stop();
    await trail.stop({ dropTable: true });
    real.destroy();
    rmSync(keyDir, { recursive: true, force: true });
  }
}

/** Several runs of the same case as one: samples pooled, counts added, rates averaged. */
export function poolRuns(runs: readonly FreshnessRun[]): FreshnessRun {
  const first = runs[0];
  if (!first) throw new Error('poolRuns: no runs');
  const samples: Record<string, number[]> = {};
  for (const run of runs) for (const [s, ms] of Object.entries(run.samples)) (samples[s] ??= []).push(...ms);
  const sum = (pick: (r: FreshnessRun) => number) => runs.reduce((n, r) => n + pick(r), 0);
  const mean = (pick: (r: FreshnessRun) => number) => +(sum(pick) / runs.length).toFixed(1);
  return {
    source: first.source,
    ...(first.shards !== undefined && { shards: first.shards }),
    writes: sum((r) => r.writes),
    writesPerSecond: mean((r) => r.writesPerSecond),
    bySubsystem: summarize(samples),
    samples,
    reapplied: sum((r) => r.reapplied),
    ...(first.kinesisDuplicates !== undefined && { kinesisDuplicates: sum((r) => r.kinesisDuplicates ?? 0) }),
    emulatorGetRecordsPerSecond: mean((r) => r.emulatorGetRecordsPerSecond),
    driftOrDeadLettered: sum((r) => r.driftOrDeadLettered),
  };
}

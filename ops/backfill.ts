/**
 * `ops backfill`: triggers every key of the table through the subsystems that accept it
 * (search triggers to the queue; pointers and counts reconciled in process). Safe while the
 * table takes writes and the stream runs: every reconcile reads the truth and conditions its
 * writes on it, so a backfill and the stream can reconcile the same key in any
 * order; reconciling a key twice writes nothing the second time (no double counts).
 *
 * Never loses a failed key: with --checkpoint, the keys that failed are saved with the page
 * positions (in the same write), a resumed run retries them before it scans on, and the run
 * is clean (exit 0) only when none still fails. A scope change on resume is refused.
 *
 * `--takeover`: after `ops takeover prepare` snapshotted the old worker's counts
 * into legacy_count, the backfill reconciles every link and then releases (subtracts)
 * legacy_count, leaving counts that are exactly this matcher's contributions. The release runs
 * only after a complete pass whose every key reconciled: releasing while a link is not counted
 * would leave its tuple one short.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Logger } from '@aws-lambda-powertools/logger';
import { writeFileSync } from 'node:fs';
import { releaseTakeover, type ReleaseReport, type TakeoverDeps } from '../lambda/faa-matcher-sync/takeover';
import type { SubsystemName } from '../lambda/subsystems';
import { Checkpoint } from './checkpoint';
import { UsageError } from './common';
import { keysOf } from './keys';
import { matcherTableScan } from './matcher-scan';
import { reconcileKeys, type KeyFailure, type ReconcilerSet } from './reconcile';
import { scanSegments } from './scan';
import { REPORTED_FAILURES, Tally, type KeyCounts } from './tally';

/** Default --max-failed-keys: a pass with this many failing keys has a cause to fix first (and the checkpoint stays small). */
export const MAX_FAILED_KEYS = 1000;

export interface BackfillOptions {
  readonly client: DynamoDBClient;
  readonly doc: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly logger: Logger;
  readonly reconcilers: ReconcilerSet;
  readonly run: string;
  readonly segments: number;
  readonly rate?: number;
  readonly pageSize?: number;
  readonly checkpointFile?: string;
  readonly dryRun?: boolean;
  readonly takeover?: boolean;
  /** Stop scanning once this many keys are failing (default MAX_FAILED_KEYS). */
  readonly maxFailedKeys?: number;
  /** Write every key still failing at the end there (JSON lines); the report names the first REPORTED_FAILURES. */
  readonly failedKeysFile?: string;
  readonly signal?: AbortSignal;
  readonly onProgress?: (keys: number) => void;
  /** The release's retry policy and sleep (tests). */
  readonly release?: Pick<TakeoverDeps, 'sleep' | 'retry'>;
}

export interface BackfillReport {
  readonly run: string;
  readonly dryRun: boolean;
  /** Every segment of the scan reached its end (in this or an earlier run of the same checkpoint). */
  readonly complete: boolean;
  readonly resumed: boolean;
  readonly pages: number;
  /** Keys that failed in earlier runs of this checkpoint, retried first, and how many of them reconciled now. */
  readonly retried: { readonly keys: number; readonly reconciled: number };
  /** This run's scan. */
  readonly keys: Omit<KeyCounts, 'failures'>;
  /** Every key of the pass that still fails (earlier runs' included): all counted, the first ones named. */
  readonly failed: { readonly count: number; readonly keys: KeyFailure[] };
  /** Why the scan stopped early, when it did. */
  readonly stopped?: string;
  readonly takeover?: ReleaseReport;
  /** Why the takeover release did not run (one line). */
  readonly takeoverRefused?: string;
}

/** Exit 0 only for a complete pass with no key still failing and, with --takeover, a finished release. */
export const backfillIsClean = (r: BackfillReport): boolean =>
  r.complete && r.failed.count === 0 && r.stopped === undefined && r.takeoverRefused === undefined && (r.takeover?.complete ?? true);

const keyOf = (f: Pick<KeyFailure, 'pk' | 'sk'>) => `${f.pk}\u0000${f.sk}`;

/** Reconciles the keys that failed before, each through the subsystem it failed in; clears those that now reconcile. */
async function retryFailed(checkpoint: Checkpoint, options: BackfillOptions): Promise<BackfillReport['retried']> {
  const earlier = checkpoint.failed();
  for (const [name, reconciler] of Object.entries(options.reconcilers) as [SubsystemName, NonNullable<ReconcilerSet[SubsystemName]>][]) {
    const mine = earlier.filter((f) => f.subsystem === name);
    if (mine.length === 0) continue;
    const result = await reconcileKeys({ [name]: reconciler }, mine.map((f) => ({ PK: f.pk, SK: f.sk })), { kind: 'backfill', run: options.run });
    const still = new Set(result.failures.map(keyOf));
    for (const f of mine) if (!still.has(keyOf(f))) checkpoint.clearFailure(f);
    checkpoint.recordFailures(result.failures);
  }
  if (earlier.length > 0) {
    await checkpoint.save();
    options.logger.info('backfill retried the failed keys of the checkpoint', { keys: earlier.length, stillFailing: checkpoint.failedCount });
  }
  return { keys: earlier.length, reconciled: earlier.length - checkpoint.failedCount };
}

export async function runBackfill(options: BackfillOptions): Promise<BackfillReport> {
  if (options.takeover && !options.reconcilers['faa-matcher-sync']) throw new UsageError('--takeover needs faa-matcher-sync among --subsystems');
  if (options.dryRun && options.checkpointFile) throw new UsageError('--dry-run writes nothing, not even a checkpoint: leave out --checkpoint');
  const dryRun = options.dryRun ?? false;
  const maxFailed = options.maxFailedKeys ?? MAX_FAILED_KEYS;
  const scope = { subsystems: Object.keys(options.reconcilers) as SubsystemName[], takeover: Boolean(options.takeover) };
  const checkpoint = Checkpoint.open(options.checkpointFile, { table: options.tableName, segments: options.segments, scope }, options.run);

  const retried = await retryFailed(checkpoint, options);

  const tally = new Tally(options.reconcilers, 0);
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) stop.abort();
  let stopped: string | undefined;
  const tooMany = () => {
    if (checkpoint.failedCount < maxFailed) return false;
    stopped ??= `${checkpoint.failedCount} keys are failing (--max-failed-keys ${maxFailed}); fix the cause and run the same command again`;
    stop.abort();
    return true;
  };
  tooMany();
  let scan;
  try {
    scan = await scanSegments({
      client: options.client,
      tableName: options.tableName,
      segments: options.segments,
      attributes: ['PK', 'SK'],
      start: checkpoint.positions,
      signal: stop.signal,
      ...(options.rate !== undefined && { rate: options.rate }),
      ...(options.pageSize !== undefined && { pageSize: options.pageSize }),
      onPage: async (_, rows) => {
        const page = await reconcileKeys(options.reconcilers, rows.map(keysOf), { kind: 'backfill', run: options.run }, { dryRun });
        tally.add(page);
        checkpoint.recordFailures(page.failures);
        tooMany();
        options.onProgress?.(tally.counts().seen);
      },
      afterPage: async (segment, next) => {
        checkpoint.positions[segment] = next;
        if (!dryRun) await checkpoint.save();
      },
    });
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
  if (!scan.complete && !stopped) stopped = 'interrupted; run the same command again to resume';

  let takeover: ReleaseReport | undefined;
  let takeoverRefused: string | undefined;
  if (options.takeover && !dryRun) {
    const first = checkpoint.failed()[0];
    if (!scan.complete) takeoverRefused = 'takeover release not run: the backfill pass did not finish; run the same command again';
    else if (first) {
      takeoverRefused =
        `takeover release refused: ${checkpoint.failedCount} key(s) failed in this backfill pass (first: ${first.subsystem} ${first.pk} ${first.sk}); ` +
        'fix them and run the same command again';
    } else {
      const release = (checkpoint.release ??= checkpoint.positions.map(() => null));
      await checkpoint.save();
      takeover = await releaseTakeover({
        doc: options.doc,
        tableName: options.tableName,
        logger: options.logger,
        ...options.release,
        scan: matcherTableScan({
          client: options.client,
          tableName: options.tableName,
          segments: options.segments,
          start: release,
          ...(options.rate !== undefined && { rate: options.rate }),
          ...(options.signal && { signal: options.signal }),
          afterPage: async (segment, next) => {
            release[segment] = next;
            await checkpoint.save();
          },
        }),
      });
    }
  }

  const failed = checkpoint.failed();
  if (options.failedKeysFile) writeFileSync(options.failedKeysFile, failed.map((f) => `${JSON.stringify(f)}\n`).join(''));
  const { failures: _none, ...keys } = tally.counts();
  return {
    run: options.run,
    dryRun,
    complete: scan.complete,
    resumed: checkpoint.resumed,
    pages: scan.pages,
    retried,
    keys,
    failed: { count: failed.length, keys: failed.slice(0, REPORTED_FAILURES) },
    ...(stopped && { stopped }),
    ...(takeover && { takeover }),
    ...(takeoverRefused && { takeoverRefused }),
  };
}

/**
 * `ops backfill`: triggers every key of the table through the subsystems that accept it
 * (search triggers to the queue; pointers and counts reconciled in process). Safe while the
 * table takes writes and the stream runs: every reconcile reads the truth and conditions its
 * writes on it (DESIGN §9), so a backfill and the stream can reconcile the same key in any
 * order. Resumable: the checkpoint moves past a page only after its keys were reconciled, and
 * reconciling a key twice writes nothing the second time (level-triggered: no double counts).
 *
 * `--takeover` (DESIGN §5): after `ops takeover prepare` snapshotted the old worker's counts
 * into legacy_count, the backfill reconciles every link and then releases (subtracts)
 * legacy_count, leaving counts that are exactly this matcher's contributions.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Logger } from '@aws-lambda-powertools/logger';
import { releaseTakeover, type ReleaseReport } from '../lambda/faa-matcher-sync/takeover';
import { keysOf } from './keys';
import { addTally, emptyTally, reconcileKeys, type ReconcilerSet, type ReconcileTally } from './reconcile';
import { scanSegments } from './scan';
import { UsageError } from './common';

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
  readonly signal?: AbortSignal;
  readonly onProgress?: (keys: number) => void;
}

export interface BackfillReport {
  readonly run: string;
  readonly dryRun: boolean;
  readonly complete: boolean;
  readonly resumed: boolean;
  readonly pages: number;
  readonly keys: ReconcileTally;
  readonly takeover?: ReleaseReport;
}

export async function runBackfill(options: BackfillOptions): Promise<BackfillReport> {
  if (options.takeover && !options.reconcilers['faa-matcher-sync']) throw new UsageError('--takeover needs faa-matcher-sync among --subsystems');
  let tally = emptyTally(options.reconcilers);
  const scan = await scanSegments({
    client: options.client,
    tableName: options.tableName,
    segments: options.segments,
    run: options.run,
    keysOnly: true,
    ...(options.rate !== undefined && { rate: options.rate }),
    ...(options.pageSize !== undefined && { pageSize: options.pageSize }),
    ...(options.checkpointFile && !options.dryRun && { checkpointFile: options.checkpointFile }),
    ...(options.signal && { signal: options.signal }),
    onPage: async (_, rows) => {
      const page = await reconcileKeys(options.reconcilers, rows.map(keysOf), { kind: 'backfill', run: options.run }, { dryRun: options.dryRun ?? false });
      tally = addTally(tally, page);
      options.onProgress?.(tally.seen);
    },
  });

  let takeover: ReleaseReport | undefined;
  if (options.takeover && scan.complete && !options.dryRun) {
    const matcherFailed = tally.failures.some((f) => f.subsystem === 'faa-matcher-sync');
    // Releasing before every link counts would leave tuples short: only after a clean, complete pass.
    if (!matcherFailed) takeover = await releaseTakeover({ doc: options.doc, tableName: options.tableName, logger: options.logger });
  }
  return { run: options.run, dryRun: options.dryRun ?? false, complete: scan.complete, resumed: scan.resumed, pages: scan.pages, keys: tally, ...(takeover && { takeover }) };
}

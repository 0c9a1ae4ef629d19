/**
 * The tools' side of level-triggered reconciliation: every key a tool finds (backfill page, audit finding, failure
 * object) becomes a trigger with the tool's origin and goes to each subsystem whose reconcile
 * path accepts it: the search trigger sender (to the search queue), image-sync and the matcher
 * (in process). The same entries the Lambda handlers use; nothing here decides what to write.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Logger } from '@aws-lambda-powertools/logger';
import { createMatcherReconciler } from '../lambda/faa-matcher-sync/reconcile';
import { createImageReconciler } from '../lambda/image-sync/reconciler';
import { ChangeFailedError } from '../lambda/shared/errors';
import type { RowKeys } from '../lambda/shared/key-rules';
import { toolTriggers, type Reconciler, type ToolOriginKind } from '../lambda/shared/trigger';
import { SUBSYSTEM_NAMES, type SubsystemName } from '../lambda/subsystems';
import type { SqsSender } from '../lambda/typesense-sync/queue';
import { createSearchTriggerSender } from '../lambda/typesense-sync/sender';
import { errorMessage, UsageError } from './common';

export type ReconcilerSet = Partial<Record<SubsystemName, Reconciler>>;

export interface ReconcilerWiring {
  readonly doc: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly logger: Logger;
  readonly subsystems: readonly SubsystemName[];
  /** The search queue; required when typesense-sync is among the subsystems. */
  readonly sqs?: SqsSender;
  readonly queueUrl?: string;
}

export function createReconcilers(w: ReconcilerWiring): ReconcilerSet {
  const set: ReconcilerSet = {};
  for (const name of w.subsystems) {
    if (name === 'typesense-sync') {
      if (!w.queueUrl || !w.sqs) throw new UsageError('--queue-url is required to trigger typesense-sync (or leave it out of --subsystems)');
      set[name] = createSearchTriggerSender({ sqs: w.sqs, queueUrl: w.queueUrl, logger: w.logger });
    } else if (name === 'image-sync') {
      set[name] = createImageReconciler({ doc: w.doc, tableName: w.tableName, logger: w.logger });
    } else {
      set[name] = createMatcherReconciler({ doc: w.doc, tableName: w.tableName, logger: w.logger });
    }
  }
  return set;
}

export function parseSubsystems(text: string | undefined): SubsystemName[] {
  if (text === undefined) return [...SUBSYSTEM_NAMES];
  const names = text.split(',').map((s) => s.trim()).filter(Boolean);
  for (const name of names) {
    if (!(SUBSYSTEM_NAMES as readonly string[]).includes(name)) throw new UsageError(`--subsystems: unknown subsystem ${JSON.stringify(name)} (known: ${SUBSYSTEM_NAMES.join(', ')})`);
  }
  if (names.length === 0) throw new UsageError('--subsystems: name at least one subsystem');
  return names as SubsystemName[];
}

export interface SubsystemTally {
  /** Keys this subsystem accepted. */
  keys: number;
  /** Keys whose reconcile wrote something (search: triggers sent). */
  changed: number;
  failed: number;
}

export interface KeyFailure {
  readonly subsystem: SubsystemName;
  readonly pk: string;
  readonly sk: string;
  readonly error: string;
}

export interface ReconcileTally {
  readonly seen: number;
  readonly subsystems: Partial<Record<SubsystemName, SubsystemTally>>;
  readonly failures: KeyFailure[];
}

export const emptyTally = (set: ReconcilerSet): ReconcileTally => ({
  seen: 0,
  subsystems: Object.fromEntries(Object.keys(set).map((n) => [n, { keys: 0, changed: 0, failed: 0 }])),
  failures: [],
});

/** Adds `from` into `into` (segments run concurrently, each with its own tally per page). */
export function addTally(into: ReconcileTally, from: ReconcileTally): ReconcileTally {
  const subsystems = { ...into.subsystems };
  for (const [name, t] of Object.entries(from.subsystems) as [SubsystemName, SubsystemTally][]) {
    const base = subsystems[name] ?? { keys: 0, changed: 0, failed: 0 };
    subsystems[name] = { keys: base.keys + t.keys, changed: base.changed + t.changed, failed: base.failed + t.failed };
  }
  return { seen: into.seen + from.seen, subsystems, failures: [...into.failures, ...from.failures] };
}

/**
 * Reconciles `keys` through every accepting subsystem. A key that fails is recorded (by key,
 * with the error) and the rest still go through: `reconcile` stops at the first failure, so
 * the call resumes just after it. With `dryRun` only the counting happens.
 */
export async function reconcileKeys(
  set: ReconcilerSet,
  keys: readonly RowKeys[],
  origin: { readonly kind: ToolOriginKind; readonly run: string },
  options: { readonly dryRun?: boolean; readonly chunk?: number } = {},
): Promise<ReconcileTally> {
  const tally = emptyTally(set);
  const result: ReconcileTally = { ...tally, seen: keys.length };
  const chunk = options.chunk ?? 100;
  for (const [name, reconciler] of Object.entries(set) as [SubsystemName, Reconciler][]) {
    const t = result.subsystems[name]!;
    const accepted = keys.filter((k) => reconciler.accepts(k));
    t.keys += accepted.length;
    if (options.dryRun || accepted.length === 0) continue;
    let rest = toolTriggers(accepted, origin.kind, origin.run);
    while (rest.length > 0) {
      const batch = rest.slice(0, chunk);
      try {
        const results = await reconciler.reconcile(batch);
        t.changed += results.filter((r) => r.changed).length;
        rest = rest.slice(batch.length);
      } catch (error) {
        const position = error instanceof ChangeFailedError ? error.position : 0;
        const cause = error instanceof ChangeFailedError ? error.cause : error;
        // Keys before `position` took effect; their results are unknown here, so they count as seen, not changed.
        const failed = batch[position]!.key;
        t.failed += 1;
        result.failures.push({ subsystem: name, pk: failed.PK, sk: failed.SK, error: errorMessage(cause) });
        const sameKey = (k: RowKeys) => k.PK === failed.PK && k.SK === failed.SK;
        rest = [...batch.slice(position + 1).filter((tr) => !sameKey(tr.key)), ...rest.slice(batch.length)];
      }
    }
  }
  return result;
}

/**
 * The audit's side of the matcher recount (lambda/faa-matcher-sync/recount.ts): the strongly
 * consistent scan of contribution rows (parallel segments, rate-limited, keys and tuple
 * attributes only) and what a measured tuple means as a finding.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Tuple } from '../lambda/faa-matcher-sync/domain';
import { CONTRIBUTION_PK_PREFIX, CONTRIBUTION_SK_PREFIX } from '../lambda/faa-matcher-sync/keys';
import { recountTuples, type ContributionScan, type RecountHooks, type TupleRecount } from '../lambda/faa-matcher-sync/recount';
import { ledgerFindingFor, ledgerProblem } from './audit-matcher';
import { MATCHER_ATTRIBUTES } from './audit-pass';
import type { Finding } from './invariants';
import { scanSegments } from './scan';

export interface RecountContext {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  readonly segments: number;
  readonly rate?: number;
  readonly hooks?: RecountHooks;
}

export function contributionScan(ctx: RecountContext): ContributionScan {
  return async (onPage) => {
    await scanSegments({
      client: ctx.client,
      tableName: ctx.tableName,
      segments: ctx.segments,
      ...(ctx.rate !== undefined && { rate: ctx.rate }),
      consistent: true,
      attributes: ['PK', 'SK', ...MATCHER_ATTRIBUTES],
      filter: {
        expression: 'begins_with(#cpk, :cpk) AND begins_with(#csk, :csk)',
        names: { '#cpk': 'PK', '#csk': 'SK' },
        values: { ':cpk': { S: CONTRIBUTION_PK_PREFIX }, ':csk': { S: CONTRIBUTION_SK_PREFIX } },
      },
      onPage: (_, rows) => onPage(rows),
    });
  };
}

/** Measures (`write: false`) or recounts the tuples; one consistent scan of the contribution rows per round. */
export const recount = (ctx: RecountContext, tuples: readonly Tuple[], write: boolean): Promise<TupleRecount[]> =>
  recountTuples({ client: ctx.client, tableName: ctx.tableName }, tuples, contributionScan(ctx), { write, ...(ctx.hooks && { hooks: ctx.hooks }) });

/** The finding a measured tuple makes: its count is not legacy_count + contributions (drifted, or recounted now), or it could not be recounted. */
export function recountFinding(r: TupleRecount): Finding | null {
  if (r.outcome === 'exact') return null;
  if (r.outcome === 'refused') return ledgerFindingFor(r.key, r.tuple, r.reason!);
  if (r.outcome === 'moved') return null;
  return ledgerFindingFor(r.key, r.tuple, ledgerProblem(r.before && { count: r.before.count, legacy: r.before.legacy }, r.contributions!, r.target!));
}

/** The takeover's reads through the ops table scan: parallel segments, rate-limited, resumable from a checkpoint's positions. */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { MatcherScan } from '../lambda/faa-matcher-sync/takeover';
import { scanSegments, type Position } from './scan';

export interface MatcherScanOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  readonly segments: number;
  readonly rate?: number;
  readonly signal?: AbortSignal;
  /** Resume from these positions (the backfill checkpoint's release positions). */
  readonly start?: readonly Position[];
  readonly afterPage?: (segment: number, next: Position) => Promise<void>;
}

export function matcherTableScan(options: MatcherScanOptions): MatcherScan {
  return async (request, onPage) => {
    const result = await scanSegments({
      client: options.client,
      tableName: options.tableName,
      segments: options.segments,
      consistent: true,
      attributes: request.attributes,
      filter: { expression: request.filterExpression, names: request.names, values: Object.fromEntries(Object.entries(request.values).map(([k, v]) => [k, { S: v }])) },
      ...(options.rate !== undefined && { rate: options.rate }),
      ...(options.signal && { signal: options.signal }),
      ...(options.start && { start: options.start }),
      ...(options.afterPage && { afterPage: options.afterPage }),
      onPage: (_, rows) => onPage(rows),
    });
    return { complete: result.complete };
  };
}

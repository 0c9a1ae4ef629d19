/**
 * A table scan in parallel segments with a read-rate limit. The caller decides what a page
 * means and keeps its own checkpoint: each segment starts at a given position and, after a
 * page was handled, reports the position it moved to (`afterPage`), so a killed run resumes
 * where each segment stopped. Used by backfill, audit and the matcher takeover alike.
 */
import { DescribeTableCommand, ScanCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { decodeImage, type Item } from '../lambda/shared/decode';

export type StartKey = Record<string, AttributeValue>;

/** Where one segment stands: null before its first page, the key to resume from, or 'done'. */
export type Position = StartKey | null | 'done';

/** Limits reads to `perSecond` items (0: unlimited), across all segments. */
export class RateLimiter {
  private readonly startedAt = Date.now();
  private taken = 0;
  constructor(
    private readonly perSecond: number,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {}

  async take(items: number): Promise<void> {
    this.taken += items;
    if (this.perSecond <= 0) return;
    const due = this.startedAt + (this.taken / this.perSecond) * 1000;
    const wait = due - Date.now();
    if (wait > 0) await this.sleep(wait);
  }
}

/** A server-side filter (values already in DynamoDB's attribute-value form). */
export interface ScanFilter {
  readonly expression: string;
  readonly names?: Record<string, string>;
  readonly values?: Record<string, AttributeValue>;
}

export interface ScanOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  readonly segments: number;
  /** Items read per second over all segments; 0 or absent: unlimited. */
  readonly rate?: number;
  /** Attributes to read (e.g. ['PK', 'SK'] for a backfill); absent: whole items. */
  readonly attributes?: readonly string[];
  readonly filter?: ScanFilter;
  readonly consistent?: boolean;
  /** Page size (Scan's Limit). */
  readonly pageSize?: number;
  /** Each segment's starting position (a checkpoint's); absent: every segment from its beginning. */
  readonly start?: readonly Position[];
  /** Handles one page. */
  readonly onPage: (segment: number, items: Item[]) => Promise<void>;
  /** After `onPage` resolved: where the segment now stands (the caller saves its checkpoint here). */
  readonly afterPage?: (segment: number, next: Position) => Promise<void>;
  /** Stop cleanly before the next page of each segment. */
  readonly signal?: AbortSignal;
}

export interface ScanResult {
  readonly pages: number;
  readonly items: number;
  /** False when stopped by the signal before every segment finished. */
  readonly complete: boolean;
  readonly positions: readonly Position[];
}

/** The table's approximate item count (DescribeTable; refreshed by DynamoDB about every 6 hours), for progress. */
export async function approximateItemCount(client: DynamoDBClient, tableName: string): Promise<number> {
  const out = await client.send(new DescribeTableCommand({ TableName: tableName }));
  return out.Table?.ItemCount ?? 0;
}

function projection(attributes: readonly string[] | undefined, filter: ScanFilter | undefined) {
  const names: Record<string, string> = { ...filter?.names };
  const expression = attributes?.map((a, i) => {
    names[`#p${i}`] = a;
    return `#p${i}`;
  });
  return {
    ...(expression && { ProjectionExpression: expression.join(', ') }),
    ...(filter && { FilterExpression: filter.expression }),
    ...(Object.keys(names).length > 0 && { ExpressionAttributeNames: names }),
    ...(filter?.values && { ExpressionAttributeValues: filter.values }),
  };
}

/**
 * Scans every segment to its end (or until `signal`). When a page fails, the other segments
 * stop before their next page and the scan rejects with that error once they have; nothing
 * keeps running behind the caller's back.
 */
export async function scanSegments(options: ScanOptions): Promise<ScanResult> {
  const { client, tableName, segments } = options;
  if (options.start && options.start.length !== segments) throw new Error(`scan: ${options.start.length} start positions for ${segments} segments`);
  const positions: Position[] = options.start ? [...options.start] : Array.from({ length: segments }, () => null);
  const limiter = new RateLimiter(options.rate ?? 0);
  const request = projection(options.attributes, options.filter);
  let pages = 0;
  let items = 0;
  let failed = false;

  const scanOne = async (segment: number) => {
    let position = positions[segment]!;
    while (position !== 'done') {
      if (options.signal?.aborted || failed) return;
      const page = await client.send(
        new ScanCommand({
          TableName: tableName,
          Segment: segment,
          TotalSegments: segments,
          ConsistentRead: options.consistent ?? false,
          ...(options.pageSize && { Limit: options.pageSize }),
          ...request,
          ...(position && { ExclusiveStartKey: position }),
        }),
      );
      const rows = (page.Items ?? []).map((item) => decodeImage(item));
      // A filtered page costs what it read, not what it returned.
      await limiter.take(Math.max(1, page.ScannedCount ?? rows.length));
      await options.onPage(segment, rows);
      pages += 1;
      items += rows.length;
      position = page.LastEvaluatedKey ?? 'done';
      positions[segment] = position;
      await options.afterPage?.(segment, position);
    }
  };

  const outcomes = await Promise.allSettled(
    Array.from({ length: segments }, (_, s) =>
      scanOne(s).catch((error: unknown) => {
        failed = true;
        throw error;
      }),
    ),
  );
  const rejected = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (rejected) throw rejected.reason;
  return { pages, items, complete: positions.every((p) => p === 'done'), positions };
}

/** Every row of the table (parallel segments), for the audit. `run` is accepted for older callers and unused. */
export async function scanRows(options: Omit<ScanOptions, 'onPage' | 'afterPage' | 'start'> & { readonly run?: string; readonly onProgress?: (items: number) => void }): Promise<Item[]> {
  const rows: Item[] = [];
  const { run: _run, onProgress, ...scan } = options;
  await scanSegments({
    ...scan,
    onPage: async (_, page) => {
      rows.push(...page);
      onProgress?.(rows.length);
    },
  });
  return rows;
}

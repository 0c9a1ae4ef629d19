/**
 * A table scan in parallel segments with a read-rate limit and an optional per-segment
 * checkpoint (the LastEvaluatedKey after each page whose items were handled), so a killed
 * run resumes where each segment stopped.
 */
import { DescribeTableCommand, ScanCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { existsSync, readFileSync } from 'node:fs';
import { decodeImage, type Item } from '../lambda/shared/decode';
import { UsageError, writeFileAtomic } from './common';

export type StartKey = Record<string, AttributeValue>;

/** Where each segment of one scan stands. */
export interface Checkpoint {
  readonly version: 1;
  readonly table: string;
  readonly segments: number;
  readonly run: string;
  /** Per segment: null before its first page; the key to resume from; 'done' when finished. */
  readonly positions: (StartKey | null | 'done')[];
}

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

export interface ScanOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  readonly segments: number;
  /** Items per second over all segments; 0 or absent: unlimited. */
  readonly rate?: number;
  /** Read only the keys (backfill needs nothing else). */
  readonly keysOnly?: boolean;
  readonly consistent?: boolean;
  /** Page size (Scan's Limit). */
  readonly pageSize?: number;
  /** Resume from and keep this checkpoint file. */
  readonly checkpointFile?: string;
  readonly run: string;
  /** Handles one page; the checkpoint moves past the page only after this resolves. */
  readonly onPage: (segment: number, items: Item[]) => Promise<void>;
  /** Stop cleanly before the next page (the checkpoint keeps what was done). */
  readonly signal?: AbortSignal;
}

export interface ScanResult {
  readonly pages: number;
  readonly items: number;
  /** False when stopped by the signal before every segment finished. */
  readonly complete: boolean;
  /** True when a checkpoint file was read and the scan continued from it. */
  readonly resumed: boolean;
}

export function loadCheckpoint(file: string, table: string, segments: number): Checkpoint | undefined {
  if (!existsSync(file)) return undefined;
  let parsed: Checkpoint;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as Checkpoint;
  } catch (error) {
    throw new UsageError(`checkpoint ${file} is not valid JSON (${(error as Error).message}); delete it to start over`);
  }
  if (parsed.version !== 1 || !Array.isArray(parsed.positions)) throw new UsageError(`checkpoint ${file} is not a backfill checkpoint`);
  if (parsed.table !== table) throw new UsageError(`checkpoint ${file} belongs to table ${parsed.table}, not ${table}`);
  if (parsed.segments !== segments) throw new UsageError(`checkpoint ${file} was written with --segments ${parsed.segments}; resume with the same value`);
  return parsed;
}

/** The table's approximate item count (DescribeTable; refreshed by DynamoDB about every 6 hours), for progress. */
export async function approximateItemCount(client: DynamoDBClient, tableName: string): Promise<number> {
  const out = await client.send(new DescribeTableCommand({ TableName: tableName }));
  return out.Table?.ItemCount ?? 0;
}

export async function scanSegments(options: ScanOptions): Promise<ScanResult> {
  const { client, tableName, segments } = options;
  const previous = options.checkpointFile ? loadCheckpoint(options.checkpointFile, tableName, segments) : undefined;
  const positions: Checkpoint['positions'] = previous ? [...previous.positions] : Array.from({ length: segments }, () => null);
  const limiter = new RateLimiter(options.rate ?? 0);
  let pages = 0;
  let items = 0;
  let saving = Promise.resolve();
  const save = () => {
    if (!options.checkpointFile) return Promise.resolve();
    const checkpoint: Checkpoint = { version: 1, table: tableName, segments, run: previous?.run ?? options.run, positions: [...positions] };
    const file = options.checkpointFile;
    // Writes are chained: segments finish pages concurrently, the file must end with the latest state.
    saving = saving.then(() => writeFileAtomic(file, `${JSON.stringify(checkpoint)}\n`));
    return saving;
  };

  const scanOne = async (segment: number) => {
    let position = positions[segment];
    while (position !== 'done') {
      if (options.signal?.aborted) return;
      const page = await client.send(
        new ScanCommand({
          TableName: tableName,
          Segment: segment,
          TotalSegments: segments,
          ConsistentRead: options.consistent ?? false,
          ...(options.pageSize && { Limit: options.pageSize }),
          ...(options.keysOnly && { ProjectionExpression: '#pk, #sk', ExpressionAttributeNames: { '#pk': 'PK', '#sk': 'SK' } }),
          ...(position && { ExclusiveStartKey: position }),
        }),
      );
      const rows = (page.Items ?? []).map((item) => decodeImage(item));
      await limiter.take(Math.max(1, rows.length));
      await options.onPage(segment, rows);
      pages += 1;
      items += rows.length;
      position = page.LastEvaluatedKey ?? 'done';
      positions[segment] = position;
      await save();
    }
  };

  await Promise.all(Array.from({ length: segments }, (_, s) => scanOne(s)));
  await saving;
  return { pages, items, complete: positions.every((p) => p === 'done'), resumed: previous !== undefined };
}

/** Every row of the table (parallel segments), for the audit. */
export async function scanRows(options: Omit<ScanOptions, 'onPage' | 'checkpointFile' | 'keysOnly'> & { onProgress?: (items: number) => void }): Promise<Item[]> {
  const rows: Item[] = [];
  await scanSegments({
    ...options,
    onPage: async (_, page) => {
      rows.push(...page);
      options.onProgress?.(rows.length);
    },
  });
  return rows;
}

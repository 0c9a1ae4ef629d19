/** The audit's point reads: keys in batches of 100 (BatchGetItem) and one partition page by page (Query). */
import { BatchGetItemCommand, QueryCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { decodeImage, type Item } from '../lambda/shared/decode';
import type { RowKeys } from '../lambda/shared/key-rules';

export const rowId = (k: RowKeys): string => `${k.PK}\u0000${k.SK}`;

export interface ReadOptions {
  readonly consistent: boolean;
  /** Attributes to read; absent: whole items. */
  readonly attributes?: readonly string[];
}

function projection(attributes: readonly string[] | undefined): { ProjectionExpression?: string; ExpressionAttributeNames?: Record<string, string> } {
  if (!attributes) return {};
  return {
    ProjectionExpression: attributes.map((_, i) => `#a${i}`).join(', '),
    ExpressionAttributeNames: Object.fromEntries(attributes.map((a, i) => [`#a${i}`, a])),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The rows with these keys (rowId -> row; a key without a row is absent), 100 per request; unprocessed keys are asked again with backoff. */
export async function batchGet(client: DynamoDBClient, tableName: string, keys: readonly RowKeys[], options: ReadOptions): Promise<Map<string, Item>> {
  const found = new Map<string, Item>();
  const distinct = [...new Map(keys.map((k) => [rowId(k), k])).values()];
  for (let i = 0; i < distinct.length; i += 100) {
    let pending: Record<string, AttributeValue>[] = distinct.slice(i, i + 100).map((k) => ({ PK: { S: k.PK }, SK: { S: k.SK } }));
    for (let attempt = 1; pending.length > 0; attempt += 1) {
      if (attempt > 10) throw new Error(`audit: BatchGetItem left ${pending.length} key(s) unprocessed after 10 requests (throttled; lower --rate or raise the table's read capacity)`);
      if (attempt > 1) await sleep(Math.min(2_000, 50 * 2 ** attempt));
      const out = await client.send(
        new BatchGetItemCommand({ RequestItems: { [tableName]: { Keys: pending, ConsistentRead: options.consistent, ...projection(options.attributes && ['PK', 'SK', ...options.attributes]) } } }),
      );
      for (const item of out.Responses?.[tableName] ?? []) {
        const row = decodeImage(item);
        found.set(rowId({ PK: String(row.PK), SK: String(row.SK) }), row);
      }
      pending = out.UnprocessedKeys?.[tableName]?.Keys ?? [];
    }
  }
  return found;
}

/** Every row of one partition, page by page (`onPage` resolves before the next page is read). */
export async function queryPartition(client: DynamoDBClient, tableName: string, pk: string, options: ReadOptions & { readonly onPage: (rows: Item[]) => Promise<void> }): Promise<void> {
  const { ProjectionExpression, ExpressionAttributeNames } = projection(options.attributes && ['PK', 'SK', ...options.attributes]);
  let ExclusiveStartKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: '#pk = :pk',
        ...(ProjectionExpression && { ProjectionExpression }),
        ExpressionAttributeNames: { ...ExpressionAttributeNames, '#pk': 'PK' },
        ExpressionAttributeValues: { ':pk': { S: pk } },
        ConsistentRead: options.consistent,
        ExclusiveStartKey,
      }),
    );
    await options.onPage((page.Items ?? []).map((i) => decodeImage(i)));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
}

/** Every row of one partition in memory (an entity's images and pointer: small by design). */
export async function partitionRows(client: DynamoDBClient, tableName: string, pk: string): Promise<Item[]> {
  const rows: Item[] = [];
  await queryPartition(client, tableName, pk, { consistent: true, onPage: async (page) => void rows.push(...page) });
  return rows;
}

/** Collects items and hands them to `flush` `size` at a time (and the rest on `drain`). */
export class Batcher<T> {
  private items: T[] = [];
  constructor(
    private readonly size: number,
    private readonly flush: (items: T[]) => Promise<void>,
  ) {}

  async add(item: T): Promise<void> {
    this.items.push(item);
    if (this.items.length >= this.size) await this.drain();
  }

  async drain(): Promise<void> {
    while (this.items.length > 0) await this.flush(this.items.splice(0, this.size));
  }
}

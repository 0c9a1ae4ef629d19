/** Table I/O for the local pipeline: bulk load, scripted changes, and a full scan. */
import { CreateTableCommand, ScanCommand, waitUntilTableExists, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DeleteCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { decodeImage, type Item } from '../lambda/shared/decode';
import { createTableInput } from '../lambda/shared/table';
import type { Change } from './dataset';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Creates a table with the stack's definition (PK/SK, NEW_AND_OLD_IMAGES stream) and waits until it is active. */
export async function createTable(client: DynamoDBClient, tableName: string): Promise<void> {
  await client.send(new CreateTableCommand(createTableInput(tableName)));
  await waitUntilTableExists({ client, maxWaitTime: 30 }, { TableName: tableName });
}

/** Writes rows 25 at a time (BatchWriteItem's limit), retrying unprocessed items. */
export async function loadRows(doc: DynamoDBDocumentClient, tableName: string, rows: readonly Item[], onProgress?: (done: number) => void): Promise<void> {
  for (let i = 0; i < rows.length; i += 25) {
    let requests = rows.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
    for (let attempt = 0; requests.length > 0; attempt += 1) {
      if (attempt > 8) throw new Error(`BatchWriteItem left ${requests.length} items unprocessed after ${attempt} attempts`);
      const out = await doc.send(new BatchWriteCommand({ RequestItems: { [tableName]: requests } }));
      requests = (out.UnprocessedItems?.[tableName] ?? []) as typeof requests;
      if (requests.length > 0) await sleep(50 * 2 ** attempt);
    }
    onProgress?.(Math.min(i + 25, rows.length));
  }
}

/** Applies one scripted change. */
export async function applyChange(doc: DynamoDBDocumentClient, tableName: string, change: Change): Promise<void> {
  switch (change.kind) {
    case 'put':
      await doc.send(new PutCommand({ TableName: tableName, Item: change.item }));
      return;
    case 'delete':
      await doc.send(new DeleteCommand({ TableName: tableName, Key: change.key }));
      return;
    case 'update': {
      const set = Object.entries(change.set);
      const names: Record<string, string> = {};
      const values: Record<string, unknown> = {};
      const clauses: string[] = [];
      set.forEach(([name, value], i) => {
        names[`#s${i}`] = name;
        values[`:s${i}`] = value;
      });
      if (set.length > 0) clauses.push(`SET ${set.map((_, i) => `#s${i} = :s${i}`).join(', ')}`);
      (change.remove ?? []).forEach((name, i) => (names[`#r${i}`] = name));
      if (change.remove?.length) clauses.push(`REMOVE ${change.remove.map((_, i) => `#r${i}`).join(', ')}`);
      await doc.send(
        new UpdateCommand({
          TableName: tableName,
          Key: change.key,
          UpdateExpression: clauses.join(' '),
          ExpressionAttributeNames: names,
          ...(set.length > 0 && { ExpressionAttributeValues: values }),
        }),
      );
      return;
    }
  }
}

/** Every row, decoded exactly as the handlers decode stream images. */
export async function scanAll(client: DynamoDBClient, tableName: string): Promise<Item[]> {
  const rows: Item[] = [];
  let ExclusiveStartKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: tableName, ConsistentRead: true, ExclusiveStartKey }));
    for (const item of page.Items ?? []) rows.push(decodeImage(item));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return rows;
}
